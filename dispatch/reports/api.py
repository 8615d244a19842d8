"""JSON API v1 for the manager's numbers (API.md "Reports"): the KPIs of any period, the monthly service
report (PDF, CSV), the day's summary and the archive export of closed calls. Managers, finance and admins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from flask import Blueprint, Response, request
from flask_babel import force_locale

from dispatch.core.apiutil import api_view
from dispatch.core.errors import Invalid
from dispatch.core.i18n import LOCALES, _
from dispatch.core.security import FINANCE, MANAGERS, allow

from . import documents, kpis, periods
from .daily import daily_summary

bp = Blueprint("reports_api", __name__, url_prefix="/api/v1/reports")

READERS = MANAGERS | FINANCE

RATE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
OPENAPI: dict[str, Any] = {"schemas": {
    "Kpis": {"type": "object", "required": [
        "calls", "booked_within_deadline_rate", "median_minutes_to_booking", "first_response_within_target_rate",
        "closure_rate", "csat", "unsatisfied_rate", "by_category", "by_problem_type", "admin_minutes"],
        "properties": {
            "from": {"type": "string", "format": "date"}, "to": {"type": "string", "format": "date"},
            "calls": {"type": "integer"}, "booked_within_deadline_rate": RATE,
            "median_minutes_to_booking": {"type": ["number", "null"]},
            "first_response_within_target_rate": RATE, "closure_rate": RATE, "csat": RATE,
            "unsatisfied_rate": RATE,
            "by_category": {"type": "object", "properties": {
                "charged": {"type": "integer"}, "contract": {"type": "integer"}, "free": {"type": "integer"}}},
            "by_problem_type": {"type": "object", "additionalProperties": {"type": "integer"}},
            "admin_minutes": {"type": "integer"},
            "technicians": {"type": "array", "items": {"type": "object"}},
            "alerts": {"type": "array", "items": {"type": "object", "properties": {
                "code": {"enum": ["closure_rate_low", "csat_low", "unsatisfied_high"]},
                "message": {"type": "string"}}}},
            "previous": {"type": "object", "description": "the same figures for the period of the same "
                                                          "length just before"}}},
    "DailySummary": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date"}, "received": {"type": "integer"},
        "completed": {"type": "integer"}, "closed": {"type": "integer"}, "reopened": {"type": "integer"},
        "ratings": {"type": "integer"}, "unsatisfied": {"type": "integer"}, "visits_done": {"type": "integer"},
        "open_now": {"type": "integer"}, "unsatisfied_calls": {"type": "array", "items": {"type": "object"}}}},
}, "bodies": {
    "reports_api.kpis": (None, "Kpis"),
    "reports_api.daily": (None, "DailySummary"),
}}

_LANGS = {"zh": "zh_CN", "zh_cn": "zh_CN", "zh-cn": "zh_CN", "en": "en"}


@contextmanager
def _language() -> Iterator[None]:
    """?lang=zh_CN|en prints a document in that language; without it, the request's own."""
    wanted = request.args.get("lang")
    if not wanted:
        yield
        return
    locale = _LANGS.get(wanted.strip().lower())
    if locale is None:
        raise Invalid(_("The language must be one of %(options)s.", options=", ".join(LOCALES)),
                      code="invalid_language", fields={"lang": ", ".join(LOCALES)})
    with force_locale(locale):
        yield


def _download(body: bytes, mimetype: str, filename: str, *, inline: bool = False) -> Response:
    response = Response(body, mimetype=mimetype)
    if mimetype == "text/csv":
        response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'{"inline" if inline else "attachment"}; filename="{filename}"'
    return response


@bp.get("/kpis", endpoint="kpis")
@allow(READERS)
@api_view
def kpis_view() -> Any:
    """The period's figures (?from=&to=, local days, both inclusive; default the last 30 days), as API.md
    defines them, with `previous`: the same figures for the period of the same length just before."""
    period = periods.parse_period(request.args.get("from"), request.args.get("to"))
    data = kpis.compute(period).as_json()
    previous = kpis.compute(period.previous()).as_json()
    data["previous"] = {key: value for key, value in previous.items() if key not in ("technicians", "alerts")}
    return data



@bp.get("/daily")
@allow(READERS)
@api_view
def daily() -> Any:
    """The service manager's day (?date=YYYY-MM-DD, default today): received, completed, closed, reopened,
    ratings and the unsatisfied ones, visits done, calls open now."""
    return daily_summary(periods.parse_day(request.args.get("date"))).as_json()


@bp.get("/monthly.pdf")
@allow(READERS)
@api_view
def monthly_pdf() -> Any:
    """The monthly service report as a PDF (?month=YYYY-MM; ?lang=zh_CN|en)."""
    period = periods.parse_month(request.args.get("month"))
    with _language():
        body = documents.monthly_pdf(period)
    return _download(body, "application/pdf", f"service-report-{period.start:%Y-%m}.pdf", inline=True)


@bp.get("/monthly.csv")
@allow(READERS)
@api_view
def monthly_csv() -> Any:
    """The monthly service report as CSV (?month=YYYY-MM; ?lang=zh_CN|en)."""
    period = periods.parse_month(request.args.get("month"))
    with _language():
        body = documents.monthly_csv(period)
    return _download(body.encode("utf-8"), "text/csv", f"service-report-{period.start:%Y-%m}.csv")


@bp.get("/archive.csv")
@allow(READERS)
@api_view
def archive_csv() -> Any:
    """The calls closed in a period (?from=&to=) with their notes and documents, for the archive."""
    period = periods.parse_period(request.args.get("from"), request.args.get("to"))
    with _language():
        body = documents.archive_csv(period)
    return _download(body.encode("utf-8"), "text/csv",
                     f"closed-calls-{period.start.isoformat()}-{period.end.isoformat()}.csv")
