"""The customer's sign-off: the signature image, the canonical content the customer signs (work, parts,
amounts) and its hash, and the sealing of the work record and the call's charges."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing.services.charges import charges_for_call, lock_call_charges
from billing.services.parts import format_quantity
from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.models import Visit, VisitStatus

from ..evidence import matches, seal, seal_bytes
from ..models import HASH_KEYED, Signature, VisitEventKind, WorkRecord
from . import problems
from .progress import check_actor, check_live, record_event
from .work import lock_record, visit_parts

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 512 * 1024


def signature(visit: Visit) -> Signature | None:
    return db.session.scalar(select(Signature).where(Signature.visit_id == visit.id))


def decode_png(image_png_base64: Any) -> bytes:
    """The PNG bytes of a base64 string (a data: URL prefix is allowed); 422 unless it is a PNG <= 512 KB."""
    if not isinstance(image_png_base64, str) or not image_png_base64.strip():
        raise Invalid(_("The customer has not signed yet."), fields={"image_png_base64": _("required")})
    text = image_png_base64.strip()
    if text.startswith("data:"):
        header, _sep, text = text.partition(",")
        if "base64" not in header:
            raise Invalid(_("The signature must be base64 encoded."), code="not_png",
                          fields={"image_png_base64": _("not base64")})
    # A quick refusal before decoding something huge: base64 is 4 characters per 3 bytes.
    if len(text) > (MAX_SIGNATURE_BYTES + 2) // 3 * 4 + 4:
        raise Invalid(_("The signature image is larger than 512 KB."), code="signature_too_large",
                      fields={"image_png_base64": _("at most 512 KB")})
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("The signature is not valid base64."), code="not_png",
                      fields={"image_png_base64": _("not base64")}) from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise Invalid(_("The signature image is larger than 512 KB."), code="signature_too_large",
                      fields={"image_png_base64": _("at most 512 KB")})
    if not data.startswith(PNG_MAGIC):
        raise Invalid(_("The signature must be a PNG image."), code="not_png",
                      fields={"image_png_base64": _("not a PNG")})
    return data


def _plain_amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def signed_content(visit: Visit, record: WorkRecord, signer_name: str) -> dict[str, Any]:
    """What the customer signs: the work, labor, parts and amounts, and who signs. Hashed as canonical JSON."""
    call = visit.call
    sheet = charges_for_call(call)
    return {
        "slip_number": visit.slip_number,
        "call_number": call.number,
        "customer": call.customer.name,
        "work_summary": record.work_summary,
        "labor_minutes": record.labor_minutes,
        "outcome": record.outcome,
        "parts": [{"sku": line.sku, "description": line.description, "quantity": format_quantity(line.quantity)}
                  for line in visit_parts(visit)],
        "lines": [{"kind": line.kind, "description": line.description, "sku": line.sku,
                   "quantity": format_quantity(line.quantity), "unit_price": _plain_amount(line.unit_price),
                   "amount": _plain_amount(line.amount), "covered": bool(line.covered),
                   "covered_by": line.covered_by} for line in sheet.lines],
        "subtotal": _plain_amount(sheet.subtotal),
        "tax": _plain_amount(sheet.tax),
        "total_due": _plain_amount(sheet.total_due),
        "currency": sheet.currency,
        "explanation": sheet.explanation,
        "signer_name": signer_name,
    }


def canonical_json(content: dict[str, Any]) -> str:
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def content_hash(text: str) -> str:
    """The seal of signed content: HMAC-SHA256 with the server's evidence key (technicians/evidence.py)."""
    return seal(text)


@dataclass(frozen=True)
class SignOff:
    signature: Signature
    created: bool  # False: the same signature was already there (a resend), nothing changed


def sign(actor: User, visit: Visit, *, signer_name: str, image_png_base64: Any,
         technician_confirmed: bool = True) -> SignOff:
    """Seal the work record with the customer's signature. One signature per visit: a different second
    one is 409; the very same one again (a resend without its Idempotency-Key) answers the first."""
    check_actor(actor, visit)
    check_live(visit)
    name = (signer_name or "").strip() if isinstance(signer_name, str) else ""
    errors = {}
    if not name:
        errors["signer_name"] = _("required")
    elif len(name) > 200:
        errors["signer_name"] = _("at most %(n)d characters", n=200)
    if not technician_confirmed:
        errors["technician_confirmed"] = _("the technician must confirm the work record")
    if errors:
        raise Invalid(problems(_("The sign-off is incomplete."), errors), fields=errors)
    image = decode_png(image_png_base64)
    image_sha = seal_bytes(image)
    record = lock_record(visit)
    if record is None or visit.status != VisitStatus.COMPLETED:
        raise Conflict(_("Complete visit %(slip)s before the customer signs.", slip=visit.slip_number),
                       code="not_completed")
    existing = signature(visit)
    if existing is not None:
        return _same_or_conflict(existing, name, image, visit)
    text = canonical_json(signed_content(visit, record, name))
    now = utcnow()
    sig = Signature(visit=visit, signer_name=name, image_png=image, image_sha256=image_sha, signed_content=text,
                    content_sha256=content_hash(text), hash_scheme=HASH_KEYED, signed_at=now, technician_id=actor.id,
                    technician_confirmed_at=now)
    db.session.add(sig)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Another device signed in the same instant (the unique visit_id stopped the second row).
        db.session.expire_all()
        existing = signature(visit)
        if existing is None:
            raise
        return _same_or_conflict(existing, name, image, visit)
    record.sealed_at = now
    lock_call_charges(visit.call, visit)
    record_event(actor, visit, VisitEventKind.SIGNED, at=now)
    audit.record(actor, sig, "visit.signed", after={"visit_id": visit.id, "signer_name": name,
                                                     "content_sha256": sig.content_sha256})
    return SignOff(sig, True)


def _same_or_conflict(existing: Signature, name: str, image: bytes, visit: Visit) -> SignOff:
    if existing.signer_name == name and matches(existing.hash_scheme, image, existing.image_sha256):
        return SignOff(existing, False)
    raise Conflict(_("Visit %(slip)s is already signed by %(name)s.", slip=visit.slip_number,
                     name=existing.signer_name), code="already_signed")

