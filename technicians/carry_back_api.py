"""JSON API of carry-back repairs at the customer's site (API.md "Carry-back repairs"): take the item,
its photos, the customer's signature on the receipt, the carry-back itself, its photos and the receipt PDF.

The workshop's endpoints (the board, status changes, the return) are in the workshop module; they share
`carry_back_json` below.
"""

from __future__ import annotations

import base64
import binascii
from typing import Any

from flask import Blueprint, Response, request, url_for
from flask_login import current_user

from dispatch.core.apiutil import api_view, body
from dispatch.core.errors import Invalid
from dispatch.core.i18n import _
from dispatch.core.models import Role
from dispatch.core.pdf import pdf_response
from dispatch.core.security import DESK, MANAGERS, allow
from dispatch.core.timeutil import iso
from dispatch.core.validate import Fields

from .carry_back_documents import receipt_pdf
from .models import CarryBack, CarryBackPhoto
from .return_documents import return_voucher_pdf
from .services import carry_back as carry_backs
from .services import progress
from .services.carry_back import MAX_PHOTO_BYTES, MAX_PHOTOS, ReceiptInput

bp = Blueprint("carry_back_api", __name__, url_prefix="/api/v1")

TAKERS = frozenset({Role.TECHNICIAN}) | MANAGERS  # who takes an item at the site
READERS = frozenset({Role.TECHNICIAN}) | DESK  # technicians their own; the desk all

_PHOTO_ITEM: dict[str, Any] = {
    "oneOf": [{"type": "string", "description": "base64 of a JPEG/PNG/WebP image (a data: URL is accepted)"},
              {"type": "object", "required": ["image_base64"], "properties": {"image_base64": {"type": "string"}}}]}
_SIGNATURE_PROPS: dict[str, Any] = {
    "signer_name": {"type": "string", "maxLength": 200},
    "image_png_base64": {"type": "string", "description": "the customer's signature, a PNG of at most 512 KB"}}

OPENAPI: dict[str, Any] = {"schemas": {
    "CarryBackIn": {"type": "object", "required": ["item", "promised_return_on"], "properties": {
        "item": {"type": "string", "maxLength": 200, "minLength": 1, "pattern": r"\S"}, "model": {"type": "string", "maxLength": 200},
        "serial_number": {"type": "string", "maxLength": 100, "description": "prefilled from the call's equipment"},
        "accessories": {"type": "string"}, "condition": {"type": "string"}, "stated_fault": {"type": "string"},
        "promised_return_on": {"type": "string", "format": "date",
                               "description": "today or later, at most 180 days ahead"},
        "photos": {"type": "array", "maxItems": MAX_PHOTOS, "items": _PHOTO_ITEM,
                   "description": f"optional; each at most {MAX_PHOTO_BYTES // (1024 * 1024)} MB, re-encoded as "
                                  "JPEG with no EXIF; not an image or too large is 422"},
        **{name: {**schema, "description": "optional: the customer signs the receipt in the same request"}
           for name, schema in _SIGNATURE_PROPS.items()}}},
    "CarryBack": {"type": "object", "properties": {
        "id": {"type": "integer"}, "receipt_number": {"type": "string", "example": "CB-2026-000045"},
        "status": {"enum": ["in_workshop", "received", "diagnosing", "waiting_parts", "repaired",
                            "ready_to_return", "returned"]},
        "visit_id": {"type": "integer"}, "call_id": {"type": "integer"}, "item": {"type": "string"},
        "model": {"type": "string"}, "serial_number": {"type": "string"}, "accessories": {"type": "string"},
        "condition": {"type": "string"}, "stated_fault": {"type": "string"},
        "promised_return_on": {"type": "string", "format": "date"},
        "photos": {"type": "array", "items": {"type": "object"}},
        "receipt": {"type": ["object", "null"], "properties": {
            "signer_name": {"type": "string"}, "signed_at": {"type": "string", "format": "date-time"},
            "receipt_sha256": {"type": "string"}}},
        "receipt_pdf_url": {"type": "string"}, "workshop_url": {"type": "string"},
        "return_pdf_url": {"type": ["string", "null"], "description": "the return voucher, once returned"},
        "events": {"type": "array", "items": {"type": "object"}}}},
    "CarryBackPhotosIn": {"type": "object", "required": ["photos"], "properties": {
        "photos": {"type": "array", "minItems": 1, "maxItems": MAX_PHOTOS, "items": _PHOTO_ITEM}},
        "description": "JSON with base64 photos, or multipart/form-data with one or more files in `photos`"},
    "ReceiptSignatureIn": {"type": "object", "required": ["signer_name", "image_png_base64"],
                           "properties": {**_SIGNATURE_PROPS, "signer_name": {
                               **_SIGNATURE_PROPS["signer_name"], "minLength": 1, "pattern": r"\S"}}},
    "ReceiptSignature": {"type": "object", "properties": {
        "id": {"type": "integer"}, "receipt_number": {"type": "string"}, "signer_name": {"type": "string"},
        "signed_at": {"type": "string", "format": "date-time"}, "receipt_sha256": {"type": "string"}}},
}, "bodies": {
    "carry_back_api.take": ("CarryBackIn", "CarryBack"),
    "carry_back_api.carry_back": (None, "CarryBack"),
    "carry_back_api.add_photos": ("CarryBackPhotosIn", "CarryBack"),
    "carry_back_api.receipt_signature": ("ReceiptSignatureIn", "ReceiptSignature"),
}}


# ----------------------------------------------------------------------------- JSON


def photo_url(photo: CarryBackPhoto) -> str:
    return url_for("carry_back_api.photo", carry_back_id=photo.carry_back_id, photo_id=photo.id)


def workshop_path(cb: CarryBack) -> str:
    """The item's workshop page (the QR label on the item opens it)."""
    return f"/t/workshop/{cb.id}"


def carry_back_json(cb: CarryBack) -> dict[str, Any]:
    call = cb.call
    return {
        "id": cb.id, "receipt_number": cb.number, "status": cb.status,
        "visit_id": cb.visit_id, "slip_number": cb.visit.slip_number,
        "call_id": cb.call_id, "call_number": call.number, "call_status": call.status,
        "customer": {"id": call.customer_id, "name": call.customer.name},
        "site": {"id": call.site_id, "address": call.site.address},
        "item": cb.item, "model": cb.model, "serial_number": cb.serial_number,
        "new_serial_number": cb.new_serial_number, "accessories": cb.accessories, "condition": cb.condition,
        "stated_fault": cb.stated_fault, "promised_return_on": cb.promised_return_on.isoformat(),
        "taken_by": {"id": cb.taken_by_id, "name": cb.taken_by.name},
        "assigned_to": {"id": cb.assigned_to_id, "name": cb.assigned_to.name} if cb.assigned_to else None,
        "received_at": iso(cb.received_at),
        "received_by": {"id": cb.received_by_id, "name": cb.received_by.name} if cb.received_by else None,
        "photos": [{"id": p.id, "url": photo_url(p), "width": p.width, "height": p.height, "sha256": p.sha256}
                   for p in cb.photos],
        "receipt": ({"signer_name": cb.receipt_signer_name, "signed_at": iso(cb.receipt_signed_at),
                     "receipt_sha256": cb.receipt_sha256} if cb.receipt_sha256 else None),
        "receipt_pdf_url": url_for("carry_back_api.receipt", carry_back_id=cb.id),
        "return_pdf_url": url_for("carry_back_api.return_voucher", carry_back_id=cb.id) if cb.return_sha256 else None,
        "workshop_url": workshop_path(cb),
        "return_method": cb.return_method, "return_visit_id": cb.return_visit_id,
        "returned_at": iso(cb.returned_at), "return_sha256": cb.return_sha256,
        "created_at": iso(cb.created_at), "updated_at": iso(cb.updated_at),
        "events": [{"kind": e.kind, "from_status": e.from_status, "to_status": e.to_status, "note": e.note,
                    "old_promised_on": e.old_promised_on.isoformat() if e.old_promised_on else None,
                    "new_promised_on": e.new_promised_on.isoformat() if e.new_promised_on else None,
                    "reason": e.reason, "actor": e.actor.name if e.actor else None, "at": iso(e.at)}
                   for e in cb.events],
    }


def receipt_signature_json(cb: CarryBack) -> dict[str, Any]:
    return {"id": cb.id, "receipt_number": cb.number, "signer_name": cb.receipt_signer_name,
            "signed_at": iso(cb.receipt_signed_at), "receipt_sha256": cb.receipt_sha256}


# ----------------------------------------------------------------------------- input


def decode_photo(value: Any) -> bytes:
    """The bytes of one photo sent as base64 (a string, a data: URL, or {"image_base64": ...})."""
    if isinstance(value, dict):
        value = value.get("image_base64")
    if not isinstance(value, str) or not value.strip():
        raise Invalid(_("A photo is empty."), code="not_an_image", fields={"photos": _("empty file")})
    text = value.strip()
    if text.startswith("data:"):
        text = text.partition(",")[2]
    if len(text) > (MAX_PHOTO_BYTES + 2) // 3 * 4 + 4:  # refused before decoding something huge
        raise Invalid(_("A photo is larger than %(mb)d MB.", mb=MAX_PHOTO_BYTES // (1024 * 1024)),
                      code="photo_too_large",
                      fields={"photos": _("at most %(mb)d MB each", mb=MAX_PHOTO_BYTES // (1024 * 1024))})
    try:
        return base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid(_("A photo is not valid base64."), code="not_an_image",
                      fields={"photos": _("not base64")}) from None


def photos_from_json(value: Any) -> list[bytes]:
    if value in (None, ""):
        return []
    if not isinstance(value, list):
        raise Invalid(_("Photos must be a list."), fields={"photos": _("must be a list")})
    if len(value) > MAX_PHOTOS:
        raise Invalid(_("At most %(n)d photos per item (%(have)d already).", n=MAX_PHOTOS, have=0),
                      code="too_many_photos", fields={"photos": _("at most %(n)d", n=MAX_PHOTOS)})
    return [decode_photo(item) for item in value]


def photos_from_files() -> list[bytes]:
    """Uploaded files (multipart `photos`, or `photo`), each read no further than the limit allows."""
    files = [f for f in request.files.getlist("photos") + request.files.getlist("photo") if f and f.filename]
    if len(files) > MAX_PHOTOS:
        raise Invalid(_("At most %(n)d photos per item (%(have)d already).", n=MAX_PHOTOS, have=0),
                      code="too_many_photos", fields={"photos": _("at most %(n)d", n=MAX_PHOTOS)})
    return [f.stream.read(MAX_PHOTO_BYTES + 1) for f in files]


def receipt_input(data: dict[str, Any]) -> ReceiptInput:
    f = Fields(data)
    promised = f.date("promised_return_on")
    # The texts are checked (and trimmed) by the service; here only what JSON may get wrong.
    return ReceiptInput(item=data.get("item"), model=data.get("model") or "",  # type: ignore[arg-type]
                        serial_number=data.get("serial_number") or "", accessories=data.get("accessories") or "",
                        condition=data.get("condition") or "", stated_fault=data.get("stated_fault") or "",
                        promised_return_on=promised, promised_problem=f.errors.get("promised_return_on"))


# ----------------------------------------------------------------------------- endpoints


@bp.post("/visits/<int:visit_id>/carry-back")
@allow(TAKERS)
@api_view
def take(visit_id: int) -> Any:
    """Take the item back to the workshop: the receipt is numbered (CB-YYYY-NNNNNN), the call carried_back."""
    visit = progress.visit_for(visit_id, current_user)
    data = body()
    uploads = photos_from_json(data.get("photos"))
    cb = carry_backs.take(current_user, visit, receipt_input(data))
    if uploads:
        carry_backs.add_photos(current_user, cb, uploads)
    if data.get("image_png_base64") not in (None, "") or data.get("signer_name") not in (None, ""):
        carry_backs.sign_receipt(current_user, cb, signer_name=data.get("signer_name"),
                                image_png_base64=data.get("image_png_base64"))
    return carry_back_json(cb), 201


@bp.get("/carry-backs/<int:carry_back_id>")
@allow(READERS)
@api_view
def carry_back(carry_back_id: int) -> Any:
    """One carry-back: what was taken, its photos, the receipt signature, its status and history."""
    return carry_back_json(carry_back_get(carry_back_id))


def carry_back_get(carry_back_id: int) -> CarryBack:
    return carry_backs.get_carry_back_or_404(carry_back_id, current_user)


@bp.post("/carry-backs/<int:carry_back_id>/photos")
@allow(TAKERS)
@api_view
def add_photos(carry_back_id: int) -> Any:
    """Add photos of the item as taken (multipart `photos`, or JSON base64), before the receipt is signed."""
    cb = carry_back_get(carry_back_id)
    uploads = photos_from_files() if request.files else photos_from_json(body().get("photos"))
    carry_backs.add_photos(current_user, cb, uploads)
    return carry_back_json(cb), 201


@bp.post("/carry-backs/<int:carry_back_id>/receipt-signature")
@allow(TAKERS)
@api_view
def receipt_signature(carry_back_id: int) -> Any:
    """The customer signs the product receipt (the hand-over); its content is sealed by a SHA-256."""
    cb = carry_back_get(carry_back_id)
    data = body()
    result = carry_backs.sign_receipt(current_user, cb, signer_name=data.get("signer_name"),
                                     image_png_base64=data.get("image_png_base64"))
    return receipt_signature_json(result.carry_back), 201 if result.created else 200


receipt_signature.openapi_status = ("201", "200")  # type: ignore[attr-defined]  # 200: the same signature again (openapi.py)


@bp.get("/carry-backs/<int:carry_back_id>/photos/<int:photo_id>.jpg")
@allow(READERS)
@api_view
def photo(carry_back_id: int, photo_id: int) -> Any:
    """One photo of the item (JPEG, no metadata)."""
    cb = carry_back_get(carry_back_id)
    row = carry_backs.get_photo_or_404(cb, photo_id)
    response = Response(row.image, mimetype="image/jpeg")
    response.headers["Cache-Control"] = "private, max-age=86400"
    return response


@bp.get("/carry-backs/<int:carry_back_id>/receipt.pdf")
@allow(READERS)
@api_view
def receipt(carry_back_id: int) -> Any:
    """The customer product receipt (客户商品领取收据) as PDF, with the QR label to stick on the item."""
    cb = carry_back_get(carry_back_id)
    return pdf_response(receipt_pdf(cb), f"{cb.number}.pdf")


@bp.get("/carry-backs/<int:carry_back_id>/return.pdf")
@allow(READERS)
@api_view
def return_voucher(carry_back_id: int) -> Any:
    """The return voucher (送还凭证) as PDF: what the customer signed for when the item came back (409 before)."""
    cb = carry_back_get(carry_back_id)
    return pdf_response(return_voucher_pdf(cb), f"{cb.number}-return.pdf")
