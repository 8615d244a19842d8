"""Internal admin time (category D): inspections, parts handling, tool upkeep, training."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from dispatch.core import audit
from dispatch.core.errors import Forbidden, Invalid
from dispatch.core.extensions import db
from dispatch.core.models import Role, User
from dispatch.core.timeutil import local_today

from ..models import AdminActivity, AdminWork
from .work import MAX_LABOR_MINUTES

MAX_NOTES = 2000
SHOWN_DAYS = 14  # the admin time page lists the last two weeks


def log_admin_work(actor: User, *, technician: User | None, day: date, activity: str, minutes: int,
                   notes: str | None = None) -> AdminWork:
    """Technicians log their own time; a manager (or admin) may log it for a technician."""
    if technician is None:
        technician = actor
    if actor.role == Role.TECHNICIAN and technician.id != actor.id:
        raise Forbidden("Technicians log their own admin time only.", code="not_your_time")
    if actor.role not in (Role.TECHNICIAN, Role.MANAGER, Role.ADMIN):
        raise Forbidden("Your role may not log admin time.")
    errors = {}
    if technician.role != Role.TECHNICIAN:
        errors["technician_id"] = "not a technician"
    if activity not in {a.value for a in AdminActivity}:
        errors["activity"] = "one of: " + ", ".join(a.value for a in AdminActivity)
    if not 1 <= minutes <= MAX_LABOR_MINUTES:
        errors["minutes"] = f"from 1 to {MAX_LABOR_MINUTES}"
    if day > local_today() + timedelta(days=1):
        errors["date"] = "cannot be in the future"
    if notes is not None and len(notes) > MAX_NOTES:
        errors["notes"] = f"at most {MAX_NOTES} characters"
    if errors:
        raise Invalid("The admin time cannot be logged: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    entry = AdminWork(technician=technician, date=day, activity=activity, minutes=minutes,
                      notes=(notes or "").strip(), logged_by_id=actor.id)
    db.session.add(entry)
    audit.record(actor, entry, "admin_work.logged", after={
        "technician_id": technician.id, "date": day, "activity": activity, "minutes": minutes})
    return entry


def admin_work_for(technician: User, since: date) -> list[AdminWork]:
    return list(db.session.scalars(select(AdminWork).where(
        AdminWork.technician_id == technician.id, AdminWork.date >= since)
        .order_by(AdminWork.date.desc(), AdminWork.id.desc())))


def recent_admin_work(technician: User, today: date) -> tuple[list[AdminWork], int]:
    """The technician's admin time of the last two weeks, and the minutes logged this week (from Monday)."""
    entries = admin_work_for(technician, today - timedelta(days=SHOWN_DAYS - 1))
    week_start = today - timedelta(days=today.weekday())
    return entries, sum(e.minutes for e in entries if e.date >= week_start)
