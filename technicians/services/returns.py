"""Back to the customer: a carry-back item goes back by a booked return visit (Visit.kind "return") or a
pick-up at the desk. The customer signs, the return is sealed by a content hash like the visit voucher, the
workshop charges lock and the call completes. A return visit is completed here, never by the on-site
completion of an ordinary visit."""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select

from billing.services.charges import charges_for_call, lock_workshop_charges
from billing.services.parts import format_quantity
from dispatch.core import audit
from dispatch.core.errors import Conflict, Forbidden, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, label
from dispatch.core.models import Role, User
from dispatch.core.timeutil import utcnow
from dispatch.models import CallStatus, Visit, VisitStatus
from dispatch.services.calls import set_call_status

from ..models import HASH_KEYED, CarryBack, CarryBackEventKind, ReturnMethod, VisitEventKind
from . import problems
from .progress import record_event, set_visit_status
from .signoff import canonical_json, content_hash, decode_png
from .workshop import (
    DESK_ROLES,
    RETURNABLE,
    S,
    add_event,
    clean_note,
    history,
    require_role,
    work_lines,
    workshop_labor_minutes,
)


def return_visits(item: CarryBack) -> list[Visit]:
    """The return visits booked for the item's call (kind "return"), live ones only."""
    return list(db.session.scalars(select(Visit).where(
        Visit.call_id == item.call_id, Visit.kind == "return", Visit.status != VisitStatus.CANCELLED)
        .order_by(Visit.start)))


def return_content(item: CarryBack, *, signer_name: str, method: str, return_visit: Visit | None,
                   status_before: str, reason: str) -> dict[str, Any]:
    """What the customer signs when the item comes back: the item, the work and its charges. Hashed as
    canonical JSON, like the visit voucher."""
    call = item.call
    sheet = charges_for_call(call)
    lines = work_lines(item)
    return {
        "receipt_number": item.number,
        "call_number": call.number,
        "customer": call.customer.name,
        "item": item.item,
        "model": item.model,
        "serial_number": item.serial_number,
        "new_serial_number": item.new_serial_number,
        "accessories": item.accessories,
        "status_before_return": status_before,
        "return_reason": reason or None,
        "return_method": method,
        "return_slip": return_visit.slip_number if return_visit is not None else None,
        "work": [event.note for event in history(item) if event.kind == CarryBackEventKind.WORK],
        "workshop_labor_minutes": workshop_labor_minutes(item),
        "workshop_lines": [{"kind": ln.kind, "description": ln.description, "sku": ln.sku,
                            "quantity": format_quantity(ln.quantity), "unit_price": f"{ln.unit_price:.2f}",
                            "amount": f"{ln.amount:.2f}", "covered": bool(ln.covered),
                            "covered_by": ln.covered_by} for ln in lines],
        "call_subtotal": f"{sheet.subtotal:.2f}",
        "call_tax": f"{sheet.tax:.2f}",
        "call_total_due": f"{sheet.total_due:.2f}",
        "currency": sheet.currency,
        "explanation": sheet.explanation,
        "signer_name": signer_name,
    }


def _return_visit(actor: User, item: CarryBack) -> Visit | None:
    visits = return_visits(item)
    if actor.role == Role.TECHNICIAN:
        visits = [v for v in visits if v.technician_id == actor.id]
    live = [v for v in visits if v.status != VisitStatus.COMPLETED]
    chosen = live or visits
    return chosen[0] if chosen else None


def return_item(actor: User, item: CarryBack, *, signer_name: Any, image_png_base64: Any,
                method: Any = None, reason: Any = None) -> CarryBack:
    """The customer signs for the item (on the phone at a return visit, on the desk's screen at a pick-up):
    it becomes returned, the return is sealed by a content hash, the workshop charges lock and the call
    completes (then the follow-up call and billing)."""
    require_role(actor, DESK_ROLES | {Role.TECHNICIAN},
             _("Only the desk or the technician of the return visit hands an item back."))
    name = signer_name.strip() if isinstance(signer_name, str) else ""
    errors: dict[str, str] = {}
    if not name:
        errors["signer_name"] = _("required")
    elif len(name) > 200:
        errors["signer_name"] = _("at most %(n)d characters", n=200)
    if method not in (None, "", ReturnMethod.VISIT, ReturnMethod.PICKUP):
        errors["method"] = _("one of: %(values)s", values="visit, pickup")
    if errors:
        raise Invalid(problems(_("The return cannot be signed."), errors), fields=errors)
    why = clean_note(reason, "reason")
    image = decode_png(image_png_base64)
    image_sha = hashlib.sha256(image).hexdigest()
    if item.status == S.RETURNED:
        if item.return_signer_name == name and item.return_signature_png is not None and \
                hashlib.sha256(item.return_signature_png).hexdigest() == image_sha:
            return item  # the very same signature again: a resend
        raise Conflict(_("%(number)s was already returned to the customer, signed by %(name)s.",
                         number=item.number, name=item.return_signer_name or ""), code="already_returned")
    if item.status == S.IN_WORKSHOP:
        raise Conflict(_("%(number)s has not been handed in at the desk yet: the desk confirms receipt first.",
                         number=item.number), code="not_received")
    if item.status not in RETURNABLE and not why:
        raise Conflict(_("%(number)s is %(status)s, not repaired: mark it repaired or ready to return, or give "
                         "the reason it goes back as it is.", number=item.number,
                         status=label(item.status, "carry_back_status").lower()),
                       code="not_repaired", fields={"reason": _("required for an item not repaired")})
    how = method or (ReturnMethod.VISIT if actor.role == Role.TECHNICIAN else ReturnMethod.PICKUP)
    visit = None
    if how == ReturnMethod.VISIT:
        visit = _return_visit(actor, item)
        if visit is None:
            raise Conflict(_("No return visit is booked for %(number)s: book one, or hand the item over at the "
                             "desk.", number=item.number), code="no_return_visit")
    elif actor.role == Role.TECHNICIAN:
        raise Forbidden(_("A pick-up is signed at the desk."))
    status_before = item.status
    text = canonical_json(return_content(item, signer_name=name, method=how, return_visit=visit,
                                         status_before=status_before, reason=why))
    now = utcnow()
    item.status, item.returned_at, item.return_method = S.RETURNED, now, how
    item.return_visit_id = visit.id if visit is not None else None
    item.return_signer_name, item.return_signature_png = name, image
    item.return_signed_content, item.return_sha256 = text, content_hash(text)
    item.return_hash_scheme = HASH_KEYED
    call = item.call
    lock_workshop_charges(call, item.number, actor)
    add_event(actor, item, CarryBackEventKind.RETURNED, from_status=status_before, to_status=S.RETURNED,
           note=name, reason=why or None)  # the note of a "returned" event is the signer's name
    audit.record(actor, item, "carry_back.returned", before={"status": status_before},
                 after={"status": S.RETURNED, "return_method": how, "signer_name": name,
                        "return_sha256": item.return_sha256,
                        "return_visit_id": item.return_visit_id}, reason=why or None)
    if visit is not None and visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY, VisitStatus.ON_SITE):
        set_visit_status(actor, visit, VisitStatus.COMPLETED, "visit.completed")
        record_event(actor, visit, VisitEventKind.COMPLETED, at=now)
    others = db.session.scalar(select(CarryBack.id).where(CarryBack.call_id == call.id, CarryBack.id != item.id,
                                                          CarryBack.status != S.RETURNED).limit(1))
    if others is None and call.status == CallStatus.CARRIED_BACK:
        set_call_status(actor, call, CallStatus.COMPLETED,
                        reason=_("%(number)s returned to the customer (%(method)s)", number=item.number,
                                 method=label(how, "return_method")))
    return item
