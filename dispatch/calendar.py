"""The company calendar: working hours per weekday, public holidays and make-up working days (调休), in
TIMEZONE; and `add_working_time`, the one way every working-time clock is counted (dispatch/sla.py).

The arithmetic itself is pure (dispatch/core/timeutil.py, WorkingCalendar); this module loads the calendar
the admins keep (business_hours, calendar_days; seeded by migration 0012 with China's public holidays) and
edits it. Services: they never commit; every change writes an audit event.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from .core import audit
from .core.errors import Conflict, Invalid, NotFound
from .core.extensions import db
from .core.i18n import N_, _
from .core.models import User
from .core.timeutil import (
    DEFAULT_WEEK,
    Span,
    WorkingCalendar,
    add_calendar_working_days,
    add_working_minutes,
    in_date_range,
    local_tz,
    out_of_range,
    utcnow,
    working_minutes_between,
)
from .sla_models import CALENDAR_DAY_KINDS, BusinessHours, CalendarDay

WEEKDAY_NAMES = (N_("Monday"), N_("Tuesday"), N_("Wednesday"), N_("Thursday"), N_("Friday"), N_("Saturday"),
                 N_("Sunday"))
DAY_KIND_LABELS = {"holiday": N_("Public holiday (closed)"), "workday": N_("Make-up working day (调休)")}


# China's public holidays by year: (first day, last day, name) closed, and the make-up working days (调休上班).
# 2026: the State Council's schedule (国务院办公厅关于2026年部分节假日安排的通知). 2027: only the statutory days
# (全国年节及纪念日放假办法: 元旦 1, 春节 除夕-初三, 清明 1, 劳动节 5-1/5-2, 端午 1, 中秋 1, 国庆 10-1..3); the
# bridge days and make-up days of 2027 come with the State Council's notice: add them on the calendar page.
PUBLIC_HOLIDAYS: dict[int, tuple[list[tuple[str, str, str]], list[tuple[str, str]]]] = {
    2026: ([("2026-01-01", "2026-01-03", "元旦"), ("2026-02-15", "2026-02-23", "春节"),
            ("2026-04-04", "2026-04-06", "清明节"), ("2026-05-01", "2026-05-05", "劳动节"),
            ("2026-06-19", "2026-06-21", "端午节"), ("2026-09-25", "2026-09-27", "中秋节"),
            ("2026-10-01", "2026-10-07", "国庆节")],
           [("2026-01-04", "元旦调休上班"), ("2026-02-14", "春节调休上班"), ("2026-02-28", "春节调休上班"),
            ("2026-05-09", "劳动节调休上班"), ("2026-09-20", "国庆节调休上班"), ("2026-10-10", "国庆节调休上班")]),
    2027: ([("2027-01-01", "2027-01-01", "元旦"), ("2027-02-05", "2027-02-08", "春节"),
            ("2027-04-05", "2027-04-05", "清明节"), ("2027-05-01", "2027-05-02", "劳动节"),
            ("2027-06-09", "2027-06-09", "端午节"), ("2027-09-15", "2027-09-15", "中秋节"),
            ("2027-10-01", "2027-10-03", "国庆节")], []),
}


# ----------------------------------------------------------------------------- reading


def company_calendar() -> WorkingCalendar:
    """The calendar as stored (Monday to Friday 09:00-18:00 while no weekly hours are stored)."""
    rows = list(db.session.scalars(select(BusinessHours)))
    week: dict[int, Span] = {r.weekday: (r.start, r.end) for r in rows if r.start is not None and r.end is not None}
    if not rows:
        week = dict(DEFAULT_WEEK)
    holidays: set[date] = set()
    workdays: dict[date, Span] = {}
    for d in db.session.scalars(select(CalendarDay).where(CalendarDay.removed_at.is_(None))):
        if d.kind == "workday" and d.start is not None and d.end is not None:
            workdays[d.day] = (d.start, d.end)
        else:
            holidays.add(d.day)
    return WorkingCalendar(week=week, holidays=frozenset(holidays), workdays=workdays)


def add_working_time(start: datetime, *, minutes: float | None = None, days: int | None = None,
                     calendar: WorkingCalendar | None = None) -> datetime:
    """`start` plus working time on the company calendar: `minutes` of working hours, or `days` working days
    (the same local time that many working days later). Every working-time clock is counted by this."""
    if (minutes is None) == (days is None):
        raise TypeError("add_working_time takes minutes or days")
    cal = calendar or company_calendar()
    if minutes is not None:
        return add_working_minutes(start, minutes, cal, local_tz())
    return add_calendar_working_days(start, days or 0, cal, local_tz())


def working_minutes(start: datetime, end: datetime, calendar: WorkingCalendar | None = None) -> int:
    """Minutes of working time between two instants (how late a working-time clock is, in working time)."""
    return working_minutes_between(start, end, calendar or company_calendar(), local_tz())


def weekly_hours() -> list[BusinessHours]:
    """Seven rows, Monday first (made with the default week when none are stored)."""
    rows = {r.weekday: r for r in db.session.scalars(select(BusinessHours))}
    result = []
    for weekday in range(7):
        row = rows.get(weekday)
        if row is None:
            span = DEFAULT_WEEK.get(weekday)
            row = BusinessHours(weekday=weekday, start=span[0] if span else None, end=span[1] if span else None)
        result.append(row)
    return result


def calendar_days(year: int | None = None) -> list[CalendarDay]:
    """The dated entries in force, by date (one year's, or all)."""
    stmt = select(CalendarDay).where(CalendarDay.removed_at.is_(None)).order_by(CalendarDay.day)
    if year is not None:
        stmt = stmt.where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
    return list(db.session.scalars(stmt))


def get_day_or_404(day_id: int) -> CalendarDay:
    entry = db.session.get(CalendarDay, day_id)
    if entry is None or entry.removed_at is not None:
        raise NotFound(_("No such calendar day."))
    return entry


# ----------------------------------------------------------------------------- editing


def _check_span(start: time | None, end: time | None, field: str) -> None:
    if (start is None) != (end is None):
        raise Invalid(_("Give both the opening and the closing time, or neither for a closed day."),
                      fields={field: _("opening and closing, or neither")})
    if start is not None and end is not None and end <= start:
        raise Invalid(_("Closing time must be after opening time (%(start)s - %(end)s).",
                        start=start.strftime("%H:%M"), end=end.strftime("%H:%M")),
                      fields={field: _("closing before opening")})


def set_weekly_hours(actor: User, week: dict[int, tuple[time | None, time | None]]) -> list[BusinessHours]:
    """Replace the working hours of the weekdays given (0 = Monday): (start, end), or (None, None): closed."""
    for weekday, (start, end) in week.items():
        if not 0 <= weekday <= 6:
            raise Invalid(_("A weekday runs from 0 (Monday) to 6 (Sunday)."), fields={"weekday": _("0 to 6")})
        _check_span(start, end, f"hours_{weekday}")
    rows = {r.weekday: r for r in db.session.scalars(select(BusinessHours))}
    merged = {d: (r.start, r.end) for d, r in rows.items()} if rows else {
        d: DEFAULT_WEEK.get(d, (None, None)) for d in range(7)}
    merged.update(week)
    if not any(start is not None for start, _end in merged.values()):
        raise Invalid(_("The company must work on at least one weekday."), fields={"hours": _("no working day")})
    before = {str(d): _span_text(rows[d].start, rows[d].end) for d in sorted(rows)}
    for weekday, (start, end) in sorted(merged.items()):
        row = rows.get(weekday)
        if row is None:
            row = BusinessHours(weekday=weekday)
            db.session.add(row)
            rows[weekday] = row
        row.start, row.end = start, end
    db.session.flush()
    after = {str(d): _span_text(rows[d].start, rows[d].end) for d in sorted(rows)}
    if before != after:
        audit.record(actor, rows[0], "calendar.hours", before=before, after=after)
    return [rows[d] for d in range(7)]


def _span_text(start: time | None, end: time | None) -> str:
    return f"{start:%H:%M}-{end:%H:%M}" if start is not None and end is not None else "closed"


def add_day(actor: User, *, day: date, kind: str, name: str, start: time | None = None,
            end: time | None = None) -> CalendarDay:
    """A public holiday (closed) or a make-up working day (with its hours; 09:00-18:00 unless given)."""
    if kind not in CALENDAR_DAY_KINDS:
        raise Invalid(_("Choose a public holiday or a make-up working day."), fields={"kind": _("unknown kind")})
    if not in_date_range(day):
        raise out_of_range("day", _("Date"))
    name = (name or "").strip()
    if not name:
        raise Invalid(_("Name the day (e.g. National Day)."), fields={"name": _("required")})
    if len(name) > 100:
        raise Invalid(_("%(field)s must be at most %(n)d characters.", field=_("Name"), n=100),
                      fields={"name": _("too long")})
    if kind == "holiday":
        start = end = None
    else:
        if start is None and end is None:
            span = DEFAULT_WEEK[0]
            start, end = span
        _check_span(start, end, "start")
    existing = db.session.scalar(select(CalendarDay).where(CalendarDay.day == day, CalendarDay.removed_at.is_(None)))
    if existing is not None:
        raise Conflict(_("%(date)s is already on the calendar (%(name)s): remove it first to change it.",
                         date=day.isoformat(), name=existing.name), code="day_taken", fields={"day": _("taken")})
    entry = CalendarDay(day=day, kind=kind, name=name, start=start, end=end, created_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    audit.record(actor, entry, "calendar.day_added",
                 after={**audit.snapshot(entry, "day", "kind", "name"), "hours": _span_text(start, end)})
    return entry


def remove_day(actor: User, entry: CalendarDay) -> CalendarDay:
    """Take a dated entry off the calendar (the row stays, marked removed)."""
    if entry.removed_at is None:
        entry.removed_at = utcnow()
        audit.record(actor, entry, "calendar.day_removed", before=audit.snapshot(entry, "day", "kind", "name"))
    return entry


def load_public_holidays(actor: User, year: int) -> list[CalendarDay]:
    """Put the year's public holidays and make-up working days (PUBLIC_HOLIDAYS) on the calendar; dates
    already on it are left as they are. Returns what was added."""
    if year not in PUBLIC_HOLIDAYS:
        known = ", ".join(str(y) for y in sorted(PUBLIC_HOLIDAYS))
        raise Invalid(_("The public holidays of %(year)s are not known to this version (known: %(years)s): "
                        "enter them day by day.", year=year, years=known), fields={"year": _("not known")})
    holidays, workdays = PUBLIC_HOLIDAYS[year]
    taken = {d.day for d in calendar_days(year)}
    added = []
    for first, last, name in holidays:
        day, end = date.fromisoformat(first), date.fromisoformat(last)
        while day <= end:
            if day not in taken:
                added.append(add_day(actor, day=day, kind="holiday", name=name))
            day += timedelta(days=1)
    for text, name in workdays:
        day = date.fromisoformat(text)
        if day not in taken:
            added.append(add_day(actor, day=day, kind="workday", name=name))
    return added


def day_json(entry: CalendarDay) -> dict[str, object]:
    return {"id": entry.id, "date": entry.day.isoformat(), "kind": entry.kind, "name": entry.name,
            "start": entry.start.strftime("%H:%M") if entry.start else None,
            "end": entry.end.strftime("%H:%M") if entry.end else None}


def hours_json(rows: list[BusinessHours]) -> list[dict[str, object]]:
    return [{"weekday": r.weekday, "start": r.start.strftime("%H:%M") if r.start else None,
             "end": r.end.strftime("%H:%M") if r.end else None} for r in rows]
