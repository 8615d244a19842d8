"""Carry-back repairs at the customer's site (携回修护): the technician takes the item, records what was
taken and how it looked (photos), promises a return date, and the customer signs the product receipt
(客户商品领取收据). The receipt is numbered CB-YYYY-NNNNNN (gapless per year) when it reaches the server and
sealed, like the voucher, by the SHA-256 of the canonical content the customer signed.

The workshop's part (receiving, statuses, the return) lives in `workshop.py`; both share the loader
`get_carry_back_or_404` and the history (`add_event`) here.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError

from dispatch.core import audit
from dispatch.core.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _, _l, label
from dispatch.core.models import Role, User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import CallStatus, Visit, VisitStatus
from dispatch.services.calls import set_call_status

from ..evidence import HASH_KEYED, matches
from ..models import CarryBack, CarryBackEvent, CarryBackEventKind, CarryBackPhoto, CarryBackStatus, Outcome
from . import FIELD_LABELS
from .progress import check_actor, check_live
from .signoff import canonical_json, content_hash, decode_png
from .work import work_record

MAX_PHOTOS = 6
MAX_PHOTO_BYTES = 5 * 1024 * 1024  # one upload, before re-encoding
MAX_PHOTO_SIDE = 1600  # px, the longer side after re-encoding
MAX_PHOTO_PIXELS = 50_000_000  # what is decoded at all: a "decompression bomb" is refused from its header
JPEG_QUALITY = 82
MAX_PROMISE_DAYS = 180  # a promised return further out than this is a typing mistake
MAX_TEXT = 2000
DESK_READERS = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER})

# What the receipt's fields are called for people (the API's `fields` keep these JSON names).
RECEIPT_FIELD_LABELS = {
    "item": _l("Item"), "model": _l("Model"), "serial_number": _l("Serial number"),
    "accessories": _l("Accessories taken"), "condition": _l("Visible condition"),
    "stated_fault": _l("Fault as the customer states it"), "promised_return_on": _l("Promised return date"),
    "photos": _l("Photos"), "signer_name": _l("Customer's name"), "image_png_base64": _l("Customer's signature"),
}


def _problems(message: str, errors: dict[str, str]) -> str:
    """One message with every problem, the fields named as the form names them."""
    listed = "; ".join(_("%(field)s: %(problem)s", field=RECEIPT_FIELD_LABELS.get(name) or FIELD_LABELS.get(name, name),
                         problem=problem) for name, problem in errors.items())
    return _("%(message)s %(problems)s.", message=message, problems=listed) if listed else message


# ----------------------------------------------------------------------------- lookups


def get_carry_back_or_404(carry_back_id: int, user: User) -> CarryBack:
    """A carry-back the user may see: the desk (admin, manager, dispatcher) every one; a technician those
    of their own visits and those assigned to them in the workshop (404 for anyone else's)."""
    cb = db.session.get(CarryBack, carry_back_id)
    if cb is None or not may_see(user, cb):
        raise NotFound(_("There is no carry-back %(id)s.", id=carry_back_id))
    return cb


def may_see(user: User, cb: CarryBack) -> bool:
    if user.role in DESK_READERS:
        return True
    if user.role == Role.TECHNICIAN:
        return user.id in (cb.taken_by_id, cb.assigned_to_id) or cb.visit.technician_id == user.id or \
            db.session.scalar(select(CarryBack.id).where(CarryBack.id == cb.id, visible_to(user))) is not None
    return False


def visible_to(user: User) -> Any:
    """The SQL condition of the carry-backs `user` may see (for lists)."""
    if user.role in DESK_READERS:
        return CarryBack.id.is_not(None)
    if user.role == Role.TECHNICIAN:
        own_visits = select(Visit.id).where(Visit.technician_id == user.id)
        # ... and the items they bring back to the customer on a return visit (workshop.py).
        return_calls = select(Visit.call_id).where(Visit.technician_id == user.id, Visit.kind == "return",
                                                   Visit.status != VisitStatus.CANCELLED)
        return or_(CarryBack.taken_by_id == user.id, CarryBack.assigned_to_id == user.id,
                   CarryBack.visit_id.in_(own_visits), CarryBack.call_id.in_(return_calls))
    return CarryBack.id.is_(None)


def carry_back_for_visit(visit: Visit) -> CarryBack | None:
    return db.session.scalar(select(CarryBack).where(CarryBack.visit_id == visit.id))


def get_photo_or_404(cb: CarryBack, photo_id: int) -> CarryBackPhoto:
    photo = db.session.get(CarryBackPhoto, photo_id)
    if photo is None or photo.carry_back_id != cb.id:
        raise NotFound(_("There is no photo %(id)s on this carry-back.", id=photo_id))
    return photo


def add_event(actor: User | None, cb: CarryBack, kind: str, *, from_status: str | None = None,
              to_status: str | None = None, note: str = "", old_promised_on: date | None = None,
              new_promised_on: date | None = None, reason: str | None = None) -> CarryBackEvent:
    """One line of the item's history (the customer's service file shows them all)."""
    event = CarryBackEvent(carry_back=cb, kind=kind, from_status=from_status, to_status=to_status, note=note,
                           old_promised_on=old_promised_on, new_promised_on=new_promised_on, reason=reason,
                           actor_id=actor.id if actor else None, at=utcnow())
    db.session.add(event)
    return event


def prefill(visit: Visit) -> dict[str, str]:
    """What the receipt form starts with: the call's equipment and the fault the customer reported."""
    call = visit.call
    equipment = call.equipment
    return {"item": call.problem_type if equipment is None else (equipment.model or ""),
            "model": equipment.model if equipment else "",
            "serial_number": equipment.serial_number if equipment else "",
            "stated_fault": call.description or ""}


def default_promise(today: date | None = None) -> date:
    """A week from today: what the form proposes until the technician says otherwise."""
    return (today or local_today()) + timedelta(days=7)


# ----------------------------------------------------------------------------- taking the item


@dataclass(frozen=True)
class ReceiptInput:
    item: str
    model: str = ""
    serial_number: str = ""
    accessories: str = ""
    condition: str = ""
    stated_fault: str = ""
    promised_return_on: date | None = None
    promised_problem: str | None = None  # why the date given could not be read ("not a date")


def _clean(value: Any, name: str, errors: dict[str, str], *, required: bool = False, max_length: int = MAX_TEXT) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors[name] = _("must be text")
        return ""
    value = value.strip()
    if "\x00" in value:
        errors[name] = _("must not contain NUL characters")
    elif required and not value:
        errors[name] = _("required")
    elif len(value) > max_length:
        errors[name] = _("at most %(n)d characters", n=max_length)
    return value


def check_receipt(data: ReceiptInput, today: date | None = None) -> ReceiptInput:
    """The receipt's fields, trimmed; every problem in one 422."""
    errors: dict[str, str] = {}
    item = _clean(data.item, "item", errors, required=True, max_length=200)
    model = _clean(data.model, "model", errors, max_length=200)
    serial = _clean(data.serial_number, "serial_number", errors, max_length=100)
    accessories = _clean(data.accessories, "accessories", errors)
    condition = _clean(data.condition, "condition", errors)
    fault = _clean(data.stated_fault, "stated_fault", errors)
    today = today or local_today()
    promised = data.promised_return_on
    if promised is None:
        errors["promised_return_on"] = data.promised_problem or _("required")
    elif promised < today:
        errors["promised_return_on"] = _("today or later")
    elif promised > today + timedelta(days=MAX_PROMISE_DAYS):
        errors["promised_return_on"] = _("at most %(n)d days from today", n=MAX_PROMISE_DAYS)
    if errors:
        raise Invalid(_problems(_("The customer's receipt is incomplete."), errors), fields=errors)
    return ReceiptInput(item=item, model=model, serial_number=serial, accessories=accessories,
                        condition=condition, stated_fault=fault, promised_return_on=promised)


def take(actor: User, visit: Visit, data: ReceiptInput) -> CarryBack:
    """The technician takes the item: the receipt is numbered and the call becomes carried_back.

    One carry-back per visit: a second is 409 `already_carried_back` (the unique visit_id holds it in the
    database too). The number is taken after every check, in this transaction, so a refusal or a
    rollback never leaves a gap in the year's series."""
    check_actor(actor, visit)
    check_live(visit)
    clean = check_receipt(data)
    if visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(_("Tap Arrived on visit %(slip)s before taking the item.", slip=visit.slip_number),
                       code="not_on_site")
    # Row-lock the visit (PostgreSQL): two phones taking the same item queue here, not at the number.
    db.session.execute(select(Visit.id).where(Visit.id == visit.id).with_for_update())
    existing = carry_back_for_visit(visit)
    if existing is not None:
        raise Conflict(_("The item of visit %(slip)s was already taken back: receipt %(number)s.",
                         slip=visit.slip_number, number=existing.number), code="already_carried_back")
    record = work_record(visit)
    if record is not None and record.outcome != Outcome.CARRY_BACK:
        raise Conflict(_("The work record of visit %(slip)s says the outcome is not a carry-back; correct the "
                         "outcome first.", slip=visit.slip_number), code="outcome_not_carry_back")
    call = visit.call
    if call.status in (CallStatus.CLOSED, CallStatus.CANCELLED, CallStatus.COMPLETED):
        raise Conflict(_("Call %(number)s is already %(status)s; nothing can be taken back on it.",
                         number=call.number, status=label(call.status, "call_status")), code="call_not_open")
    now = utcnow()
    cb = CarryBack(visit=visit, call=call, item=clean.item, model=clean.model, serial_number=clean.serial_number,
                   accessories=clean.accessories, condition=clean.condition, stated_fault=clean.stated_fault,
                   promised_return_on=clean.promised_return_on, status=CarryBackStatus.IN_WORKSHOP,
                   taken_by_id=visit.technician_id, created_at=now, updated_at=now,
                   number=next_number("carry", now.astimezone(local_tz()).year))
    db.session.add(cb)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        # Taken from another device in the same instant (SQLite has no row lock; the unique visit_id
        # has the last word). The request edge rolls back, the number with it.
        raise Conflict(_("The item of visit %(slip)s was taken back from another device at the same moment.",
                         slip=visit.slip_number), code="already_carried_back") from None
    add_event(actor, cb, CarryBackEventKind.STATUS, to_status=CarryBackStatus.IN_WORKSHOP,
              new_promised_on=cb.promised_return_on)
    audit.record(actor, cb, "carry_back.taken", after={
        **audit.snapshot(cb, "number", "visit_id", "call_id", "item", "model", "serial_number", "status"),
        "promised_return_on": cb.promised_return_on.isoformat()})
    set_call_status(actor, call, CallStatus.CARRIED_BACK,
                    reason=_("item taken back to the workshop: receipt %(number)s", number=cb.number))
    return cb


# ----------------------------------------------------------------------------- photos


@dataclass(frozen=True)
class Photo:
    jpeg: bytes
    width: int
    height: int


def reencode(data: bytes) -> Photo:
    """A photo as stored: decoded by Pillow (anything that is not an image is 422), turned upright by its
    EXIF orientation, shrunk to MAX_PHOTO_SIDE, and written as a fresh JPEG with no metadata at all (no
    EXIF, no GPS position, no camera serial)."""
    from PIL import Image, ImageOps, UnidentifiedImageError

    if len(data) > MAX_PHOTO_BYTES:
        raise Invalid(_("A photo is larger than %(mb)d MB.", mb=MAX_PHOTO_BYTES // (1024 * 1024)),
                      code="photo_too_large", fields={"photos": _("at most %(mb)d MB each",
                                                                   mb=MAX_PHOTO_BYTES // (1024 * 1024))})
    if not data:
        raise Invalid(_("A photo is empty."), code="not_an_image", fields={"photos": _("empty file")})
    unreadable = Invalid(_("A photo is not an image the server can read (JPEG, PNG, WebP, HEIF taken as JPEG)."),
                         code="not_an_image", fields={"photos": _("not an image")})
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:  # reads the header only
                if probe.width * probe.height > MAX_PHOTO_PIXELS:
                    raise unreadable
                probe.verify()  # a truncated or forged file fails here
            opened = Image.open(io.BytesIO(data))
            opened.load()
            image: Image.Image = ImageOps.exif_transpose(opened) or opened
            if image.mode not in ("RGB", "L"):
                background = Image.new("RGB", image.size, "white")
                rgba = image.convert("RGBA")
                background.paste(rgba, mask=rgba.getchannel("A"))
                image = background
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning,
            OSError, SyntaxError, ValueError):
        raise unreadable from None
    image.thumbnail((MAX_PHOTO_SIDE, MAX_PHOTO_SIDE))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)  # no exif=, no icc: nothing carried over
    return Photo(out.getvalue(), image.width, image.height)


def photo_count(cb: CarryBack) -> int:
    return len(cb.photos)


def add_photos(actor: User, cb: CarryBack, uploads: list[bytes]) -> list[CarryBackPhoto]:
    """Photos of the item as taken (at most MAX_PHOTOS in all). Not before the receipt is signed: what the
    customer signed includes the photos."""
    _check_taker(actor, cb)
    if cb.receipt_sha256 is not None:
        raise Conflict(_("Receipt %(number)s is signed; its photos can no longer change.", number=cb.number),
                       code="receipt_signed")
    if not uploads:
        raise Invalid(_("Choose at least one photo."), fields={"photos": _("required")})
    if photo_count(cb) + len(uploads) > MAX_PHOTOS:
        raise Invalid(_("At most %(n)d photos per item (%(have)d already).", n=MAX_PHOTOS, have=photo_count(cb)),
                      code="too_many_photos", fields={"photos": _("at most %(n)d", n=MAX_PHOTOS)})
    encoded = [reencode(data) for data in uploads]  # all checked before any is kept
    added = []
    for photo in encoded:
        row = CarryBackPhoto(carry_back=cb, image=photo.jpeg, content_type="image/jpeg", width=photo.width,
                             height=photo.height, sha256=hashlib.sha256(photo.jpeg).hexdigest(),
                             uploaded_by_id=actor.id, created_at=utcnow())
        db.session.add(row)
        added.append(row)
    db.session.flush()
    audit.record(actor, cb, "carry_back.photos", after={"added": [p.sha256 for p in added],
                                                        "count": photo_count(cb)})
    return added


def _check_taker(actor: User, cb: CarryBack) -> None:
    if actor.role not in (Role.TECHNICIAN, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only the visit's technician or a manager may record what was taken."))
    if actor.role == Role.TECHNICIAN and actor.id != cb.visit.technician_id:
        raise NotFound(_("There is no carry-back %(id)s.", id=cb.id))


# ----------------------------------------------------------------------------- the customer's signature


def receipt_content(cb: CarryBack, signer_name: str) -> dict[str, Any]:
    """What the customer signs on the receipt; hashed as canonical JSON (the photos by their SHA-256)."""
    call = cb.call
    return {
        "receipt_number": cb.number,
        "call_number": call.number,
        "slip_number": cb.visit.slip_number,
        "customer": call.customer.name,
        "site": call.site.address,
        "item": cb.item,
        "model": cb.model,
        "serial_number": cb.serial_number,
        "accessories": cb.accessories,
        "condition": cb.condition,
        "stated_fault": cb.stated_fault,
        "promised_return_on": cb.promised_return_on.isoformat(),
        "photos": [p.sha256 for p in cb.photos],
        "technician": cb.taken_by.name,
        "taken_at": cb.created_at.isoformat(),
        "signer_name": signer_name,
    }


@dataclass(frozen=True)
class ReceiptSigned:
    carry_back: CarryBack
    created: bool  # False: the same signature was there already (a resend)


def sign_receipt(actor: User, cb: CarryBack, *, signer_name: Any, image_png_base64: Any) -> ReceiptSigned:
    """The customer signs the receipt for the hand-over. One signature: a different second one is 409,
    the very same one again answers the first."""
    _check_taker(actor, cb)
    name = signer_name.strip() if isinstance(signer_name, str) else ""
    errors = {}
    if not name:
        errors["signer_name"] = _("required")
    elif len(name) > 200:
        errors["signer_name"] = _("at most %(n)d characters", n=200)
    if errors:
        raise Invalid(_problems(_("The receipt signature is incomplete."), errors), fields=errors)
    image = decode_png(image_png_base64)
    # Row-lock the carry-back (PostgreSQL) so two devices cannot both sign it.
    db.session.execute(select(CarryBack.id).where(CarryBack.id == cb.id).with_for_update())
    db.session.refresh(cb)
    if cb.receipt_sha256 is not None:
        if cb.receipt_signer_name == name and cb.receipt_signature_png == image:
            return ReceiptSigned(cb, False)
        raise Conflict(_("Receipt %(number)s is already signed by %(name)s.", number=cb.number,
                         name=cb.receipt_signer_name), code="already_signed")
    text = canonical_json(receipt_content(cb, name))
    cb.receipt_signer_name = name
    cb.receipt_signature_png = image
    cb.receipt_signed_at = utcnow()
    cb.receipt_signed_content = text
    cb.receipt_sha256, cb.receipt_hash_scheme = content_hash(text), HASH_KEYED
    add_event(actor, cb, CarryBackEventKind.NOTE, note=_("Receipt signed by %(name)s", name=name))
    audit.record(actor, cb, "carry_back.receipt_signed", after={"signer_name": name,
                                                                "receipt_sha256": cb.receipt_sha256})
    return ReceiptSigned(cb, True)


def receipt_intact(cb: CarryBack) -> bool:
    """Whether the stored receipt content still hashes to the sealed value."""
    return bool(cb.receipt_signed_content) and matches(cb.receipt_hash_scheme, cb.receipt_signed_content,
                                                       cb.receipt_sha256)

