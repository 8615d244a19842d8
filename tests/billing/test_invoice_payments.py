"""Payments against an invoice: full or partial, overpayment refused (also at the same moment), on-site
payments linked once when the invoice is issued, and paid/balance as the one definition."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing.models import Invoice, InvoicePayment
from billing.services import credit_notes as billing_credit_notes
from billing.services import invoice_payments
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from tests.billing.helpers import D, catalogue, set_prices
from tests.billing.money_helpers import invoice_for, pay_on_site, worked_call


@pytest.fixture
def priced(finance):
    set_prices(finance)
    catalogue(finance)


def test_partial_then_full_payment_and_overpayment_refused(priced, finance, dispatcher, technician, api) -> None:
    call, _visit = worked_call(dispatcher, technician)
    invoice = invoice_for(finance, call)
    assert invoice.total == D("158.20") and invoice_payments.balance(invoice) == D("158.20")
    client = api(finance)
    first = client.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "100.00", "method": "wechat"})
    assert first.status_code == 201, first.get_json()
    assert first.get_json()["invoice_balance"] == "58.20" and first.get_json()["method"] == "wechat"
    over = client.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "58.21", "method": "alipay"})
    assert over.status_code == 422 and over.get_json()["error"]["code"] == "overpayment"
    assert "amount" in over.get_json()["error"]["fields"]
    bad = client.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "abc", "method": "bitcoin"})
    assert bad.status_code == 422 and set(bad.get_json()["error"]["fields"]) == {"amount", "method"}
    rest = client.post(f"/api/v1/invoices/{invoice.id}/payments",
                       json={"amount": "58.20", "method": "transfer", "reference": "BANK-7781"})
    assert rest.status_code == 201 and rest.get_json()["invoice_balance"] == "0.00"
    again = client.post(f"/api/v1/invoices/{invoice.id}/payments", json={"amount": "1", "method": "cash"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "already_paid"
    listed = client.get(f"/api/v1/invoices/{invoice.id}/payments").get_json()
    assert (listed["paid"], listed["balance"], listed["state"]) == ("158.20", "0.00", "paid")
    assert [p["amount"] for p in listed["items"]] == ["100.00", "58.20"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "invoice_payment.recorded")) == 2


def test_roles_managers_read_others_refused(priced, finance, manager, dispatcher, technician, api) -> None:
    call, _visit = worked_call(dispatcher, technician)
    invoice = invoice_for(finance, call)
    url = f"/api/v1/invoices/{invoice.id}/payments"
    assert api(manager).get(url).status_code == 200
    assert api(manager).post(url, json={"amount": "1", "method": "cash"}).status_code == 403
    assert api(dispatcher).get(url).status_code == 403
    assert api(technician).post(url, json={"amount": "1", "method": "cash"}).status_code == 403


def test_void_invoice_takes_no_payment(priced, finance, dispatcher, technician) -> None:
    call, _visit = worked_call(dispatcher, technician)
    invoice = invoice_for(finance, call)
    billing_credit_notes.void_invoice(finance, invoice, "wrong customer")
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        invoice_payments.record_invoice_payment(finance, invoice, amount="10", method="cash")
    assert caught.value.code == "invoice_void"
    assert invoice_payments.balance(invoice) == Decimal("0.00")


def test_onsite_payments_linked_once_and_follow_a_reinvoice(priced, finance, dispatcher, technician) -> None:
    call, visit = worked_call(dispatcher, technician)
    onsite = pay_on_site(technician, call, visit, "58.20", "alipay")
    invoice = invoice_for(finance, call)
    links = db.session.scalars(select(InvoicePayment).where(InvoicePayment.onsite_payment_id == onsite.id)).all()
    assert len(links) == 1 and links[0].invoice_id == invoice.id and links[0].reference == onsite.receipt_number
    assert invoice_payments.paid(invoice) == D("58.20") and invoice_payments.balance(invoice) == D("100.00")
    # Linking again (a retry, a second call) never counts it twice.
    assert invoice_payments.link_onsite_payments(invoice, finance) == []
    assert invoice_payments.paid(invoice) == D("58.20")
    # Voided and invoiced again: the on-site money moves to the new invoice, still once.
    billing_credit_notes.void_invoice(finance, invoice, "buyer tax id missing")
    db.session.commit()
    second = invoice_for(finance, call)
    assert invoice_payments.paid(second) == D("58.20") and invoice_payments.balance(second) == D("100.00")
    assert db.session.scalar(select(func.count()).select_from(InvoicePayment)) == 1
    with pytest.raises(Invalid):
        invoice_payments.record_invoice_payment(finance, second, amount="100.01", method="card")


def test_payment_page_records_a_payment(priced, finance, manager, dispatcher, technician, client, login) -> None:
    call, _visit = worked_call(dispatcher, technician)
    invoice = invoice_for(finance, call)
    login(finance)
    page = client.get(f"/billing/invoices/{invoice.id}/payments")
    assert page.status_code == 200 and b"158.20" in page.data and b"Record payment" in page.data
    token = page.data.split(b'name="csrf_token" type="hidden" value="')[1].split(b'"')[0].decode() \
        if b'name="csrf_token" type="hidden" value="' in page.data else None
    data = {"amount": "58.20", "method": "card", "reference": "POS 1234"}
    if token:
        data["csrf_token"] = token
    done = client.post(f"/billing/invoices/{invoice.id}/payments", data=data)
    assert done.status_code == 302
    assert invoice_payments.balance(db.session.get(Invoice, invoice.id)) == D("100.00")
    too_much = client.post(f"/billing/invoices/{invoice.id}/payments", data={**data, "amount": "500"})
    assert too_much.status_code == 422
    login(manager)
    assert b"Record payment" not in client.get(f"/billing/invoices/{invoice.id}/payments").data
    assert client.post(f"/billing/invoices/{invoice.id}/payments", data=data).status_code == 403


@pytest.mark.concurrency
def test_concurrent_payments_never_overpay(app, priced, finance, dispatcher, technician) -> None:
    """Six people record 60.00 at once on an invoice owing 158.20: two succeed, the rest are refused."""
    from dispatch.core.database import write_transaction
    from dispatch.core.models import User

    call, _visit = worked_call(dispatcher, technician)
    invoice = invoice_for(finance, call)
    invoice_id, finance_id = invoice.id, finance.id
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def pay() -> None:
        with app.app_context(), write_transaction():
            start.wait()
            try:
                invoice_payments.record_invoice_payment(db.session.get(User, finance_id),
                                                        db.session.get(Invoice, invoice_id),
                                                        amount="60.00", method="transfer")
                db.session.commit()
                outcomes.append("paid")
            except (Invalid, Conflict) as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["overpayment"] * 4 + ["paid"] * 2
    db.session.commit()
    assert invoice_payments.balance(db.session.get(Invoice, invoice_id)) == D("38.20")
