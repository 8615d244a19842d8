"""The company calendar's page (admins edit, the desk reads) and API: `GET /api/v1/calendar`,
`PUT /api/v1/calendar/hours`, `POST /api/v1/calendar/days`, `DELETE /api/v1/calendar/days/{id}`,
`POST /api/v1/calendar/public-holidays` (a year's public holidays, as far as this version knows them)."""

from __future__ import annotations

from datetime import date, time
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from . import calendar
from .core.apiutil import api_view, body
from .core.errors import DomainError, Invalid
from .core.i18n import _
from .core.models import Role
from .core.pages import page_view
from .core.security import DESK, allow
from .core.timeutil import FIRST_DATE, LAST_DATE, local_today, parse_date
from .core.validate import Fields
from .sla_models import CALENDAR_DAY_KINDS

bp = Blueprint("calendar", __name__, url_prefix="/admin/calendar")
api_bp = Blueprint("calendar_api", __name__, url_prefix="/api/v1")


def _time(value: Any, field: str) -> time | None:
    if value in (None, ""):
        return None
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            pass
    raise Invalid(_("%(field)s must be a time like 09:00.", field=field), fields={field: _("not a time (HH:MM)")})


def _year(value: str | None) -> int:
    if not value:
        return local_today().year
    try:
        year = int(value)
    except ValueError:
        year = 0
    if not FIRST_DATE.year <= year <= LAST_DATE.year:
        raise Invalid(_("%(field)s must be between %(first)s and %(last)s.", field=_("Year"),
                        first=FIRST_DATE.year, last=LAST_DATE.year), fields={"year": _("out of range")})
    return year


def _week_from_form(form: Any) -> dict[int, tuple[time | None, time | None]]:
    week = {}
    for weekday in range(7):
        if form.get(f"open_{weekday}"):
            week[weekday] = (_time(form.get(f"start_{weekday}"), f"start_{weekday}"),
                             _time(form.get(f"end_{weekday}"), f"end_{weekday}"))
            if week[weekday][0] is None or week[weekday][1] is None:
                raise Invalid(_("Give the opening and closing time of %(day)s.",
                                day=_(calendar.WEEKDAY_NAMES[weekday])), fields={f"start_{weekday}": _("required")})
        else:
            week[weekday] = (None, None)
    return week


def _page(year: int, status: int = 200, error: str | None = None, fields: dict[str, str] | None = None) -> Any:
    return render_template("dispatch/calendar.html", year=year, hours=calendar.weekly_hours(),
                           days=calendar.calendar_days(year), weekday_names=calendar.WEEKDAY_NAMES,
                           kind_labels=calendar.DAY_KIND_LABELS, known_years=calendar.PUBLIC_HOLIDAYS,
                           error=error, fields=fields or {},
                           form=request.form if request.method == "POST" else {},
                           may_edit=current_user.role == Role.ADMIN), status


# ----------------------------------------------------------------------------- pages


@bp.get("", endpoint="page")
@allow(DESK)
def calendar_page() -> Any:
    try:
        year = _year(request.args.get("year"))
    except DomainError as exc:
        return _page(local_today().year, 422, exc.message)
    return _page(year)


@bp.post("/hours")
@allow(Role.ADMIN)
@page_view
def save_hours() -> Any:
    year = local_today().year
    try:
        year = _year(request.form.get("year"))
        calendar.set_weekly_hours(current_user, _week_from_form(request.form))
    except DomainError as exc:
        return _page(year, exc.status, exc.message, exc.fields)
    flash(_("Working hours saved."), "success")
    return redirect(url_for("calendar.page", year=year))


@bp.post("/days")
@allow(Role.ADMIN)
@page_view
def add_day() -> Any:
    year = local_today().year
    try:
        year = _year(request.form.get("year"))
        day = parse_date(request.form.get("day", ""), "day", _("Date"))
        kind = request.form.get("kind", "")
        if kind not in CALENDAR_DAY_KINDS:
            raise Invalid(_("Choose a public holiday or a make-up working day."), fields={"kind": _("unknown kind")})
        entry = calendar.add_day(current_user, day=day, kind=kind, name=request.form.get("name", ""),
                                 start=_time(request.form.get("start"), "start"),
                                 end=_time(request.form.get("end"), "end"))
    except DomainError as exc:
        return _page(year, exc.status, exc.message, exc.fields)
    flash(_("%(date)s added to the calendar.", date=entry.day.isoformat()), "success")
    return redirect(url_for("calendar.page", year=entry.day.year))


@bp.post("/public-holidays")
@allow(Role.ADMIN)
@page_view
def load_holidays() -> Any:
    year = local_today().year
    try:
        year = _year(request.form.get("year"))
        added = calendar.load_public_holidays(current_user, year)
    except DomainError as exc:
        return _page(year, exc.status, exc.message, exc.fields)
    flash(_("%(n)d days of %(year)s's public holidays added.", n=len(added), year=year) if added else
          _("The public holidays of %(year)s are already on the calendar.", year=year), "success")
    return redirect(url_for("calendar.page", year=year))


@bp.post("/days/<int:day_id>/remove")
@allow(Role.ADMIN)
@page_view
def remove_day(day_id: int) -> Any:
    entry = calendar.get_day_or_404(day_id)
    calendar.remove_day(current_user, entry)
    flash(_("%(date)s taken off the calendar.", date=entry.day.isoformat()), "success")
    return redirect(url_for("calendar.page", year=entry.day.year))


# ----------------------------------------------------------------------------- API


def _calendar_json(year: int | None) -> dict[str, Any]:
    from .core.timeutil import local_tz

    return {"timezone": str(local_tz()), "year": year, "hours": calendar.hours_json(calendar.weekly_hours()),
            "days": [calendar.day_json(d) for d in calendar.calendar_days(year)]}


@api_bp.get("/calendar")
@allow(DESK)
@api_view
def api_calendar() -> Any:
    year = _year(request.args.get("year")) if request.args.get("year") else None
    return _calendar_json(year)


@api_bp.put("/calendar/hours")
@allow(Role.ADMIN)
@api_view
def api_set_hours() -> Any:
    data = body()
    items = data.get("hours")
    if not isinstance(items, list) or not items:
        raise Invalid(_('%(field)s must be a list like [{"weekday": 0, "start": "09:00", "end": "18:00"}].',
                        field="hours"), fields={"hours": _("must be a list")})
    week: dict[int, tuple[time | None, time | None]] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("weekday"), int) or isinstance(item["weekday"], bool):
            raise Invalid(_('Each weekday looks like {"weekday": 0, "start": "09:00", "end": "18:00"} '
                            '(start and end null: closed).'), fields={"hours": _("bad weekday")})
        week[item["weekday"]] = (_time(item.get("start"), "start"), _time(item.get("end"), "end"))
    return {"hours": calendar.hours_json(calendar.set_weekly_hours(current_user, week))}


@api_bp.post("/calendar/days")
@allow(Role.ADMIN)
@api_view
def api_add_day() -> Any:
    f = Fields(body())
    day = f.date("date")
    kind = f.choice("kind", CALENDAR_DAY_KINDS)
    name = f.text("name", max_length=100)
    f.check(_("The day cannot be added to the calendar."))
    entry = calendar.add_day(current_user, day=day or date.today(), kind=kind or "", name=name or "",
                             start=_time(f.data.get("start"), "start"), end=_time(f.data.get("end"), "end"))
    return calendar.day_json(entry), 201


@api_bp.post("/calendar/public-holidays")
@allow(Role.ADMIN)
@api_view
def api_load_holidays() -> Any:
    f = Fields(body())
    year = f.integer("year", minimum=FIRST_DATE.year, maximum=LAST_DATE.year)
    f.check(_("The public holidays cannot be loaded."))
    added = calendar.load_public_holidays(current_user, year or 0)
    return {"year": year, "added": [calendar.day_json(d) for d in added]}, 201 if added else 200


api_load_holidays.openapi_status = ("201", "200")  # type: ignore[attr-defined]  # 201 when days were added (openapi.py)


@api_bp.delete("/calendar/days/<int:day_id>")
@allow(Role.ADMIN)
@api_view
def api_remove_day(day_id: int) -> Any:
    entry = calendar.remove_day(current_user, calendar.get_day_or_404(day_id))
    return {**calendar.day_json(entry), "removed": True}
