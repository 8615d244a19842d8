"""The dispatch board (HTML): a lane per technician, the queue of calls to book, suggestions and booking,
and the technicians' calendars (skills, base, working hours, time off).

Handlers parse, call one scheduling service, commit, render. With htmx they answer fragments (the
suggestions panel, the live part of the board); without JavaScript the same forms post and redirect.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from . import scheduling, services
from .core.errors import DomainError, Invalid, NotFound
from .core.extensions import db
from .core.models import Role, User
from .core.security import DESK, MANAGERS, allow
from .core.timeutil import local_today, local_tz, parse_date, parse_datetime, utcnow
from .models import RepairCall, TimeOff, Visit

bp = Blueprint("board", __name__)

WEEKDAY_NAMES = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]


# ----------------------------------------------------------------------------- what the board shows


@dataclass
class Leg:
    km: float
    minutes: int


@dataclass
class LaneItem:
    visit: Visit
    leg: Leg  # travel from the previous stop (base or visit)


@dataclass
class Lane:
    technician: User
    items: list[LaneItem] = field(default_factory=list)
    back: Leg | None = None
    hours: str = ""
    off: list[TimeOff] = field(default_factory=list)

    @property
    def total_km(self) -> float:
        return round(sum(i.leg.km for i in self.items) + (self.back.km if self.back else 0), 1)


def _day_window(day: date) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=local_tz())
    return start, start + timedelta(days=1)


def _hours_text(tech: User, weekday: int) -> str:
    spans = [f"{w.start:%H:%M}–{w.end:%H:%M}" for w in scheduling.working_hours_rows(tech) if w.weekday == weekday]
    return ", ".join(spans) if spans else "off"


def _lanes(day: date) -> list[Lane]:
    model = scheduling.travel_model()
    home = scheduling.centre()
    lo, hi = _day_window(day)
    techs = services.technicians()
    visits = scheduling.visits_on(lo, hi)
    offs = list(db.session.scalars(select(TimeOff).where(TimeOff.cancelled_at.is_(None), TimeOff.starts_at < hi,
                                                         TimeOff.ends_at > lo)))
    lanes = []
    for tech in techs:
        base: scheduling.Point = home
        if tech.base_latitude is not None and tech.base_longitude is not None:
            base = (tech.base_latitude, tech.base_longitude)
        lane = Lane(tech, hours=_hours_text(tech, day.weekday()), off=[o for o in offs if o.user_id == tech.id])
        here: scheduling.Point = base
        for v in (v for v in visits if v.technician_id == tech.id):
            point = (v.call.site.latitude, v.call.site.longitude)
            km = model.km(here, point)
            lane.items.append(LaneItem(v, Leg(round(km, 1), round(model.minutes(km)))))
            here = point
        if lane.items:
            km = model.km(here, base)
            lane.back = Leg(round(km, 1), round(model.minutes(km)))
        lanes.append(lane)
    return lanes


def _week(day: date) -> tuple[list[date], list[tuple[User, list[list[Visit]]]]]:
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    lo, _ = _day_window(monday)
    _, hi = _day_window(days[-1])
    visits = scheduling.visits_on(lo, hi)
    tz = local_tz()
    rows = []
    for tech in services.technicians():
        cells: list[list[Visit]] = [[] for _ in days]
        for v in visits:
            if v.technician_id == tech.id:
                index = (v.start.astimezone(tz).date() - monday).days
                if 0 <= index < 7:
                    cells[index].append(v)
        rows.append((tech, cells))
    return days, rows


def _board_args() -> tuple[date, str]:
    raw = request.args.get("date")
    try:
        day = parse_date(raw, "date") if raw else local_today()
    except Invalid:
        day = local_today()
    view = "week" if request.args.get("view") == "week" else "day"
    return day, view


def _live_context(day: date, view: str, message: str | None = None, error: str | None = None) -> dict[str, Any]:
    context: dict[str, Any] = {"day": day, "view": view, "queue": scheduling.waiting_calls(), "message": message,
                               "error": error, "today": local_today(), "now": utcnow(),
                               "slips": "slips_api.day_slips" in current_app.view_functions,
                               "call_page": "desk.call" in current_app.view_functions,
                               "technicians": services.technicians(), "weekday_names": WEEKDAY_NAMES}
    if view == "week":
        context["week_days"], context["week_rows"] = _week(day)
    else:
        context["lanes"] = _lanes(day)
    return context


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


@bp.get("/board")
@allow(DESK)
def board() -> Any:
    day, view = _board_args()
    return render_template("dispatch/board.html", **_live_context(day, view), timedelta=timedelta)


@bp.get("/board/live")
@allow(DESK)
def live() -> Any:
    """The part of the board that refreshes itself: queue and lanes."""
    day, view = _board_args()
    return render_template("dispatch/board_live.html", **_live_context(day, view), timedelta=timedelta)


# ----------------------------------------------------------------------------- suggestions and booking


def _call_or_404(call_id: int) -> RepairCall:
    call = db.session.get(RepairCall, call_id)
    if call is None:
        raise NotFound(f"There is no call {call_id}.")
    return call


def _suggestions_context(call: RepairCall, origin: str, error: str | None = None) -> dict[str, Any]:
    try:
        minutes = int(request.values.get("duration") or 0)
    except ValueError:
        minutes = 0
    duration = timedelta(minutes=minutes) if 15 <= minutes <= 720 else None
    result = None
    problem = None
    try:
        result = scheduling.suggestions_for_call(call, limit=5, duration=duration)
    except DomainError as exc:
        problem = exc.message
    techs = services.technicians()
    if call.required_skill:
        techs.sort(key=lambda t: call.required_skill not in (t.skills or []))
    duration = result.duration if result else scheduling.default_duration(call)
    return {"call": call, "result": result, "problem": problem, "error": error, "origin": origin,
            "technicians": techs, "duration_minutes": int(duration.total_seconds() // 60),
            "is_manager": current_user.role in (Role.MANAGER, Role.ADMIN)}


@bp.get("/board/calls/<int:call_id>/suggestions")
@allow(DESK)
def call_suggestions(call_id: int) -> Any:
    """The ranked suggestions for a call as an HTML fragment (board panel and call page)."""
    call = _call_or_404(call_id)
    origin = "board" if request.args.get("from") == "board" else "call"
    return render_template("dispatch/_suggestions.html", **_suggestions_context(call, origin))


def _call_page(call: RepairCall) -> str:
    if "desk.call" in current_app.view_functions:
        return url_for("desk.call", call_id=call.id)
    return url_for("board.board")


@bp.post("/board/calls/<int:call_id>/book")
@allow(DESK)
def book(call_id: int) -> Any:
    """Book from a suggestion (one click) or by hand (technician, start, duration)."""
    call = _call_or_404(call_id)
    form = request.form
    origin = "board" if form.get("from") == "board" else "call"
    try:
        tech = db.session.get(User, int(form.get("technician_id") or 0))
        start = parse_datetime(form.get("start"), "start")
        if form.get("end"):
            end = parse_datetime(form.get("end"), "end")
        else:
            minutes = int(form.get("duration") or 0) or int(scheduling.default_duration(call).total_seconds() // 60)
            end = start + timedelta(minutes=minutes)
        visit = scheduling.book_visit(current_user, call, tech, start, end,
                                      override_reason=form.get("override_reason") or None,
                                      check_availability=True)
        db.session.commit()
    except (DomainError, ValueError) as exc:
        db.session.rollback()
        text = exc.message if isinstance(exc, DomainError) else "Check the technician and the duration."
        if not _is_htmx():
            flash(text, "error")
            return redirect(url_for("board.board") if origin == "board" else _call_page(call))
        return render_template("dispatch/_suggestions.html", **_suggestions_context(call, origin, error=text))
    text = (f"Booked {visit.slip_number}: {visit.technician.name}, "
            f"{visit.start.astimezone(local_tz()):%a %d %b %H:%M}–{visit.end.astimezone(local_tz()):%H:%M} "
            f"for call {call.number}.")
    if not _is_htmx():
        flash(text, "success")
        return redirect(url_for("board.board", date=visit.start.astimezone(local_tz()).date().isoformat())
                        if origin == "board" else _call_page(call))
    if origin == "call":
        flash(text, "success")
        response = current_app.response_class("")
        response.headers["HX-Redirect"] = _call_page(call)
        return response
    response = current_app.make_response(render_template("dispatch/_booked.html", visit=visit, message=text))
    response.headers["HX-Trigger"] = "booked"
    return response


def _visit_or_404(visit_id: int) -> Visit:
    return scheduling.get_visit_or_404(visit_id, current_user)


def _after_change(message: str | None, error: str | None, day: date | None = None) -> Any:
    view = "week" if request.form.get("view") == "week" else "day"
    try:
        day = day or parse_date(request.form.get("date"), "date")
    except Invalid:
        day = local_today()
    if not _is_htmx():
        if message:
            flash(message, "success")
        if error:
            flash(error, "error")
        return redirect(url_for("board.board", date=day.isoformat(), view=view))
    return render_template("dispatch/board_live.html", **_live_context(day, view, message, error),
                           timedelta=timedelta)


@bp.post("/board/visits/<int:visit_id>/move")
@allow(DESK)
def move(visit_id: int) -> Any:
    """Reschedule or reassign a visit, with a reason."""
    visit = _visit_or_404(visit_id)
    form = request.form
    try:
        tech = db.session.get(User, int(form["technician_id"])) if form.get("technician_id") else None
        if form.get("technician_id") and tech is None:
            raise Invalid("Choose a technician.")
        start = parse_datetime(form.get("start"), "start") if form.get("start") else None
        end = parse_datetime(form.get("end"), "end") if form.get("end") else None
        scheduling.reschedule_visit(current_user, visit, technician=tech, start=start, end=end,
                                    override_reason=form.get("override_reason") or None,
                                    reason=form.get("reason") or None, check_availability=True)
        db.session.commit()
    except (DomainError, ValueError) as exc:
        db.session.rollback()
        return _after_change(None, exc.message if isinstance(exc, DomainError) else "Check the form.")
    return _after_change(f"Moved {visit.slip_number} to {visit.technician.name}, "
                         f"{visit.start.astimezone(local_tz()):%a %d %b %H:%M}.", None)


@bp.post("/board/visits/<int:visit_id>/cancel")
@allow(DESK)
def cancel(visit_id: int) -> Any:
    """Cancel a visit with a reason; its call goes back to the queue."""
    visit = _visit_or_404(visit_id)
    try:
        scheduling.cancel_visit(current_user, visit, request.form.get("reason") or "")
        db.session.commit()
    except DomainError as exc:
        db.session.rollback()
        return _after_change(None, exc.message)
    return _after_change(f"Cancelled {visit.slip_number}; call {visit.call.number} is back in the queue.", None)


# ----------------------------------------------------------------------------- technicians' calendars


def _hours_field(tech: User, weekday: int) -> str:
    return ", ".join(f"{w.start:%H:%M}-{w.end:%H:%M}" for w in scheduling.working_hours_rows(tech)
                     if w.weekday == weekday)


def parse_hours_text(texts: list[str]) -> list[tuple[int, time, time]]:
    """One text per weekday like "08:00-12:00, 13:00-17:00" (empty: off; 22:00-06:00 runs past midnight)."""
    spans = []
    for weekday, text in enumerate(texts):
        for part in (p.strip() for p in (text or "").split(",")):
            if not part:
                continue
            try:
                a, b = (x.strip() for x in part.replace("–", "-").split("-"))
                spans.append((weekday, time.fromisoformat(a), time.fromisoformat(b)))
            except ValueError:
                raise Invalid(f"{WEEKDAY_NAMES[weekday]}: write hours like 08:00-17:00.",
                              fields={f"hours_{weekday}": "like 08:00-17:00"}) from None
    return spans


@bp.get("/technicians")
@allow(MANAGERS)
def technicians() -> Any:
    techs = services.technicians(include_inactive=True)
    now = utcnow()
    offs = {t.id: scheduling.time_off_of(t, since=now) for t in techs}
    hours = {t.id: [_hours_field(t, d) for d in range(7)] for t in techs}
    return render_template("dispatch/technicians.html", techs=techs, offs=offs, hours=hours,
                           weekday_names=WEEKDAY_NAMES)


def _technician_or_404(technician_id: int) -> User:
    tech = db.session.get(User, technician_id)
    if tech is None or tech.role != Role.TECHNICIAN:
        raise NotFound(f"There is no technician {technician_id}.")
    return tech


@bp.post("/technicians/<int:technician_id>")
@allow(MANAGERS)
def save_technician(technician_id: int) -> Any:
    tech = _technician_or_404(technician_id)
    form = request.form
    try:
        skills = [s for s in (form.get("skills") or "").replace(";", ",").split(",") if s.strip()]
        lat_raw, lon_raw = (form.get("base_latitude") or "").strip(), (form.get("base_longitude") or "").strip()
        try:
            lat = float(lat_raw) if lat_raw else None
            lon = float(lon_raw) if lon_raw else None
        except ValueError:
            raise Invalid("The base needs numbers, like 31.2304 and 121.4737.") from None
        if (lat is not None and not -90 <= lat <= 90) or (lon is not None and not -180 <= lon <= 180):
            raise Invalid("The base is off the map: latitude -90..90, longitude -180..180.")
        hours = parse_hours_text([form.get(f"hours_{d}", "") for d in range(7)])
        scheduling.update_technician(current_user, tech, skills=skills, base_latitude=lat, base_longitude=lon,
                                     clear_base=lat is None and lon is None, working_hours=hours)
        db.session.commit()
        flash(f"Saved {tech.name}.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(f"{tech.name}: {exc.message}", "error")
    return redirect(url_for("board.technicians") + f"#tech-{tech.id}")


@bp.post("/technicians/<int:technician_id>/time-off")
@allow(MANAGERS)
def add_time_off(technician_id: int) -> Any:
    tech = _technician_or_404(technician_id)
    try:
        starts = parse_datetime(request.form.get("starts_at"), "starts_at")
        ends = parse_datetime(request.form.get("ends_at"), "ends_at")
        _, clashes = scheduling.add_time_off(current_user, tech, starts, ends, request.form.get("reason") or "")
        db.session.commit()
        flash(f"Time off added for {tech.name}.", "success")
        if clashes:
            flash(f"{len(clashes)} booked visit(s) fall in it: " + ", ".join(v.slip_number for v in clashes)
                  + ". Move them on the board.", "error")
    except DomainError as exc:
        db.session.rollback()
        flash(f"{tech.name}: {exc.message}", "error")
    return redirect(url_for("board.technicians") + f"#tech-{tech.id}")


@bp.post("/time-off/<int:time_off_id>/cancel")
@allow(MANAGERS)
def cancel_time_off(time_off_id: int) -> Any:
    off = db.session.get(TimeOff, time_off_id)
    if off is None:
        raise NotFound(f"There is no time off {time_off_id}.")
    try:
        scheduling.cancel_time_off(current_user, off, request.form.get("reason") or None)
        db.session.commit()
        flash("Time off cancelled.", "success")
    except DomainError as exc:
        db.session.rollback()
        flash(exc.message, "error")
    return redirect(url_for("board.technicians") + f"#tech-{off.user_id}")

