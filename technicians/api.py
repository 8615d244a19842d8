"""JSON API of work on site (API.md "On site", "Internal admin work") and the phone's offline snapshot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import select

from billing.schemas import charge_sheet_json, payment_json, sees_costs
from billing.services.charges import charges_for_call
from billing.services.parts import MAX_PART_QUANTITY, MAX_SKU, QUANTITY_PLACES, parse_part_lines
from dispatch.core.apiutil import api_view, body, optional_body, paginate
from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, _l
from dispatch.core.models import Role, User
from dispatch.core.security import MANAGERS, allow
from dispatch.core.timeutil import iso, local_today, utcnow
from dispatch.core.validate import Fields
from dispatch.models import Visit
from dispatch.scheduling import changes as day_changes
from dispatch.scheduling.visits import day_window

from .models import AdminActivity, AdminWork, Outcome
from .schemas import (
    admin_work_json,
    day_change_json,
    signature_json,
    visit_brief,
    visit_json,
    visits_json,
    work_record_json,
)
from .services import admin_work, problems, progress, signoff, work
from .services.payments import take_payment

bp = Blueprint("technicians_api", __name__, url_prefix="/api/v1")

ON_SITE = frozenset({Role.TECHNICIAN}) | MANAGERS
ADMIN_TIME = frozenset({Role.TECHNICIAN}) | MANAGERS

# A part quantity as billing's parse_quantity reads it, from the same limits: more than 0, at most
# MAX_PART_QUANTITY, up to QUANTITY_PLACES decimals (refrigerant by the kg), a JSON number or the same
# digits as text; missing is 1. (JSON Schema's float multipleOf is inexact, so the places are in words.)
QUANTITY: dict[str, Any] = {
    "type": ["number", "string", "null"], "exclusiveMinimum": 0, "maximum": int(MAX_PART_QUANTITY),
    "pattern": rf"^(?!0*\.?0*$)\d{{1,{len(str(int(MAX_PART_QUANTITY)))}}}(\.\d{{1,{QUANTITY_PLACES}}})?$",
    "default": 1, "examples": [2, 1.5, "0.75"],
    "description": f"more than 0, at most {MAX_PART_QUANTITY}, up to {QUANTITY_PLACES} decimals; missing is 1"}

# Minutes as _whole_number reads them: 45 or "45".
WHOLE_NUMBER: dict[str, Any] = {"type": ["integer", "string"], "pattern": r"^\s*\d+\s*$"}

OPENAPI: dict[str, Any] = {"schemas": {
    "CompleteIn": {"type": "object", "required": ["work_summary", "labor_minutes", "outcome"], "properties": {
        "work_summary": {"type": "string", "maxLength": 5000, "minLength": 1, "pattern": r"\S"},
        "labor_minutes": {**WHOLE_NUMBER, "minimum": 0, "maximum": work.MAX_LABOR_MINUTES},
        "parts": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {
            "sku": {"type": "string", "maxLength": MAX_SKU}, "quantity": QUANTITY}}},
        "outcome": {"enum": ["fixed", "carry_back", "follow_up"]}}},
    "SignatureIn": {"type": "object", "required": ["signer_name", "image_png_base64"], "properties": {
        "signer_name": {"type": "string", "maxLength": 200, "minLength": 1, "pattern": r"\S"},
        "image_png_base64": {"type": "string", "description": "a PNG of at most 512 KB, base64 (a data: URL is "
                                                              "accepted)"},
        "technician_confirmed": {"type": "boolean", "description": "the technician confirms the record; "
                                                                  "false is refused"}}},
    "Signature": {"type": "object", "properties": {
        "visit_id": {"type": "integer"}, "signer_name": {"type": "string"},
        "signed_at": {"type": "string", "format": "date-time"}, "content_sha256": {"type": "string"}}},
    "OnsitePaymentIn": {"type": "object", "required": ["amount", "method"], "properties": {
        "amount": {"type": "string", "example": "180.00"},
        "method": {"enum": ["cash", "card", "transfer", "wechat", "alipay"]}}},
    "DayChangesSeenIn": {"type": "object", "properties": {
        "seen_until": {"type": "string", "format": "date-time",
                       "description": "the latest change shown (GET /me/day-changes seen_until); default now"}}},
    "AdminWorkIn": {"type": "object", "required": ["activity", "minutes"], "properties": {
        "technician_id": {"type": "integer"}, "date": {"type": "string", "format": "date"},
        "activity": {"enum": ["inspection", "parts", "tools", "training", "other"]},
        "minutes": {**WHOLE_NUMBER, "minimum": 1, "maximum": work.MAX_LABOR_MINUTES},
        "notes": {"type": "string"}}},
}, "bodies": {
    "technicians_api.complete": ("CompleteIn", None),
    "technicians_api.signature": ("SignatureIn", "Signature"),
    "technicians_api.payments": ("OnsitePaymentIn", None),
    "technicians_api.log_admin_work": ("AdminWorkIn", None),
    "technicians_api.day_changes_seen": ("DayChangesSeenIn", None),
}}


# ----------------------------------------------------------------------------- helpers


F = TypeVar("F", bound=Callable[..., Any])


def answers(status: int) -> Callable[[F], F]:
    """The success status the OpenAPI document gives a POST that changes state without creating anything."""
    def mark(view: F) -> F:
        view.openapi_status = str(status)  # type: ignore[attr-defined]
        return view
    return mark


def _visit(visit_id: int) -> Visit:
    return progress.visit_for(visit_id, current_user)


def _whole_number(value: Any) -> int | None:
    """A whole number from JSON or a form: 45 or "45" (not 4.5, not true)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def _check(f: Fields, message: str) -> None:
    """Every problem found in one refusal, the fields named as people name them (the `fields` keep the JSON
    names)."""
    if f.errors:
        # The reader's words for what dispatch.core.validate says in plain English ("required").
        errors = {name: str(_PLAIN.get(problem, problem)) for name, problem in f.errors.items()}
        raise Invalid(problems(message, errors), fields=errors)


_PLAIN = {"required": _l("required"), "must be text": _l("must be text"),
          "must be a whole number": _l("must be a whole number")}


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "y", "yes", "1")
    return None


# ----------------------------------------------------------------------------- the phone's snapshot


@bp.get("/me/visits")
@allow(Role.TECHNICIAN)
@api_view
def my_visits() -> Any:
    """The technician's visits from today on (days=2: today and tomorrow), with all the visit page shows."""
    raw = request.args.get("days", "2")
    if not raw.isdigit() or not 1 <= int(raw) <= 7:
        raise Invalid(_("Days run from 1 to 7."), fields={"days": _("1 to 7")})
    today = local_today()
    visits = progress.technician_visits(current_user, *day_window(today, days=int(raw)))
    return {"items": visits_json(visits), "next": None, "date": today.isoformat(),  # no costs
            "generated_at": iso(utcnow()),
            "day_changes": [day_change_json(c) for c in day_changes.day_changes(current_user)]}


def _day_changes_json() -> dict[str, Any]:
    changes = day_changes.day_changes(current_user)
    return {"items": [day_change_json(c) for c in changes], "next": None,
            "day_seen_at": iso(current_user.day_seen_at),
            "seen_until": iso(max((c.at for c in changes), default=None))}


@bp.get("/me/day-changes")
@allow(Role.TECHNICIAN)
@api_view
def my_day_changes() -> Any:
    """Your day changed: my visits moved, given to me, taken away or cancelled since my last OK."""
    return _day_changes_json()


@bp.post("/me/day-changes/seen")
@answers(200)
@allow(Role.TECHNICIAN)
@api_view
def day_changes_seen() -> Any:
    """OK to "your day changed": the changes up to seen_until (the latest shown; default now) are seen."""
    f = Fields(optional_body())
    seen_until = f.datetime("seen_until", required=False)
    _check(f, _("The changes cannot be marked as seen."))
    day_changes.acknowledge(current_user, seen_until)
    return _day_changes_json(), 200


@bp.get("/visits/<int:visit_id>/work")
@allow(ON_SITE)
@api_view
def visit_work(visit_id: int) -> Any:
    """One visit with its work record, parts, charges and signature."""
    return visit_json(_visit(visit_id), costs=sees_costs(current_user))


# ----------------------------------------------------------------------------- on site


@bp.post("/visits/<int:visit_id>/on-my-way")
@answers(200)
@allow(ON_SITE)
@api_view
def on_my_way(visit_id: int) -> Any:
    """The technician sets off to the visit."""
    optional_body()
    visit = progress.on_my_way(current_user, _visit(visit_id))
    return visit_brief(visit), 200


@bp.post("/visits/<int:visit_id>/arrive")
@answers(200)
@allow(ON_SITE)
@api_view
def arrive(visit_id: int) -> Any:
    """The technician is on site: the visit becomes on_site, the call in_progress."""
    optional_body()
    visit = progress.arrive(current_user, _visit(visit_id))
    return {**visit_brief(visit), "call_status": visit.call.status}, 200


@bp.post("/visits/<int:visit_id>/complete")
@answers(200)
@allow(ON_SITE)
@api_view
def complete(visit_id: int) -> Any:
    """Record the work: summary, labor minutes, parts and outcome (fixed, carry_back, follow_up)."""
    visit = _visit(visit_id)
    data = body()
    f = Fields(data)
    summary = f.text("work_summary", max_length=work.MAX_SUMMARY)
    outcome = f.choice("outcome", [o.value for o in Outcome])
    if outcome is None and "outcome" in f.errors and f.errors["outcome"] != "required":
        f.errors["outcome"] = _("choose one of the outcomes offered")
    labor = _whole_number(data.get("labor_minutes"))
    if labor is None:
        f.errors["labor_minutes"] = (_("required") if data.get("labor_minutes") in (None, "")
                                     else _("must be a whole number"))
    _check(f, _("The work cannot be recorded."))
    parts = parse_part_lines(data.get("parts"))
    record = work.complete(current_user, visit, work_summary=summary or "", labor_minutes=labor or 0,
                           parts=parts, outcome=outcome or "")
    sheet = charges_for_call(visit.call)
    return {**visit_brief(visit), "call_status": visit.call.status, "work_record": work_record_json(record),
            "charges": charge_sheet_json(sheet, costs=sees_costs(current_user))}, 200


@bp.post("/visits/<int:visit_id>/signature")
@allow(ON_SITE)
@api_view
def signature(visit_id: int) -> Any:
    """The customer signs the work record: it is sealed and the hash of what was signed returned."""
    visit = _visit(visit_id)
    data = body()
    confirmed = _truthy(data.get("technician_confirmed"))
    result = signoff.sign(current_user, visit, signer_name=data.get("signer_name") or "",
                          image_png_base64=data.get("image_png_base64"),
                          technician_confirmed=True if confirmed is None else confirmed)
    return signature_json(result.signature), 201 if result.created else 200


signature.openapi_status = ("201", "200")  # type: ignore[attr-defined]  # 200: the same signature again (openapi.py)


@bp.post("/visits/<int:visit_id>/payments")
@allow(ON_SITE)
@api_view
def payments(visit_id: int) -> Any:
    """Money collected on site for charged work; answers the receipt number."""
    visit = _visit(visit_id)
    data = body()
    payment = take_payment(current_user, visit, amount=data.get("amount"), method=data.get("method"))
    sheet = charges_for_call(visit.call)
    return {**payment_json(payment), "balance": str(sheet.balance), "currency": sheet.currency}, 201


# ----------------------------------------------------------------------------- admin time


@bp.post("/admin-work")
@allow(ADMIN_TIME)
@api_view
def log_admin_work() -> Any:
    """Internal admin time (category D). Technicians log their own; managers may give technician_id."""
    data = body()
    f = Fields(data)
    day = f.date("date", required=False) or local_today()
    activity = f.choice("activity", [a.value for a in AdminActivity])
    if activity is None and "activity" in f.errors and f.errors["activity"] != "required":
        f.errors["activity"] = _("choose one of the activities offered")
    minutes = _whole_number(data.get("minutes"))
    if minutes is None:
        f.errors["minutes"] = _("required") if data.get("minutes") in (None, "") else _("must be a whole number")
    elif not 1 <= minutes <= work.MAX_LABOR_MINUTES:
        f.errors["minutes"] = _("from 1 to %(max)d", max=work.MAX_LABOR_MINUTES)
    notes = f.text("notes", required=False, max_length=admin_work.MAX_NOTES)
    technician = None
    raw_tech = data.get("technician_id")
    if raw_tech not in (None, ""):
        tech_id = _whole_number(raw_tech)
        technician = db.session.get(User, tech_id) if tech_id is not None else None
        if technician is None:
            f.errors["technician_id"] = _("unknown technician")
    _check(f, _("The admin time cannot be logged."))
    entry = admin_work.log_admin_work(current_user, technician=technician, day=day, activity=activity or "",
                                      minutes=minutes or 0, notes=notes)
    db.session.flush()
    return admin_work_json(entry), 201


@bp.get("/admin-work")
@allow(ADMIN_TIME)
@api_view
def list_admin_work() -> Any:
    """Admin time of the last days (technicians: their own; managers: ?technician_id=)."""
    stmt = select(AdminWork)
    if current_user.role == Role.TECHNICIAN:
        stmt = stmt.where(AdminWork.technician_id == current_user.id)
    elif request.args.get("technician_id", "").isdigit():
        stmt = stmt.where(AdminWork.technician_id == int(request.args["technician_id"]))
    return paginate(stmt, AdminWork.id, admin_work_json)
