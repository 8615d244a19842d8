"""Money collected on site: whether a visit can still be paid, and taking the payment through billing."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from billing.models import Payment
from billing.services.charges import ChargeSheet
from billing.services.payments import record_onsite_payment
from dispatch.core.errors import Conflict
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.models import Category, Visit

from ..models import WorkRecord
from .progress import check_actor, check_live
from .work import work_record


def visit_payments(visit: Visit) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.visit_id == visit.id).order_by(Payment.id)))


def can_pay(visit: Visit, record: WorkRecord | None, sheet: ChargeSheet) -> bool:
    """The phone offers a payment once the work is recorded, for charged work still owing money."""
    return (record is not None and visit.call.category != Category.FREE and sheet.total_due > 0
            and sheet.balance > 0)


def take_payment(actor: User, visit: Visit, *, amount: Any, method: Any) -> Payment:
    """Money collected on the spot for charged work; billing checks the amount against what is due."""
    check_actor(actor, visit)
    check_live(visit)
    if work_record(visit) is None:
        raise Conflict(_("Complete visit %(slip)s before taking a payment.", slip=visit.slip_number),
                       code="not_completed")
    return record_onsite_payment(actor, visit.call, visit, amount=amount, method=method)
