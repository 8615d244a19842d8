"""The manager's dashboard: the figures of any period next to the previous one, the charts (pygal SVG drawn on
the server, inline), the alerts, the technicians, the day's summary and the downloads. Read only."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, render_template, request

from dispatch.core.errors import DomainError
from dispatch.core.i18n import _, locale_name, span_text
from dispatch.core.security import allow
from dispatch.core.timeutil import local_today

from . import charts, daily, documents, kpis, periods
from .api import READERS

bp = Blueprint("reports", __name__, url_prefix="/reports")


def _last_month(today: date) -> periods.Period:
    end = today.replace(day=1) - timedelta(days=1)
    return periods.Period(end.replace(day=1), end)


@bp.get("/")
@allow(READERS)
def dashboard() -> Any:
    problems = []
    try:
        period = periods.parse_period(request.args.get("from"), request.args.get("to"))
    except DomainError as exc:
        period, problems = periods.parse_period(None, None), [exc.message]
    try:
        day = periods.parse_day(request.args.get("day"))
    except DomainError as exc:
        day, problems = local_today(), [*problems, exc.message]
    figures = kpis.compute(period)
    previous = kpis.compute(period.previous())
    today = local_today()
    presets = [(_("Last 7 days"), periods.Period(today - timedelta(days=6), today)),
               (_("Last 30 days"), periods.Period(today - timedelta(days=29), today)),
               (_("This month"), periods.Period(today.replace(day=1), today)),
               (_("Last month"), _last_month(today))]
    months = []
    first = today.replace(day=1)
    for _n in range(12):
        months.append(first.strftime("%Y-%m"))
        first = (first - timedelta(days=1)).replace(day=1)
    return render_template(
        "reports/dashboard.html", period=period, figures=figures, previous=previous,
        charts=charts.all_charts(figures, previous), rows=documents.figure_rows(figures, previous),
        percent=kpis.percent, presets=presets, problems=problems, daily=daily.daily_summary(day),
        months=months, lang=locale_name(), default_month=_last_month(today).start.strftime("%Y-%m"),
        delta=_delta), (422 if problems else 200)


def _delta(now: float | None, before: float | None, *, better: str = "up", rate: bool = True,
           minutes: bool = False) -> dict[str, str]:
    """The change against the previous period, worded, and whether it is good news (for the tile's colour)."""
    if now is None or before is None:
        return {"text": _("no comparison"), "tone": "flat"}
    change = now - before
    if abs(change) < 1e-9:
        return {"text": _("same as before"), "tone": "flat"}
    points = format(abs(change) * 100, ".1f")
    amount = (span_text(int(round(abs(change)))) if minutes else _("%(n)s pt", n=points) if rate
              else format(abs(change), "g"))
    text = _("up %(amount)s", amount=amount) if change > 0 else _("down %(amount)s", amount=amount)
    good = (change > 0) == (better == "up")
    return {"text": text, "tone": "good" if good else "bad"}
