"""JSON API of the workshop (API.md "Carry-back repairs"): the board, receipt at the desk, status changes,
workshop work, the return signed by the customer."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user
from sqlalchemy.orm import selectinload

from billing.schemas import line_json
from billing.services.parts import MAX_SKU, parse_part_lines
from dispatch.core.apiutil import api_view, body, optional_body, paginate
from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import Role, User
from dispatch.core.security import DESK, MANAGERS, allow
from dispatch.core.timeutil import iso, local_today, parse_date

from .carry_back_api import carry_back_json
from .models import CarryBack, CarryBackStatus
from .services import problems, returns
from .services import workshop as ws
from .services.carry_back import get_carry_back_or_404

bp = Blueprint("workshop_api", __name__, url_prefix="/api/v1")

WORKSHOP = frozenset({Role.TECHNICIAN}) | MANAGERS
READERS = WORKSHOP | DESK
RETURNERS = frozenset({Role.TECHNICIAN}) | DESK

_STATUS = {"enum": [s.value for s in CarryBackStatus]}
OPENAPI: dict[str, Any] = {"schemas": {
    "CarryBackPatch": {"type": "object", "properties": {
        "status": {"enum": [s.value for s in ws.WORKSHOP_STATUSES]},
        "note": {"type": "string", "maxLength": ws.MAX_NOTE, "minLength": 1, "pattern": r"\S"},
        "assigned_to_id": {"type": ["integer", "null"]},
        "promised_return_on": {"type": "string", "format": "date"},
        "reason": {"type": "string", "description": "required with promised_return_on"},
        "new_serial_number": {"type": "string", "maxLength": ws.MAX_SERIAL, "minLength": 1, "pattern": r"\S",
                              "description": "a replaced unit's serial; the call's equipment record follows"}}},
    "CarryBackReceiveIn": {"type": "object", "properties": {"note": {"type": "string"}}},
    "CarryBackNoteIn": {"type": "object", "required": ["note"], "properties": {"note": {"type": "string", "minLength": 1, "pattern": r"\S"}}},
    "CarryBackWorkIn": {"type": "object", "required": ["labor_minutes"], "properties": {
        "labor_minutes": {"type": "integer", "minimum": 0, "maximum": 24 * 60,
                          "description": "the workshop's labor so far (a correction replaces it)"},
        "parts": {"type": "array", "items": {"type": "object", "required": ["sku"], "properties": {
            "sku": {"type": "string", "maxLength": MAX_SKU}, "quantity": {"type": ["number", "string"]}}}},
        "note": {"type": "string"}}},
    "CarryBackReturnIn": {"type": "object", "required": ["signer_name", "image_png_base64"], "properties": {
        "signer_name": {"type": "string", "maxLength": 200, "minLength": 1, "pattern": r"\S"},
        "image_png_base64": {"type": "string", "description": "a PNG of at most 512 KB, base64"},
        "method": {"enum": ["visit", "pickup"], "description": "default: visit for the return visit's "
                                                              "technician, pickup at the desk"},
        "reason": {"type": "string", "description": "why an item not repaired goes back as it is"}}},
    "WorkshopItem": {"type": "object", "properties": {
        "id": {"type": "integer"}, "receipt_number": {"type": "string"}, "status": _STATUS,
        "promised_return_on": {"type": "string", "format": "date"}, "days_held": {"type": "integer"},
        "overdue": {"type": "boolean"}, "return_sha256": {"type": ["string", "null"]}}},
}, "bodies": {
    "workshop_api.update": ("CarryBackPatch", "WorkshopItem"),
    "workshop_api.receive": ("CarryBackReceiveIn", "WorkshopItem"),
    "workshop_api.note": ("CarryBackNoteIn", "WorkshopItem"),
    "workshop_api.work": ("CarryBackWorkIn", "WorkshopItem"),
    "workshop_api.return_item": ("CarryBackReturnIn", "WorkshopItem"),
}}


def item_json(item: CarryBack, *, detail: bool = False) -> dict[str, Any]:
    """One item as the board shows it; `detail` adds the whole record (carry_back_json: photos, receipt,
    history) and the workshop's work and return visits."""
    call = item.call
    today = local_today()
    moved = ws.last_promise_move(item)
    data: dict[str, Any] = {
        "id": item.id, "receipt_number": item.number, "status": item.status,
        "visit_id": item.visit_id, "call_id": item.call_id, "call_number": call.number,
        "call_status": call.status, "customer": {"id": call.customer_id, "name": call.customer.name},
        "item": item.item, "model": item.model, "serial_number": item.serial_number,
        "new_serial_number": item.new_serial_number,
        "promised_return_on": item.promised_return_on.isoformat(),
        "promise_moved": {"from": moved.old_promised_on.isoformat() if moved.old_promised_on else None,
                          "to": moved.new_promised_on.isoformat() if moved.new_promised_on else None,
                          "reason": moved.reason, "at": iso(moved.at)} if moved else None,
        "days_held": ws.days_held(item, today), "overdue": ws.is_overdue(item, today),
        "taken_by_id": item.taken_by_id,
        "assigned_to": {"id": item.assigned_to.id, "name": item.assigned_to.name} if item.assigned_to else None,
        "received_at": iso(item.received_at), "received_by_id": item.received_by_id,
        "return_method": item.return_method, "return_visit_id": item.return_visit_id,
        "returned_at": iso(item.returned_at), "return_signer_name": item.return_signer_name,
        "return_sha256": item.return_sha256,
    }
    if detail:
        lines = ws.work_lines(item)
        data = {**carry_back_json(item), **data, "workshop": {
            "labor_minutes": ws.workshop_labor_minutes(item), "lines": [line_json(ln) for ln in lines]},
            "return_visits": [{"id": v.id, "slip_number": v.slip_number, "technician_id": v.technician_id,
                               "start": iso(v.start), "status": v.status} for v in returns.return_visits(item)]}
    return data


def _item(carry_back_id: int) -> CarryBack:
    return get_carry_back_or_404(carry_back_id, current_user)


@bp.get("/carry-backs")
@allow(READERS)
@api_view
def list_carry_backs() -> Any:
    """The workshop board as JSON: ?status= (one status), ?q= (receipt number, serial or customer)."""
    status = (request.args.get("status") or "").strip() or None
    q = (request.args.get("q") or "").strip()[:200] or None
    # each row says where its promised date was moved from: the events of the page's items in one statement
    stmt = ws.carry_backs_query(current_user, status=status, q=q).options(selectinload(CarryBack.events))
    return paginate(stmt, CarryBack.id, item_json)


@bp.patch("/carry-backs/<int:carry_back_id>")
@allow(READERS)
@api_view
def update(carry_back_id: int) -> Any:
    """Move the item in the workshop (status, with a note), assign it, record a replaced unit's serial, or
    move the promised date (with a reason)."""
    item = _item(carry_back_id)
    data = body()
    known = {"status", "note", "assigned_to_id", "promised_return_on", "reason", "new_serial_number"}
    if not known & data.keys():
        raise Invalid(_("Nothing to change: send status, assigned_to_id, promised_return_on or "
                        "new_serial_number."), fields={"status": _("required")})
    if "assigned_to_id" in data:
        ws.assign(current_user, item, _technician(data["assigned_to_id"]))
    if "new_serial_number" in data:
        ws.replace_unit(current_user, item, data["new_serial_number"], data.get("note"))
    if "promised_return_on" in data:
        ws.move_promise(current_user, item, parse_date(data["promised_return_on"], "promised_return_on"),
                        data.get("reason"))
    if "status" in data:
        ws.change_status(current_user, item, data["status"], data.get("note"))
    elif "note" in data and "new_serial_number" not in data:
        ws.add_note(current_user, item, data["note"])
    db.session.flush()
    return item_json(item, detail=True)


def _technician(value: Any) -> User | None:
    if value is None:
        return None
    user = db.session.get(User, value) if isinstance(value, int) and not isinstance(value, bool) else None
    if user is None:
        raise Invalid(problems(_("The item cannot be assigned."), {"technician_id": _("not a technician")}),
                      fields={"assigned_to_id": _("not a technician")})
    return user


@bp.post("/carry-backs/<int:carry_back_id>/receive")
@allow(DESK)
@api_view
def receive(carry_back_id: int) -> Any:
    """The desk confirms the technician handed the item in: it enters the service file and the board."""
    item = _item(carry_back_id)
    ws.receive(current_user, item, optional_body().get("note"))
    return item_json(item, detail=True)


receive.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


@bp.post("/carry-backs/<int:carry_back_id>/notes")
@allow(READERS)
@api_view
def note(carry_back_id: int) -> Any:
    item = _item(carry_back_id)
    ws.add_note(current_user, item, body().get("note"))
    return item_json(item, detail=True), 201


@bp.post("/carry-backs/<int:carry_back_id>/work")
@allow(WORKSHOP)
@api_view
def work(carry_back_id: int) -> Any:
    """The parts and labor spent in the workshop so far, charged by the call's category."""
    item = _item(carry_back_id)
    data = body()
    minutes = data.get("labor_minutes")
    if isinstance(minutes, str) and minutes.strip().isdigit():
        minutes = int(minutes.strip())
    if isinstance(minutes, bool) or not isinstance(minutes, int):
        raise Invalid(problems(_("The work cannot be recorded."), {"labor_minutes": _("a whole number")}),
                      fields={"labor_minutes": _("a whole number")})
    ws.record_work(current_user, item, labor_minutes=minutes, parts=parse_part_lines(data.get("parts")),
                   note=data.get("note"))
    return item_json(item, detail=True)


work.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


@bp.post("/carry-backs/<int:carry_back_id>/return")
@allow(RETURNERS)
@api_view
def return_item(carry_back_id: int) -> Any:
    """The customer signs for the item: status returned, the return sealed by its content hash, the call
    completes."""
    item = _item(carry_back_id)
    data = body()
    returns.return_item(current_user, item, signer_name=data.get("signer_name"),
                   image_png_base64=data.get("image_png_base64"), method=data.get("method"),
                   reason=data.get("reason"))
    return item_json(item, detail=True)


return_item.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)
