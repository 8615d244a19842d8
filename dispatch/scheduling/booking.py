"""Booking visits: book, move and cancel, and the checks every booking passes.

One technician never holds two overlapping live visits. The rule lives in the database too: on
PostgreSQL an exclusion constraint over (technician, time range) for live visits; on SQLite every
write request runs in one BEGIN IMMEDIATE transaction, so the check below and the insert cannot
interleave with another writer.

The desk (API and board) also applies the working-hours / time-off check (check_availability=True):
a slot outside them is refused with 422 unless a manager gives a reason.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import audit
from ..core.errors import Conflict, Invalid
from ..core.extensions import db
from ..core.i18n import _, label
from ..core.models import Role, User
from ..core.numbering import next_number
from ..core.timeutil import datetime_text, local_tz, localtime_text
from ..models import LIVE_VISIT_STATUSES, CallStatus, RepairCall, TimeOff, Visit, VisitStatus
from ..services.calls import set_call_status
from .calendars import working_spans

BOOKABLE_CALL_STATUSES = (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED, CallStatus.IN_PROGRESS)
MAX_VISIT = timedelta(hours=12)


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


def _check_window(actor: User, call: RepairCall, start: datetime, override_reason: str | None) -> str | None:
    if call.booking_deadline is None or start <= call.booking_deadline:
        return None
    reason = (override_reason or "").strip()
    if reason and actor.role in (Role.MANAGER, Role.ADMIN):
        return reason
    deadline = localtime_text(call.booking_deadline)
    field = _("after the booking deadline %(deadline)s", deadline=deadline)
    if reason:
        raise Invalid(_("Only a service manager may book after the booking deadline (%(deadline)s).",
                        deadline=deadline), code="outside_booking_window", fields={"start": field})
    raise Invalid(_("The visit starts after the booking deadline (%(deadline)s). Pick an earlier slot, "
                    "or ask a manager to book it with a reason.", deadline=deadline), code="outside_booking_window",
                  fields={"start": field})


def _overlap_conflict(other: Visit | None) -> Conflict:
    if other is None:
        return Conflict(_("The technician already has a visit at that time."), code="overlapping_visit",
                        fields={"start": _("overlaps another visit")})
    return Conflict(_("%(name)s already has visit %(slip)s from %(start)s to %(end)s.", name=other.technician.name,
                      slip=other.slip_number, start=localtime_text(other.start, "%H:%M"),
                      end=localtime_text(other.end, "%H:%M")),
                    code="overlapping_visit", fields={"start": _("overlaps another visit")})


def _insert_checked(visit: Visit) -> None:
    """Flush in a savepoint so the database's own overlap check becomes a 409, not an aborted transaction."""
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError as exc:
        if "no_overlap" in str(exc.orig) or "exclusion" in str(exc.orig).lower():
            raise _overlap_conflict(None) from None
        raise


def book_visit(actor: User, call: RepairCall, technician: User | None, start: datetime, end: datetime,
               override_reason: str | None = None, *, check_availability: bool = False) -> Visit:
    """Book a visit. The desk (API and board) passes check_availability=True: then a slot outside the
    technician's working hours or in their time off is refused unless a manager gives a reason."""
    technician = _check_technician(technician)
    _check_times(start, end)
    check_bookable(call)
    override = _check_window(actor, call, start, override_reason)
    if check_availability:
        override = _check_availability(actor, technician, start, end, override_reason) or override
    other = overlapping_visit(technician.id, start, end)
    if other is not None:
        raise _overlap_conflict(other)
    visit = Visit(call=call, technician=technician, start=start, end=end, status=VisitStatus.SCHEDULED,
                  slip_number=next_number("slip", start.astimezone(local_tz()).year),
                  override_reason=override, created_by_id=actor.id)
    db.session.add(visit)
    _insert_checked(visit)
    audit.record(actor, visit, "visit.booked", after=audit.snapshot(visit, "technician_id", "start", "end"),
                 reason=override)
    if call.status in (CallStatus.NEW, CallStatus.REOPENED):
        set_call_status(actor, call, CallStatus.BOOKED)
    return visit


def reschedule_visit(actor: User, visit: Visit, *, technician: User | None = None, start: datetime | None = None,
                     end: datetime | None = None, override_reason: str | None = None,
                     reason: str | None = None, check_availability: bool = False) -> Visit:
    if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(_("Visit %(slip)s is %(status)s; it can no longer be moved.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status").lower()), code="visit_not_movable")
    new_tech = _check_technician(technician) if technician is not None else visit.technician
    new_start = start or visit.start
    new_end = end or (new_start + (visit.end - visit.start) if start else visit.end)
    _check_times(new_start, new_end)
    override = _check_window(actor, visit.call, new_start, override_reason) if new_start != visit.start else None
    if check_availability and (new_start, new_end, new_tech.id) != (visit.start, visit.end, visit.technician_id):
        override = _check_availability(actor, new_tech, new_start, new_end, override_reason) or override
    other = overlapping_visit(new_tech.id, new_start, new_end, ignore_id=visit.id)
    if other is not None:
        raise _overlap_conflict(other)
    before = audit.snapshot(visit, "technician_id", "start", "end")
    if new_tech.id != visit.technician_id and visit.technician_id not in (visit.former_technician_ids or []):
        visit.former_technician_ids = [*(visit.former_technician_ids or []), visit.technician_id]
    visit.technician, visit.start, visit.end = new_tech, new_start, new_end
    if visit.status == VisitStatus.ON_THE_WAY and new_tech.id != before["technician_id"]:
        visit.status = VisitStatus.SCHEDULED
    _insert_checked(visit)
    audit.record(actor, visit, "visit.rescheduled", before=before,
                 after=audit.snapshot(visit, "technician_id", "start", "end"), reason=override or reason)
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
    audit.record(actor, visit, "visit.cancelled", before={"status": "scheduled"}, after={"status": "cancelled"},
                 reason=reason)
    call = visit.call
    live = [v for v in call.visits if v.status != VisitStatus.CANCELLED and v.id != visit.id]
    if not live and call.status == CallStatus.BOOKED:
        set_call_status(actor, call, CallStatus.NEW, reason=f"visit {visit.slip_number} cancelled: {reason}")
    return visit


def check_bookable(call: RepairCall) -> None:
    if call.status not in BOOKABLE_CALL_STATUSES:
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
