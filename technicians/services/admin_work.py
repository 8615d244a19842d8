"""Internal admin time (category D): inspections, parts handling, tool upkeep, training."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from dispatch.core import audit
from dispatch.core.errors import Forbidden, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import Role, User
from dispatch.core.timeutil import local_today

from ..models import AdminActivity, AdminWork
from . import problems
from .work import MAX_LABOR_MINUTES

MAX_NOTES = 2000
SHOWN_DAYS = 14  # the admin time page lists the last two weeks


def log_admin_work(actor: User, *, technician: User | None, day: date, activity: str, minutes: int,
                   notes: str | None = None) -> AdminWork:
    """Technicians log their own time; a manager (or admin) may log it for a technician."""
    if technician is None:
        technician = actor
    if actor.role == Role.TECHNICIAN and technician.id != actor.id:
        raise Forbidden(_("Technicians log their own admin time only."), code="not_your_time")
    if actor.role not in (Role.TECHNICIAN, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Your role may not log admin time."))
    errors = {}
    if technician.role != Role.TECHNICIAN:
        errors["technician_id"] = _("not a technician")
    if activity not in {a.value for a in AdminActivity}:
        errors["activity"] = _("choose one of the activities offered")
    if not 1 <= minutes <= MAX_LABOR_MINUTES:
        errors["minutes"] = _("from 1 to %(max)d", max=MAX_LABOR_MINUTES)
    if day > local_today() + timedelta(days=1):
        errors["date"] = _("cannot be in the future")
    if notes is not None and len(notes) > MAX_NOTES:
        errors["notes"] = _("at most %(n)d characters", n=MAX_NOTES)
    if errors:
        raise Invalid(problems(_("The admin time cannot be logged."), errors), fields=errors)
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
