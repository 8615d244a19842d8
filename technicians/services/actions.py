"""Which actions a visit offers a user on the phone right now: the buttons the visit page shows enabled."""

from __future__ import annotations

from dataclasses import dataclass

from billing.services.charges import ChargeSheet
from dispatch.core.models import User
from dispatch.models import Visit, VisitStatus

from ..models import Signature, WorkRecord
from .payments import can_pay
from .progress import ON_SITE_ROLES


@dataclass(frozen=True)
class VisitActions:
    on_my_way: bool
    arrive: bool
    complete: bool  # record the work, or correct it until the customer signs
    pay: bool
    sign: bool


NONE = VisitActions(on_my_way=False, arrive=False, complete=False, pay=False, sign=False)


def visit_actions(visit: Visit, user: User, *, record: WorkRecord | None, signature: Signature | None,
                  sheet: ChargeSheet) -> VisitActions:
    """The same rules the services enforce, asked ahead so the page offers only what would succeed
    (the record, signature and bill are passed in: the page has loaded them already)."""
    if user.role not in ON_SITE_ROLES or visit.status == VisitStatus.CANCELLED:
        return NONE
    sealed = record is not None and record.sealed_at is not None
    return VisitActions(
        on_my_way=visit.status == VisitStatus.SCHEDULED,
        arrive=visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY),
        # A return visit completes when the customer signs for the item (services/returns.py).
        complete=(visit.status in (VisitStatus.ON_SITE, VisitStatus.COMPLETED) and not sealed
                  and visit.kind != "return"),
        pay=can_pay(visit, record, sheet),
        sign=record is not None and signature is None,
    )
