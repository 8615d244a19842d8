"""Times: stored in UTC, shown and entered in the configured TIMEZONE."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_date, format_datetime
from flask import current_app, has_app_context

from .errors import Invalid
from .i18n import _, locale_name

# The dates a person can mean, one definition for every parser and date field (API, pages, forms):
# outside it a date is a typing mistake (9999 for 2026), and near year 1 or 9999 a change of time zone
# or a week's arithmetic overflows.
FIRST_DATE = date(2000, 1, 1)
LAST_DATE = date(2100, 12, 31)


def in_date_range(value: date) -> bool:
    """Whether a date (a datetime: its own wall-clock date) lies between FIRST_DATE and LAST_DATE."""
    day = value.date() if isinstance(value, datetime) else value
    return FIRST_DATE <= day <= LAST_DATE


def date_range_problem() -> str:
    """What a field next to an out-of-range date says (the short form, as in `fields`)."""
    return _("between %(first)s and %(last)s", first=FIRST_DATE.isoformat(), last=LAST_DATE.isoformat())


def out_of_range(field: str, label: str | None = None) -> Invalid:
    return Invalid(_("%(field)s must be between %(first)s and %(last)s.", field=label or field,
                     first=FIRST_DATE.isoformat(), last=LAST_DATE.isoformat()),
                   fields={field: date_range_problem()})


def utcnow() -> datetime:
    return datetime.now(UTC)


def local_tz() -> ZoneInfo:
    name = current_app.config["TIMEZONE"] if has_app_context() else "Asia/Shanghai"
    return ZoneInfo(name)


def to_local(value: datetime | None) -> datetime | None:
    return value.astimezone(local_tz()) if value is not None else None


def local_today() -> date:
    return datetime.now(local_tz()).date()


def local_date_of(value: datetime) -> date:
    return value.astimezone(local_tz()).date()


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with the local offset, as the API speaks."""
    return value.astimezone(local_tz()).isoformat() if value is not None else None


def parse_datetime(value: object, field: str, label: str | None = None) -> datetime:
    """ISO 8601; a time without offset is taken as local time (the form's datetime-local).
    The message names the field by `label` (what a person reads next to it) or else by its JSON name.
    Outside FIRST_DATE..LAST_DATE (as typed, before any change of zone) it is refused."""
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str) and value.strip():
        text = value.strip().replace("Z", "+00:00")
        try:
            parsed = datetime.fromisoformat(text)
        except ValueError:
            raise Invalid(_("%(field)s must be a date and time like 2026-11-23T09:30:00+08:00.",
                            field=label or field), fields={field: _("not a valid date and time")}) from None
    else:
        raise Invalid(_("%(field)s is required.", field=label or field), fields={field: _("required")})
    if not in_date_range(parsed):
        raise out_of_range(field, label)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=local_tz())
    return parsed.astimezone(UTC)


def parse_date(value: object, field: str, label: str | None = None) -> date:
    """YYYY-MM-DD between FIRST_DATE and LAST_DATE."""
    parsed: date | None = None
    if isinstance(value, date) and not isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        with contextlib.suppress(ValueError):
            parsed = date.fromisoformat(value.strip())
    if parsed is not None:
        if not in_date_range(parsed):
            raise out_of_range(field, label)
        return parsed
    raise Invalid(_("%(field)s must be a date like 2026-11-23.", field=label or field),
                  fields={field: _("not a valid date (YYYY-MM-DD)")})


# ----------------------------------------------------------------------------- working time

Span = tuple[time, time]
DEFAULT_WEEK: dict[int, Span] = {weekday: (time(9), time(18)) for weekday in range(5)}


@dataclass(frozen=True)
class WorkingCalendar:
    """When the company works, in local time: hours per weekday (0 = Monday; absent: closed), dated holidays
    (closed), and make-up working days (调休) with their hours. The data lives in dispatch/calendar.py."""

    week: dict[int, Span] = field(default_factory=lambda: dict(DEFAULT_WEEK))
    holidays: frozenset[date] = frozenset()
    workdays: dict[date, Span] = field(default_factory=dict)

    def span(self, day: date) -> Span | None:
        """The working hours of a local date, or None when the company is closed that day."""
        if day in self.workdays:
            return self.workdays[day]
        if day in self.holidays:
            return None
        return self.week.get(day.weekday())

    def is_working_day(self, day: date) -> bool:
        return self.span(day) is not None


# Ten years without a working day is a calendar nobody can mean (every weekday closed): refuse, don't loop.
_SEARCH_DAYS = 3660


class NoWorkingTime(ValueError):
    """The calendar has no working day within ten years of a date."""


def _at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz).astimezone(UTC)


def add_working_minutes(start: datetime, minutes: float, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
    """`start` plus `minutes` of working time: only the calendar's working hours count. A start outside them
    counts from the next opening (Friday 17:30 + 60 min = Monday 09:30); a clock that runs out exactly at
    closing time is due at closing time, not the next morning."""
    start = start.astimezone(UTC)
    remaining = timedelta(minutes=minutes)
    if remaining <= timedelta(0):
        return start
    day = start.astimezone(tz).date()
    for _step in range(_SEARCH_DAYS):
        span = calendar.span(day)
        if span is not None:
            opening, closing = _at(day, span[0], tz), _at(day, span[1], tz)
            begin = max(start, opening)
            if begin < closing:
                if remaining <= closing - begin:
                    return begin + remaining
                remaining -= closing - begin
        day += timedelta(days=1)
    raise NoWorkingTime(day)


def add_calendar_working_days(start: datetime, days: int, calendar: WorkingCalendar, tz: ZoneInfo) -> datetime:
    """The same local time `days` working days later (a working day: one the calendar opens). A start outside
    working hours counts from the previous closing time (Saturday, or Tuesday 07:00, is still "after Friday's /
    Monday's close"), so 1 working day from a weekend is the end of Monday; a time past a shorter day's
    closing is that day's closing."""
    local = start.astimezone(tz)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    span = calendar.span(day)
    if span is None or clock < span[0]:
        for _step in range(_SEARCH_DAYS):
            day -= timedelta(days=1)
            span = calendar.span(day)
            if span is not None:
                clock = span[1]
                break
        else:
            raise NoWorkingTime(day)
    counted = 0
    for _step in range(_SEARCH_DAYS * 2):
        if counted >= days:
            break
        day += timedelta(days=1)
        if calendar.is_working_day(day):
            counted += 1
    else:
        raise NoWorkingTime(day)
    span = calendar.span(day)
    if span is not None:
        clock = min(max(clock, span[0]), span[1])
    return _at(day, clock, tz)


def working_minutes_between(start: datetime, end: datetime, calendar: WorkingCalendar, tz: ZoneInfo) -> int:
    """Whole minutes of working time from `start` to `end` (0 when end is not later)."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    if end <= start:
        return 0
    total = timedelta(0)
    day = start.astimezone(tz).date()
    last = end.astimezone(tz).date()
    while day <= last:
        span = calendar.span(day)
        if span is not None:
            opening, closing = max(_at(day, span[0], tz), start), min(_at(day, span[1], tz), end)
            if closing > opening:
                total += closing - opening
        day += timedelta(days=1)
    return int(total.total_seconds() // 60)


def add_working_days(start: datetime, days: int, calendar: WorkingCalendar | None = None) -> datetime:
    """`days` working days after `start` on `calendar` (Monday to Friday 09:00-18:00 without one; the
    company's own calendar: dispatch.calendar.add_working_time)."""
    return add_calendar_working_days(start, days, calendar or WorkingCalendar(), local_tz())


def localtime_text(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    return value.astimezone(local_tz()).strftime(fmt) if value is not None else ""


# ----------------------------------------------------------------------------- for people


def datetime_text(value: datetime | None, *, weekday: bool = False, seconds: bool = False) -> str:
    """A local date and time on the 24 h clock: 2026-12-02 09:30 (with the weekday: 周三 / Wed)."""
    if value is None:
        return ""
    pattern = ("EEE " if weekday else "") + "yyyy-MM-dd HH:mm" + (":ss" if seconds else "")
    return format_datetime(value, pattern, tzinfo=local_tz(), locale=locale_name())


def date_text(value: Any, *, weekday: bool = False) -> str:
    if value is None:
        return ""
    return format_date(value, ("EEE " if weekday else "") + "yyyy-MM-dd", locale=locale_name())
