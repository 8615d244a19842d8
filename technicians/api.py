"""JSON API of work on site (API.md "On site", "Internal admin work") and the phone's offline snapshot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from typing import Any, TypeVar
from urllib.parse import quote

from flask import Blueprint, request, url_for
from flask_login import current_user

from billing import services as billing
from dispatch.core.apiutil import api_view, body, optional_body
from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.models import Role, User
from dispatch.core.openapi import EXTRA_BODIES, SCHEMAS
from dispatch.core.security import MANAGERS, allow
from dispatch.core.timeutil import iso, local_today, local_tz, utcnow
from dispatch.core.validate import Fields
from dispatch.models import Visit

from . import services
from .models import AdminActivity, AdminWork, Outcome, Signature, WorkRecord

bp = Blueprint("technicians_api", __name__, url_prefix="/api/v1")

ON_SITE = frozenset({Role.TECHNICIAN}) | MANAGERS
ADMIN_TIME = frozenset({Role.TECHNICIAN}) | MANAGERS

SCHEMAS.update({
    "CompleteIn": {"type": "object", "required": ["work_summary", "labor_minutes", "outcome"], "properties": {
        "work_summary": {"type": "string", "maxLength": 5000},
        "labor_minutes": {"type": "integer", "minimum": 0, "maximum": 1440},
        "parts": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {
            "sku": {"type": "string"}, "quantity": {"type": "integer", "minimum": 1, "maximum": 999}}}},
        "outcome": {"enum": ["fixed", "carry_back", "follow_up"]}}},
    "SignatureIn": {"type": "object", "required": ["signer_name", "image_png_base64"], "properties": {
        "signer_name": {"type": "string", "maxLength": 200},
        "image_png_base64": {"type": "string", "description": "a PNG of at most 512 KB, base64 (a data: URL is "
                                                              "accepted)"},
        "technician_confirmed": {"type": "boolean", "description": "the technician confirms the record; "
                                                                  "false is refused"}}},
    "Signature": {"type": "object", "properties": {
        "visit_id": {"type": "integer"}, "signer_name": {"type": "string"},
        "signed_at": {"type": "string", "format": "date-time"}, "content_sha256": {"type": "string"}}},
    "OnsitePaymentIn": {"type": "object", "required": ["amount", "method"], "properties": {
        "amount": {"type": "string", "example": "180.00"}, "method": {"enum": ["cash", "card", "transfer"]}}},
    "AdminWorkIn": {"type": "object", "required": ["activity", "minutes"], "properties": {
        "technician_id": {"type": "integer"}, "date": {"type": "string", "format": "date"},
        "activity": {"enum": ["inspection", "parts", "tools", "training", "other"]},
        "minutes": {"type": "integer", "minimum": 1, "maximum": 1440}, "notes": {"type": "string"}}},
})
EXTRA_BODIES.update({
    "technicians_api.complete": ("CompleteIn", None),
    "technicians_api.signature": ("SignatureIn", "Signature"),
    "technicians_api.payments": ("OnsitePaymentIn", None),
    "technicians_api.log_admin_work": ("AdminWorkIn", None),
})


# ----------------------------------------------------------------------------- serializers


def map_links(latitude: float, longitude: float, address: str) -> dict[str, str]:
    """Links only (nothing is loaded): geo: opens the phone's map app, the https one is the fallback."""
    q = quote(address)
    return {"geo": f"geo:{latitude:.6f},{longitude:.6f}?q={latitude:.6f},{longitude:.6f}({q})",
            "web": f"https://uri.amap.com/marker?position={longitude:.6f},{latitude:.6f}&name={q}"}


def work_record_json(record: WorkRecord | None) -> dict[str, Any] | None:
    if record is None:
        return None
    return {"work_summary": record.work_summary, "labor_minutes": record.labor_minutes, "outcome": record.outcome,
            "completed_at": iso(record.completed_at), "sealed_at": iso(record.sealed_at),
            "follow_up_call_id": record.follow_up_call_id,
            "follow_up_call_number": record.follow_up_call.number if record.follow_up_call else None}


def signature_json(sig: Signature | None) -> dict[str, Any] | None:
    if sig is None:
        return None
    return {"visit_id": sig.visit_id, "signer_name": sig.signer_name, "signed_at": iso(sig.signed_at),
            "content_sha256": sig.content_sha256, "technician_confirmed_at": iso(sig.technician_confirmed_at)}


def visit_brief(visit: Visit) -> dict[str, Any]:
    call = visit.call
    return {"id": visit.id, "slip_number": visit.slip_number, "status": visit.status, "start": iso(visit.start),
            "end": iso(visit.end), "call_number": call.number, "problem_type": call.problem_type}


def visit_json(visit: Visit) -> dict[str, Any]:
    """Everything the visit page shows, for reading offline."""
    call, site, customer, equipment = visit.call, visit.call.site, visit.call.customer, visit.call.equipment
    sheet = billing.charges_for_call(call)
    record = services.work_record(visit)
    return {
        **visit_brief(visit),
        "technician_id": visit.technician_id,
        "page_url": url_for("technicians.visit", visit_id=visit.id),
        "call": {"id": call.id, "number": call.number, "status": call.status, "category": call.category,
                 "category_reason": call.category_reason, "priority": call.priority,
                 "problem_type": call.problem_type, "description": call.description,
                 "received_at": iso(call.received_at), "resolution_deadline": iso(call.resolution_deadline)},
        "customer": {"id": customer.id, "name": customer.name, "contact_name": customer.contact_name,
                     "phone": customer.phone, "tel": "tel:" + "".join(c for c in customer.phone or ""
                                                                      if c.isdigit() or c == "+")},
        "site": {"id": site.id, "address": site.address, "latitude": site.latitude, "longitude": site.longitude,
                 "remote": site.remote, "map": map_links(site.latitude, site.longitude, site.address)},
        "equipment": None if equipment is None else {
            "id": equipment.id, "model": equipment.model, "serial_number": equipment.serial_number,
            "warranty_until": equipment.warranty_until.isoformat() if equipment.warranty_until else None},
        "earlier_visits": [{**visit_brief(v), "work_summary": (r.work_summary if (r := services.work_record(v))
                                                                else None)}
                           for v in services.earlier_visits(visit)],
        "events": [{"kind": e.kind, "at": iso(e.at)} for e in services.events(visit)],
        "suggested_labor_minutes": services.suggested_labor_minutes(visit),
        "work_record": work_record_json(record),
        "parts": [{"sku": ln.sku, "name": ln.description, "quantity": billing.line_json(ln)["quantity"]}
                  for ln in services.visit_parts(visit)],
        "charges": sheet.as_json(),
        "signature": signature_json(services.signature(visit)),
        "actions": {name: url_for(f"technicians_api.{name}", visit_id=visit.id)
                    for name in ("on_my_way", "arrive", "complete", "signature", "payments")},
    }


def admin_work_json(entry: AdminWork) -> dict[str, Any]:
    return {"id": entry.id, "technician_id": entry.technician_id, "date": entry.date.isoformat(),
            "activity": entry.activity, "minutes": entry.minutes, "notes": entry.notes,
            "logged_by_id": entry.logged_by_id, "created_at": iso(entry.created_at)}


F = TypeVar("F", bound=Callable[..., Any])


def answers(status: int) -> Callable[[F], F]:
    """The success status the OpenAPI document gives a POST that changes state without creating anything."""
    def mark(view: F) -> F:
        view.openapi_status = str(status)  # type: ignore[attr-defined]
        return view
    return mark


def _visit(visit_id: int) -> Visit:
    return services.visit_for(visit_id, current_user)


# ----------------------------------------------------------------------------- the phone's snapshot


@bp.get("/me/visits")
@allow(Role.TECHNICIAN)
@api_view
def my_visits() -> Any:
    """The technician's visits from today on (days=2: today and tomorrow), with all the visit page shows."""
    raw = request.args.get("days", "2")
    if not raw.isdigit() or not 1 <= int(raw) <= 7:
        raise Invalid("days runs from 1 to 7.", fields={"days": "1 to 7"})
    today = local_today()
    start = datetime.combine(today, time.min, tzinfo=local_tz())
    end = start + timedelta(days=int(raw))
    visits = services.technician_visits(current_user, start, end)
    return {"items": [visit_json(v) for v in visits], "next": None, "date": today.isoformat(),
            "generated_at": iso(utcnow())}


@bp.get("/visits/<int:visit_id>/work")
@allow(ON_SITE)
@api_view
def visit_work(visit_id: int) -> Any:
    """One visit with its work record, parts, charges and signature."""
    return visit_json(_visit(visit_id))


# ----------------------------------------------------------------------------- on site


@bp.post("/visits/<int:visit_id>/on-my-way")
@answers(200)
@allow(ON_SITE)
@api_view
def on_my_way(visit_id: int) -> Any:
    """The technician sets off to the visit."""
    optional_body()
    visit = services.on_my_way(current_user, _visit(visit_id))
    return visit_brief(visit), 200


@bp.post("/visits/<int:visit_id>/arrive")
@answers(200)
@allow(ON_SITE)
@api_view
def arrive(visit_id: int) -> Any:
    """The technician is on site: the visit becomes on_site, the call in_progress."""
    optional_body()
    visit = services.arrive(current_user, _visit(visit_id))
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
    summary = f.text("work_summary", max_length=services.MAX_SUMMARY)
    outcome = f.choice("outcome", [o.value for o in Outcome])
    labor = services.as_int(data.get("labor_minutes"))
    if labor is None:
        f.errors["labor_minutes"] = "required" if data.get("labor_minutes") in (None, "") else "must be a whole number"
    f.check("The work cannot be recorded.")
    parts = services.parse_parts(data.get("parts"))
    record = services.complete(current_user, visit, work_summary=summary or "", labor_minutes=labor or 0,
                               parts=parts, outcome=outcome or "")
    sheet = billing.charges_for_call(visit.call)
    return {**visit_brief(visit), "call_status": visit.call.status, "work_record": work_record_json(record),
            "charges": sheet.as_json()}, 200


def _truthy(value: Any) -> bool | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        return value.strip().lower() in ("true", "on", "y", "yes", "1")
    return None


@bp.post("/visits/<int:visit_id>/signature")
@allow(ON_SITE)
@api_view
def signature(visit_id: int) -> Any:
    """The customer signs the work record: it is sealed and the hash of what was signed returned."""
    visit = _visit(visit_id)
    data = body()
    confirmed = _truthy(data.get("technician_confirmed"))
    result = services.sign(current_user, visit, signer_name=data.get("signer_name") or "",
                           image_png_base64=data.get("image_png_base64"),
                           technician_confirmed=True if confirmed is None else confirmed)
    return signature_json(result.signature), 201 if result.created else 200


@bp.post("/visits/<int:visit_id>/payments")
@allow(ON_SITE)
@api_view
def payments(visit_id: int) -> Any:
    """Money collected on site for charged work; answers the receipt number."""
    visit = _visit(visit_id)
    data = body()
    payment = services.take_payment(current_user, visit, amount=data.get("amount"), method=data.get("method"))
    sheet = billing.charges_for_call(visit.call)
    return {**billing.payment_json(payment), "balance": str(sheet.balance), "currency": sheet.currency}, 201


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
    minutes = services.as_int(data.get("minutes"))
    if minutes is None:
        f.errors["minutes"] = "required" if data.get("minutes") in (None, "") else "must be a whole number"
    elif not 1 <= minutes <= services.MAX_LABOR_MINUTES:
        f.errors["minutes"] = f"from 1 to {services.MAX_LABOR_MINUTES}"
    notes = f.text("notes", required=False, max_length=2000)
    technician = None
    raw_tech = data.get("technician_id")
    if raw_tech not in (None, ""):
        tech_id = services.as_int(raw_tech)
        technician = db.session.get(User, tech_id) if tech_id is not None else None
        if technician is None:
            f.errors["technician_id"] = "unknown technician"
    f.check("The admin time cannot be logged.")
    entry = services.log_admin_work(current_user, technician=technician, day=day, activity=activity or "",
                                    minutes=minutes or 0, notes=notes)
    db.session.flush()
    return admin_work_json(entry), 201


@bp.get("/admin-work")
@allow(ADMIN_TIME)
@api_view
def list_admin_work() -> Any:
    """Admin time of the last days (technicians: their own; managers: ?technician_id=)."""
    from sqlalchemy import select

    from dispatch.core.apiutil import paginate

    stmt = select(AdminWork)
    if current_user.role == Role.TECHNICIAN:
        stmt = stmt.where(AdminWork.technician_id == current_user.id)
    elif request.args.get("technician_id", "").isdigit():
        stmt = stmt.where(AdminWork.technician_id == int(request.args["technician_id"]))
    return paginate(stmt, AdminWork.id, admin_work_json)
