"""A call's clocks (dispatch, booking agreed, first response, resolution, customer confirmation), the one
definition of "overdue", and the overruns explained (超时说明)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import selectinload

from .. import sla
from ..calendar import company_calendar
from ..core import audit
from ..core.errors import Conflict, Invalid
from ..core.extensions import db
from ..core.i18n import N_, _
from ..core.models import User
from ..core.timeutil import WorkingCalendar, iso, local_tz, utcnow
from ..models import OPEN_CALL_STATUSES, CallStatus, RepairCall
from ..sla_models import CLOCK_KINDS, OverrunExplanation

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


CLOCK_LABELS = {"dispatch": N_("Dispatch by"), "booking": N_("Book a visit by"), "response": N_("First response by"),
                "resolution": N_("Resolve by"), "confirmation": N_("Customer confirmation by")}
# What the overrun lists call each clock (a noun, without "by").
CLOCK_NAMES = {"dispatch": N_("Dispatch"), "booking": N_("Visit booking"), "response": N_("First response"),
               "resolution": N_("Resolution"), "confirmation": N_("Customer confirmation")}


@dataclass(frozen=True)
class Clock:
    """One of a call's clocks as people read it: due, and met at / missed by, or still running."""

    kind: str  # dispatch, booking, response, resolution, confirmation
    due: datetime | None
    met_at: datetime | None
    # met (in time), missed (met, late), running (not met, due later), overdue (not met, past due), stopped
    state: str
    minutes: int  # late by (missed, overdue) or left (running); 0 otherwise
    explanation: OverrunExplanation | None = None

    @property
    def label(self) -> str:
        return _(CLOCK_LABELS[self.kind])

    @property
    def name(self) -> str:
        return _(CLOCK_NAMES[self.kind])

    @property
    def late(self) -> bool:
        return self.state in ("missed", "overdue")

    @property
    def unexplained(self) -> bool:
        """Late and nobody has written down why yet (超时说明)."""
        return self.late and self.explanation is None


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


def _dispatch_clock(call: RepairCall, now: datetime, calendar: WorkingCalendar | None) -> Clock:
    """The first booking or assignment, within 1 working hour of the call (of its reopening, after one)."""
    since = call.reopened_at or call.received_at
    due = sla.dispatch_deadline(since, calendar)
    booked = [v.created_at for v in call.visits if v.created_at is not None and v.created_at >= since]
    first = min(booked) if booked else None
    waiting = first is None and call.status in _WAITING_FOR_BOOKING
    return _clock("dispatch", due, first, waiting, now)


def _confirmation_clock(call: RepairCall, now: datetime, calendar: WorkingCalendar | None) -> Clock | None:
    """The customer's confirmation (回访), within 1 working hour of completion; none before completion."""
    if call.completed_at is None:
        return None
    due = sla.confirmation_deadline(call.completed_at, calendar)
    answered = call.feedback_at if call.feedback_at is not None and call.feedback_at >= call.completed_at else None
    return _clock("confirmation", due, answered, answered is None and call.status == CallStatus.COMPLETED, now)


def call_clocks(call: RepairCall, now: datetime | None = None, *, calendar: WorkingCalendar | None = None,
                explanations: list[OverrunExplanation] | None = None) -> list[Clock]:
    """Every clock of the call, each due at, and met at / missed by (or running): dispatch and booking (calls
    with a site visit), first response, resolution, customer confirmation (once complete). Late clocks carry
    their explanation (超时说明) when one was written."""
    now = now or utcnow()
    if calendar is None:
        calendar = company_calendar()
    is_open = call.status in OPEN_CALL_STATUSES
    clocks = []
    if call.on_site:
        clocks.append(_dispatch_clock(call, now, calendar))
        waiting = call.status in _WAITING_FOR_BOOKING
        clocks.append(_clock("booking", call.booking_deadline, None if waiting else call.booked_at,
                             waiting, now))
    clocks.append(_clock("response", call.response_deadline, call.responded_at,
                         is_open and call.responded_at is None, now))
    clocks.append(_clock("resolution", call.resolution_deadline, call.completed_at or call.closed_at,
                         is_open, now))
    confirmation = _confirmation_clock(call, now, calendar)
    if confirmation is not None:
        clocks.append(confirmation)
    if call.status == CallStatus.CANCELLED:
        return clocks
    if explanations is None:
        explanations = explanations_of(call) if any(c.late for c in clocks) else []
    return [replace(c, explanation=_explanation_for(c, explanations)) if c.late else c for c in clocks]


def _explanation_for(clock: Clock, explanations: list[OverrunExplanation]) -> OverrunExplanation | None:
    for e in explanations:
        if e.clock == clock.kind and clock.due is not None and abs((e.due - clock.due).total_seconds()) < 60:
            return e
    return None


def is_overdue(call: RepairCall, now: datetime | None = None) -> bool:
    """The call has a clock running past its due time (the same rule as `overdue_clause`: booking, first
    response, resolution; the dispatch and confirmation clocks show on the call and in the overrun list, the
    follow-up queue chases confirmations)."""
    return any(c.state == "overdue" and c.kind in OVERDUE_CLOCKS for c in call_clocks(call, now))


# ----------------------------------------------------------------------------- overruns explained (超时说明)

OVERDUE_CLOCKS = ("booking", "response", "resolution")


def explanations_of(call: RepairCall) -> list[OverrunExplanation]:
    return list(db.session.scalars(select(OverrunExplanation).where(OverrunExplanation.call_id == call.id)
                                   .order_by(OverrunExplanation.id)))


def explain_overrun(actor: User, call: RepairCall, *, clock: str, cause: str, action: str,
                    now: datetime | None = None) -> OverrunExplanation:
    """Write down why the call missed `clock` and what will change. Only a late clock is explained, once."""
    if clock not in CLOCK_KINDS:
        raise Invalid(_("Choose one of the call's clocks."), fields={"clock": _("unknown clock")})
    problems = {}
    cause, action = (cause or "").strip(), (action or "").strip()
    if not cause:
        problems["cause"] = _("required")
    if not action:
        problems["action"] = _("required")
    for name, value in (("cause", cause), ("action", action)):
        if len(value) > 2000:
            problems[name] = _("at most %(n)d characters", n=2000)
    if problems:
        raise Invalid(_("Write down the cause and the corrective action."), fields=problems)
    found = next((c for c in call_clocks(call, now) if c.kind == clock), None)
    if found is None or not found.late or found.due is None:
        raise Conflict(_("Call %(number)s has not missed its %(clock)s target: there is nothing to explain.",
                         number=call.number, clock=_(CLOCK_NAMES[clock]).lower()), code="not_overrun")
    if found.explanation is not None:
        raise Conflict(_("This overrun of call %(number)s is already explained.", number=call.number),
                       code="already_explained")
    entry = OverrunExplanation(call_id=call.id, clock=clock, due=found.due, cause=cause, action=action,
                               author_id=actor.id, at=now or utcnow())
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, call, "call.overrun_explained",
                 after={"clock": clock, "due": found.due, "cause": cause, "action": action})
    return entry


@dataclass(frozen=True)
class Overrun:
    """A call's late clock, for the managers' list."""

    call: RepairCall
    clock: Clock


def overruns(*, since: date, until: date, explained: bool | None = False,
             now: datetime | None = None) -> list[Overrun]:
    """Late clocks of the calls received between two local dates (cancelled calls aside), oldest due first:
    unexplained only by default, explained only with explained=True, all with None."""
    now = now or utcnow()
    tz = local_tz()
    first = datetime.combine(since, time(0), tzinfo=tz)
    last = datetime.combine(until + timedelta(days=1), time(0), tzinfo=tz)
    calls = list(db.session.scalars(
        select(RepairCall).where(RepairCall.received_at >= first, RepairCall.received_at < last,
                                 RepairCall.status != CallStatus.CANCELLED)
        .options(selectinload(RepairCall.visits), selectinload(RepairCall.customer))
        .order_by(RepairCall.received_at)))
    by_call: dict[int, list[OverrunExplanation]] = {}
    if calls:
        for e in db.session.scalars(select(OverrunExplanation).where(
                OverrunExplanation.call_id.in_([c.id for c in calls]))):
            by_call.setdefault(e.call_id, []).append(e)
    calendar = company_calendar()
    found = []
    for call in calls:
        for c in call_clocks(call, now, calendar=calendar, explanations=by_call.get(call.id, [])):
            if c.late and (explained is None or (c.explanation is not None) == explained):
                found.append(Overrun(call, c))
    found.sort(key=lambda o: (o.clock.due or now, o.call.id))
    return found


def overrun_json(o: Overrun) -> dict[str, Any]:
    c = o.clock
    e = c.explanation
    return {"call_id": o.call.id, "number": o.call.number, "customer": o.call.customer.name,
            "priority": o.call.priority, "status": o.call.status, "clock": c.kind, "due": iso(c.due),
            "met_at": iso(c.met_at), "state": c.state, "late_minutes": c.minutes,
            "explanation": explanation_json(e) if e is not None else None}


def explanation_json(e: OverrunExplanation) -> dict[str, Any]:
    return {"id": e.id, "call_id": e.call_id, "clock": e.clock, "due": iso(e.due), "cause": e.cause,
            "action": e.action, "author_id": e.author_id, "author": e.author.name if e.author else None,
            "at": iso(e.at)}


def clock_json(c: Clock) -> dict[str, Any]:
    return {"clock": c.kind, "due": iso(c.due), "met_at": iso(c.met_at), "state": c.state, "minutes": c.minutes,
            "explained": c.explanation is not None if c.late else None}
