"""The cash-up: money technicians took on site, per technician and per day, until they hand it to finance.

"Received from technician" marks that day's payments handed in (handed_in_at, handed_in_to_id), each one
audited; reconciling a payment against the till or the bank (billing.services.payments.reconcile_payment)
is the step after. Nothing is deleted: a handed-in payment stays listed under "handed in".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import Role, User
from dispatch.core.timeutil import local_date_of, utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id
from dispatch.models import RepairCall
from dispatch.scheduling.visits import day_window

from ..models import Payment
from ..parsing import ZERO


@dataclass
class CashUpDay:
    """One technician's on-site money of one local day."""

    technician_id: int | None
    technician_name: str
    day: date
    payments: list[Payment] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return money(sum((p.amount for p in self.payments), ZERO))

    @property
    def by_method(self) -> list[tuple[str, Decimal]]:
        sums: dict[str, Decimal] = defaultdict(lambda: ZERO)
        for p in self.payments:
            sums[p.method] += p.amount
        return sorted(((m, money(v)) for m, v in sums.items()), key=lambda mv: mv[0])

    @property
    def cash(self) -> Decimal:
        """The cash in the technician's pocket: what is counted at the desk."""
        return money(sum((p.amount for p in self.payments if p.method == "cash"), ZERO))


def _grouped(payments: Sequence[Payment]) -> list[CashUpDay]:
    days: dict[tuple[int | None, date], CashUpDay] = {}
    for p in payments:
        key = (p.collected_by_id, local_date_of(p.collected_at))
        if key not in days:
            name = p.collected_by.name if p.collected_by is not None else "—"
            days[key] = CashUpDay(technician_id=p.collected_by_id, technician_name=name, day=key[1])
        days[key].payments.append(p)
    return sorted(days.values(), key=lambda d: (d.day, d.technician_name), reverse=True)


def _query(*, handed_in: bool) -> list[Payment]:
    stmt = (select(Payment).options(selectinload(Payment.collected_by), selectinload(Payment.handed_in_to),
                                    selectinload(Payment.call).selectinload(RepairCall.customer))
            .order_by(Payment.collected_at, Payment.id))
    stmt = stmt.where(Payment.handed_in_at.is_not(None) if handed_in else Payment.handed_in_at.is_(None))
    return list(db.session.scalars(stmt))


def not_handed_in() -> list[CashUpDay]:
    """On-site money per technician per day not yet handed to finance, newest day first."""
    return _grouped(_query(handed_in=False))


def handed_in_not_reconciled() -> list[Payment]:
    """Money finance has received but not yet matched against the till or the bank."""
    return [p for p in _query(handed_in=True) if p.reconciled_at is None]


def totals(days: Sequence[CashUpDay]) -> Decimal:
    return money(sum((d.total for d in days), ZERO))


def receive_from_technician(actor: User, technician_id: object, day: object) -> list[Payment]:
    """Finance received the technician's on-site money of `day`: those payments are handed in, each audited.
    Payments handed in before (or by someone at the same moment) are left alone; none left is a 409."""
    if not is_id(technician_id):
        raise Invalid(_("Choose the technician who hands the money in."), fields={"technician_id": _("required")})
    technician = db.session.get(User, technician_id)
    if technician is None or technician.role != Role.TECHNICIAN:
        raise NotFound(_("There is no technician %(id)s.", id=technician_id), fields={"technician_id": _("unknown")})
    if not isinstance(day, date):
        raise Invalid(_("Give the day the money was taken."), fields={"date": _("required")})
    start, end = day_window(day)
    stmt = (select(Payment).where(Payment.collected_by_id == technician.id, Payment.collected_at >= start,
                                  Payment.collected_at < end, Payment.handed_in_at.is_(None))
            .order_by(Payment.id).with_for_update())
    payments = list(db.session.scalars(stmt))
    if not payments:
        raise Conflict(_("%(name)s has no on-site money of %(day)s still to hand in.", name=technician.name,
                         day=day.isoformat()), code="nothing_to_hand_in")
    now = utcnow()
    for payment in payments:
        payment.handed_in_at = now
        payment.handed_in_to_id = actor.id
    db.session.flush()
    for payment in payments:
        audit.record(actor, payment, "payment.handed_in",
                     after={"handed_in_at": now, "handed_in_to_id": actor.id, "amount": payment.amount,
                            "method": payment.method, "receipt_number": payment.receipt_number})
    return payments
