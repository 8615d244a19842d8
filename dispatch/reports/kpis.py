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

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import Numeric, and_, case, cast, exists, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlalchemy.sql.elements import ColumnElement

from dispatch.core.extensions import db
from dispatch.core.i18n import _, format_number
from dispatch.core.models import AuditEvent, User
from dispatch.core.timeutil import utcnow
from dispatch.core.types import UTCDateTime
from dispatch.models import CallStatus, Category, Channel, RepairCall, Visit
from dispatch.reports.periods import Period
from dispatch.scheduling.visits import day_window
from dispatch.services.escalation import _seconds
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
    rating_count: int = 0
    rating_sum: int = 0
    carry_backs: int = 0

    @property
    def first_time_fix_rate(self) -> float | None:
        return _rate(self.first_time_fixes, self.first_visits)

    @property
    def average_minutes_on_site(self) -> float | None:
        return round(self.minutes_on_site / self.visits, 1) if self.visits else None

    @property
    def average_rating(self) -> float | None:
        return round(self.rating_sum / self.rating_count, 2) if self.rating_count else None

    def as_json(self) -> dict[str, Any]:
        return {"technician_id": self.technician_id, "name": self.name, "visits": self.visits,
                "first_visits": self.first_visits, "first_time_fixes": self.first_time_fixes,
                "first_time_fix_rate": self.first_time_fix_rate, "minutes_on_site": self.minutes_on_site,
                "average_minutes_on_site": self.average_minutes_on_site, "ratings": self.rating_count,
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
    median_minutes_to_booking: float | None = None
    booking_minutes_by_day: dict[date, float] = field(default_factory=dict)  # the median of each day
    response_judged: int = 0
    responded_within_target: int = 0
    completed: int = 0
    closed: int = 0
    ratings: Counter[int] = field(default_factory=Counter)
    by_category: dict[str, int] = field(default_factory=dict)
    labor_minutes_by_category: dict[str, int] = field(default_factory=dict)
    by_problem_type: Counter[str] = field(default_factory=Counter)
    admin_minutes: int = 0
    median_resolution_hours: float | None = None
    resolution_distribution: dict[str, int] = field(default_factory=dict)  # calls per RESOLUTION_BUCKETS key
    technicians: list[TechnicianFigures] = field(default_factory=list)

    # the rates (0..1, None when there is nothing to judge)
    @property
    def booked_within_deadline_rate(self) -> float | None:
        return _rate(self.booked_within_deadline, self.needing_visit)

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

    def median_booking_minutes_per_day(self) -> list[tuple[date, float | None]]:
        return [(day, self.booking_minutes_by_day.get(day)) for day in self.period.each_day()]

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


# ----------------------------------------------------------------------------- in SQL, bounded by the period
# Every figure is an aggregate the database computes over the period's rows (received_at or completed_at
# inside the window, both indexed): nothing grows with the calls in the database, and the report issues the
# same dozen statements for a week or a year.


def _count(condition: ColumnElement[bool]) -> ColumnElement[int]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _seconds_between(later: Any, earlier: Any) -> ColumnElement[Any]:
    """later - earlier in seconds, rounded to the millisecond (SQLite's julianday is a float)."""
    return func.round(cast(_seconds(later) - _seconds(earlier), Numeric(20, 6)), 3)


def _day_of(column: Any, period: Period) -> ColumnElement[int]:
    """The local day (0 = the period's first) a time in the period falls on, as the day windows cut it."""
    starts = [day_window(day)[0] for day in period.each_day()[1:]]
    if not starts:
        return literal(0)
    return case(*((column < literal(at, UTCDateTime), n) for n, at in enumerate(starts)), else_=len(starts))


def _medians(value: ColumnElement[Any], where: Any, froms: Any, by: ColumnElement[Any] | None = None
             ) -> dict[Any, float]:
    """The median of `value` (per `by`, or over all as key None), in SQL: the middle row or the mean of the two
    middle ones, as statistics.median."""
    rank = func.row_number().over(partition_by=by, order_by=value)
    size = func.count().over(partition_by=by)
    inner = select((by if by is not None else literal(None)).label("k"), value.label("v"), rank.label("rn"),
                   size.label("n")).select_from(froms).where(where).subquery()
    rows = db.session.execute(select(inner.c.k, func.avg(inner.c.v)).where(
        inner.c.rn * 2 >= inner.c.n, inner.c.rn * 2 <= inner.c.n + 2).group_by(inner.c.k))
    return {key: float(median) for key, median in rows}


def _first_visit(column: str) -> Any:
    """A column of the call's first booking (its earliest visit made, kept even if later cancelled or moved): a
    lookup by call on the visits' index for each call of the period, never a join with every visit."""
    earlier = aliased(Visit)
    return (select(getattr(earlier, column)).where(earlier.call_id == RepairCall.id, earlier.additional.is_not(True),
                                     earlier.kind == "service")
            .order_by(earlier.created_at, earlier.id).limit(1).correlate(RepairCall).scalar_subquery())


def _completed_once() -> ColumnElement[bool]:
    """The call's work was completed at least once (its status history: a reopen clears the date)."""
    return exists().where(AuditEvent.entity_type == RepairCall.__tablename__, AuditEvent.action == "call.status",
                          AuditEvent.entity_id == RepairCall.id,
                          AuditEvent.after["status"].as_string() == CallStatus.COMPLETED.value)


def compute(period: Period, now: datetime | None = None) -> Figures:
    now = now or utcnow()
    start, end = period.window
    days = period.each_day()
    figures = Figures(period)
    figures.by_day_channel = {day: Counter() for day in days}
    figures.by_category = {c.value: 0 for c in Category}
    figures.labor_minutes_by_category = {c.value: 0 for c in Category}
    received = and_(RepairCall.received_at >= start, RepairCall.received_at < end)
    counted = and_(received, RepairCall.status != CallStatus.CANCELLED)

    figures.cancelled = db.session.scalar(select(func.count()).select_from(RepairCall).where(
        received, RepairCall.status == CallStatus.CANCELLED)) or 0
    day = _day_of(RepairCall.received_at, period)
    for n, channel, category, problem_type, count in db.session.execute(
            select(day, RepairCall.channel, RepairCall.category, RepairCall.problem_type, func.count())
            .where(counted).group_by(day, RepairCall.channel, RepairCall.category, RepairCall.problem_type)):
        figures.calls += count
        figures.by_day_channel[days[n]][channel] += count
        figures.by_channel[channel] += count
        figures.by_category[category] = figures.by_category.get(category, 0) + count
        figures.by_problem_type[problem_type] += count

    calls = select(RepairCall.id, RepairCall.on_site, RepairCall.received_at, RepairCall.booking_deadline,
                   _first_visit("created_at").label("booked_at"), _first_visit("start").label("start"),
                   _first_visit("customer_requested").label("customer_requested"), day.label("day"),
                   ).where(counted).subquery()
    booked = calls  # the first booking's columns beside each call's (none: the call was never booked)
    deadline, booked_at = calls.c.booking_deadline, calls.c.booked_at
    needing = and_(calls.c.on_site, deadline.is_not(None), or_(booked_at.is_not(None), deadline < now))
    (figures.needing_visit, figures.booked_within_deadline) = db.session.execute(
        select(_count(needing), _count(and_(needing, booked_at.is_not(None), booked_at <= deadline,
                                            or_(calls.c.start <= deadline, calls.c.customer_requested))))
        .select_from(booked)).one()
    waited = _seconds_between(booked_at, calls.c.received_at) / 60
    waited_where = and_(calls.c.on_site, booked_at.is_not(None))
    overall = _medians(waited, waited_where, booked)
    figures.median_minutes_to_booking = round(overall[None], 1) if None in overall else None
    per_day = _medians(waited, waited_where, booked, by=calls.c.day)
    figures.booking_minutes_by_day = {days[n]: round(median, 1) for n, median in per_day.items()}

    responded, deadline_ = RepairCall.responded_at, RepairCall.response_deadline
    (figures.response_judged, figures.responded_within_target, figures.completed, figures.closed) = (
        db.session.execute(select(
            _count(or_(responded.is_not(None), deadline_ < now)),
            _count(and_(responded.is_not(None), responded <= deadline_)),
            _count(or_(RepairCall.status.in_([CallStatus.CLOSED, CallStatus.COMPLETED]), _completed_once())),
            _count(RepairCall.status == CallStatus.CLOSED)).where(counted)).one())
    for rating, count in db.session.execute(
            select(RepairCall.rating, func.count()).where(counted, RepairCall.rating.is_not(None))
            .group_by(RepairCall.rating)):
        if rating is not None:
            figures.ratings[rating] += count

    done_at = func.coalesce(RepairCall.completed_at, RepairCall.closed_at)
    took = _seconds_between(done_at, RepairCall.received_at)
    bucket = case(*((took < bound * 3600, key) for key, bound in RESOLUTION_BUCKETS if bound is not None),
                  else_=RESOLUTION_BUCKETS[-1][0])
    resolved = and_(counted, done_at.is_not(None))
    figures.resolution_distribution = dict.fromkeys((key for key, _bound in RESOLUTION_BUCKETS), 0)
    for key, count in db.session.execute(select(bucket, func.count()).where(resolved).group_by(bucket)):
        figures.resolution_distribution[key] = count
    median = _medians(took / 3600, resolved, RepairCall).get(None)
    figures.median_resolution_hours = round(median, 1) if median is not None else None

    labour = (select(func.sum(WorkRecord.labor_minutes)).where(WorkRecord.call_id == RepairCall.id)
              .correlate(RepairCall).scalar_subquery())  # per call on the index: no join with every record
    for category, minutes in db.session.execute(
            select(RepairCall.category, func.sum(labour)).where(counted).group_by(RepairCall.category)):
        figures.labor_minutes_by_category[category] = int(minutes or 0)

    figures.admin_minutes = int(db.session.scalar(
        select(func.coalesce(func.sum(AdminWork.minutes), 0))
        .where(AdminWork.date >= period.start, AdminWork.date <= period.end)) or 0)
    figures.technicians = technician_figures(period)
    return figures


def technician_figures(period: Period) -> list[TechnicianFigures]:
    """Per technician, the work recorded in the period (see the module's docstring)."""
    start, end = period.window
    in_period = and_(WorkRecord.completed_at >= start, WorkRecord.completed_at < end)
    earlier = aliased(WorkRecord)
    first = ~exists().where(earlier.call_id == WorkRecord.call_id, or_(
        earlier.completed_at < WorkRecord.completed_at,
        and_(earlier.completed_at == WorkRecord.completed_at, earlier.id < WorkRecord.id)))
    arrived = (select(func.max(VisitEvent.at)).where(
        VisitEvent.visit_id == WorkRecord.visit_id, VisitEvent.kind == VisitEventKind.ARRIVED,
        VisitEvent.at <= WorkRecord.completed_at).correlate(WorkRecord).scalar_subquery())
    on_site = case((arrived.is_not(None), func.floor(_seconds_between(WorkRecord.completed_at, arrived) / 60)),
                   else_=WorkRecord.labor_minutes)
    tech = (select(Visit.technician_id).where(Visit.id == WorkRecord.visit_id).correlate(WorkRecord)
            .scalar_subquery())  # a lookup on the visits' key per record: no join with every visit
    people: dict[int, TechnicianFigures] = {}
    for tech_id, visits, firsts, fixes, minutes in db.session.execute(
            select(tech, func.count(), _count(first),
                   _count(and_(first, WorkRecord.outcome == Outcome.FIXED)), func.sum(on_site))
            .where(in_period).group_by(tech)):
        people[tech_id] = TechnicianFigures(tech_id, str(tech_id), visits=visits, first_visits=firsts,
                                            first_time_fixes=fixes, minutes_on_site=int(minutes or 0))
    rating = (select(RepairCall.rating).where(RepairCall.id == WorkRecord.call_id).correlate(WorkRecord)
              .scalar_subquery())
    rated = (select(tech.label("tech"), WorkRecord.call_id, rating.label("rating"))
             .where(in_period).distinct().subquery())
    for tech_id, count, total in db.session.execute(
            select(rated.c.tech, func.count(), func.sum(rated.c.rating)).where(rated.c.rating.is_not(None))
            .group_by(rated.c.tech)):
        people[tech_id].rating_count, people[tech_id].rating_sum = count, int(total)
    for taker_id, count in db.session.execute(
            select(CarryBack.taken_by_id, func.count(CarryBack.id))
            .where(CarryBack.created_at >= start, CarryBack.created_at < end).group_by(CarryBack.taken_by_id)):
        people.setdefault(taker_id, TechnicianFigures(taker_id, str(taker_id))).carry_backs += count
    if people:
        for user_id, name in db.session.execute(select(User.id, User.name).where(User.id.in_(list(people)))):
            people[user_id].name = name
    return sorted(people.values(), key=lambda t: (t.name, t.technician_id))
