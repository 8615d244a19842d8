"""JSON output of work on site (the API and the phone's offline snapshot), and the map and phone links
the pages share with it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from flask import url_for

from billing.schemas import charge_sheet_json
from billing.services.parts import format_quantity
from dispatch.core.timeutil import iso
from dispatch.models import Visit
from dispatch.scheduling.changes import DayChange

from .models import AdminWork, Signature, WorkRecord
from .services.snapshot import VisitsRead, read_visits
from .services.work import minutes_since_arrival


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
            "end": iso(visit.end), "call_number": call.number, "problem_type": call.problem_type,
            "window_start": iso(visit.window_start), "window_end": iso(visit.window_end)}


def day_change_json(change: DayChange) -> dict[str, Any]:
    """One line of "your day changed": the visit as it is now (its time only while it is still theirs)."""
    v = change.visit
    mine = change.still_mine
    return {"visit_id": v.id, "slip_number": v.slip_number, "change": change.change, "changed_at": iso(change.at),
            "customer_name": v.call.customer.name, "status": v.status,
            "start": iso(v.start) if mine else None, "end": iso(v.end) if mine else None,
            "window_start": iso(v.window_start) if mine else None, "window_end": iso(v.window_end) if mine else None}


def visit_json(visit: Visit, *, costs: bool = False, read: VisitsRead | None = None) -> dict[str, Any]:
    """Everything the visit page shows, for reading offline; what parts cost us only with `costs` (never
    for a technician: billing.schemas.sees_costs). A list passes what it read for all its visits at once
    (`visits_json`)."""
    read = read or read_visits([visit])
    call, site, customer, equipment = visit.call, visit.call.site, visit.call.customer, visit.call.equipment
    record = read.records.get(visit.id)
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
        "earlier_visits": [{**visit_brief(v),
                            "work_summary": (r.work_summary if (r := read.records.get(v.id)) else None)}
                           for v in read.earlier.get(visit.id, [])],
        "events": [{"kind": e.kind, "at": iso(e.at)} for e in read.events.get(visit.id, [])],
        "suggested_labor_minutes": minutes_since_arrival(read.arrived_at(visit)),
        "work_record": work_record_json(record),
        "parts": [{"sku": ln.sku, "name": ln.description, "quantity": format_quantity(ln.quantity)}
                  for ln in read.parts(visit)],
        "charges": charge_sheet_json(read.sheet(visit), costs=costs),
        "signature": signature_json(read.signatures.get(visit.id)),
        "actions": {name: url_for(f"technicians_api.{name}", visit_id=visit.id)
                    for name in ("on_my_way", "arrive", "complete", "signature", "payments")},
    }


def visits_json(visits: Sequence[Visit], *, costs: bool = False) -> list[dict[str, Any]]:
    """visit_json of each visit, read in the same few statements whatever their number."""
    read = read_visits(visits)
    return [visit_json(v, costs=costs, read=read) for v in visits]


def admin_work_json(entry: AdminWork) -> dict[str, Any]:
    return {"id": entry.id, "technician_id": entry.technician_id, "date": entry.date.isoformat(),
            "activity": entry.activity, "minutes": entry.minutes, "notes": entry.notes,
            "logged_by_id": entry.logged_by_id, "created_at": iso(entry.created_at)}
