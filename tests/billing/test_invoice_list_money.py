"""Issue 16: the invoices list (page and API) sums its invoices' payments in one statement
(invoice_payments.listed_money) and still shows, row by row, what paid(), balance() and payment_state() say of
each invoice: open, partly paid, paid (also by money taken on site), void with its credit note."""

from __future__ import annotations

import re

from billing.models import Invoice
from billing.services import credit_notes as billing_credit_notes
from billing.services import invoice_payments
from dispatch.core.extensions import db
from tests.billing.helpers import catalogue, set_prices
from tests.billing.money_helpers import invoice_for, pay_on_site, worked_call


def test_each_listed_invoice_shows_its_own_payments(finance, dispatcher, technician, api, client, login) -> None:
    set_prices(finance)
    catalogue(finance)
    made: dict[str, Invoice] = {}
    for name in ("open", "partly", "paid", "on_site", "void"):
        call, visit = worked_call(dispatcher, technician, hours=len(made) + 1)  # 158.20 due each
        if name == "on_site":
            pay_on_site(technician, call, visit, "158.20")
        made[name] = invoice_for(finance, call)
    boss = api(finance)
    assert boss.post(f"/api/v1/invoices/{made['partly'].id}/payments",
                     json={"amount": "100.00", "method": "wechat"}).status_code == 201
    assert boss.post(f"/api/v1/invoices/{made['paid'].id}/payments",
                     json={"amount": "158.20", "method": "transfer"}).status_code == 201
    billing_credit_notes.void_invoice(finance, made["void"], "issued to the wrong customer")
    db.session.commit()

    expected = {"open": ("0.00", "158.20", "open"), "partly": ("100.00", "58.20", "partly_paid"),
                "paid": ("158.20", "0.00", "paid"), "on_site": ("158.20", "0.00", "paid"),
                "void": ("0.00", "0.00", "void")}
    listed = invoice_payments.listed_money(made.values())
    for name, invoice in made.items():
        one = (invoice_payments.paid(invoice), invoice_payments.balance(invoice),
               invoice_payments.payment_state(invoice))
        assert one == (listed.paid(invoice), listed.balance(invoice), listed.state(invoice)), name
        assert (str(one[0]), str(one[1]), one[2]) == expected[name], name

    items = {i["id"]: i for i in boss.get("/api/v1/invoices").get_json()["items"]}
    for name, invoice in made.items():
        row = items[invoice.id]
        assert (row["paid"], row["balance"], row["payment_state"]) == expected[name], name
        assert row["total"] == "158.20" and row["issued_by"] == finance.name
        assert (row["credit_note"] is not None) == (name == "void"), name
    assert items[made["void"].id]["credit_note"]["invoice_number"] == made["void"].number
    # A page of two: the sums are those of the invoices on it.
    page = boss.get("/api/v1/invoices?limit=2").get_json()
    assert [i["id"] for i in page["items"]] == [made["void"].id, made["on_site"].id] and page["next"]
    older = boss.get(f"/api/v1/invoices?limit=2&cursor={page['next']}").get_json()["items"]
    assert [(i["id"], i["paid"]) for i in older] == [(made["paid"].id, "158.20"), (made["partly"].id, "100.00")]

    login(finance)
    html = client.get("/billing/invoices").get_data(as_text=True)
    for name, invoice in made.items():
        row = re.search(rf'<tr id="invoice-{invoice.id}">(.*?)</tr>', html, re.S)
        assert row is not None, name
        cells = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", row.group(1)))
        paid, balance, state = expected[name]
        shown = {"open": "open", "partly_paid": "partly paid", "paid": "paid", "void": "Void"}[state]
        balance_text = "—" if name == "void" else f"CN¥{balance}"
        assert f"Paid CN¥{paid} Balance {balance_text} {shown} " in cells, (name, cells)
