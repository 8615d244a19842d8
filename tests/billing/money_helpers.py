"""A completed charged call with work recorded, optionally paid on site, and its invoice (issue 12 money tests)."""

from __future__ import annotations

from typing import Any

from billing.models import Invoice, Payment
from billing.services import charges as billing_charges
from billing.services import invoices as billing_invoices
from billing.services import payments as billing_payments
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.models import CallStatus, RepairCall, Visit
from dispatch.services.calls import set_call_status
from tests.billing.helpers import book, call_of


def worked_call(dispatcher: User, technician: User, category: str = "charged", *, minutes: int = 30,
                parts: Any = (), hours: float = 1) -> tuple[RepairCall, Visit]:
    """Charged, 30 min at 120/h + 80 call-out = 140.00 + 18.20 tax = 158.20 due; completed."""
    call = call_of(category, dispatcher)
    visit = book(dispatcher, call, technician, hours)
    billing_charges.record_work(technician, call, visit, labor_minutes=minutes, parts=list(parts))
    set_call_status(technician, call, CallStatus.COMPLETED)
    db.session.commit()
    return call, visit


def pay_on_site(technician: User, call: RepairCall, visit: Visit, amount: str, method: str = "cash") -> Payment:
    payment = billing_payments.record_onsite_payment(technician, call, visit, amount=amount, method=method)
    db.session.commit()
    return payment


def invoice_for(finance: User, *calls: RepairCall) -> Invoice:
    invoice = billing_invoices.issue_invoice(finance, [c.id for c in calls])
    db.session.commit()
    return invoice
