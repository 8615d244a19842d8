"""Times: stored in UTC, shown and entered in the configured TIMEZONE."""

from __future__ import annotations

import contextlib
from datetime import UTC, date, datetime, timedelta
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


def add_working_days(start: datetime, days: int) -> datetime:
    """The same local time `days` working days (Monday to Friday) later."""
    local = start.astimezone(local_tz())
    added = 0
    while added < days:
        local = local + timedelta(days=1)
        if local.weekday() < 5:
            added += 1
    return local.astimezone(UTC)


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
