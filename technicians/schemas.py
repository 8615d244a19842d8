"""JSON output of work on site (the API and the phone's offline snapshot), and the map and phone links
the pages share with it."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from flask import url_for

from billing.schemas import charge_sheet_json
from billing.services.charges import charges_for_call
from billing.services.parts import format_quantity
from dispatch.core.timeutil import iso
from dispatch.models import Visit

from .models import AdminWork, Signature, WorkRecord
from .services.progress import earlier_visits, events
from .services.signoff import signature
from .services.work import suggested_labor_minutes, visit_parts, work_record


def map_links(latitude: float, longitude: float, address: str) -> dict[str, str]:
    """Links only (nothing is loaded): geo: opens the phone's map app, the https one is the fallback."""
    q = quote(address)
    return {"geo": f"geo:{latitude:.6f},{longitude:.6f}?q={latitude:.6f},{longitude:.6f}({q})",
            "web": f"https://uri.amap.com/marker?position={longitude:.6f},{latitude:.6f}&name={q}"}


def tel_link(phone: str | None) -> str:
    return "tel:" + "".join(c for c in (phone or "") if c.isdigit() or c == "+")


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


def visit_json(visit: Visit, *, costs: bool = False) -> dict[str, Any]:
    """Everything the visit page shows, for reading offline; what parts cost us only with `costs` (never
    for a technician: billing.schemas.sees_costs)."""
    call, site, customer, equipment = visit.call, visit.call.site, visit.call.customer, visit.call.equipment
    sheet = charges_for_call(call)
    record = work_record(visit)
    return {
        **visit_brief(visit),
        "technician_id": visit.technician_id,
        "page_url": url_for("technicians.visit", visit_id=visit.id),
        "call": {"id": call.id, "number": call.number, "status": call.status, "category": call.category,
                 "category_reason": call.category_reason, "priority": call.priority,
                 "problem_type": call.problem_type, "description": call.description,
                 "received_at": iso(call.received_at), "resolution_deadline": iso(call.resolution_deadline)},
        "customer": {"id": customer.id, "name": customer.name, "contact_name": customer.contact_name,
                     "phone": customer.phone, "tel": tel_link(customer.phone)},
        "site": {"id": site.id, "address": site.address, "latitude": site.latitude, "longitude": site.longitude,
                 "remote": site.remote, "map": map_links(site.latitude, site.longitude, site.address)},
        "equipment": None if equipment is None else {
            "id": equipment.id, "model": equipment.model, "serial_number": equipment.serial_number,
            "warranty_until": equipment.warranty_until.isoformat() if equipment.warranty_until else None},
        "earlier_visits": [{**visit_brief(v), "work_summary": (r.work_summary if (r := work_record(v)) else None)}
                           for v in earlier_visits(visit)],
        "events": [{"kind": e.kind, "at": iso(e.at)} for e in events(visit)],
        "suggested_labor_minutes": suggested_labor_minutes(visit),
        "work_record": work_record_json(record),
        "parts": [{"sku": ln.sku, "name": ln.description, "quantity": format_quantity(ln.quantity)}
                  for ln in visit_parts(visit)],
        "charges": charge_sheet_json(sheet, costs=costs),
        "signature": signature_json(signature(visit)),
        "actions": {name: url_for(f"technicians_api.{name}", visit_id=visit.id)
                    for name in ("on_my_way", "arrive", "complete", "signature", "payments")},
    }


def admin_work_json(entry: AdminWork) -> dict[str, Any]:
    return {"id": entry.id, "technician_id": entry.technician_id, "date": entry.date.isoformat(),
            "activity": entry.activity, "minutes": entry.minutes, "notes": entry.notes,
            "logged_by_id": entry.logged_by_id, "created_at": iso(entry.created_at)}
