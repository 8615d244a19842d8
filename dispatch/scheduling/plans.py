"""Suggestions on the database: the technicians' plans loaded in a few queries, the travel model from
the configuration, and the board's queue of calls waiting to be booked."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from ..core.counting import COUNT_CAP, count_up_to
from ..core.extensions import db
from ..core.models import Role, User
from ..core.timeutil import local_tz, utcnow
from ..models import LIVE_VISIT_STATUSES, CallStatus, RepairCall, Site, TimeOff, Visit, WorkingHours
from ..services.users import technicians
from .booking import check_bookable
from .ranking import Job, Point, Stop, SuggestionResult, TechnicianPlan, TravelModel, search_horizon, suggest

# Visit length when the dispatcher does not say: urgent and high-priority work tends to take longer.
DEFAULT_DURATION_MINUTES = {"urgent": 90, "high": 90, "normal": 60, "low": 60}
LONG_PROBLEMS = {"install": 120, "installation": 120, "commissioning": 120, "overhaul": 180}


def travel_model() -> TravelModel:
    cfg = current_app.config
    return TravelModel(float(cfg["ROAD_FACTOR"]), float(cfg["AVERAGE_SPEED_KMH"]), local_tz())


def suggestion_horizon_days() -> int:
    """How many days ahead suggestions may look (SUGGESTION_HORIZON_DAYS)."""
    return int(current_app.config.get("SUGGESTION_HORIZON_DAYS") or 14)


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


def visit_end(call: RepairCall, start: datetime, *, end: datetime | None = None,
              minutes: int | None = None) -> datetime:
    """The end the dispatcher gave, else the start plus the duration they gave, else the call's default."""
    if end is not None:
        return end
    return start + (timedelta(minutes=minutes) if minutes else default_duration(call))


def technicians_by_fit(call: RepairCall) -> list[User]:
    """The active technicians for booking a call by hand, those with the required skill first."""
    techs = technicians()
    if call.required_skill:
        techs.sort(key=lambda t: call.required_skill not in (t.skills or []))
    return techs


def suggestions_for_call(call: RepairCall, *, limit: int = 5, duration: timedelta | None = None,
                         now: datetime | None = None) -> SuggestionResult:
    check_bookable(call)
    now = now or utcnow()
    job = Job(point=(call.site.latitude, call.site.longitude), duration=duration or default_duration(call),
              priority=call.priority, required_skill=call.required_skill,
              # a return visit (carried-back item) has no booking clock left to meet
              deadline=None if call.status == CallStatus.CARRIED_BACK else call.booking_deadline)
    horizon = search_horizon(now, job.deadline, days=suggestion_horizon_days())
    plans = plans_from_db(now, horizon, skill=call.required_skill)
    return suggest(job, plans, travel_model(), now, limit=limit, horizon=horizon, skill_supply=skill_supply())


def skill_supply() -> dict[str, int]:
    """How many active technicians hold each skill: suggestions spare the holders of the scarce ones."""
    supply: dict[str, int] = {}
    for skills in db.session.scalars(select(User.skills).where(User.role == Role.TECHNICIAN, User.active.is_(True))):
        for skill in skills or []:
            supply[skill] = supply.get(skill, 0) + 1
    return supply


# The board shows the first of the queue (the nearest deadlines, so the overdue lead) and how many more wait:
# a year of unbooked calls must not make the board a page of every one of them.
QUEUE_LIMIT = 50


def _waiting() -> Any:
    return select(RepairCall).where(RepairCall.status.in_([CallStatus.NEW, CallStatus.REOPENED]),
                                    RepairCall.on_site.is_(True))


def waiting_calls(limit: int = QUEUE_LIMIT) -> list[RepairCall]:
    """The board's queue: site visits waiting to be booked, the nearest booking deadline first, at most `limit`."""
    stmt = (_waiting().options(joinedload(RepairCall.customer, innerjoin=True), joinedload(RepairCall.site))
            .order_by(RepairCall.booking_deadline.asc(), RepairCall.id).limit(limit))
    return list(db.session.scalars(stmt))


def waiting_count() -> int:
    """How many calls the queue holds, counted up to COUNT_CAP (the board says "1000+" beyond)."""
    return count_up_to(_waiting(), COUNT_CAP)
