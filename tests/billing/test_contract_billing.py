"""Contract fees: fee and billing period on the contract (form, API), periods invoiced exactly once however
often "contract invoices due" runs (also at the same moment), numbered in the INV series, the period on the line."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from sqlalchemy import func, select

from billing.models import Invoice, InvoiceLine
from billing.services import contract_billing, fee_lines
from dispatch.core.extensions import db
from dispatch.models import Contract
from dispatch.services.contracts import create_contract
from tests.billing.helpers import D, set_prices
from tests.factories import make_customer, make_site


def _contract(actor, fee="3000.00", period="quarterly", starts=date(2026, 1, 1), ends=date(2026, 12, 31),
              number="MC-7001") -> Contract:
    customer = make_customer(actor, name="上海浦东大厦物业")
    make_site(customer)
    contract = create_contract(actor, customer, number=number, starts_on=starts, ends_on=ends, fee=fee,
                               billing_period=period)
    db.session.commit()
    return contract


def test_periods_and_proration() -> None:
    c = Contract(number="X", starts_on=date(2026, 1, 31), ends_on=date(2026, 4, 15), fee=D("100.00"),
                 billing_period="monthly")
    ps = contract_billing.periods(c)
    assert [(p.start, p.end) for p in ps] == [
        (date(2026, 1, 31), date(2026, 2, 27)), (date(2026, 2, 28), date(2026, 3, 30)),
        (date(2026, 3, 31), date(2026, 4, 15))]
    # The last period ends with the contract: 16 of its 30 days, half-up to cents.
    assert [p.amount for p in ps] == [D("100.00"), D("100.00"), D("53.33")] and not ps[-1].full
    assert contract_billing.periods(c, until=date(2026, 2, 27)) == ps[:1]


def test_contract_invoices_issued_once_with_the_period_on_the_line(finance, dispatcher, api) -> None:
    set_prices(finance, tax="0.06")
    contract = _contract(dispatcher)
    client = api(finance)
    first = client.post("/api/v1/billing/contract-invoices", json={"date": "2026-07-01"})
    assert first.status_code == 201, first.get_json()
    issued = first.get_json()["issued"]
    assert [(i["period_start"], i["period_end"]) for i in issued] == [
        ("2026-01-01", "2026-03-31"), ("2026-04-01", "2026-06-30"), ("2026-07-01", "2026-09-30")]
    assert [i["total"] for i in issued] == ["3180.00"] * 3  # 3000.00 + 6 % tax
    numbers = [i["number"] for i in issued]
    assert all(n.startswith("INV-") for n in numbers)
    assert [int(n[-6:]) for n in numbers] == list(range(int(numbers[0][-6:]), int(numbers[0][-6:]) + 3))
    again = client.post("/api/v1/billing/contract-invoices", json={"date": "2026-07-01"})
    assert again.status_code == 200 and again.get_json()["count"] == 0
    later = client.post("/api/v1/billing/contract-invoices", json={"date": "2027-03-01"})
    assert later.get_json()["count"] == 1  # the last quarter; the contract has ended since
    assert client.post("/api/v1/billing/contract-invoices", json={}).get_json()["count"] == 0
    line = db.session.scalar(select(InvoiceLine).join(Invoice).where(Invoice.period_start == date(2026, 4, 1)))
    assert line.description == "Maintenance contract MC-7001, 2026-04-01 – 2026-06-30"
    assert line.call_id is None and line.amount == D("3000.00")
    assert fee_lines.fee_line_text(line.description) == line.description
    inv = db.session.get(Invoice, issued[0]["id"])
    assert inv.kind == "contract" and inv.contract_id == contract.id and inv.buyer_name == "上海浦东大厦物业"
    assert client.post("/api/v1/billing/contract-invoices", json={"date": "nonsense"}).status_code == 422
    assert api(dispatcher).post("/api/v1/billing/contract-invoices", json={}).status_code == 403


def test_contract_fee_on_the_api_and_the_form(dispatcher, api, client, login) -> None:
    customer = make_customer(dispatcher, name="Fee Customer")
    body = {"customer_id": customer.id, "number": "MC-8001", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
            "equipment_ids": [], "covers_parts": False, "fee": "1200.00", "billing_period": "monthly"}
    r = api(dispatcher).post("/api/v1/contracts", json=body)
    assert r.status_code == 201 and (r.get_json()["fee"], r.get_json()["billing_period"]) == ("1200.00", "monthly")
    for bad, field in [({"fee": "12.345"}, "fee"), ({"billing_period": "weekly"}, "billing_period"),
                       ({"billing_period": None}, "billing_period"), ({"fee": None}, "fee"), ({"fee": "-5"}, "fee")]:
        r = api(dispatcher).post("/api/v1/contracts", json={**body, "number": "MC-X", **bad})
        assert r.status_code == 422 and field in r.get_json()["error"]["fields"], (bad, r.get_json())
    login(dispatcher)
    r = client.post(f"/customers/{customer.id}/contracts/new",
                    data={"number": "MC-8002", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
                          "fee": "900", "billing_period": "yearly"})
    assert r.status_code == 302
    saved = db.session.scalar(select(Contract).where(Contract.number == "MC-8002"))
    assert (saved.fee, saved.billing_period) == (D("900.00"), "yearly")
    page = client.get(f"/customers/{customer.id}")
    assert b"Yearly" in page.data


def test_contract_invoices_page(finance, manager, dispatcher, client, login) -> None:
    set_prices(finance)
    _contract(dispatcher, period="yearly", starts=date(2026, 1, 1), ends=date(2027, 12, 31))
    login(finance)
    page = client.get("/billing/contract-invoices")
    assert page.status_code == 200 and b"MC-7001" in page.data and b"Issue contract invoices due" in page.data
    assert client.post("/billing/contract-invoices").status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Invoice).where(Invoice.kind == "contract")) >= 1
    login(manager)
    assert client.get("/billing/contract-invoices").status_code == 200
    assert client.post("/billing/contract-invoices").status_code == 403


@pytest.mark.concurrency
def test_concurrent_runs_issue_each_period_once(app, finance, dispatcher) -> None:
    from dispatch.core.database import write_transaction
    from dispatch.core.models import User

    set_prices(finance)
    _contract(dispatcher, period="monthly")
    finance_id = finance.id
    counts: list[int] = []
    start = threading.Barrier(5)

    def run() -> None:
        with app.app_context(), write_transaction():
            start.wait()
            try:
                counts.append(len(contract_billing.issue_contract_invoices(db.session.get(User, finance_id),
                                                                           date(2026, 6, 15))))
                db.session.commit()
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    db.session.commit()
    assert sum(counts) == 6 and sorted(counts)[-1] == 6
    numbers = sorted(db.session.scalars(select(Invoice.number)))
    assert len(numbers) == 6 and [int(n[-6:]) for n in numbers] == list(range(1, 7))
