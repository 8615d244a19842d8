"""The periods the reports cover: a run of local days, a month, a day; parsed from what people type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from dispatch.core.errors import Invalid
from dispatch.core.i18n import _
from dispatch.core.timeutil import local_today, parse_date
from dispatch.scheduling.visits import day_window

MAX_DAYS = 366 * 5  # calls stay searchable and exportable for at least three years


@dataclass(frozen=True)
class Period:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def window(self) -> tuple[datetime, datetime]:
        return day_window(self.start, self.days)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def each_day(self) -> list[date]:
        return [self.start + timedelta(days=n) for n in range(self.days)]


def parse_period(start: Any, end: Any) -> Period:
    """?from=&to= (YYYY-MM-DD, both inclusive); without them the last 30 days up to today."""
    today = local_today()
    last = parse_date(end, "to", _("To")) if end else today
    first = parse_date(start, "from", _("From")) if start else last - timedelta(days=29)
    if last < first:
        raise Invalid(_("The period ends before it starts."), code="invalid_period",
                      fields={"to": _("must be on or after the start date")})
    if (last - first).days >= MAX_DAYS:
        raise Invalid(_("Report at most five years at once."), code="invalid_period",
                      fields={"from": _("at most five years before the end")})
    return Period(first, last)


def parse_month(value: Any) -> Period:
    """?month=YYYY-MM: that calendar month."""
    text = value.strip() if isinstance(value, str) else ""
    try:
        first = date.fromisoformat(text + "-01") if len(text) == 7 else None
    except ValueError:
        first = None
    if first is None:
        raise Invalid(_("The month must look like 2026-11."), code="invalid_month",
                      fields={"month": _("a month as YYYY-MM")})
    parse_date(first, "month", _("Month"))  # inside the supported years
    following = (first.replace(day=28) + timedelta(days=4)).replace(day=1)
    return Period(first, following - timedelta(days=1))


def parse_day(value: Any) -> date:
    return parse_date(value, "date", _("Date")) if value else local_today()


# ----------------------------------------------------------------------------- the figures
