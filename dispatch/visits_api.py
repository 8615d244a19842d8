"""JSON API v1 for booking: suggestions, visits, and the technicians' calendars (API.md, Booking visits)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import select

from .core.apiutil import api_view, body, optional_body, paginate
from .core.errors import Invalid
from .core.extensions import db
from .core.i18n import _
from .core.models import Role, User
from .core.openapi import HH_MM
from .core.security import DESK, MANAGERS, allow
from .core.timeutil import iso, parse_date
from .core.validate import Fields, is_id, parse_hours
from .models import TimeOff, Visit
from .scheduling import booking, calendars, plans
from .scheduling.freeze import is_frozen
from .scheduling.ranking import Suggestion
from .scheduling.visits import VISIT_ROW, day_window, get_visit_or_404, overlapping
from .schemas import user_json
from .services.calls import get_call_or_404

bp = Blueprint("visits_api", __name__, url_prefix="/api/v1")

READ_VISITS = DESK | {Role.TECHNICIAN, Role.FINANCE}


# ----------------------------------------------------------------------------- serializers


def suggestion_json(s: Suggestion) -> dict[str, Any]:
    window_start, window_end = booking.promised_window(s.start)  # what booking it would promise the customer
    return {"technician_id": s.technician_id, "technician_name": s.technician_name, "start": iso(s.start),
            "end": iso(s.end), "travel_km": s.travel_km, "arrival": iso(s.arrival),
            "within_deadline": s.within_deadline, "slack_minutes": s.slack_minutes, "score": s.score,
            "explanation": s.explanation, "window_start": iso(window_start), "window_end": iso(window_end)}


def visit_json(v: Visit) -> dict[str, Any]:
    """A visit. The booking clock (24 h to agree the time) is met by the moment of booking: `booked_at`
    and `within_deadline`; `starts_after_deadline` says the agreed start lies later (with its reason and
    whether the customer asked for it)."""
    call = v.call
    deadline = call.booking_deadline
    return {"id": v.id, "slip_number": v.slip_number, "status": v.status, "kind": v.kind, "call_id": v.call_id,
            "call_number": call.number, "call_status": call.status, "technician_id": v.technician_id,
            "technician_name": v.technician.name, "start": iso(v.start), "end": iso(v.end),
            "customer_name": call.customer.name, "site_address": call.site.address,
            "latitude": call.site.latitude, "longitude": call.site.longitude,
            "booked_at": iso(v.created_at), "booking_deadline": iso(deadline),
            "within_deadline": deadline is None or v.created_at is None or v.created_at <= deadline,
            "starts_after_deadline": booking.after_deadline(call, v.start),
            "override_reason": v.override_reason, "customer_requested": bool(v.customer_requested),
            "additional": bool(v.additional), "cancel_reason": v.cancel_reason,
            "print_count": v.print_count or 0, "voucher_print_count": v.voucher_print_count or 0,
            "window_start": iso(v.window_start), "window_end": iso(v.window_end), "pinned": bool(v.pinned),
            "frozen": is_frozen(v), "changed_at": iso(v.changed_at), "slip_printed_at": iso(v.slip_printed_at),
            "slip_to_reprint": booking.slip_to_reprint(v)}


def time_off_json(t: TimeOff) -> dict[str, Any]:
    return {"id": t.id, "technician_id": t.user_id, "starts_at": iso(t.starts_at), "ends_at": iso(t.ends_at),
            "reason": t.reason, "cancelled": t.cancelled_at is not None}


# ----------------------------------------------------------------------------- helpers


def _technician(value: Any, field: str = "technician_id") -> User:
    if not isinstance(value, int) or isinstance(value, bool):
        raise Invalid(_("%(field)s must be the id of a technician.", field=field), fields={field: _("required id")})
    # An id past what a column holds is no technician (never an integer overflow in the database).
    user = db.session.get(User, value) if is_id(value) else None
    if user is None or user.role != Role.TECHNICIAN:
        raise Invalid(_("There is no technician with id %(id)s.", id=value), code="unknown_technician",
                      fields={field: _("not a technician")})
    return user


def _int_arg(name: str, default: int, lo: int, hi: int) -> int:
    raw = request.args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise Invalid(_("%(field)s must be a whole number.", field=name), fields={name: _("not a number")}) from None
    if not lo <= value <= hi:
        raise Invalid(_("%(field)s must be from %(lo)d to %(hi)d.", field=name, lo=lo, hi=hi),
                      fields={name: _("from %(lo)d to %(hi)d", lo=lo, hi=hi)})
    return value


# ----------------------------------------------------------------------------- suggestions and booking


@bp.get("/calls/<int:call_id>/suggestions")
@allow(DESK)
@api_view
def suggestions(call_id: int) -> Any:
    """Ranked (technician, slot) suggestions for a call, each explained."""
    call = get_call_or_404(call_id, current_user)
    limit = _int_arg("limit", 5, 1, 50)
    minutes = _int_arg("duration", 0, 15, 720) if request.args.get("duration") else None
    result = plans.suggestions_for_call(call, limit=limit,
                                        duration=timedelta(minutes=minutes) if minutes else None)
    return {"items": [suggestion_json(s) for s in result.items], "next": None, "call_id": call.id,
            "duration_minutes": int(result.duration.total_seconds() // 60),
            "booking_deadline": iso(call.booking_deadline), "nothing_fits": result.nothing_fits,
            "message": result.message}


@bp.post("/calls/<int:call_id>/visits")
@allow(DESK)
@api_view
def book(call_id: int) -> Any:
    """Book a visit for a call: 409 already_booked (unless "additional": true) or overlapping_visit; 422
    start_in_past, or outside_booking_window without an override_reason (and customer_requested)."""
    call = get_call_or_404(call_id, current_user)
    f = Fields(body())
    start = f.datetime("start")
    end = f.datetime("end", required=False)
    minutes = f.integer("duration_minutes", required=False, minimum=15, maximum=720)
    override = f.text("override_reason", required=False, max_length=1000)
    customer_requested = f.boolean("customer_requested")
    additional = f.boolean("additional")
    kind = f.choice("kind", ("service", "return"), required=False)  # default: return for a carried-back call
    window_start = f.datetime("window_start", required=False)
    window_end = f.datetime("window_end", required=False)
    f.check(_("The visit cannot be booked."))
    technician = _technician(f.data.get("technician_id"))
    assert start is not None
    end = plans.visit_end(call, start, end=end, minutes=minutes)
    visit = booking.book_visit(current_user, call, technician, start, end, override_reason=override,
                               customer_requested=customer_requested, additional=additional,
                               check_availability=True, kind=kind, window_start=window_start,
                               window_end=window_end)
    return visit_json(visit), 201


@bp.get("/visits")
@allow(READ_VISITS)
@api_view
def list_visits() -> Any:
    """Visits, by technician and local day; a technician sees only their own."""
    stmt = select(Visit).options(*VISIT_ROW)
    tech_arg = request.args.get("technician_id")
    if current_user.role == Role.TECHNICIAN:
        stmt = stmt.where(Visit.technician_id == current_user.id)
    elif tech_arg:
        try:
            technician_id = int(tech_arg)
            if not is_id(technician_id):
                raise ValueError(tech_arg)
            stmt = stmt.where(Visit.technician_id == technician_id)
        except ValueError:
            raise Invalid(_("%(field)s must be a number.", field="technician_id"),
                          fields={"technician_id": _("not a number")}) from None
    if request.args.get("status"):
        stmt = stmt.where(Visit.status == request.args["status"])
    day_arg = request.args.get("date")
    if day_arg:
        lo, hi = day_window(parse_date(day_arg, "date"))
        stmt = stmt.where(overlapping(lo, hi)).order_by(Visit.start)
        return {"items": [visit_json(v) for v in db.session.scalars(stmt.limit(500))], "next": None}
    return paginate(stmt, Visit.id, visit_json)


@bp.get("/visits/<int:visit_id>")
@allow(READ_VISITS)
@api_view
def get_visit(visit_id: int) -> Any:
    """One visit (a technician: only their own, else 404)."""
    return visit_json(get_visit_or_404(visit_id, current_user))


@bp.patch("/visits/<int:visit_id>")
@allow(DESK)
@api_view
def reschedule(visit_id: int) -> Any:
    """Reschedule or reassign a visit (same overlap, window and working-hours rules). A new start outside the
    promised arrival window promises a new one (the default, or window_start/window_end given)."""
    visit = get_visit_or_404(visit_id, current_user)
    f = Fields(body())
    start = f.datetime("start", required=False)
    end = f.datetime("end", required=False)
    override = f.text("override_reason", required=False, max_length=1000)
    reason = f.text("reason", required=False, max_length=1000)
    customer_requested = f.boolean("customer_requested")
    window_start = f.datetime("window_start", required=False)
    window_end = f.datetime("window_end", required=False)
    f.check(_("The visit cannot be moved."))
    technician = _technician(f.data["technician_id"]) if f.data.get("technician_id") is not None else None
    if technician is None and start is None and end is None and window_start is None and window_end is None:
        raise Invalid(_("Send technician_id, start, end or the arrival window."),
                      fields={"start": _("nothing to change")})
    booking.reschedule_visit(current_user, visit, technician=technician, start=start, end=end,
                             override_reason=override, reason=reason, customer_requested=customer_requested,
                             check_availability=True, window_start=window_start, window_end=window_end)
    return visit_json(visit)


@bp.post("/visits/<int:visit_id>/pin")
@allow(DESK)
@api_view
def pin(visit_id: int) -> Any:
    """Pin a visit (re-planning never moves it) or unpin it: {"pinned": true|false}; audited."""
    visit = get_visit_or_404(visit_id, current_user)
    f = Fields(body())
    pinned = f.boolean("pinned", required=True)
    f.check(_("The visit cannot be pinned."))
    booking.set_pinned(current_user, visit, pinned)
    return visit_json(visit), 200


pin.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing


@bp.post("/visits/<int:visit_id>/cancel")
@allow(DESK)
@api_view
def cancel(visit_id: int) -> Any:
    """Cancel a visit with a reason; the call goes back to the queue when it has no other visit."""
    visit = get_visit_or_404(visit_id, current_user)
    f = Fields(body())
    reason = f.text("reason", max_length=1000)
    f.check(_("The visit cannot be cancelled."))
    booking.cancel_visit(current_user, visit, reason or "")
    return visit_json(visit), 200


cancel.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


# ----------------------------------------------------------------------------- technicians' calendars


@bp.patch("/technicians/<int:technician_id>")
@allow(MANAGERS)
@api_view
def update_technician(technician_id: int) -> Any:
    """Change a technician's skills, base (coordinates) or weekly working hours."""
    tech = calendars.get_technician_or_404(technician_id)
    data = body()
    f = Fields(data)
    skills = f.text_list("skills") if "skills" in data else None
    lat = f.number("base_latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("base_longitude", required=False, minimum=-180, maximum=180)
    f.check(_("The technician cannot be saved."))
    hours = parse_hours(data["working_hours"]) if "working_hours" in data else None
    clear = "base_latitude" in data and data["base_latitude"] is None and data.get("base_longitude") is None
    calendars.update_technician(current_user, tech, skills=skills, base_latitude=lat, base_longitude=lon,
                                clear_base=clear, working_hours=hours)
    return user_json(tech)


@bp.get("/technicians/<int:technician_id>/time-off")
@allow(DESK)
@api_view
def list_time_off(technician_id: int) -> Any:
    """A technician's time off (not cancelled)."""
    tech = calendars.get_technician_or_404(technician_id)
    return {"items": [time_off_json(t) for t in calendars.time_off_of(tech)], "next": None}


@bp.post("/technicians/<int:technician_id>/time-off")
@allow(MANAGERS)
@api_view
def add_time_off(technician_id: int) -> Any:
    """Add time off; the answer lists the booked visits it collides with."""
    tech = calendars.get_technician_or_404(technician_id)
    f = Fields(body())
    starts = f.datetime("starts_at")
    ends = f.datetime("ends_at")
    reason = f.text("reason", required=False, max_length=200)
    f.check(_("The time off cannot be saved."))
    assert starts is not None and ends is not None
    off, clashes = calendars.add_time_off(current_user, tech, starts, ends, reason or "")
    db.session.flush()
    return {**time_off_json(off), "clashing_visits": [visit_json(v) for v in clashes]}, 201


@bp.post("/time-off/<int:time_off_id>/cancel")
@allow(MANAGERS)
@api_view
def cancel_time_off(time_off_id: int) -> Any:
    """Cancel time off (kept, marked cancelled)."""
    off = calendars.get_time_off_or_404(time_off_id)
    f = Fields(optional_body())
    reason = f.text("reason", required=False, max_length=1000)
    f.check()
    calendars.cancel_time_off(current_user, off, reason)
    return time_off_json(off), 200


cancel_time_off.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


OPENAPI: dict[str, Any] = {"schemas": {
    "VisitIn": {"type": "object", "required": ["technician_id", "start"], "properties": {
        "technician_id": {"type": "integer"}, "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"}, "duration_minutes": {"type": "integer"},
        "override_reason": {"type": "string"}, "customer_requested": {"type": "boolean"},
        "additional": {"type": "boolean"},
        "window_start": {"type": "string", "format": "date-time",
                         "description": "the arrival window promised to the customer (with window_end; at most "
                                        "8 hours, holding start); default: ARRIVAL_WINDOW_MINUTES around start"},
        "window_end": {"type": "string", "format": "date-time"}}},
    "VisitPatch": {"type": "object", "properties": {
        "technician_id": {"type": "integer"}, "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"}, "override_reason": {"type": "string"},
        "customer_requested": {"type": "boolean"}, "reason": {"type": "string"},
        "window_start": {"type": "string", "format": "date-time"},
        "window_end": {"type": "string", "format": "date-time"}}},
    "PinIn": {"type": "object", "required": ["pinned"], "properties": {"pinned": {"type": "boolean"}}},
    "Visit": {"type": "object", "required": ["id", "slip_number", "status", "start", "end", "window_start",
                                             "window_end", "pinned"], "properties": {
        "id": {"type": "integer"}, "slip_number": {"type": "string"}, "status": {"type": "string"},
        "technician_id": {"type": "integer"}, "start": {"type": "string", "format": "date-time"},
        "end": {"type": "string", "format": "date-time"},
        "window_start": {"type": "string", "format": "date-time",
                         "description": "the arrival window promised to the customer opens"},
        "window_end": {"type": "string", "format": "date-time",
                       "description": "and closes (exclusive); start lies in [window_start, window_end)"},
        "pinned": {"type": "boolean", "description": "pinned by a dispatcher: re-planning never moves it"},
        "frozen": {"type": "boolean", "description": "pinned, on the way, on site or completed"},
        "changed_at": {"type": ["string", "null"], "format": "date-time"},
        "slip_printed_at": {"type": ["string", "null"], "format": "date-time"},
        "slip_to_reprint": {"type": "boolean", "description": "the slip was printed before the last change"}}},
    "ReasonIn": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string", "minLength": 1, "pattern": r"\S"}}},
    "TechnicianPatch": {"type": "object", "properties": {
        "skills": {"type": "array", "items": {"type": "string"}}, "base_latitude": {"type": ["number", "null"]},
        "base_longitude": {"type": ["number", "null"]},
        "working_hours": {"type": "array", "items": {"type": "object", "properties": {
            "weekday": {"type": "integer", "minimum": 0, "maximum": 6},
            "start": {"type": "string", "pattern": HH_MM}, "end": {"type": "string", "pattern": HH_MM}}}}}},
    "TimeOffIn": {"type": "object", "required": ["starts_at", "ends_at"], "properties": {
        "starts_at": {"type": "string", "format": "date-time"}, "ends_at": {"type": "string", "format": "date-time"},
        "reason": {"type": "string"}}},
}, "bodies": {
    "visits_api.book": ("VisitIn", "Visit"),
    "visits_api.reschedule": ("VisitPatch", "Visit"),
    "visits_api.pin": ("PinIn", "Visit"),
    "visits_api.get_visit": (None, "Visit"),
    "visits_api.cancel": ("ReasonIn", None),
    "visits_api.update_technician": ("TechnicianPatch", None),
    "visits_api.add_time_off": ("TimeOffIn", None),
}}
