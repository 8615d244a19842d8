"""Booking visits: one technician never holds two overlapping live visits.

The rule lives in the database too: on PostgreSQL an exclusion constraint over (technician, time range)
for live visits; on SQLite every write request runs in one BEGIN IMMEDIATE transaction, so the check
below and the insert cannot interleave with another writer.

Also here: ranked suggestions (suggest() on plain data, suggestions_for_call() on the database),
the working-hours / time-off check the desk applies when booking (check_availability=True; refused
with 422 unless a manager gives a reason), and the technicians' calendars (skills, base, hours, time off).
"""

from __future__ import annotations

import bisect
import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from . import geo
from .core import audit
from .core.errors import Conflict, Invalid, NotFound
from .core.extensions import db
from .core.models import Role, User
from .core.numbering import next_number
from .core.timeutil import local_tz, localtime_text, utcnow
from .models import (
    LIVE_VISIT_STATUSES,
    CallStatus,
    RepairCall,
    Site,
    TimeOff,
    Visit,
    VisitStatus,
    WorkingHours,
)
from .services import set_call_status

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
        raise Invalid("The visit must end after it starts.", fields={"end": "must be after start"})
    if end - start > MAX_VISIT:
        raise Invalid("A visit lasts at most 12 hours; book several for longer work.",
                      fields={"end": "at most 12 hours after start"})


def _check_technician(technician: User | None) -> User:
    if technician is None or technician.role != Role.TECHNICIAN:
        raise Invalid("Choose a technician.", code="unknown_technician", fields={"technician_id": "not a technician"})
    if not technician.active:
        raise Invalid(f"{technician.name} is disabled and cannot take visits.",
                      fields={"technician_id": "disabled"})
    return technician


def _check_window(actor: User, call: RepairCall, start: datetime, override_reason: str | None) -> str | None:
    if call.booking_deadline is None or start <= call.booking_deadline:
        return None
    reason = (override_reason or "").strip()
    if reason and actor.role in (Role.MANAGER, Role.ADMIN):
        return reason
    deadline = localtime_text(call.booking_deadline)
    if reason:
        raise Invalid(f"Only a service manager may book after the booking deadline ({deadline}).",
                      code="outside_booking_window", fields={"start": f"after the booking deadline {deadline}"})
    raise Invalid(f"The visit starts after the booking deadline ({deadline}). Pick an earlier slot, "
                  "or ask a manager to book it with a reason.", code="outside_booking_window",
                  fields={"start": f"after the booking deadline {deadline}"})


def _overlap_conflict(other: Visit | None) -> Conflict:
    if other is None:
        return Conflict("The technician already has a visit at that time.", code="overlapping_visit",
                        fields={"start": "overlaps another visit"})
    return Conflict(f"{other.technician.name} already has visit {other.slip_number} from "
                    f"{localtime_text(other.start, '%H:%M')} to {localtime_text(other.end, '%H:%M')}.",
                    code="overlapping_visit", fields={"start": "overlaps another visit"})


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
        raise Conflict(f"Visit {visit.slip_number} is {visit.status}; it can no longer be moved.",
                       code="visit_not_movable")
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
        raise Invalid("Say why the visit is cancelled.", code="reason_required", fields={"reason": "required"})
    if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(f"Visit {visit.slip_number} is {visit.status}; it cannot be cancelled.",
                       code="visit_not_cancellable")
    visit.status = VisitStatus.CANCELLED
    visit.cancel_reason = reason
    audit.record(actor, visit, "visit.cancelled", before={"status": "scheduled"}, after={"status": "cancelled"},
                 reason=reason)
    call = visit.call
    live = [v for v in call.visits if v.status != VisitStatus.CANCELLED and v.id != visit.id]
    if not live and call.status == CallStatus.BOOKED:
        set_call_status(actor, call, CallStatus.NEW, reason=f"visit {visit.slip_number} cancelled: {reason}")
    return visit


def get_visit_or_404(visit_id: int, for_user: User) -> Visit:
    """A visit the user may see: a technician only their own (404 for anyone else's)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or (for_user.role == Role.TECHNICIAN and visit.technician_id != for_user.id):
        raise NotFound(f"There is no visit {visit_id}.")
    return visit


def visits_on(day_start: datetime, day_end: datetime, technician_id: int | None = None) -> list[Visit]:
    stmt = select(Visit).where(Visit.start < day_end, Visit.end > day_start,
                               Visit.status != VisitStatus.CANCELLED).order_by(Visit.technician_id, Visit.start)
    if technician_id is not None:
        stmt = stmt.where(Visit.technician_id == technician_id)
    return list(db.session.scalars(stmt))



# ============================================================================ suggestions
#
# The ranking runs on plain data (TechnicianPlan, Job, TravelModel), so the API, the board and the bench
# all call the same code: the API loads plans from the database (plans_from_db), the bench builds them from
# its JSON days. A technician's day is a route base -> visits in time order -> base; a new visit goes into
# one gap of that route and costs the extra kilometres it adds there.

Point = tuple[float, float]

GRID_MINUTES = 15
HORIZON_DAYS = 3
# Visit length when the dispatcher does not say: urgent and high-priority work tends to take longer.
DEFAULT_DURATION_MINUTES = {"urgent": 90, "high": 90, "normal": 60, "low": 60}
LONG_PROBLEMS = {"install": 120, "installation": 120, "commissioning": 120, "overhaul": 180}
# What one minute of waiting is worth in extra kilometres, by priority: urgent calls go earliest (an hour
# sooner is worth 60 km), normal ones trade 6 km for an hour, low ones go where the route is cheapest.
# Earlier also keeps later capacity free for the calls still to come (bench/bench_booking.py measures it).
KM_PER_MINUTE_LATER = {"urgent": 1.0, "high": 0.3, "normal": 0.1, "low": 0.025}
AFTER_DEADLINE_PENALTY = 10_000.0
PER_TECHNICIAN = 2  # at most this many of the first suggestions go to one technician


@dataclass(frozen=True)
class Stop:
    """A fixed point of a technician's day: a booked visit, or the base at the day's start and end."""

    start: datetime
    end: datetime
    point: Point
    label: str


@dataclass
class TechnicianPlan:
    id: Any
    name: str
    skills: frozenset[str]
    base: Point
    hours: Sequence[tuple[int, time, time]]
    time_off: Sequence[tuple[datetime, datetime]] = ()
    visits: list[Stop] = field(default_factory=list)  # live visits, sorted by start

    def add(self, stop: Stop) -> None:
        bisect.insort(self.visits, stop, key=lambda s: s.start)


@dataclass(frozen=True)
class Job:
    point: Point
    duration: timedelta
    priority: str = "normal"
    required_skill: str | None = None
    deadline: datetime | None = None


@dataclass(frozen=True)
class TravelModel:
    road_factor: float
    speed_kmh: float
    tz: ZoneInfo

    def km(self, a: Point, b: Point) -> float:
        return _road_km(a, b, self.road_factor)

    def minutes(self, km: float) -> float:
        return km / self.speed_kmh * 60


@functools.lru_cache(maxsize=200_000)
def _road_km(a: Point, b: Point, factor: float) -> float:
    return 0.0 if a == b else geo.road_km(a, b, factor)


@dataclass(frozen=True)
class Suggestion:
    technician_id: Any
    technician_name: str
    start: datetime
    end: datetime
    travel_km: float  # the extra km this visit adds to the technician's day
    arrival: datetime  # when the technician can be there, leaving the previous stop as early as possible
    within_deadline: bool
    slack_minutes: int | None  # minutes between the start and the booking deadline (negative: late)
    score: float  # 0-100, higher is better
    cost: float
    explanation: str


@dataclass
class SuggestionResult:
    items: list[Suggestion]
    nothing_fits: bool
    message: str | None
    duration: timedelta


def _ceil(value: datetime, minutes: int = GRID_MINUTES) -> datetime:
    step = minutes * 60
    ts = value.timestamp()
    rounded = -(-int(ts) // step) * step
    return datetime.fromtimestamp(rounded, UTC)


def working_spans(hours: Iterable[tuple[int, time, time]], start: datetime, end: datetime,
                  tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The working spans (local day, start, end in UTC) that touch [start, end]. A span whose end is not
    after its start runs past midnight and belongs to the weekday it starts on."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    spans = []
    hours = list(hours)
    day = first
    while day <= last:
        for weekday, s, e in hours:
            if weekday != day.weekday():
                continue
            s_at = datetime.combine(day, s, tzinfo=tz).astimezone(UTC)
            e_day = day + timedelta(days=1) if e <= s else day
            e_at = datetime.combine(e_day, e, tzinfo=tz).astimezone(UTC)
            if e_at > start and s_at < end:
                spans.append((day, s_at, e_at))
        day += timedelta(days=1)
    spans.sort(key=lambda x: x[1])
    return spans


def _free_start(start: datetime, latest: datetime, duration: timedelta,
                time_off: Sequence[tuple[datetime, datetime]]) -> datetime | None:
    """The first grid start >= start with [start, start+duration] clear of time off, not after latest."""
    start = _ceil(start)
    moved = True
    while moved and start <= latest:
        moved = False
        for off_start, off_end in time_off:
            if off_start < start + duration and off_end > start:
                start = _ceil(off_end)
                moved = True
    return start if start <= latest else None


def _span_text(minutes: float) -> str:
    minutes = int(round(minutes))
    sign = "-" if minutes < 0 else ""
    minutes = abs(minutes)
    return f"{sign}{minutes // 60} h {minutes % 60:02d} min" if minutes >= 60 else f"{sign}{minutes} min"


def suggest(job: Job, plans: Iterable[TechnicianPlan], model: TravelModel, now: datetime, *, limit: int = 5,
            horizon: datetime | None = None) -> SuggestionResult:
    """Ranked (technician, slot) pairs for one job; see the module's notes. Pure: no database."""
    earliest = _ceil(now)
    if horizon is None:
        horizon = now + timedelta(days=HORIZON_DAYS)
        if job.deadline is not None:
            horizon = min(max(horizon, job.deadline + timedelta(days=2)), now + timedelta(days=8))
    weight = KM_PER_MINUTE_LATER.get(job.priority, KM_PER_MINUTE_LATER["normal"])
    skilled_plans = [p for p in plans if not job.required_skill or job.required_skill in p.skills]
    skilled = len(skilled_plans)
    found: list[Suggestion] = []
    # First only the days up to the deadline (usually enough, and half the work); beyond it only when
    # nothing fits inside.
    if job.deadline is not None and job.deadline < horizon:
        for plan in skilled_plans:
            found.extend(_plan_candidates(job, plan, model, earliest, job.deadline + timedelta(minutes=1), weight))
        found = [s for s in found if s.within_deadline]
    if not found:
        for plan in skilled_plans:
            found.extend(_plan_candidates(job, plan, model, earliest, horizon, weight))
    skill = f" with the skill {job.required_skill}" if job.required_skill else ""
    if not skilled:
        return SuggestionResult([], True, f"No active technician{skill}.", job.duration)
    if not found:
        return SuggestionResult([], True, f"No technician{skill} has a free slot in working hours before "
                                          f"{localtime_text(horizon)}.", job.duration)
    if not any(s.within_deadline for s in found):
        message = (f"Nothing fits before the booking deadline ({localtime_text(job.deadline)}): no technician{skill} "
                   "is free in time. The earliest slots after it are shown; booking one needs a manager's reason.")
        found.sort(key=lambda s: (s.start, s.cost))
        return SuggestionResult(_diverse(found, limit), True, message, job.duration)
    # Slots after the deadline only appear when nothing fits inside it.
    found = sorted((s for s in found if s.within_deadline), key=lambda s: (s.cost, s.start))
    return SuggestionResult(_diverse(found, limit), False, None, job.duration)


def _diverse(items: list[Suggestion], limit: int) -> list[Suggestion]:
    """The best `limit`, in rank order, with no technician taking more than PER_TECHNICIAN places while
    others wait; when too few technicians fit, the rest of the list fills up."""
    chosen: list[int] = []
    per: dict[Any, int] = {}
    for i, s in enumerate(items):
        if per.get(s.technician_id, 0) < PER_TECHNICIAN:
            chosen.append(i)
            per[s.technician_id] = per.get(s.technician_id, 0) + 1
            if len(chosen) >= limit:
                break
    if len(chosen) < limit:
        taken = set(chosen)
        chosen += [i for i in range(len(items)) if i not in taken][:limit - len(chosen)]
    return [items[i] for i in sorted(chosen)]


def _plan_candidates(job: Job, plan: TechnicianPlan, model: TravelModel, earliest: datetime, horizon: datetime,
                     weight: float) -> list[Suggestion]:
    spans = working_spans(plan.hours, earliest, horizon, model.tz)
    days: dict[date, list[tuple[datetime, datetime]]] = {}
    for day, s, e in spans:
        days.setdefault(day, []).append((s, e))
    out = []
    starts = [v.start for v in plan.visits]
    for day_spans in days.values():
        day_start, day_end = day_spans[0][0], max(e for _, e in day_spans)
        # visits that touch this day, in time order (the list is sorted by start)
        hi = bisect.bisect_left(starts, day_end)
        stops = [v for v in plan.visits[:hi] if v.end > day_start]
        chain = [Stop(day_start, day_start, plan.base, "base"), *stops, Stop(day_end, day_end, plan.base, "base")]
        for prev, nxt in zip(chain, chain[1:], strict=False):
            cand = _gap_candidate(job, plan, model, prev, nxt, day_spans, earliest, weight)
            if cand is not None:
                out.append(cand)
    return out


def _gap_candidate(job: Job, plan: TechnicianPlan, model: TravelModel, prev: Stop, nxt: Stop,
                   day_spans: list[tuple[datetime, datetime]], earliest: datetime,
                   weight: float) -> Suggestion | None:
    if nxt.start <= earliest:
        return None
    km_in = model.km(prev.point, job.point)
    km_out = model.km(job.point, nxt.point)
    leave = max(prev.end, earliest)
    arrival = leave + timedelta(minutes=model.minutes(km_in))
    # The route back to base after the last visit may run past the working day; to a next visit it may not.
    latest_end = nxt.start if nxt.label == "base" else nxt.start - timedelta(minutes=model.minutes(km_out))
    start = None
    for s, e in day_spans:
        lo = max(arrival, s)
        latest_start = min(latest_end, e) - job.duration
        if lo > latest_start:
            continue
        start = _free_start(lo, latest_start, job.duration, plan.time_off)
        if start is not None:
            break
    if start is None:
        return None
    extra = km_in + km_out - model.km(prev.point, nxt.point)
    waited = (start - earliest).total_seconds() / 60
    within = job.deadline is None or start <= job.deadline
    slack = int((job.deadline - start).total_seconds() // 60) if job.deadline is not None else None
    cost = extra + weight * waited + (0.0 if within else AFTER_DEADLINE_PENALTY)
    tz = model.tz
    came_from = "base" if prev.label == "base" else f"visit {prev.label}"
    goes_to = "back to base" if nxt.label == "base" else f"to visit {nxt.label}"
    text = (f"{plan.name}: +{extra:.1f} km to the day ({km_in:.1f} km from {came_from}, then {km_out:.1f} km "
            f"{goes_to}); can arrive {arrival.astimezone(tz):%H:%M}, starts {start.astimezone(tz):%a %H:%M}")
    if slack is not None:
        text += (f"; {_span_text(slack)} before the booking deadline" if within
                 else f"; {_span_text(-slack)} AFTER the booking deadline")
    return Suggestion(technician_id=plan.id, technician_name=plan.name, start=start, end=start + job.duration,
                      travel_km=round(extra, 2), arrival=arrival, within_deadline=within, slack_minutes=slack,
                      score=round(100 / (1 + cost / 10), 1), cost=cost, explanation=text + ".")


# ----------------------------------------------------------------------------- the same on the database


def travel_model() -> TravelModel:
    cfg = current_app.config
    return TravelModel(float(cfg["ROAD_FACTOR"]), float(cfg["AVERAGE_SPEED_KMH"]), local_tz())


def centre() -> Point:
    return (current_app.config["SERVICE_CENTER_LATITUDE"], current_app.config["SERVICE_CENTER_LONGITUDE"])


def plans_from_db(start: datetime, end: datetime, skill: str | None = None,
                  technician_ids: Sequence[int] | None = None) -> list[TechnicianPlan]:
    """Every active technician (with the skill) and what fixes their days in [start, end]: three queries."""
    # Plain rows, not ORM objects: with 200 technicians the objects alone would cost more than the ranking.
    stmt = (select(User.id, User.name, User.skills, User.base_latitude, User.base_longitude)
            .where(User.role == Role.TECHNICIAN, User.active.is_(True)).order_by(User.name))
    if technician_ids is not None:
        stmt = stmt.where(User.id.in_(list(technician_ids)))
    techs = [t for t in db.session.execute(stmt) if not skill or skill in (t.skills or [])]
    if not techs:
        return []
    ids = [t.id for t in techs]
    hours: dict[int, list[tuple[int, time, time]]] = {}
    for user_id, weekday, w_start, w_end in db.session.execute(
            select(WorkingHours.user_id, WorkingHours.weekday, WorkingHours.start, WorkingHours.end)
            .where(WorkingHours.user_id.in_(ids))):
        hours.setdefault(user_id, []).append((weekday, w_start, w_end))
    lo, hi = start - timedelta(days=1), end + timedelta(days=1)
    offs: dict[int, list[tuple[datetime, datetime]]] = {}
    for user_id, off_start, off_end in db.session.execute(select(TimeOff.user_id, TimeOff.starts_at, TimeOff.ends_at).where(
            TimeOff.user_id.in_(ids), TimeOff.cancelled_at.is_(None), TimeOff.ends_at > lo, TimeOff.starts_at < hi)):
        offs.setdefault(user_id, []).append((off_start, off_end))
    visits: dict[int, list[Stop]] = {}
    rows = db.session.execute(
        select(Visit.technician_id, Visit.start, Visit.end, Visit.slip_number, Site.latitude, Site.longitude)
        .join(RepairCall, Visit.call_id == RepairCall.id).join(Site, RepairCall.site_id == Site.id)
        .where(Visit.technician_id.in_(ids), Visit.status.in_([s.value for s in LIVE_VISIT_STATUSES]),
               Visit.start < hi, Visit.end > lo).order_by(Visit.start))
    for tech_id, v_start, v_end, slip, lat, lon in rows:
        visits.setdefault(tech_id, []).append(Stop(v_start, v_end, (lat, lon), slip))
    home = centre()
    plans = []
    for t in techs:
        base = (t.base_latitude, t.base_longitude) if t.base_latitude is not None and t.base_longitude is not None \
            else home
        plans.append(TechnicianPlan(
            id=t.id, name=t.name, skills=frozenset(t.skills or []), base=base,
            hours=hours.get(t.id, []),
            time_off=sorted(offs.get(t.id, [])), visits=visits.get(t.id, [])))
    return plans


def default_duration(call: RepairCall) -> timedelta:
    problem = (call.problem_type or "").lower()
    for word, minutes in LONG_PROBLEMS.items():
        if word in problem:
            return timedelta(minutes=minutes)
    return timedelta(minutes=DEFAULT_DURATION_MINUTES.get(call.priority, 60))


def check_bookable(call: RepairCall) -> None:
    if call.status not in BOOKABLE_CALL_STATUSES:
        raise Conflict(f"Call {call.number} is {call.status}; it cannot be booked.", code="call_not_bookable")
    if not call.on_site:
        raise Conflict(f"Call {call.number} needs no site visit.", code="no_site_visit")


def suggestions_for_call(call: RepairCall, *, limit: int = 5, duration: timedelta | None = None,
                         now: datetime | None = None) -> SuggestionResult:
    check_bookable(call)
    now = now or utcnow()
    job = Job(point=(call.site.latitude, call.site.longitude), duration=duration or default_duration(call),
              priority=call.priority, required_skill=call.required_skill, deadline=call.booking_deadline)
    horizon = now + timedelta(days=HORIZON_DAYS)
    if job.deadline is not None:
        horizon = min(max(horizon, job.deadline + timedelta(days=2)), now + timedelta(days=8))
    plans = plans_from_db(now, horizon, skill=call.required_skill)
    return suggest(job, plans, travel_model(), now, limit=limit, horizon=horizon)


# ----------------------------------------------------------------------------- availability


def availability_problem(technician: User, start: datetime, end: datetime) -> tuple[str, str] | None:
    """(code, sentence) when [start, end] is outside the technician's working hours or in their time off."""
    tz = local_tz()
    hours = [(w.weekday, w.start, w.end) for w in technician.working_hours]
    spans = working_spans(hours, start, end, tz)
    if not any(s <= start and end <= e for _, s, e in spans):
        return ("outside_working_hours",
                f"{technician.name} does not work from {localtime_text(start, '%a %Y-%m-%d %H:%M')} to "
                f"{localtime_text(end, '%H:%M')} (outside their working hours).")
    off = db.session.scalars(select(TimeOff).where(
        TimeOff.user_id == technician.id, TimeOff.cancelled_at.is_(None), TimeOff.starts_at < end,
        TimeOff.ends_at > start).limit(1)).first()
    if off is not None:
        return ("technician_time_off",
                f"{technician.name} is off from {localtime_text(off.starts_at)} to {localtime_text(off.ends_at)}"
                + (f" ({off.reason})" if off.reason else "") + ".")
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
    if reason:
        raise Invalid(sentence + " Only a service manager may book it anyway.", code=code,
                      fields={"start": code.replace("_", " ")})
    raise Invalid(sentence + " Pick another slot, or ask a manager to book it with a reason.", code=code,
                  fields={"start": code.replace("_", " ")})


# ----------------------------------------------------------------------------- technicians' calendars


def update_technician(actor: User, technician: User, *, skills: Sequence[str] | None = None,
                      base_latitude: float | None = None, base_longitude: float | None = None,
                      clear_base: bool = False,
                      working_hours: Sequence[tuple[int, time, time]] | None = None) -> User:
    from .services import set_working_hours

    if technician.role != Role.TECHNICIAN:
        raise Invalid(f"{technician.name} is not a technician.", code="not_a_technician")
    before = _tech_snapshot(technician)
    if skills is not None:
        technician.skills = sorted({s.strip().lower() for s in skills if s.strip()})
    if clear_base:
        technician.base_latitude = technician.base_longitude = None
    elif base_latitude is not None or base_longitude is not None:
        if base_latitude is None or base_longitude is None:
            raise Invalid("Give both base_latitude and base_longitude.",
                          fields={"base_latitude" if base_latitude is None else "base_longitude": "required"})
        technician.base_latitude, technician.base_longitude = base_latitude, base_longitude
    if working_hours is not None:
        set_working_hours(technician, working_hours)
    db.session.flush()
    after = _tech_snapshot(technician)
    if before != after:
        audit.record(actor, technician, "technician.updated", before=before, after=after)
    return technician


def _tech_snapshot(t: User) -> dict[str, Any]:
    return {"skills": list(t.skills or []), "base_latitude": t.base_latitude, "base_longitude": t.base_longitude,
            "working_hours": [[w.weekday, w.start.strftime("%H:%M"), w.end.strftime("%H:%M")]
                              for w in sorted(t.working_hours, key=lambda w: (w.weekday, w.start))]}


def add_time_off(actor: User, technician: User, starts_at: datetime, ends_at: datetime,
                 reason: str = "") -> tuple[TimeOff, list[Visit]]:
    """Time off, and the live visits it now collides with (to move: the dispatcher decides)."""
    if technician.role != Role.TECHNICIAN:
        raise Invalid(f"{technician.name} is not a technician.", code="not_a_technician")
    if ends_at <= starts_at:
        raise Invalid("Time off must end after it starts.", fields={"ends_at": "must be after starts_at"})
    off = TimeOff(user=technician, starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip()[:200])
    db.session.add(off)
    audit.record(actor, off, "time_off.created",
                 after={"user_id": technician.id, **audit.snapshot(off, "starts_at", "ends_at", "reason")})
    clashes = list(db.session.scalars(select(Visit).where(
        Visit.technician_id == technician.id, Visit.status.in_([VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY]),
        Visit.start < ends_at, Visit.end > starts_at).order_by(Visit.start)))
    return off, clashes


def cancel_time_off(actor: User, off: TimeOff, reason: str | None = None) -> TimeOff:
    if off.cancelled_at is not None:
        raise Conflict("This time off is already cancelled.", code="already_cancelled")
    off.cancelled_at = utcnow()
    audit.record(actor, off, "time_off.cancelled", before={"cancelled_at": None},
                 after={"cancelled_at": off.cancelled_at}, reason=reason)
    return off


def time_off_of(technician: User, since: datetime | None = None) -> list[TimeOff]:
    stmt = select(TimeOff).where(TimeOff.user_id == technician.id, TimeOff.cancelled_at.is_(None))
    if since is not None:
        stmt = stmt.where(TimeOff.ends_at > since)
    return list(db.session.scalars(stmt.order_by(TimeOff.starts_at)))


def waiting_calls() -> list[RepairCall]:
    """The board's queue: site visits waiting to be booked, the nearest booking deadline first."""
    stmt = (select(RepairCall).where(RepairCall.status.in_([CallStatus.NEW, CallStatus.REOPENED]),
                                     RepairCall.on_site.is_(True))
            .options(selectinload(RepairCall.customer), selectinload(RepairCall.site))
            .order_by(RepairCall.booking_deadline.asc(), RepairCall.id))
    return list(db.session.scalars(stmt))


def working_hours_rows(technician: User) -> list[WorkingHours]:
    return sorted(technician.working_hours, key=lambda w: (w.weekday, w.start))
