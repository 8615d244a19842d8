"""The desk's records as JSON (API.md): one function per record, shared by every API module."""

from __future__ import annotations

from typing import Any

from .core.models import Role, User
from .core.security import mask_phone
from .core.timeutil import iso
from .models import CallNote, Contract, Customer, Equipment, RepairCall, Site


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
            "geocoded_by": s.geocoded_by, "place": s.place, "place_latin": s.place_latin,
            "precision": s.precision}


def place_json(p: Any) -> dict[str, Any]:
    """One place an address may mean (dispatch.geo.places.Place), with its distance from the service centre."""
    from .geo.distance import distance_from_centre_km

    return {"code": p.code, "place": p.place, "place_latin": p.place_latin, "precision": p.precision,
            "latitude": p.latitude, "longitude": p.longitude,
            "distance_km": distance_from_centre_km(p.latitude, p.longitude)}


def equipment_json(e: Equipment) -> dict[str, Any]:
    return {"id": e.id, "customer_id": e.customer_id, "site_id": e.site_id, "model": e.model,
            "serial_number": e.serial_number,
            "warranty_until": e.warranty_until.isoformat() if e.warranty_until else None}


def contract_json(c: Contract) -> dict[str, Any]:
    return {"id": c.id, "customer_id": c.customer_id, "number": c.number, "starts_on": c.starts_on.isoformat(),
            "ends_on": c.ends_on.isoformat(), "covers_parts": c.covers_parts,
            "equipment_ids": [e.id for e in c.equipment], "covers_all_equipment": not c.equipment,
            "cancelled": c.cancelled_at is not None,
            "fee": f"{c.fee:.2f}" if c.fee is not None else None, "billing_period": c.billing_period}


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
        "solved": c.solved, "feedback_at": iso(c.feedback_at), "reopened_at": iso(c.reopened_at),
        "parent_call_id": c.parent_call_id, "equipment_serial_number": c.equipment.serial_number if c.equipment else None,
        "cancelled_at": iso(c.cancelled_at), "cancel_reason": c.cancel_reason,
    }


def note_json(n: CallNote) -> dict[str, Any]:
    return {"id": n.id, "call_id": n.call_id, "at": iso(n.at), "channel": n.channel, "text": n.text,
            "next_follow_up": iso(n.next_follow_up), "author": n.author.name if n.author else None,
            "kind": n.kind, "promise": n.promise, "promised_by": iso(n.promised_by),
            "escalated_authority": n.escalated_authority, "safety_risk": n.safety_risk}
