"""A call's clocks (booking agreed, first response, resolution) and the one definition of "overdue"."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, or_

from ..core.i18n import N_, _
from ..core.timeutil import utcnow
from ..models import OPEN_CALL_STATUSES, CallStatus, RepairCall

# The one definition of "overdue" (the desk home, the calls list's "Overdue only" and the API's ?overdue=1 all
# use it): a clock still running past its due time. Booking runs while an on-site call waits for a visit;
# first response runs until someone answers; resolution runs while the call is open.
_WAITING_FOR_BOOKING = (CallStatus.NEW, CallStatus.REOPENED)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: the call has a clock running past its due time (see `call_clocks`, the same rule per call)."""
    is_open = RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES])
    return or_(
        and_(RepairCall.status.in_([s.value for s in _WAITING_FOR_BOOKING]), RepairCall.on_site.is_(True),
             RepairCall.booking_deadline.is_not(None), RepairCall.booking_deadline < now),
        and_(is_open, RepairCall.responded_at.is_(None), RepairCall.response_deadline < now),
        and_(is_open, RepairCall.resolution_deadline < now),
    )


CLOCK_LABELS = {"booking": N_("Book a visit by"), "response": N_("First response by"), "resolution": N_("Resolve by")}


@dataclass(frozen=True)
class Clock:
    """One of a call's clocks as people read it: due, and met at / missed by, or still running."""

    kind: str  # booking, response, resolution
    due: datetime | None
    met_at: datetime | None
    # met (in time), missed (met, late), running (not met, due later), overdue (not met, past due), stopped
    state: str
    minutes: int  # late by (missed, overdue) or left (running); 0 otherwise

    @property
    def label(self) -> str:
        return _(CLOCK_LABELS[self.kind])

    @property
    def late(self) -> bool:
        return self.state in ("missed", "overdue")


def _clock(kind: str, due: datetime | None, met_at: datetime | None, running: bool, now: datetime) -> Clock:
    if due is None:
        return Clock(kind, None, met_at, "stopped", 0)
    if met_at is not None and not running:
        late = int((met_at - due).total_seconds() // 60)
        return Clock(kind, due, met_at, "missed" if late > 0 else "met", max(late, 0))
    if not running:
        return Clock(kind, due, None, "stopped", 0)
    left = int((due - now).total_seconds() // 60)
    return Clock(kind, due, None, "overdue" if due < now else "running", abs(left))


def call_clocks(call: RepairCall, now: datetime | None = None) -> list[Clock]:
    """Booking agreed, first response, resolution: each due at, and met at / missed by (or running)."""
    now = now or utcnow()
    is_open = call.status in OPEN_CALL_STATUSES
    clocks = []
    if call.on_site:
        waiting = call.status in _WAITING_FOR_BOOKING
        clocks.append(_clock("booking", call.booking_deadline, None if waiting else call.booked_at,
                             waiting, now))
    clocks.append(_clock("response", call.response_deadline, call.responded_at,
                         is_open and call.responded_at is None, now))
    clocks.append(_clock("resolution", call.resolution_deadline, call.completed_at or call.closed_at,
                         is_open, now))
    return clocks


def is_overdue(call: RepairCall, now: datetime | None = None) -> bool:
    """The call has a clock running past its due time (the same rule as `overdue_clause`)."""
    return any(c.state == "overdue" for c in call_clocks(call, now))
