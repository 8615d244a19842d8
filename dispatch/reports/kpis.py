"""The manager's numbers (API.md "Reports", DOMAIN.md "Targets"): one period's figures, computed once and
shown by the dashboard, the API, the monthly PDF and its CSV alike.

A cross-domain report (DESIGN.md): it reads the desk's, the technicians' and billing's tables, never writes.

The period is a run of local days, both ends inclusive. The call figures are about the calls *received* in
the period (cancelled calls are left out: they were mistakes or duplicates, not work), each judged as it
stands now:
- booked within deadline: the call's first visit was booked (created) by the booking deadline, for a start
  inside it or on a later day the customer asked for; over the calls that needed a visit (on site) and were
  either booked or are past their deadline (a call whose deadline still runs is not judged yet);
- minutes to booking: from receipt to the first visit's booking; the median over the booked calls;
- first response within target: answered by the response deadline; over the calls answered or past it;
- closure rate: calls closed over calls completed (a call whose work was completed at least once, also one
  the customer later reopened);
- CSAT: ratings of 4-5 over all ratings given; unsatisfied: ratings of 1-2 over all ratings given
  (a customer who would not rate, 未评价, counts in neither);
- resolution time: from receipt to the work's completion, for calls whose work is complete.
Per technician, the work recorded in the period: visits, first-time fix rate (of the calls where their
visit was the call's first recorded work, the share fixed then), time on site (arrived to work recorded;
the recorded labour when the phone did not say "arrived"), the average rating of those calls, and the
carry-backs they took. Internal admin work: the minutes logged for days in the period.
"""

from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.core.extensions import db
from dispatch.core.i18n import _, format_number
from dispatch.core.models import AuditEvent, User
from dispatch.core.timeutil import local_date_of, utcnow
from dispatch.models import CallStatus, Category, Channel, RepairCall, Visit
from dispatch.reports.periods import Period
from technicians.models import AdminWork, CarryBack, Outcome, VisitEvent, VisitEventKind, WorkRecord

# The targets below which the manager is alerted (DOMAIN.md "Targets").
CLOSURE_TARGET = 0.95
CSAT_TARGET = 0.80
UNSATISFIED_LIMIT = 0.15

# Resolution time buckets (hours from receipt to completion): (key, upper bound in hours or None).
RESOLUTION_BUCKETS: list[tuple[str, float | None]] = [
    ("under_4h", 4), ("4h_24h", 24), ("1d_3d", 72), ("3d_5d", 120), ("5d_10d", 240), ("over_10d", None)]


def bucket_labels() -> dict[str, str]:
    return {"under_4h": _("under 4 h"), "4h_24h": _("4 to 24 h"), "1d_3d": _("1 to 3 days"),
            "3d_5d": _("3 to 5 days"), "5d_10d": _("5 to 10 days"), "over_10d": _("over 10 days")}


# ----------------------------------------------------------------------------- the period


@dataclass
class TechnicianFigures:
    technician_id: int
    name: str
    visits: int = 0
    first_visits: int = 0
    first_time_fixes: int = 0
    minutes_on_site: int = 0
    ratings: list[int] = field(default_factory=list)
    carry_backs: int = 0

    @property
    def first_time_fix_rate(self) -> float | None:
        return _rate(self.first_time_fixes, self.first_visits)

    @property
    def average_minutes_on_site(self) -> float | None:
        return round(self.minutes_on_site / self.visits, 1) if self.visits else None

    @property
    def average_rating(self) -> float | None:
        return round(sum(self.ratings) / len(self.ratings), 2) if self.ratings else None

    def as_json(self) -> dict[str, Any]:
        return {"technician_id": self.technician_id, "name": self.name, "visits": self.visits,
                "first_visits": self.first_visits, "first_time_fixes": self.first_time_fixes,
                "first_time_fix_rate": self.first_time_fix_rate, "minutes_on_site": self.minutes_on_site,
                "average_minutes_on_site": self.average_minutes_on_site, "ratings": len(self.ratings),
                "average_rating": self.average_rating, "carry_backs": self.carry_backs}


@dataclass(frozen=True)
class Alert:
    code: str  # closure_rate_low, csat_low, unsatisfied_high
    message: str


@dataclass
class Figures:
    period: Period
    calls: int = 0
    cancelled: int = 0
    by_day_channel: dict[date, Counter[str]] = field(default_factory=dict)
    by_channel: Counter[str] = field(default_factory=Counter)
    needing_visit: int = 0
    booked_within_deadline: int = 0
    minutes_to_booking: list[float] = field(default_factory=list)
    booking_minutes_by_day: dict[date, list[float]] = field(default_factory=lambda: defaultdict(list))
    response_judged: int = 0
    responded_within_target: int = 0
    completed: int = 0
    closed: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    by_category: dict[str, int] = field(default_factory=dict)
    labor_minutes_by_category: dict[str, int] = field(default_factory=dict)
    by_problem_type: Counter[str] = field(default_factory=Counter)
    admin_minutes: int = 0
    resolution_hours: list[float] = field(default_factory=list)
    technicians: list[TechnicianFigures] = field(default_factory=list)

    # the rates (0..1, None when there is nothing to judge)
    @property
    def booked_within_deadline_rate(self) -> float | None:
        return _rate(self.booked_within_deadline, self.needing_visit)

    @property
    def median_minutes_to_booking(self) -> float | None:
        return round(statistics.median(self.minutes_to_booking), 1) if self.minutes_to_booking else None

    @property
    def first_response_within_target_rate(self) -> float | None:
        return _rate(self.responded_within_target, self.response_judged)

    @property
    def closure_rate(self) -> float | None:
        return _rate(self.closed, self.completed)

    @property
    def rated(self) -> int:
        return sum(self.ratings.values())

    @property
    def csat(self) -> float | None:
        return _rate(self.ratings[4] + self.ratings[5], self.rated)

    @property
    def unsatisfied_rate(self) -> float | None:
        return _rate(self.ratings[1] + self.ratings[2], self.rated)

    @property
    def median_resolution_hours(self) -> float | None:
        return round(statistics.median(self.resolution_hours), 1) if self.resolution_hours else None

    @property
    def resolution_distribution(self) -> dict[str, int]:
        counts = dict.fromkeys((key for key, _bound in RESOLUTION_BUCKETS), 0)
        for hours in self.resolution_hours:
            for key, bound in RESOLUTION_BUCKETS:
                if bound is None or hours < bound:
                    counts[key] += 1
                    break
        return counts

    def median_booking_minutes_per_day(self) -> list[tuple[date, float | None]]:
        return [(day, round(statistics.median(self.booking_minutes_by_day[day]), 1)
                 if self.booking_minutes_by_day.get(day) else None) for day in self.period.each_day()]

    def top_problem_types(self, n: int = 10) -> list[tuple[str, int]]:
        return sorted(self.by_problem_type.items(), key=lambda kv: (-kv[1], kv[0]))[:n]

    @property
    def alerts(self) -> list[Alert]:
        alerts = []
        if self.closure_rate is not None and self.closure_rate < CLOSURE_TARGET:
            alerts.append(Alert("closure_rate_low", _(
                "Closure rate %(value)s is below the target of %(target)s.",
                value=percent(self.closure_rate), target=percent(CLOSURE_TARGET))))
        if self.csat is not None and self.csat < CSAT_TARGET:
            alerts.append(Alert("csat_low", _(
                "Customer satisfaction %(value)s is below the target of %(target)s.",
                value=percent(self.csat), target=percent(CSAT_TARGET))))
        if self.unsatisfied_rate is not None and self.unsatisfied_rate > UNSATISFIED_LIMIT:
            alerts.append(Alert("unsatisfied_high", _(
                "Unsatisfied customers %(value)s are above the limit of %(target)s.",
                value=percent(self.unsatisfied_rate), target=percent(UNSATISFIED_LIMIT))))
        return alerts

    def as_json(self) -> dict[str, Any]:
        """GET /api/v1/reports/kpis: API.md's figures first, then the rest of the dashboard."""
        return {
            "from": self.period.start.isoformat(), "to": self.period.end.isoformat(),
            "calls": self.calls,
            "booked_within_deadline_rate": self.booked_within_deadline_rate,
            "median_minutes_to_booking": self.median_minutes_to_booking,
            "first_response_within_target_rate": self.first_response_within_target_rate,
            "closure_rate": self.closure_rate,
            "csat": self.csat,
            "unsatisfied_rate": self.unsatisfied_rate,
            "by_category": dict(self.by_category),
            "by_problem_type": dict(self.top_problem_types(len(self.by_problem_type))),
            "admin_minutes": self.admin_minutes,
            "cancelled": self.cancelled,
            "by_channel": {c.value: self.by_channel[c.value] for c in Channel},
            "calls_per_day": [{"date": day.isoformat(), **{c.value: counts[c.value] for c in Channel}}
                              for day, counts in sorted(self.by_day_channel.items())],
            "needing_visit": self.needing_visit, "booked_within_deadline": self.booked_within_deadline,
            "response_judged": self.response_judged, "responded_within_target": self.responded_within_target,
            "completed": self.completed, "closed": self.closed,
            "ratings": {str(n): self.ratings[n] for n in range(1, 6)}, "rated": self.rated,
            "labor_minutes_by_category": dict(self.labor_minutes_by_category),
            "median_resolution_hours": self.median_resolution_hours,
            "resolution_distribution": self.resolution_distribution,
            "technicians": [t.as_json() for t in self.technicians],
            "alerts": [{"code": a.code, "message": a.message} for a in self.alerts],
        }


def _rate(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


def percent(value: float | None) -> str:
    """0.9333 -> "93.3%" in the reader's number format; nothing to judge -> "–"."""
    if value is None:
        return "–"
    return format_number(value * 100, 1) + "%"


def _minutes(later: datetime, earlier: datetime) -> float:
    return (later - earlier).total_seconds() / 60


def first_visit(call: RepairCall) -> Visit | None:
    """The call's first booking (its earliest visit made, kept even if later cancelled or moved)."""
    visits = [v for v in call.visits if not v.additional and v.kind == "service"]
    return min(visits, key=lambda v: (v.created_at, v.id)) if visits else None


def _calls_completed_once(call_ids: list[int]) -> set[int]:
    """Calls whose work was completed at least once (from their status history: a reopen clears the date)."""
    found: set[int] = set()
    for chunk in range(0, len(call_ids), 500):
        ids = call_ids[chunk:chunk + 500]
        for entity_id, after in db.session.execute(
                select(AuditEvent.entity_id, AuditEvent.after).where(
                    AuditEvent.entity_type == RepairCall.__tablename__, AuditEvent.action == "call.status",
                    AuditEvent.entity_id.in_(ids))):
            if (after or {}).get("status") == CallStatus.COMPLETED:
                found.add(entity_id)
    return found


def compute(period: Period, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    start, end = period.window
    figures = Figures(period)
    figures.by_day_channel = {day: Counter() for day in period.each_day()}
    figures.by_category = {c.value: 0 for c in Category}
    figures.labor_minutes_by_category = {c.value: 0 for c in Category}

    received = list(db.session.scalars(
        select(RepairCall).where(RepairCall.received_at >= start, RepairCall.received_at < end)
        .options(selectinload(RepairCall.visits)).order_by(RepairCall.id)))
    calls = [c for c in received if c.status != CallStatus.CANCELLED]
    figures.cancelled = len(received) - len(calls)
    figures.calls = len(calls)
    completed_once = _calls_completed_once([c.id for c in calls])
    for call in calls:
        figures.by_day_channel.setdefault(local_date_of(call.received_at), Counter())[call.channel] += 1
        figures.by_channel[call.channel] += 1
        figures.by_category[call.category] = figures.by_category.get(call.category, 0) + 1
        figures.by_problem_type[call.problem_type] += 1
        if call.on_site:
            first = first_visit(call)
            deadline = call.booking_deadline
            if first is not None:
                waited = _minutes(first.created_at, call.received_at)
                figures.minutes_to_booking.append(waited)
                figures.booking_minutes_by_day[local_date_of(call.received_at)].append(waited)
            if deadline is not None and (first is not None or deadline < now):
                figures.needing_visit += 1
                if first is not None and first.created_at <= deadline and (
                        first.start <= deadline or first.customer_requested):
                    figures.booked_within_deadline += 1
        if call.responded_at is not None or call.response_deadline < now:
            figures.response_judged += 1
            if call.responded_at is not None and call.responded_at <= call.response_deadline:
                figures.responded_within_target += 1
        if call.status == CallStatus.CLOSED or call.status == CallStatus.COMPLETED or call.id in completed_once:
            figures.completed += 1
            if call.status == CallStatus.CLOSED:
                figures.closed += 1
        if call.rating is not None:
            figures.ratings[call.rating] += 1
        done_at = call.completed_at or call.closed_at
        if done_at is not None:
            figures.resolution_hours.append(_minutes(done_at, call.received_at) / 60)

    by_call = {c.id: c for c in calls}
    for call_id, minutes in db.session.execute(
            select(WorkRecord.call_id, WorkRecord.labor_minutes).where(WorkRecord.call_id.in_(list(by_call)))):
        category = by_call[call_id].category
        figures.labor_minutes_by_category[category] = figures.labor_minutes_by_category.get(category, 0) + minutes

    figures.admin_minutes = int(db.session.scalar(
        select(db.func.coalesce(db.func.sum(AdminWork.minutes), 0))
        .where(AdminWork.date >= period.start, AdminWork.date <= period.end)) or 0)
    figures.technicians = technician_figures(period)
    return figures


def technician_figures(period: Period) -> list[TechnicianFigures]:
    """Per technician, the work recorded in the period (see the module's docstring)."""
    start, end = period.window
    records = list(db.session.scalars(
        select(WorkRecord).where(WorkRecord.completed_at >= start, WorkRecord.completed_at < end)
        .options(selectinload(WorkRecord.visit), selectinload(WorkRecord.call)).order_by(WorkRecord.id)))
    people: dict[int, TechnicianFigures] = {}

    def person(user_id: int) -> TechnicianFigures:
        if user_id not in people:
            user = db.session.get(User, user_id)
            people[user_id] = TechnicianFigures(user_id, user.name if user is not None else str(user_id))
        return people[user_id]

    call_ids = {r.call_id for r in records}
    first_record: dict[int, int] = {}
    if call_ids:
        for record_id, call_id, _at in db.session.execute(
                select(WorkRecord.id, WorkRecord.call_id, WorkRecord.completed_at)
                .where(WorkRecord.call_id.in_(call_ids)).order_by(WorkRecord.completed_at, WorkRecord.id)):
            first_record.setdefault(call_id, record_id)
    arrivals: dict[int, list[datetime]] = defaultdict(list)
    visit_ids = [r.visit_id for r in records]
    if visit_ids:
        for visit_id, at in db.session.execute(
                select(VisitEvent.visit_id, VisitEvent.at).where(
                    VisitEvent.visit_id.in_(visit_ids), VisitEvent.kind == VisitEventKind.ARRIVED)):
            arrivals[visit_id].append(at)
    rated_calls: dict[int, set[int]] = defaultdict(set)
    for record in records:
        tech = person(record.visit.technician_id)
        tech.visits += 1
        if first_record.get(record.call_id) == record.id:
            tech.first_visits += 1
            if record.outcome == Outcome.FIXED:
                tech.first_time_fixes += 1
        arrived = [at for at in arrivals.get(record.visit_id, []) if at <= record.completed_at]
        tech.minutes_on_site += (int(_minutes(record.completed_at, max(arrived))) if arrived
                                 else record.labor_minutes)
        if record.call.rating is not None and record.call_id not in rated_calls[tech.technician_id]:
            rated_calls[tech.technician_id].add(record.call_id)
            tech.ratings.append(record.call.rating)
    for taker_id, count in db.session.execute(
            select(CarryBack.taken_by_id, db.func.count(CarryBack.id))
            .where(CarryBack.created_at >= start, CarryBack.created_at < end).group_by(CarryBack.taken_by_id)):
        person(taker_id).carry_backs += count
    return sorted(people.values(), key=lambda t: (t.name, t.technician_id))


# ----------------------------------------------------------------------------- the daily summary
