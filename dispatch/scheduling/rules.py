"""The rules of a technician's day (DOMAIN.md, corrected by issue 14), as one checker.

A technician leaves their base no earlier than the start of a working-hours span and is back at the base
by its end; every visit lies wholly inside one span and outside time off; travel between stops is
great-circle km x road factor at the average speed, minutes rounded up (TravelModel.travel_minutes); a
visit never starts before its call was received; skills match; no two visits of a technician overlap; a
visit starts inside the arrival window promised to the customer, [window_start, window_end).

Booking suggestions (ranking.py) build their slots from the same travel minutes and spans, re-planning
(optimise.py) checks its result here before offering it, and the bench reports every violation. Pure: no
database.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from .calendars import working_spans
from .ranking import Point, Stop, TechnicianPlan, TravelModel

CODES = ("left_base_early", "back_after_hours", "outside_hours", "time_off", "overlap", "not_enough_travel",
         "before_received", "skill_mismatch", "outside_window", "unknown_technician")


@dataclass(frozen=True)
class ScheduledVisit:
    id: Any  # visit or call id (the label used in violations)
    technician_id: Any
    start: datetime  # aware
    end: datetime
    point: Point  # (lat, lon)
    required_skill: str | None = None
    received_at: datetime | None = None
    window_start: datetime | None = None
    window_end: datetime | None = None


@dataclass(frozen=True)
class Violation:
    code: str  # one of CODES
    visit_id: Any
    technician_id: Any
    detail: str  # plain English for the bench and the tests


def spans_of(plan: TechnicianPlan, start: datetime, end: datetime, model: TravelModel) -> list[tuple[datetime, datetime]]:
    """The technician's working spans (UTC start, end) that touch [start, end]."""
    return [(s, e) for _, s, e in working_spans(plan.hours, start, end, model.tz)]


def span_of(spans: Sequence[tuple[datetime, datetime]], start: datetime,
            end: datetime) -> tuple[datetime, datetime] | None:
    """The span that holds [start, end] wholly, if any."""
    for s, e in spans:
        if s <= start and end <= e:
            return (s, e)
    return None


def _hhmm(value: datetime, model: TravelModel) -> str:
    return value.astimezone(model.tz).strftime("%a %H:%M")


def check_schedule(plans: Sequence[TechnicianPlan], visits: Sequence[ScheduledVisit],
                   model: TravelModel) -> list[Violation]:
    """Every broken rule in the visits given (plan.visits is ignored), in technician and time order."""
    by_id = {p.id: p for p in plans}
    out: list[Violation] = []
    per_tech: dict[Any, list[ScheduledVisit]] = {}
    for v in visits:
        plan = by_id.get(v.technician_id)
        if plan is None:
            out.append(Violation("unknown_technician", v.id, v.technician_id,
                                 f"{v.id}: technician {v.technician_id} is not in the plans"))
            continue
        per_tech.setdefault(v.technician_id, []).append(v)
        if v.required_skill and v.required_skill not in plan.skills:
            out.append(Violation("skill_mismatch", v.id, v.technician_id,
                                 f"{v.id}: needs {v.required_skill}, {plan.id} has {sorted(plan.skills)}"))
        if v.received_at is not None and v.start < v.received_at:
            out.append(Violation("before_received", v.id, v.technician_id,
                                 f"{v.id}: starts {_hhmm(v.start, model)}, before the call came in at "
                                 f"{_hhmm(v.received_at, model)}"))
        if v.window_start is not None and v.window_end is not None and not v.window_start <= v.start < v.window_end:
            out.append(Violation("outside_window", v.id, v.technician_id,
                                 f"{v.id}: starts {_hhmm(v.start, model)}, outside its window "
                                 f"{_hhmm(v.window_start, model)}-{_hhmm(v.window_end, model)}"))
    for tech_id, mine in per_tech.items():
        out.extend(_check_day(by_id[tech_id], sorted(mine, key=lambda v: (v.start, v.end)), model))
    return out


def _check_day(plan: TechnicianPlan, mine: list[ScheduledVisit], model: TravelModel) -> list[Violation]:
    out: list[Violation] = []
    tid = plan.id
    for a, b in zip(mine, mine[1:], strict=False):
        if b.start < a.end:
            out.append(Violation("overlap", b.id, tid, f"{b.id} starts {_hhmm(b.start, model)}, before {a.id} "
                                                        f"ends at {_hhmm(a.end, model)}"))
    for v in mine:
        for off_start, off_end in plan.time_off:
            if off_start < v.end and off_end > v.start:
                out.append(Violation("time_off", v.id, tid, f"{v.id} falls in {tid}'s time off "
                                                            f"{_hhmm(off_start, model)}-{_hhmm(off_end, model)}"))
                break
    spans = spans_of(plan, mine[0].start - timedelta(days=1), mine[-1].end + timedelta(days=1), model)
    routes: dict[tuple[datetime, datetime], list[ScheduledVisit]] = {}
    for v in mine:
        span = span_of(spans, v.start, v.end)
        if span is None:
            out.append(Violation("outside_hours", v.id, tid, f"{v.id} {_hhmm(v.start, model)}-"
                                                             f"{_hhmm(v.end, model)} is outside {tid}'s working hours"))
        else:
            routes.setdefault(span, []).append(v)
    for (s, e), route in routes.items():
        out.extend(_check_route(plan, s, e, route, model))
    return out


def _check_route(plan: TechnicianPlan, s: datetime, e: datetime, route: list[ScheduledVisit],
                 model: TravelModel) -> list[Violation]:
    """One span's route: base -> visits in time order -> base, with the travel between them."""
    out: list[Violation] = []
    tid = plan.id
    first, last = route[0], route[-1]
    leave = first.start - model.travel(plan.base, first.point)
    if leave < s:
        out.append(Violation("left_base_early", first.id, tid,
                             f"{tid} must leave base at {_hhmm(leave, model)} to reach {first.id}, before the "
                             f"working day starts at {_hhmm(s, model)}"))
    for a, b in zip(route, route[1:], strict=False):
        need = model.travel(a.point, b.point)
        if b.start >= a.end and b.start - a.end < need:
            out.append(Violation("not_enough_travel", b.id, tid,
                                 f"{b.id} starts {_hhmm(b.start, model)}: {int(need.total_seconds() // 60)} min "
                                 f"from {a.id}, which ends {_hhmm(a.end, model)}"))
    home = last.end + model.travel(last.point, plan.base)
    if home > e:
        late = int((home - e).total_seconds() // 60)
        out.append(Violation("back_after_hours", last.id, tid,
                             f"{tid} is back at base {_hhmm(home, model)}, {late} min after the working day ends "
                             f"at {_hhmm(e, model)}"))
    return out


def as_scheduled(plan: TechnicianPlan, stop: Stop) -> ScheduledVisit:
    """A booked stop of a plan, to be checked with the others."""
    return ScheduledVisit(id=stop.label, technician_id=plan.id, start=stop.start, end=stop.end, point=stop.point)
