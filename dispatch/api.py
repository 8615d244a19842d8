"""JSON API v1 for the desk: users, customers and what they own, repair calls (API.md)."""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy import select

from . import services
from .core.apiutil import api_view, body, paginate
from .core.errors import Invalid, NotFound
from .core.extensions import db
from .core.models import Role, User
from .core.security import ALL_ROLES, DESK, MANAGERS, allow, mask_phone, public
from .core.timeutil import iso
from .core.validate import Fields, is_id, parse_hours
from .models import (
    CallNote,
    CallStatus,
    Category,
    Channel,
    Contract,
    Customer,
    Equipment,
    Priority,
    RepairCall,
    Site,
    Visit,
)

bp = Blueprint("api", __name__, url_prefix="/api/v1")

READ_CALLS = DESK | {Role.TECHNICIAN, Role.FINANCE}


# ----------------------------------------------------------------------------- serializers


def user_json(user: User) -> dict[str, Any]:
    data: dict[str, Any] = {"id": user.id, "username": user.username, "name": user.name, "role": user.role,
                            "active": user.active, "phone": user.phone}
    if user.role == Role.TECHNICIAN:
        data.update({
            "skills": list(user.skills or []), "base_latitude": user.base_latitude,
            "base_longitude": user.base_longitude,
            "working_hours": [{"weekday": w.weekday, "start": w.start.strftime("%H:%M"),
                               "end": w.end.strftime("%H:%M")} for w in user.working_hours],
        })
    return data


def customer_json(c: Customer) -> dict[str, Any]:
    return {"id": c.id, "name": c.name, "phone": mask_phone(c.phone), "contact_name": c.contact_name,
            "email": c.email, "notes": c.notes, "created_at": iso(c.created_at),
            "sites": [site_json(s) for s in c.sites if s.archived_at is None]}


def site_json(s: Site) -> dict[str, Any]:
    return {"id": s.id, "customer_id": s.customer_id, "address": s.address, "latitude": s.latitude,
            "longitude": s.longitude, "distance_km": s.distance_km, "remote": s.remote,
            "geocoded_by": s.geocoded_by}


def equipment_json(e: Equipment) -> dict[str, Any]:
    return {"id": e.id, "customer_id": e.customer_id, "site_id": e.site_id, "model": e.model,
            "serial_number": e.serial_number,
            "warranty_until": e.warranty_until.isoformat() if e.warranty_until else None}


def contract_json(c: Contract) -> dict[str, Any]:
    return {"id": c.id, "customer_id": c.customer_id, "number": c.number, "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(), "covers_parts": c.covers_parts,
            "equipment_ids": [e.id for e in c.equipment], "covers_all_equipment": not c.equipment,
            "cancelled": c.cancelled_at is not None}


def call_json(c: RepairCall) -> dict[str, Any]:
    return {
        "id": c.id, "number": c.number, "status": c.status, "category": c.category,
        "category_reason": c.category_reason, "category_overridden": c.category_overridden,
        "contract_number": c.contract.number if c.contract else None,
        "customer_id": c.customer_id, "customer_name": c.customer.name, "site_id": c.site_id,
        "site_address": c.site.address, "remote": c.site.remote, "equipment_id": c.equipment_id,
        "channel": c.channel, "problem_type": c.problem_type, "priority": c.priority,
        "description": c.description, "on_site": c.on_site, "required_skill": c.required_skill,
        "received_at": iso(c.received_at), "booking_deadline": iso(c.booking_deadline),
        "response_deadline": iso(c.response_deadline), "resolution_deadline": iso(c.resolution_deadline),
        "responded_at": iso(c.responded_at), "booked_at": iso(c.booked_at), "completed_at": iso(c.completed_at),
        "closed_at": iso(c.closed_at), "rating": c.rating, "feedback_comment": c.feedback_comment,
        "parent_call_id": c.parent_call_id,
    }


def note_json(n: CallNote) -> dict[str, Any]:
    return {"id": n.id, "call_id": n.call_id, "at": iso(n.at), "channel": n.channel, "text": n.text,
            "next_follow_up": iso(n.next_follow_up), "author": n.author.name if n.author else None}


# ----------------------------------------------------------------------------- loaders


def get_call_or_404(call_id: int, for_user: Any) -> RepairCall:
    """A call the user may see: technicians only the calls of their own visits."""
    call = db.session.get(RepairCall, call_id)
    if call is None:
        raise NotFound(f"There is no call {call_id}.")
    if for_user.role == Role.TECHNICIAN and not db.session.scalar(
            select(Visit.id).where(Visit.call_id == call.id, Visit.technician_id == for_user.id).limit(1)):
        raise NotFound(f"There is no call {call_id}.")
    return call


def _load(model: Any, object_id: Any, what: str, field: str) -> Any:
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise Invalid(f"{field} must be the id of a {what}.", fields={field: "required id"})
    obj = db.session.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise Invalid(f"There is no {what} with id {object_id}.", code="unknown_id", fields={field: "unknown id"})
    return obj


def _hours(value: Any) -> list[tuple[int, time, time]] | None:
    return None if value is None else parse_hours(value)


# ----------------------------------------------------------------------------- users


@bp.post("/users")
@allow(Role.ADMIN)
@api_view
def create_user() -> Any:
    f = Fields(body())
    username = f.text("username", max_length=80)
    password = f.text("password", max_length=200)
    name = f.text("name", required=False)
    role = f.choice("role", [r.value for r in Role])
    phone = f.text("phone", required=False, max_length=40)
    skills = f.text_list("skills")
    lat = f.number("base_latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("base_longitude", required=False, minimum=-180, maximum=180)
    f.check("The user cannot be created.")
    user = services.create_user(current_user, username=username or "", password=password or "",
                                name=name or username or "", role=role or "", phone=phone, skills=skills,
                                base_latitude=lat, base_longitude=lon, working_hours=_hours(f.data.get("working_hours")))
    return user_json(user), 201


@bp.get("/users")
@allow(Role.ADMIN)
@api_view
def list_users() -> Any:
    return paginate(select(User), User.id, user_json, descending=False)


@bp.get("/technicians")
@allow(DESK)
@api_view
def list_technicians() -> Any:
    return paginate(select(User).where(User.role == Role.TECHNICIAN, User.active.is_(True)), User.id, user_json,
                    descending=False)


@bp.get("/me")
@allow(ALL_ROLES)
@api_view
def me() -> Any:
    return user_json(current_user)


# ----------------------------------------------------------------------------- customers


@bp.post("/customers")
@allow(DESK)
@api_view
def create_customer() -> Any:
    f = Fields(body())
    name = f.text("name")
    phone = f.text("phone", max_length=40)
    contact = f.text("contact_name", required=False)
    email = f.text("email", required=False)
    notes = f.text("notes", required=False, max_length=2000)
    f.check("The customer cannot be saved.")
    customer = services.create_customer(current_user, name=name or "", phone=phone or "", contact_name=contact,
                                        email=email, notes=notes)
    db.session.flush()
    return customer_json(customer), 201


@bp.get("/customers")
@allow(DESK)
@api_view
def list_customers() -> Any:
    return paginate(services.search_customers(request.args.get("q")), Customer.id, customer_json)


@bp.get("/customers/<int:customer_id>")
@allow(DESK)
@api_view
def get_customer(customer_id: int) -> Any:
    customer = services.get_or_404(Customer, customer_id, "customer")
    data = customer_json(customer)
    data["equipment"] = [equipment_json(e) for e in customer.equipment]
    data["contracts"] = [contract_json(c) for c in customer.contracts]
    return data


@bp.patch("/customers/<int:customer_id>")
@allow(DESK)
@api_view
def update_customer(customer_id: int) -> Any:
    customer = services.get_or_404(Customer, customer_id, "customer")
    data = body()
    f = Fields(data)
    changes: dict[str, Any] = {}
    for key, limit in (("name", 200), ("phone", 40), ("contact_name", 200), ("email", 200), ("notes", 2000)):
        if key in data:
            changes[key] = f.text(key, required=key in ("name", "phone"), max_length=limit)
    f.check("The customer cannot be saved.")
    services.update_customer(current_user, customer, **changes)
    return customer_json(customer)


@bp.post("/customers/<int:customer_id>/sites")
@allow(DESK)
@api_view
def create_site(customer_id: int) -> Any:
    customer = services.get_or_404(Customer, customer_id, "customer")
    f = Fields(body())
    address = f.text("address", max_length=500)
    lat = f.number("latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("longitude", required=False, minimum=-180, maximum=180)
    f.check("The site cannot be saved.")
    site = services.add_site(current_user, customer, address=address or "", latitude=lat, longitude=lon)
    db.session.flush()
    return site_json(site), 201


@bp.post("/equipment")
@allow(DESK)
@api_view
def create_equipment() -> Any:
    f = Fields(body())
    model = f.text("model")
    serial = f.text("serial_number")
    warranty = f.date("warranty_until", required=False)
    f.check("The equipment cannot be saved.")
    customer = _load(Customer, f.data.get("customer_id"), "customer", "customer_id")
    site = _load(Site, f.data.get("site_id"), "site", "site_id")
    equipment = services.add_equipment(current_user, customer, site, model=model or "", serial_number=serial or "",
                                       warranty_until=warranty)
    return equipment_json(equipment), 201


@bp.get("/equipment/<int:equipment_id>")
@allow(DESK)
@api_view
def get_equipment(equipment_id: int) -> Any:
    return equipment_json(services.get_or_404(Equipment, equipment_id, "equipment"))


@bp.post("/contracts")
@allow(DESK)
@api_view
def create_contract() -> Any:
    f = Fields(body())
    number = f.text("number", max_length=60)
    starts = f.date("starts_on")
    ends = f.date("ends_on")
    covers_parts = f.boolean("covers_parts")
    equipment_ids = f.id_list("equipment_ids")
    notes = f.text("notes", required=False, max_length=2000)
    f.check("The contract cannot be saved.")
    customer = _load(Customer, f.data.get("customer_id"), "customer", "customer_id")
    assert starts is not None and ends is not None
    contract = services.create_contract(current_user, customer, number=number or "", starts_on=starts,
                                        ends_on=ends, equipment_ids=equipment_ids, covers_parts=covers_parts,
                                        notes=notes)
    db.session.flush()
    return contract_json(contract), 201


# ----------------------------------------------------------------------------- calls


@bp.post("/calls")
@allow(DESK)
@api_view
def create_call() -> Any:
    f = Fields(body())
    channel = f.choice("channel", [c.value for c in Channel])
    priority = f.choice("priority", [p.value for p in Priority])
    problem_type = f.text("problem_type", max_length=100)
    description = f.text("description", max_length=services.MAX_DESCRIPTION)
    on_site = f.boolean("on_site", default=True)
    skill = f.text("required_skill", required=False, max_length=60)
    received_at = f.datetime("received_at", required=False)
    f.check("The call cannot be saved.")
    customer = _load(Customer, f.data.get("customer_id"), "customer", "customer_id")
    site = _load(Site, f.data.get("site_id"), "site", "site_id")
    equipment = None
    if f.data.get("equipment_id") is not None:
        equipment = _load(Equipment, f.data.get("equipment_id"), "equipment", "equipment_id")
    call = services.create_call(current_user, customer=customer, site=site, equipment=equipment,
                                channel=channel or "", problem_type=problem_type or "", priority=priority or "",
                                description=description or "", on_site=on_site,
                                required_skill=skill.lower() if skill else None, received_at=received_at)
    db.session.flush()
    return call_json(call), 201


@bp.get("/calls")
@allow(READ_CALLS)
@api_view
def list_calls() -> Any:
    args = request.args
    status, category = args.get("status") or None, args.get("category") or None
    if status and status != "open" and status not in {s.value for s in CallStatus}:
        raise Invalid("Unknown status.", fields={"status": "one of: " + ", ".join(s.value for s in CallStatus)})
    if category and category not in {c.value for c in Category}:
        raise Invalid("Unknown category.", fields={"category": "one of: charged, contract, free"})
    if args.get("priority") and args["priority"] not in {p.value for p in Priority}:
        raise Invalid("Unknown priority.", fields={"priority": "one of: " + ", ".join(p.value for p in Priority)})
    stmt = services.calls_query(status=status, category=category, priority=args.get("priority") or None,
                                q=args.get("q") or None, overdue=args.get("overdue") in ("1", "true"),
                                technician_id=current_user.id if current_user.role == Role.TECHNICIAN else None)
    return paginate(stmt, RepairCall.id, call_json)


@bp.get("/calls/<int:call_id>")
@allow(READ_CALLS)
@api_view
def get_call(call_id: int) -> Any:
    call = get_call_or_404(call_id, current_user)
    data = call_json(call)
    data["notes"] = [note_json(n) for n in call.notes]
    return data


@bp.patch("/calls/<int:call_id>")
@allow(MANAGERS)
@api_view
def override_category(call_id: int) -> Any:
    call = get_call_or_404(call_id, current_user)
    f = Fields(body())
    category = f.choice("category", [c.value for c in Category])
    reason = f.text("reason", max_length=1000)
    f.check("The category cannot be changed.")
    services.override_category(current_user, call, category or "", reason or "")
    return call_json(call)


@bp.post("/calls/<int:call_id>/notes")
@allow(DESK)
@api_view
def add_note(call_id: int) -> Any:
    call = get_call_or_404(call_id, current_user)
    f = Fields(body())
    channel = f.choice("channel", [c.value for c in Channel] + ["internal"])
    text = f.text("text", max_length=5000)
    follow_up = f.datetime("next_follow_up", required=False)
    f.check("The note cannot be saved.")
    note = services.add_note(current_user, call, channel=channel or "", text=text or "", next_follow_up=follow_up)
    db.session.flush()
    return note_json(note), 201


@bp.post("/calls/<int:call_id>/feedback")
@allow(DESK)
@api_view
def feedback(call_id: int) -> Any:
    call = get_call_or_404(call_id, current_user)
    f = Fields(body())
    rating = f.integer("rating", minimum=1, maximum=5)
    comment = f.text("comment", required=False, max_length=2000)
    f.check("The feedback cannot be saved.")
    services.record_feedback(current_user, call, rating=rating or 0, comment=comment)
    return call_json(call)


feedback.openapi_status = "200"  # type: ignore[attr-defined]  # a POST that creates nothing (openapi.py)


@bp.get("/openapi.json")
@public
def openapi() -> Any:
    from flask import jsonify

    from .core.openapi import build_spec

    return jsonify(build_spec())
