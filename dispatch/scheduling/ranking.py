"""Ranked suggestions on plain data: which technician, when, and why.

The ranking runs on plain data (TechnicianPlan, Job, TravelModel), so the API, the board and the bench
all call the same code: the desk loads plans from the database (plans.plans_from_db), the bench builds
them from its JSON days. A technician's day is a route base -> visits in time order -> base; a new visit
goes into one gap of that route and costs the extra kilometres it adds there. Pure: no database.
"""

from __future__ import annotations

import bisect
import functools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from flask import has_app_context

from ..core.i18n import _, locale_name, span_text
from ..core.timeutil import localtime_text
from ..geo.distance import road_km
from .calendars import working_spans

Point = tuple[float, float]

GRID_MINUTES = 15
# How far suggestions look at most (the app's SUGGESTION_HORIZON_DAYS); the search widens step by step
# from the booking deadline (FIRST_STEP_DAYS, then twice as far, ...) and stops at the first window with
# enough slots, so a busy week still gets the earliest free slots of the next one.
HORIZON_DAYS = 14
FIRST_STEP_DAYS = 3
# What one minute of waiting is worth in extra kilometres, by priority: urgent calls go earliest (an hour
# sooner is worth 60 km), normal ones trade 6 km for an hour, low ones go where the route is cheapest.
# Earlier also keeps later capacity free for the calls still to come (bench/bench_booking.py measures it).
KM_PER_MINUTE_LATER = {"urgent": 1.0, "high": 0.3, "normal": 0.1, "low": 0.025}
AFTER_DEADLINE_PENALTY = 10_000.0
# Booking with the future in mind (issue 14). Deadline slack: the technicians' time in the next SLACK_HOURS
# is what the calls still to come today need to meet their own deadlines (24 h), so every minute a slot
# takes from it (driving there and back, and the work) costs CONTESTED_KM_PER_MINUTE; a call that can wait
# (a remote site's 48 h) goes past it when that is cheaper, and does not spend today's capacity. Scarce
# skills: a technician who also holds a skill fewer colleagues have than the job's costs up to
# SCARCE_SKILL_KM extra, so the only plumbers are not sent to work eight others can do.
SLACK_HOURS = 24
CONTESTED_KM_PER_MINUTE = 0.5
SCARCE_SKILL_KM = 60.0
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

    def travel_minutes(self, a: Point, b: Point) -> int:
        """Whole minutes to drive from a to b, rounded up (the rules of a technician's day, rules.py)."""
        return _travel_minutes(a, b, self.road_factor, self.speed_kmh)

    def travel(self, a: Point, b: Point) -> timedelta:
        return timedelta(minutes=self.travel_minutes(a, b))


@functools.lru_cache(maxsize=200_000)
def _travel_minutes(a: Point, b: Point, factor: float, speed_kmh: float) -> int:
    # a hair below a whole minute is that minute: float noise must not cost a grid step
    return max(0, math.ceil(_road_km(a, b, factor) / speed_kmh * 60 - 1e-6))


@functools.lru_cache(maxsize=200_000)
def _road_km(a: Point, b: Point, factor: float) -> float:
    return 0.0 if a == b else road_km(a, b, factor)


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
    explanation: str = ""  # written (in the reader's language) only for the suggestions shown
    # what the explanation says: the legs into and out of the gap, and the stops around it
    km_in: float = 0.0
    km_out: float = 0.0
    came_from: str = "base"  # "base" or the slip number of the visit before
    goes_to: str = "base"


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
    """45 min, 3 h 05 min (3 小时 05 分钟), 2 d 4 h; a negative span keeps its sign."""
    minutes = int(round(minutes))
    return ("-" if minutes < 0 else "") + span_text(abs(minutes))


def _weekday_time(value: datetime, tz: ZoneInfo) -> str:
    """Mon 09:30 / 周一 09:30, in the reader's language (English outside the app, as on the bench)."""
    return format_datetime(value, "EEE HH:mm", tzinfo=tz, locale=locale_name() if has_app_context() else "en")


def explain(s: Suggestion, tz: ZoneInfo) -> str:
    """Why this slot, for the dispatcher: the extra kilometres, the legs, the arrival and the deadline's slack."""
    km = f"{s.travel_km:.1f}"
    km_in, km_out = f"{s.km_in:.1f}", f"{s.km_out:.1f}"
    leg_in = (_("%(km)s km from base", km=km_in) if s.came_from == "base"
              else _("%(km)s km from visit %(slip)s", km=km_in, slip=s.came_from))
    leg_out = (_("%(km)s km back to base", km=km_out) if s.goes_to == "base"
               else _("%(km)s km to visit %(slip)s", km=km_out, slip=s.goes_to))
    arrival = s.arrival.astimezone(tz).strftime("%H:%M")
    reason = _("%(name)s: +%(km)s km to the day (%(leg_in)s, then %(leg_out)s); can arrive %(arrival)s, "
               "starts %(start)s", name=s.technician_name, km=km, leg_in=leg_in, leg_out=leg_out,
               arrival=arrival, start=_weekday_time(s.start, tz))
    if s.slack_minutes is None:
        return _("%(reason)s.", reason=reason)
    if s.within_deadline:
        return _("%(reason)s; %(span)s before the booking deadline.", reason=reason,
                 span=_span_text(s.slack_minutes))
    return _("%(reason)s; %(span)s AFTER the booking deadline.", reason=reason, span=_span_text(-s.slack_minutes))


def _explained(items: list[Suggestion], tz: ZoneInfo) -> list[Suggestion]:
    return [replace(s, explanation=explain(s, tz)) for s in items]


def search_horizon(now: datetime, deadline: datetime | None = None, days: int = HORIZON_DAYS) -> datetime:
    """How far ahead suggestions look at most: `days` from now (the deadline does not shorten it)."""
    return now + timedelta(days=max(int(days), 1))


def search_windows(now: datetime, deadline: datetime | None, horizon: datetime) -> list[datetime]:
    """The ends of the windows searched in turn after the booking deadline: FIRST_STEP_DAYS from now (or
    from the deadline when it is later), then twice as far each time, the last one the horizon."""
    ends: list[datetime] = []
    anchor = max(now, deadline) if deadline is not None else now
    step = timedelta(days=FIRST_STEP_DAYS)
    end = anchor + step
    while end < horizon:
        ends.append(end)
        step *= 2
        end = anchor + step
    ends.append(horizon)
    return ends


@dataclass(frozen=True)
class _Pricing:
    weight: float  # km per minute of waiting
    protect: dict[Any, float]  # technician id -> km for the scarce skills this job would take away
    contested_until: datetime  # the technicians' time before this is priced per minute taken


def skills_held(plans: Iterable[TechnicianPlan]) -> dict[str, int]:
    """How many technicians hold each skill."""
    supply: dict[str, int] = {}
    for p in plans:
        for skill in p.skills:
            supply[skill] = supply.get(skill, 0) + 1
    return supply


def _pricing(job: Job, plans: Sequence[TechnicianPlan], now: datetime,
             supply: dict[str, int] | None) -> _Pricing:
    weight = KM_PER_MINUTE_LATER.get(job.priority, KM_PER_MINUTE_LATER["normal"])
    supply = supply if supply is not None else skills_held(plans)
    protect: dict[Any, float] = {}
    if job.required_skill:
        own = 1 / max(supply.get(job.required_skill, 1), 1)
        for p in plans:
            scarcity = max((1 / max(supply.get(s, 1), 1) - own for s in p.skills if s != job.required_skill),
                           default=0.0)
            protect[p.id] = SCARCE_SKILL_KM * max(scarcity, 0.0)
    return _Pricing(weight, protect, now + timedelta(hours=SLACK_HOURS))


def suggest(job: Job, plans: Iterable[TechnicianPlan], model: TravelModel, now: datetime, *, limit: int = 5,
            horizon: datetime | None = None, skill_supply: dict[str, int] | None = None) -> SuggestionResult:
    """Ranked (technician, slot) pairs for one job; see the module's notes. Pure: no database.

    Inside the booking deadline the best slots by cost; when nothing fits inside it, the earliest slots
    after it however far, up to `horizon`, each marked past the deadline."""
    earliest = _ceil(now)
    if horizon is None:
        horizon = search_horizon(now, job.deadline)
    plans = list(plans)
    skilled_plans = [p for p in plans if not job.required_skill or job.required_skill in p.skills]
    # skill_supply: how many technicians hold each skill, when `plans` are only the skilled ones
    weight = _pricing(job, plans, now, skill_supply)
    skill = job.required_skill
    if not skilled_plans:
        message = (_("No active technician with the skill %(skill)s.", skill=skill) if skill
                   else _("No active technician."))
        return SuggestionResult([], True, message, job.duration)
    found: list[Suggestion] = []
    # First only the days up to the deadline (usually enough, and the least work).
    if job.deadline is not None and earliest <= job.deadline:
        inside = min(job.deadline + timedelta(minutes=1), horizon)
        for plan in skilled_plans:
            found.extend(_plan_candidates(job, plan, model, earliest, inside, weight))
        found = [s for s in found if s.within_deadline]
        if found:
            # Slots after the deadline only appear when nothing fits inside it.
            found.sort(key=lambda s: (s.cost, s.start))
            return SuggestionResult(_explained(_diverse(found, limit), model.tz), False, None, job.duration)
    # Then ever wider windows, until enough slots are found or the horizon is reached.
    for window_end in search_windows(now, job.deadline, horizon):
        found = []
        for plan in skilled_plans:
            found.extend(_plan_candidates(job, plan, model, earliest, window_end, weight))
        if len(found) >= limit:
            break
    if not found:
        before = localtime_text(horizon)
        days = max(1, round((horizon - now).total_seconds() / 86400))
        message = (_("No technician with the skill %(skill)s has a free slot in working hours in the next "
                     "%(days)d days (before %(time)s).", skill=skill, days=days, time=before) if skill
                   else _("No technician has a free slot in working hours in the next %(days)d days "
                          "(before %(time)s).", days=days, time=before))
        return SuggestionResult([], True, message, job.duration)
    if any(s.within_deadline for s in found):  # no deadline at all: the best by cost
        found.sort(key=lambda s: (s.cost, s.start))
        return SuggestionResult(_explained(_diverse(found, limit), model.tz), False, None, job.duration)
    deadline = localtime_text(job.deadline)
    message = (_("Nothing fits before the booking deadline (%(deadline)s): no technician with the skill "
                 "%(skill)s is free in time. The earliest slots after it are shown, each marked past the "
                 "deadline; booking one needs a written reason for the delay.", deadline=deadline, skill=skill)
               if skill else
               _("Nothing fits before the booking deadline (%(deadline)s): no technician is free in time. The "
                 "earliest slots after it are shown, each marked past the deadline; booking one needs a written "
                 "reason for the delay.", deadline=deadline))
    found.sort(key=lambda s: (s.start, s.cost))
    return SuggestionResult(_explained(_diverse(found, limit), model.tz), True, message, job.duration)


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
                     weight: _Pricing) -> list[Suggestion]:
    """One route per working span (base -> visits -> base, rules.py): a candidate in each gap of each."""
    out = []
    starts = [v.start for v in plan.visits]
    for _day, span_start, span_end in working_spans(plan.hours, earliest, horizon, model.tz):
        # visits that touch this span, in time order (the list is sorted by start)
        hi = bisect.bisect_left(starts, span_end)
        stops = [v for v in plan.visits[:hi] if v.end > span_start]
        chain = [Stop(span_start, span_start, plan.base, "base"), *stops, Stop(span_end, span_end, plan.base, "base")]
        for prev, nxt in zip(chain, chain[1:], strict=False):
            cand = _gap_candidate(job, plan, model, prev, nxt, (span_start, span_end), earliest, weight)
            if cand is not None:
                out.append(cand)
    return out


def _gap_candidate(job: Job, plan: TechnicianPlan, model: TravelModel, prev: Stop, nxt: Stop,
                   span: tuple[datetime, datetime], earliest: datetime, pricing: _Pricing) -> Suggestion | None:
    if nxt.start <= earliest:
        return None
    km_in = model.km(prev.point, job.point)
    km_out = model.km(job.point, nxt.point)
    leave = max(prev.end, earliest)
    arrival = leave + model.travel(prev.point, job.point)
    # Travel in whole minutes rounded up, to the next visit and back to base by the end of the span.
    latest_end = min(nxt.start - model.travel(job.point, nxt.point), span[1])
    lo = max(arrival, span[0])
    latest_start = latest_end - job.duration
    if lo > latest_start:
        return None
    start = _free_start(lo, latest_start, job.duration, plan.time_off)
    if start is None:
        return None
    extra = km_in + km_out - model.km(prev.point, nxt.point)
    waited = (start - earliest).total_seconds() / 60
    within = job.deadline is None or start <= job.deadline
    slack = int((job.deadline - start).total_seconds() // 60) if job.deadline is not None else None
    taken = 0.0
    if start < pricing.contested_until:
        taken = (model.travel_minutes(prev.point, job.point) + job.duration.total_seconds() / 60
                 + model.travel_minutes(job.point, nxt.point) - model.travel_minutes(prev.point, nxt.point))
    cost = (extra + pricing.weight * waited + CONTESTED_KM_PER_MINUTE * taken + pricing.protect.get(plan.id, 0.0)
            + (0.0 if within else AFTER_DEADLINE_PENALTY))
    return Suggestion(technician_id=plan.id, technician_name=plan.name, start=start, end=start + job.duration,
                      travel_km=round(extra, 2), arrival=arrival, within_deadline=within, slack_minutes=slack,
                      score=round(100 / (1 + cost / 10), 1), cost=cost, km_in=km_in, km_out=km_out,
                      came_from=prev.label, goes_to=nxt.label)
