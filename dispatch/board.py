"""The dispatch board (HTML): a lane per technician, the queue of calls to book, suggestions and booking,
and the technicians' calendars (skills, base, working hours, time off).

Handlers parse, call one scheduling service and render; `page_view` commits. With htmx they answer
fragments (the suggestions panel, the live part of the board); without JavaScript the same forms post
and redirect.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .core.errors import DomainError, Invalid
from .core.extensions import db
from .core.i18n import _
from .core.models import Role, User
from .core.pages import form_errors, page_view
from .core.security import DESK, MANAGERS, allow
from .core.timeutil import (
    datetime_text,
    local_today,
    local_tz,
    localtime_text,
    parse_date,
    parse_datetime,
    utcnow,
)
from .models import RepairCall
from .scheduling import booking, calendars, lanes, plans
from .scheduling.visits import day_window, get_visit_or_404, visits_on
from .services.calls import get_call_or_404
from .services.users import technicians as active_technicians
from .slips import services as slip_services

bp = Blueprint("board", __name__)

# ----------------------------------------------------------------------------- what the board shows


def _board_args() -> tuple[date, str, str | None]:
    """The day and view asked for; a date that is no date, or out of range, shows today with the problem."""
    raw = request.args.get("date")
    problem = None
    try:
        day = parse_date(raw, "date", _("Date")) if raw else local_today()
    except Invalid as exc:
        day, problem = local_today(), exc.message
    view = "week" if request.args.get("view") == "week" else "day"
    return day, view, problem


def _page_asked() -> int:
    """The page of technicians asked for (?page= or the form's page); anything else shows the first."""
    raw = request.values.get("page") or ""
    return int(raw) if raw.isdigit() and len(raw) < 6 else 1


def _live_context(day: date, view: str, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"day": day, "view": view, "queue": plans.waiting_calls(),
                               "queue_count": plans.waiting_count(), "queue_cap": plans.COUNT_CAP,
                               "message": message,
                               "error": error, "today": local_today(), "now": utcnow(),
                               "slips": "slips_api.day_slips" in current_app.view_functions,
                               "call_page": "desk.call" in current_app.view_functions,
                               "technicians": active_technicians()}
    techs, context["lane_page"] = lanes.technician_page(_page_asked())
    if view == "week":
        context["week_days"], context["week_rows"] = lanes.week_grid(day, techs)
    else:
        context["lanes"] = lanes.day_lanes(day, techs)
    return context


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


@bp.get("/board")
@allow(DESK)
def board() -> Any:
    day, view, problem = _board_args()
    return render_template("dispatch/board.html", **_live_context(day, view, error=problem),
                           timedelta=timedelta), 422 if problem else 200


@bp.get("/board/live")
@allow(DESK)
def live() -> Any:
    """The part of the board that refreshes itself: queue and lanes."""
    day, view, problem = _board_args()
    return render_template("dispatch/board_live.html", **_live_context(day, view, error=problem),
                           timedelta=timedelta), 422 if problem else 200


# ----------------------------------------------------------------------------- suggestions and booking


def _suggestions_context(call: RepairCall, origin: str, error: str | None = None,
                         additional: bool = False) -> dict[str, Any]:
    try:
        minutes = int(request.values.get("duration") or 0)
    except ValueError:
        minutes = 0
    duration = timedelta(minutes=minutes) if 15 <= minutes <= 720 else None
    result = None
    problem = None
    try:
        result = plans.suggestions_for_call(call, limit=5, duration=duration)
    except DomainError as exc:
        problem = exc.message
    duration = result.duration if result else plans.default_duration(call)
    return {"call": call, "result": result, "problem": problem, "error": error, "origin": origin,
            "technicians": plans.technicians_by_fit(call), "duration_minutes": int(duration.total_seconds() // 60),
            "is_manager": current_user.role in (Role.MANAGER, Role.ADMIN), "additional": additional,
            "booked": booking.live_visits(call) if additional else [], "now": utcnow(),
            "window_of": booking.promised_window}


def _booked_context(call: RepairCall, origin: str, message: str | None = None, error: str | None = None,
                    just_booked: Any = None) -> dict[str, Any]:
    """The call's booked visits in place of the "Book" buttons (call page and board panel)."""
    return {"call": call, "visits": booking.live_visits(call), "origin": origin, "message": message,
            "error": error, "just_booked": just_booked, "slips": "slips_api.visit_slip" in current_app.view_functions}


def _additional_asked(values: Any) -> bool:
    return (values.get("additional") or "").lower() in ("1", "true", "on", "yes")


@bp.get("/board/calls/<int:call_id>/suggestions")
@allow(DESK)
def call_suggestions(call_id: int) -> Any:
    """The ranked suggestions for a call as an HTML fragment (board panel and call page); once the call has
    a live visit, that visit instead (suggestions for a second technician only with ?additional=1)."""
    call = get_call_or_404(call_id)
    origin = "board" if request.args.get("from") == "board" else "call"
    additional = _additional_asked(request.args)
    if not additional and booking.live_visits(call):
        return render_template("dispatch/_booked.html", **_booked_context(call, origin))
    return render_template("dispatch/_suggestions.html", **_suggestions_context(call, origin, additional=additional))


def _call_page(call: RepairCall) -> str:
    if "desk.call" in current_app.view_functions:
        return url_for("desk.call", call_id=call.id)
    return url_for("board.board")


def _technician_field(raw: str | None, problem: str) -> User | None:
    """The technician a form names (None when it names nobody); `problem` when the id is not a number."""
    try:
        return db.session.get(User, int(raw or 0)) if raw else None
    except ValueError:
        raise Invalid(problem) from None


def _checked(values: Any, name: str) -> bool:
    return (values.get(name) or "").lower() in ("1", "true", "on", "yes")


def _window_fields(form: Any, start: datetime) -> tuple[datetime | None, datetime | None]:
    """The arrival window a booking form asks for: times of day (HH:MM) on the start's local day, or full
    date-times; both empty: the default window."""
    values: list[datetime | None] = []
    for name, text in (("window_start", _("Arrival window from")), ("window_end", _("Arrival window to"))):
        raw = (form.get(name) or "").strip()
        if not raw:
            values.append(None)
        elif len(raw) <= 5 and ":" in raw:
            day = start.astimezone(local_tz()).date().isoformat()
            values.append(parse_datetime(f"{day}T{raw}", name, text))
        else:
            values.append(parse_datetime(raw, name, text))
    return values[0], values[1]


@bp.post("/board/calls/<int:call_id>/book")
@allow(DESK)
@page_view
def book(call_id: int) -> Any:
    """Book from a suggestion (one click) or by hand (technician, start, duration). A call that already has
    a live visit is refused (409) unless the form books an additional technician on purpose."""
    call = get_call_or_404(call_id)
    form = request.form
    origin = "board" if form.get("from") == "board" else "call"
    additional = _additional_asked(form)
    with form_errors() as messages:
        problem = _("Check the technician and the duration.")
        tech = _technician_field(form.get("technician_id"), problem)
        start = parse_datetime(form.get("start"), "start", _("Start"))
        if form.get("end"):
            end = parse_datetime(form.get("end"), "end", _("End"))
        else:
            try:
                end = plans.visit_end(call, start, minutes=int(form.get("duration") or 0))
            except ValueError:
                raise Invalid(problem) from None
        window_start, window_end = _window_fields(form, start)
        visit = booking.book_visit(current_user, call, tech, start, end,
                                   override_reason=form.get("override_reason") or None,
                                   customer_requested=_checked(form, "customer_requested"), additional=additional,
                                   check_availability=True, window_start=window_start, window_end=window_end)
    if messages:
        if not _is_htmx():
            flash(messages[0], "error")
            return redirect(url_for("board.board") if origin == "board" else _call_page(call))
        if origin == "call" and messages.status == 409:
            # The call page shows the visit that holds the call, with the message on top.
            flash(messages[0], "error")
            response = current_app.response_class("", status=409)
            response.headers["HX-Redirect"] = _call_page(call)
            return response
        if not additional and booking.live_visits(call):
            return render_template("dispatch/_booked.html",
                                   **_booked_context(call, origin, error=messages[0])), messages.status
        return render_template("dispatch/_suggestions.html",
                               **_suggestions_context(call, origin, error=messages[0],
                                                      additional=additional)), messages.status
    text = _("Booked %(slip)s: %(name)s, %(start)s–%(end)s for call %(number)s. Tell the customer: arrival "
             "between %(window_start)s and %(window_end)s.", slip=visit.slip_number,
             name=visit.technician.name, start=datetime_text(visit.start, weekday=True),
             end=localtime_text(visit.end, "%H:%M"), number=call.number,
             window_start=localtime_text(visit.window_start, "%H:%M"),
             window_end=localtime_text(visit.window_end, "%H:%M"))
    if not _is_htmx():
        flash(text, "success")
        return redirect(url_for("board.board", date=visit.start.astimezone(local_tz()).date().isoformat())
                        if origin == "board" else _call_page(call))
    if origin == "call":
        flash(text, "success")
        response = current_app.response_class("")
        response.headers["HX-Redirect"] = _call_page(call)
        return response
    response = current_app.make_response(render_template(
        "dispatch/_booked.html", **_booked_context(call, origin, message=text, just_booked=visit)))
    response.headers["HX-Trigger"] = "booked"
    return response


# ----------------------------------------------------------------------------- printing slips


def _print_redirect(pdf_url: str) -> Any:
    """After counting, the PDF itself (a read that counts nothing), in the tab the print form opened."""
    return redirect(pdf_url, code=303)


@bp.post("/board/visits/<int:visit_id>/print")
@allow(DESK)
@page_view
def print_slip(visit_id: int) -> Any:
    """The print button of one slip (the voucher once signed): count the print, then show the PDF."""
    visit = get_visit_or_404(visit_id, current_user)
    slip_services.record_prints(current_user, [visit])
    return _print_redirect(url_for("slips_api.visit_slip", visit_id=visit.id))


@bp.post("/board/slips/print")
@allow(DESK)
@page_view
def print_day_slips() -> Any:
    """The board's "print the day's slips": every technician's (or one's) slips of a day in one PDF, each
    counted once."""
    form = request.form
    with form_errors() as messages:
        day = parse_date(form.get("date"), "date", _("Date"))
        raw_tech = form.get("technician_id") or None
        try:
            tech_id = int(raw_tech) if raw_tech else None
        except ValueError:
            raise Invalid(_("Choose a technician.")) from None
        tech_id = slip_services.printable_technician(current_user, tech_id)
        visits = visits_on(*day_window(day), tech_id)
        slip_services.record_prints(current_user, visits)
    if messages:
        flash(messages[0], "error")
        return redirect(url_for("board.board"))
    return _print_redirect(url_for("slips_api.day_slips", date=day.isoformat(), technician_id=tech_id))


def _after_change(message: str | None, error: str | None) -> Any:
    view = "week" if request.form.get("view") == "week" else "day"
    try:
        day = parse_date(request.form.get("date"), "date", _("Date"))
    except Invalid:
        day = local_today()
    if not _is_htmx():
        if message:
            flash(message, "success")
        if error:
            flash(error, "error")
        return redirect(url_for("board.board", date=day.isoformat(), view=view, page=_page_asked()))
    return render_template("dispatch/board_live.html", **_live_context(day, view, message, error),
                           timedelta=timedelta)


@bp.post("/board/visits/<int:visit_id>/move")
@allow(DESK)
@page_view
def move(visit_id: int) -> Any:
    """Reschedule or reassign a visit, with a reason."""
    visit = get_visit_or_404(visit_id, current_user)
    form = request.form
    with form_errors() as messages:
        tech = _technician_field(form.get("technician_id"), _("Check the form."))
        if form.get("technician_id") and tech is None:
            raise Invalid(_("Choose a technician."))
        start = parse_datetime(form.get("start"), "start", _("Start")) if form.get("start") else None
        end = parse_datetime(form.get("end"), "end", _("End")) if form.get("end") else None
        promised = visit.window_start, visit.window_end
        booking.reschedule_visit(current_user, visit, technician=tech, start=start, end=end,
                                 override_reason=form.get("override_reason") or None,
                                 reason=form.get("reason") or None, check_availability=True)
    if messages:
        return _after_change(None, messages[0])
    text = _("Moved %(slip)s to %(name)s, %(start)s.", slip=visit.slip_number, name=visit.technician.name,
             start=datetime_text(visit.start, weekday=True))
    if (visit.window_start, visit.window_end) != promised:  # outside the old window: the customer is told again
        text += " " + _("Tell the customer the new arrival window: %(start)s–%(end)s.",
                        start=datetime_text(visit.window_start, weekday=True),
                        end=localtime_text(visit.window_end, "%H:%M"))
    return _after_change(text, None)


@bp.post("/board/visits/<int:visit_id>/pin")
@allow(DESK)
@page_view
def pin(visit_id: int) -> Any:
    """Pin a visit (re-planning leaves it where it is) or unpin it."""
    visit = get_visit_or_404(visit_id, current_user)
    pinned = request.form.get("pinned") == "1"
    with form_errors() as messages:
        booking.set_pinned(current_user, visit, pinned)
    if messages:
        return _after_change(None, messages[0])
    return _after_change(_("Pinned %(slip)s: re-planning leaves it where it is.", slip=visit.slip_number) if pinned
                         else _("Unpinned %(slip)s: re-planning may move it within its arrival window.",
                                slip=visit.slip_number), None)


@bp.post("/board/visits/<int:visit_id>/cancel")
@allow(DESK)
@page_view
def cancel(visit_id: int) -> Any:
    """Cancel a visit with a reason; its call goes back to the queue."""
    visit = get_visit_or_404(visit_id, current_user)
    with form_errors() as messages:
        booking.cancel_visit(current_user, visit, request.form.get("reason") or "")
    if messages:
        return _after_change(None, messages[0])
    return _after_change(_("Cancelled %(slip)s; call %(number)s is back in the queue.", slip=visit.slip_number,
                           number=visit.call.number), None)


# ----------------------------------------------------------------------------- technicians' calendars


def _hours_field(tech: User, weekday: int) -> str:
    return ", ".join(f"{w.start:%H:%M}-{w.end:%H:%M}" for w in calendars.working_hours_rows(tech)
                     if w.weekday == weekday)


def _base_field(raw: str | None) -> float | None:
    text = (raw or "").strip()
    try:
        return float(text) if text else None
    except ValueError:
        raise Invalid(_("The base needs numbers, like 31.2304 and 121.4737.")) from None


@bp.get("/technicians")
@allow(MANAGERS)
def technicians() -> Any:
    techs = active_technicians(include_inactive=True)
    now = utcnow()
    offs = {t.id: calendars.time_off_of(t, since=now) for t in techs}
    hours = {t.id: [_hours_field(t, d) for d in range(7)] for t in techs}
    return render_template("dispatch/technicians.html", techs=techs, offs=offs, hours=hours)


def _technician_page(technician_id: int) -> Any:
    return redirect(url_for("board.technicians") + f"#tech-{technician_id}")


@bp.post("/technicians/<int:technician_id>")
@allow(MANAGERS)
@page_view
def save_technician(technician_id: int) -> Any:
    tech = calendars.get_technician_or_404(technician_id)
    form = request.form
    with form_errors() as messages:
        skills = [s for s in (form.get("skills") or "").replace(";", ",").split(",") if s.strip()]
        lat, lon = _base_field(form.get("base_latitude")), _base_field(form.get("base_longitude"))
        calendars.check_base(lat, lon)  # before the hours, so a wrong base is the message shown first
        hours = calendars.parse_hours_text([form.get(f"hours_{d}", "") for d in range(7)])
        calendars.update_technician(current_user, tech, skills=skills, base_latitude=lat, base_longitude=lon,
                                    clear_base=lat is None and lon is None, working_hours=hours)
        flash(_("Saved %(name)s.", name=tech.name), "success")
    if messages:
        flash(_("%(name)s: %(problem)s", name=tech.name, problem=messages[0]), "error")
    return _technician_page(tech.id)


@bp.post("/technicians/<int:technician_id>/time-off")
@allow(MANAGERS)
@page_view
def add_time_off(technician_id: int) -> Any:
    tech = calendars.get_technician_or_404(technician_id)
    with form_errors() as messages:
        starts = parse_datetime(request.form.get("starts_at"), "starts_at", _("From"))
        ends = parse_datetime(request.form.get("ends_at"), "ends_at", _("To"))
        _off, clashes = calendars.add_time_off(current_user, tech, starts, ends, request.form.get("reason") or "")
        flash(_("Time off added for %(name)s.", name=tech.name), "success")
        if clashes:
            # Two messages, not ngettext: the catalogues keep singular msgids only.
            slips = ", ".join(v.slip_number for v in clashes)
            flash(_("1 booked visit falls in it: %(slips)s. Move it on the board.", slips=slips) if len(clashes) == 1
                  else _("%(n)d booked visits fall in it: %(slips)s. Move them on the board.", n=len(clashes),
                         slips=slips), "error")
    if messages:
        flash(_("%(name)s: %(problem)s", name=tech.name, problem=messages[0]), "error")
    return _technician_page(tech.id)


@bp.post("/time-off/<int:time_off_id>/cancel")
@allow(MANAGERS)
@page_view
def cancel_time_off(time_off_id: int) -> Any:
    off = calendars.get_time_off_or_404(time_off_id)
    with form_errors() as messages:
        calendars.cancel_time_off(current_user, off, request.form.get("reason") or None)
        flash(_("Time off cancelled."), "success")
    if messages:
        flash(messages[0], "error")
    return _technician_page(off.user_id)
