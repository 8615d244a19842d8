"""Payments: money taken on site against a call's bill (receipt numbered), and finance's reconciliation."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _, format_money
from dispatch.core.models import User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id
from dispatch.models import Category, RepairCall, Visit

from ..models import PAYMENT_METHODS, Payment
from ..parsing import invalid_message, parse_decimal
from .charges import charges_for_call, cover_text, coverage_for, lock_call


def get_payment_or_404(payment_id: int) -> Payment:
    payment = db.session.get(Payment, payment_id) if is_id(payment_id) else None
    if payment is None:
        raise NotFound(_("There is no payment %(id)s.", id=payment_id))
    return payment


def record_onsite_payment(actor: User | None, call: RepairCall, visit: Visit | None, *, amount: Any,
                          method: Any) -> Payment:
    """Money the technician takes on site, with a gapless receipt number (RC-2026-000001)."""
    if visit is not None and visit.call_id != call.id:
        raise Invalid(_("The visit belongs to another call."), fields={"visit_id": _("not this call's visit")})
    errors: dict[str, str] = {}
    value = parse_decimal(amount, "amount", errors, positive=True)
    if method not in PAYMENT_METHODS:
        errors["method"] = _("one of: %(options)s", options=", ".join(PAYMENT_METHODS))
    if errors:
        raise Invalid(invalid_message(_("The payment cannot be taken"), errors), fields=errors)
    assert value is not None
    lock_call(call)
    if call.category == Category.FREE:
        raise Conflict(_("This call is free of charge (%(reason)s): nothing to pay.",
                         reason=cover_text(coverage_for(call).by)), code="nothing_due")
    sheet = charges_for_call(call)
    if sheet.total_due <= 0:
        raise Conflict(_("Nothing is due on this call (%(why)s).", why=sheet.explanation), code="nothing_due")
    if sheet.balance <= 0:
        raise Conflict(_("This call is paid in full (%(paid)s).", paid=format_money(sheet.paid, sheet.currency)),
                       code="already_paid")
    if value > sheet.balance:
        raise Invalid(_("The amount %(amount)s is more than the %(due)s still due.",
                        amount=format_money(value, sheet.currency), due=format_money(sheet.balance, sheet.currency)),
                      code="more_than_due", fields={"amount": _("at most %(due)s", due=sheet.balance)})
    now = utcnow()
    payment = Payment(call_id=call.id, visit_id=visit.id if visit is not None else None, amount=money(value),
                      method=str(method), receipt_number=next_number("receipt", now.astimezone(local_tz()).year),
                      collected_by_id=actor.id if actor is not None else None, collected_at=now)
    db.session.add(payment)
    db.session.flush()
    audit.record(actor, payment, "payment.collected",
                 after=audit.snapshot(payment, "call_id", "visit_id", "amount", "method", "receipt_number"))
    return payment


def reconcile_payment(actor: User, payment: Payment) -> Payment:
    if payment.reconciled_at is not None:
        raise Conflict(_("Receipt %(number)s is already reconciled.", number=payment.receipt_number),
                       code="already_reconciled")
    payment.reconciled_at = utcnow()
    payment.reconciled_by_id = actor.id
    db.session.flush()
    audit.record(actor, payment, "payment.reconciled", after={"reconciled_at": payment.reconciled_at})
    return payment


def payments_query(*, reconciled: bool | None = None) -> Any:
    stmt = select(Payment)
    if reconciled is True:
        stmt = stmt.where(Payment.reconciled_at.is_not(None))
    elif reconciled is False:
        stmt = stmt.where(Payment.reconciled_at.is_(None))
    return stmt


def payments_page(*, reconciled: bool | None, before: int | None, size: int) -> tuple[list[Payment], bool]:
    """One page of payments, newest first, older than the payment id `before`; and whether more follow."""
    stmt = payments_query(reconciled=reconciled)
    if before:
        stmt = stmt.where(Payment.id < before)
    rows = list(db.session.scalars(stmt.order_by(Payment.id.desc()).limit(size + 1)))
    return rows[:size], len(rows) > size


def count_unreconciled() -> int:
    return db.session.scalar(select(func.count(Payment.id)).where(Payment.reconciled_at.is_(None))) or 0
