"""Booking visits: book, move and cancel, and the checks every booking passes.

One technician never holds two overlapping live visits. The rule lives in the database too: on
PostgreSQL an exclusion constraint over (technician, time range) for live visits; on SQLite every
write request runs in one BEGIN IMMEDIATE transaction, so the check below and the insert cannot
interleave with another writer.

A call holds one live visit (scheduled, on the way or on site): a second booking is 409 already_booked
unless it is an additional technician on purpose. The call's row is locked first (FOR UPDATE on
PostgreSQL; on SQLite the BEGIN IMMEDIATE write), and a partial unique index over the live visits that
are not additional has the last word on both engines.

The 24 h rule is about agreeing the time (DOMAIN.md, step 2): the booking clock is met by the moment of
booking. A start after the booking deadline needs a written reason (超时说明) from whoever books it, and
says whether the customer asked for that day.

The desk (API and board) also applies its own checks (check_availability=True): no start in the past,
and a slot outside working hours or in time off is refused with 422 unless a manager gives a reason.

Every visit promises the customer an arrival window [window_start, window_end) holding its start (a CHECK on
both engines). Booking takes the window asked for, else the default (ARRIVAL_WINDOW_MINUTES). Moving a visit
by hand keeps its window while the new start lies inside it; outside it, the customer is promised a new
window (the default one, or the one the request gives) and told again. Only re-planning is bound to keep the
window (keep_window=True). A change of technician or start after booking is marked (mark_changed): the
technician's phone says "your day changed", the board says "slip to reprint" when it was printed before.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.errors import Conflict, Invalid
from ..core.extensions import db
from ..core.i18n import _, label
from ..core.models import Role, User
from ..core.numbering import next_number
from ..core.timeutil import datetime_text, local_tz, localtime_text, utcnow
from ..models import (
    BOOKED_VISIT_STATUSES,
    LIVE_VISIT_STATUSES,
    CallStatus,
    RepairCall,
    TimeOff,
    Visit,
    VisitStatus,
)
from ..services.calls import set_call_status
from .calendars import working_spans
from .freeze import FROZEN_STATUSES, is_frozen
from .visits import LONGEST_VISIT
from .windows import ARRIVAL_WINDOW_MINUTES, arrival_window

__all__ = ["FROZEN_STATUSES", "is_frozen", "mark_changed", "slip_to_reprint", "set_pinned", "promised_window"]

BOOKABLE_CALL_STATUSES = (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED, CallStatus.IN_PROGRESS)
MAX_VISIT = LONGEST_VISIT  # the day's queries bound a visit's start by it (visits.overlapping)
# A start this far in the past is a typing mistake, not a visit (a few minutes cover the time it took to book).
PAST_TOLERANCE = timedelta(minutes=5)
MAX_WINDOW = timedelta(hours=8)  # the longest arrival window a customer can be promised
MOVABLE_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY)


def overlapping_visit(technician_id: int, start: datetime, end: datetime, ignore_id: int | None = None) -> Visit | None:
    stmt = select(Visit).where(
        Visit.technician_id == technician_id, Visit.status.in_([s.value for s in LIVE_VISIT_STATUSES]),
        Visit.start < end, Visit.end > start)
    if ignore_id is not None:
        stmt = stmt.where(Visit.id != ignore_id)
    return db.session.scalars(stmt.limit(1)).first()


def _check_times(start: datetime, end: datetime) -> None:
    if end <= start:
        raise Invalid(_("The visit must end after it starts."), fields={"end": _("must be after start")})
    if end - start > MAX_VISIT:
        raise Invalid(_("A visit lasts at most 12 hours; book several for longer work."),
                      fields={"end": _("at most 12 hours after start")})


def _check_technician(technician: User | None) -> User:
    if technician is None or technician.role != Role.TECHNICIAN:
        raise Invalid(_("Choose a technician."), code="unknown_technician",
                      fields={"technician_id": _("not a technician")})
    if not technician.active:
        raise Invalid(_("%(name)s is disabled and cannot take visits.", name=technician.name),
                      fields={"technician_id": _("disabled")})
    return technician


def _check_past(start: datetime) -> None:
    if start < utcnow() - PAST_TOLERANCE:
        raise Invalid(_("The visit would start in the past (%(start)s). Pick a time from now on.",
                        start=datetime_text(start, weekday=True)), code="start_in_past",
                      fields={"start": _("in the past")})


# ----------------------------------------------------------------------------- the arrival window


def window_minutes() -> int:
    """The default window's length (ARRIVAL_WINDOW_MINUTES)."""
    return int(current_app.config.get("ARRIVAL_WINDOW_MINUTES") or ARRIVAL_WINDOW_MINUTES)


def _window_text(window_start: datetime, window_end: datetime) -> str:
    return f"{datetime_text(window_start, weekday=True)}–{localtime_text(window_end, '%H:%M')}"


def promised_window(start: datetime, window_start: datetime | None = None,
                    window_end: datetime | None = None) -> tuple[datetime, datetime]:
    """The window to promise for a visit starting at `start`: the one asked for (both ends, checked), else
    the default one, never opening before now."""
    if window_start is None and window_end is None:
        return arrival_window(start, minutes=window_minutes(), not_before=utcnow())
    if window_start is None or window_end is None:
        missing = "window_start" if window_start is None else "window_end"
        raise Invalid(_("Give both ends of the arrival window, or neither for the default one."),
                      code="invalid_window", fields={missing: _("required with the other end")})
    if window_end <= window_start:
        raise Invalid(_("The arrival window must end after it opens."), code="invalid_window",
                      fields={"window_end": _("must be after window_start")})
    if window_end - window_start > MAX_WINDOW:
        raise Invalid(_("An arrival window lasts at most 8 hours."), code="invalid_window",
                      fields={"window_end": _("at most 8 hours after window_start")})
    if not window_start <= start < window_end:
        raise Invalid(_("The visit starts at %(start)s, outside the arrival window %(window)s promised to the "
                        "customer. Start it inside the window, or promise another window.",
                        start=datetime_text(start, weekday=True), window=_window_text(window_start, window_end)),
                      code="outside_window", fields={"start": _("outside the arrival window")})
    return window_start, window_end


def after_deadline(call: RepairCall, start: datetime) -> bool:
    """Whether a visit starting at `start` lies after the call's booking deadline."""
    return call.booking_deadline is not None and start > call.booking_deadline


def _check_window(call: RepairCall, start: datetime, override_reason: str | None,
                  customer_requested: bool = False) -> str | None:
    """A start after the booking deadline needs the written reason (超时说明) of whoever books it, any desk
    role; the customer asking for that day is said with customer_requested and written down all the same."""
    if not after_deadline(call, start):
        return None
    reason = (override_reason or "").strip()
    if reason:
        return reason
    deadline = localtime_text(call.booking_deadline)
    field = _("after the booking deadline %(deadline)s", deadline=deadline)
    if customer_requested:
        raise Invalid(_("The visit starts after the booking deadline (%(deadline)s). Write down what the "
                        "customer asked for (e.g. \"customer only available Friday\").", deadline=deadline),
                      code="outside_booking_window", fields={"override_reason": _("required"), "start": field})
    raise Invalid(_("The visit starts after the booking deadline (%(deadline)s). Pick an earlier slot, or "
                    "write down the reason for the delay and say whether the customer asked for that day.",
                    deadline=deadline), code="outside_booking_window",
                  fields={"override_reason": _("required"), "start": field})


def live_visits(call: RepairCall) -> list[Visit]:
    """The call's visits that are booked and not yet done (scheduled, on the way, on site), earliest first."""
    return list(db.session.scalars(select(Visit).where(
        Visit.call_id == call.id, Visit.status.in_([s.value for s in BOOKED_VISIT_STATUSES])).order_by(Visit.start)))


def _already_booked(visit: Visit | None) -> Conflict:
    if visit is None:
        return Conflict(_("This call already has a booked visit."), code="already_booked")
    return Conflict(_("Call %(number)s is already booked: %(slip)s, %(name)s, %(start)s–%(end)s. Reschedule that "
                      "visit, or book an additional technician on purpose.", number=visit.call.number,
                      slip=visit.slip_number, name=visit.technician.name,
                      start=datetime_text(visit.start, weekday=True), end=localtime_text(visit.end, "%H:%M")),
                    code="already_booked")


def _lock_call(call: RepairCall) -> None:
    """Two bookings of one call at the same moment: the second waits here for the first to commit and
    then sees its visit (PostgreSQL: SELECT ... FOR UPDATE; SQLite: the request's BEGIN IMMEDIATE)."""
    db.session.flush()  # nothing pending on the call is lost by the refresh
    if call.id is not None:
        db.session.refresh(call, with_for_update=True)


def _overlap_conflict(other: Visit | None) -> Conflict:
    if other is None:
        return Conflict(_("The technician already has a visit at that time."), code="overlapping_visit",
                        fields={"start": _("overlaps another visit")})
    return Conflict(_("%(name)s already has visit %(slip)s from %(start)s to %(end)s.", name=other.technician.name,
                      slip=other.slip_number, start=localtime_text(other.start, "%H:%M"),
                      end=localtime_text(other.end, "%H:%M")),
                    code="overlapping_visit", fields={"start": _("overlaps another visit")})


def _insert_checked(visit: Visit) -> None:
    """Flush in a savepoint so the database's own checks (overlap, one live visit per call) become a 409,
    not an aborted transaction."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        if "no_overlap" in str(exc.orig) or "exclusion" in str(exc.orig).lower():
            raise _overlap_conflict(None) from None
        if "one_live_per_call" in str(exc.orig) or "visits.call_id" in str(exc.orig):
            raise _already_booked(None) from None
        raise


def book_visit(actor: User, call: RepairCall, technician: User | None, start: datetime, end: datetime,
               override_reason: str | None = None, *, customer_requested: bool = False, additional: bool = False,
               check_availability: bool = False, kind: str | None = None, window_start: datetime | None = None,
               window_end: datetime | None = None) -> Visit:
    """Book a visit. A call that already has a live visit is 409 already_booked unless `additional` (a
    second technician on purpose). The desk (API and board) passes check_availability=True: then a start
    in the past is refused, and a slot outside the technician's working hours or in their time off unless
    a manager gives a reason. The customer is promised the arrival window given (checked), else the
    default one."""
    technician = _check_technician(technician)
    _check_times(start, end)
    window_start, window_end = promised_window(start, window_start, window_end)
    _lock_call(call)
    kind = visit_kind(call, kind)
    check_bookable(call, kind)
    if not additional:
        booked = live_visits(call)
        if booked:
            raise _already_booked(booked[0])
    if check_availability:
        _check_past(start)
    # A return visit brings a carried-back item home: the call's 24 h booking clock was met long ago.
    override = _check_window(call, start, override_reason, customer_requested) if kind == SERVICE else None
    if check_availability:
        override = _check_availability(actor, technician, start, end, override_reason) or override
    other = overlapping_visit(technician.id, start, end)
    if other is not None:
        raise _overlap_conflict(other)
    visit = Visit(call=call, technician=technician, start=start, end=end, status=VisitStatus.SCHEDULED, kind=kind,
                  slip_number=next_number("slip", start.astimezone(local_tz()).year),
                  override_reason=override, customer_requested=bool(customer_requested and override),
                  additional=bool(additional), created_by_id=actor.id, window_start=window_start,
                  window_end=window_end)
    db.session.add(visit)
    _insert_checked(visit)
    audit.record(actor, visit, "visit.booked",
                 after=audit.snapshot(visit, "technician_id", "start", "end", "window_start", "window_end",
                                      "additional", "customer_requested"),
                 reason=override)
    if call.status in (CallStatus.NEW, CallStatus.REOPENED):
        set_call_status(actor, call, CallStatus.BOOKED)
    return visit


def _new_window(visit: Visit, new_start: datetime, window_start: datetime | None, window_end: datetime | None,
                keep_window: bool) -> tuple[datetime, datetime]:
    """The window after a move: the one given; else the promised one while the start stays inside it; else
    (a dispatcher's move) a new default window, or a refusal when the window must be kept (re-planning)."""
    if window_start is not None or window_end is not None:
        if keep_window:
            raise Invalid(_("Re-planning keeps the arrival window promised to the customer."),
                          code="outside_window", fields={"window_start": _("cannot change here")})
        return promised_window(new_start, window_start, window_end)
    if visit.window_start <= new_start < visit.window_end:
        return visit.window_start, visit.window_end
    if keep_window:
        raise Invalid(_("Visit %(slip)s must start within %(window)s, the arrival window promised to the "
                        "customer.", slip=visit.slip_number, window=_window_text(visit.window_start,
                                                                                 visit.window_end)),
                      code="outside_window", fields={"start": _("outside the arrival window")})
    return promised_window(new_start)


def reschedule_visit(actor: User, visit: Visit, *, technician: User | None = None, start: datetime | None = None,
                     end: datetime | None = None, override_reason: str | None = None,
                     reason: str | None = None, customer_requested: bool = False,
                     check_availability: bool = False, window_start: datetime | None = None,
                     window_end: datetime | None = None, keep_window: bool = False) -> Visit:
    """Move or reassign a visit (same overlap, deadline and working-hours rules as booking). The arrival
    window: see _new_window. A change of technician or start is marked (mark_changed)."""
    if visit.status not in MOVABLE_STATUSES:
        raise Conflict(_("Visit %(slip)s is %(status)s; it can no longer be moved.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status").lower()), code="visit_not_movable")
    new_tech = _check_technician(technician) if technician is not None else visit.technician
    new_start = start or visit.start
    new_end = end or (new_start + (visit.end - visit.start) if start else visit.end)
    _check_times(new_start, new_end)
    new_window = _new_window(visit, new_start, window_start, window_end, keep_window)
    if check_availability and new_start != visit.start:
        _check_past(new_start)
    override = (_check_window(visit.call, new_start, override_reason, customer_requested)
                if new_start != visit.start else None)
    if check_availability and (new_start, new_end, new_tech.id) != (visit.start, visit.end, visit.technician_id):
        override = _check_availability(actor, new_tech, new_start, new_end, override_reason) or override
    other = overlapping_visit(new_tech.id, new_start, new_end, ignore_id=visit.id)
    if other is not None:
        raise _overlap_conflict(other)
    fields = ("technician_id", "start", "end", "window_start", "window_end", "override_reason", "customer_requested")
    before = audit.snapshot(visit, *fields)
    old_start, old_tech = visit.start, visit.technician_id
    visit.technician, visit.technician_id = new_tech, new_tech.id
    visit.start, visit.end = new_start, new_end
    visit.window_start, visit.window_end = new_window
    if (new_tech.id, new_start) != (old_tech, old_start):
        mark_changed(visit, former_technician_id=old_tech)
    if new_start != old_start:
        # the reason for a late start follows the visit to its new time (none when no longer needed)
        visit.override_reason = override
        visit.customer_requested = bool(customer_requested and override and after_deadline(visit.call, new_start))
    if visit.status == VisitStatus.ON_THE_WAY and new_tech.id != before["technician_id"]:
        visit.status = VisitStatus.SCHEDULED
    _insert_checked(visit)
    audit.record(actor, visit, "visit.rescheduled", before=before, after=audit.snapshot(visit, *fields),
                 reason=override or reason)
    return visit


def mark_changed(visit: Visit, former_technician_id: int | None = None) -> None:
    """Mark a visit changed after booking (its technician or start; call it after the change, by hand or
    by a re-plan): the technicians' phones show it under "your day changed" and the board asks for its slip
    to be reprinted when it was printed before. `former_technician_id`: the technician it had before, when
    it changed hands (their phone says it was taken away)."""
    now = utcnow()
    visit.changed_at = now
    if former_technician_id is not None and former_technician_id != visit.technician_id:
        visit.reassigned_at = now
        if former_technician_id not in (visit.former_technician_ids or []):
            visit.former_technician_ids = [*(visit.former_technician_ids or []), former_technician_id]


def slip_to_reprint(visit: Visit) -> bool:
    """The slip in the technician's hand is out of date: printed, then the visit changed (and it is still
    to be done). Printing it again clears this."""
    return (visit.status in MOVABLE_STATUSES and visit.slip_printed_at is not None
            and visit.changed_at is not None and visit.changed_at > visit.slip_printed_at)


def set_pinned(actor: User, visit: Visit, pinned: bool) -> Visit:
    """Pin a visit (re-planning never moves it) or unpin it; audited. A visit already done or cancelled is
    409: there is nothing to plan."""
    if visit.status not in (*MOVABLE_STATUSES, VisitStatus.ON_SITE):
        raise Conflict(_("Visit %(slip)s is %(status)s; there is nothing to pin.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status").lower()), code="visit_not_movable")
    if bool(visit.pinned) == pinned:
        return visit  # a resend: nothing changes, nothing to audit
    visit.pinned = pinned
    audit.record(actor, visit, "visit.pinned" if pinned else "visit.unpinned", before={"pinned": not pinned},
                 after={"pinned": pinned})
    return visit


def cancel_visit(actor: User, visit: Visit, reason: str) -> Visit:
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the visit is cancelled."), code="reason_required", fields={"reason": _("required")})
    if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(_("Visit %(slip)s is %(status)s; it cannot be cancelled.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status").lower()), code="visit_not_cancellable")
    visit.status = VisitStatus.CANCELLED
    visit.cancel_reason = reason
    mark_changed(visit)  # taken off the technician's day
    audit.record(actor, visit, "visit.cancelled", before={"status": "scheduled"}, after={"status": "cancelled"},
                 reason=reason)
    call = visit.call
    live = [v for v in call.visits if v.status != VisitStatus.CANCELLED and v.id != visit.id]
    if not live and call.status == CallStatus.BOOKED:
        set_call_status(actor, call, CallStatus.NEW, reason=f"visit {visit.slip_number} cancelled: {reason}")
    return visit


SERVICE, RETURN = "service", "return"  # Visit.kind


def visit_kind(call: RepairCall, kind: str | None) -> str:
    """A visit's kind: a carried-back call books the item's return visit (the workshop has the item), any
    other call a service visit; asked for explicitly, "return" needs a carried-back call."""
    if kind is None or kind == "":
        return RETURN if call.status == CallStatus.CARRIED_BACK else SERVICE
    if kind not in (SERVICE, RETURN):
        raise Invalid(_("A visit is a service visit or a return visit."), fields={"kind": _("one of: %(values)s",
                                                                                         values="service, return")})
    if kind == RETURN and call.status != CallStatus.CARRIED_BACK:
        raise Conflict(_("Call %(number)s has no carried-back item to return.", number=call.number),
                       code="nothing_to_return")
    return kind


def check_bookable(call: RepairCall, kind: str | None = None) -> None:
    if call.status == CallStatus.CARRIED_BACK and kind in (None, RETURN):
        pass  # the item's return visit
    elif call.status not in BOOKABLE_CALL_STATUSES:
        raise Conflict(_("Call %(number)s is %(status)s; it cannot be booked.", number=call.number,
                         status=label(call.status, "call_status").lower()), code="call_not_bookable")
    if not call.on_site:
        raise Conflict(_("Call %(number)s needs no site visit.", number=call.number), code="no_site_visit")


# ----------------------------------------------------------------------------- availability


def availability_problem(technician: User, start: datetime, end: datetime) -> tuple[str, str] | None:
    """(code, sentence) when [start, end] is outside the technician's working hours or in their time off."""
    tz = local_tz()
    hours = [(w.weekday, w.start, w.end) for w in technician.working_hours]
    spans = working_spans(hours, start, end, tz)
    if not any(s <= start and end <= e for _, s, e in spans):
        return ("outside_working_hours",
                _("%(name)s does not work from %(start)s to %(end)s (outside their working hours).",
                  name=technician.name, start=datetime_text(start, weekday=True), end=localtime_text(end, "%H:%M")))
    off = db.session.scalars(select(TimeOff).where(
        TimeOff.user_id == technician.id, TimeOff.cancelled_at.is_(None), TimeOff.starts_at < end,
        TimeOff.ends_at > start).limit(1)).first()
    if off is not None:
        start_text, end_text = localtime_text(off.starts_at), localtime_text(off.ends_at)
        if off.reason:
            return ("technician_time_off", _("%(name)s is off from %(start)s to %(end)s (%(reason)s).",
                                             name=technician.name, start=start_text, end=end_text, reason=off.reason))
        return ("technician_time_off", _("%(name)s is off from %(start)s to %(end)s.", name=technician.name,
                                         start=start_text, end=end_text))
    return None


def _check_availability(actor: User, technician: User, start: datetime, end: datetime,
                        override_reason: str | None) -> str | None:
    problem = availability_problem(technician, start, end)
    if problem is None:
        return None
    code, sentence = problem
    reason = (override_reason or "").strip()
    if reason and actor.role in (Role.MANAGER, Role.ADMIN):
        return reason
    field = _("outside working hours") if code == "outside_working_hours" else _("technician time off")
    if reason:
        raise Invalid(_("%(problem)s Only a service manager may book it anyway.", problem=sentence), code=code,
                      fields={"start": field})
    raise Invalid(_("%(problem)s Pick another slot, or ask a manager to book it with a reason.", problem=sentence),
                  code=code, fields={"start": field})
