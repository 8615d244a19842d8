"""The rules of work on site: on my way, arrived, complete, customer sign-off, payment, admin time.

Plain functions on explicit arguments; they flush, never commit, and raise domain errors. Money and
parts go through billing's services; call status changes through dispatch.services.set_call_status.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing import services as billing
from billing.models import ChargeLine, Payment
from dispatch.core import audit
from dispatch.core.errors import Conflict, Forbidden, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, Role, User
from dispatch.core.timeutil import local_date_of, local_today, utcnow
from dispatch.models import CallStatus, Channel, RepairCall, Visit, VisitStatus
from dispatch.scheduling import get_visit_or_404
from dispatch.services import create_call, set_call_status

from .models import (
    ACTIVITY_LABELS,
    AdminActivity,
    AdminWork,
    Outcome,
    Signature,
    VisitEvent,
    VisitEventKind,
    WorkRecord,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MAX_SIGNATURE_BYTES = 512 * 1024
MAX_SUMMARY = 5000
MAX_LABOR_MINUTES = 24 * 60
MAX_PART_QUANTITY = Decimal("999")
MAX_PARTS = 50
ON_SITE_ROLES = frozenset({Role.TECHNICIAN, Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class PartUse:
    sku: str
    quantity: Decimal


# ----------------------------------------------------------------------------- lookups


def events(visit: Visit) -> list[VisitEvent]:
    return list(db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)
                                   .order_by(VisitEvent.at, VisitEvent.id)))


def event_time(visit: Visit, kind: str) -> datetime | None:
    return db.session.scalar(select(VisitEvent.at).where(VisitEvent.visit_id == visit.id, VisitEvent.kind == kind)
                             .order_by(VisitEvent.at.desc()).limit(1))


def work_record(visit: Visit) -> WorkRecord | None:
    return db.session.scalar(select(WorkRecord).where(WorkRecord.visit_id == visit.id))


def signature(visit: Visit) -> Signature | None:
    return db.session.scalar(select(Signature).where(Signature.visit_id == visit.id))


def visit_parts(visit: Visit) -> list[ChargeLine]:
    """The parts recorded on this visit (live charge lines)."""
    return [line for line in billing.visit_lines(visit) if line.kind == "part"]


def visit_payments(visit: Visit) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.visit_id == visit.id).order_by(Payment.id)))


def suggested_labor_minutes(visit: Visit, now: datetime | None = None) -> int:
    """From arrival to now, rounded up to whole minutes (what the visit page prefills)."""
    arrived = event_time(visit, VisitEventKind.ARRIVED)
    if arrived is None:
        return 0
    seconds = ((now or utcnow()) - arrived).total_seconds()
    return max(0, min(MAX_LABOR_MINUTES, int(-(-seconds // 60))))


def earlier_visits(visit: Visit, limit: int = 10) -> list[Visit]:
    """The equipment's earlier visits (or the site's, when the call names no equipment)."""
    call = visit.call
    stmt = select(Visit).join(RepairCall, Visit.call_id == RepairCall.id).where(
        Visit.id != visit.id, Visit.start < visit.start, Visit.status != VisitStatus.CANCELLED)
    if call.equipment_id is not None:
        stmt = stmt.where(RepairCall.equipment_id == call.equipment_id)
    else:
        stmt = stmt.where(RepairCall.site_id == call.site_id)
    return list(db.session.scalars(stmt.order_by(Visit.start.desc()).limit(limit)))


def technician_visits(technician: User, start: datetime, end: datetime) -> list[Visit]:
    """The technician's visits in [start, end): live ones in time order, cancelled ones left out."""
    return list(db.session.scalars(select(Visit).where(
        Visit.technician_id == technician.id, Visit.start < end, Visit.end > start,
        Visit.status != VisitStatus.CANCELLED).order_by(Visit.start)))


def next_visit(visits: list[Visit]) -> Visit | None:
    """The one to put on top: the first that is not yet completed."""
    return next((v for v in visits if v.status != VisitStatus.COMPLETED), None)


# ----------------------------------------------------------------------------- state checks


def visit_for(visit_id: int, user: User) -> Visit:
    """The visit the user may act on (404 for anyone else's). A visit the dispatcher has meanwhile given
    to another technician is a 409 for the one who had it, so a queued offline action says why it failed."""
    try:
        return get_visit_or_404(visit_id, user)
    except NotFound:
        if user.role == Role.TECHNICIAN and _was_assigned_to(visit_id, user):
            raise Conflict("The dispatcher gave this visit to another technician; it is no longer yours.",
                           code="visit_reassigned") from None
        raise


def _was_assigned_to(visit_id: int, user: User) -> bool:
    moves = db.session.scalars(select(AuditEvent.before).where(
        AuditEvent.entity_type == "visits", AuditEvent.entity_id == visit_id,
        AuditEvent.action == "visit.rescheduled"))
    return any(isinstance(before, dict) and before.get("technician_id") == user.id for before in moves)


def _check_actor(actor: User, visit: Visit) -> None:
    if actor.role not in ON_SITE_ROLES:
        raise Forbidden("Only the visit's technician or a manager may record work on site.")


def _check_live(visit: Visit) -> None:
    if visit.status == VisitStatus.CANCELLED:
        reason = f": {visit.cancel_reason}" if visit.cancel_reason else ""
        raise Conflict(f"The dispatcher cancelled visit {visit.slip_number}{reason}.", code="visit_cancelled")


def _check_not_signed(visit: Visit) -> None:
    record = work_record(visit)
    if record is not None and record.sealed_at is not None:
        raise Conflict(f"Visit {visit.slip_number} is signed off by the customer; its record can no longer change.",
                       code="already_signed")


def _event(actor: User, visit: Visit, kind: str, at: datetime | None = None) -> VisitEvent:
    event = VisitEvent(visit=visit, kind=kind, at=at or utcnow(), actor_id=actor.id)
    db.session.add(event)
    return event


def _set_visit_status(actor: User, visit: Visit, status: str, action: str) -> None:
    before = visit.status
    visit.status = status
    audit.record(actor, visit, action, before={"status": before}, after={"status": status})


# ----------------------------------------------------------------------------- on my way, arrived


def on_my_way(actor: User, visit: Visit) -> Visit:
    _check_actor(actor, visit)
    _check_live(visit)
    if visit.status == VisitStatus.ON_THE_WAY:
        return visit  # a resend: nothing to do
    if visit.status != VisitStatus.SCHEDULED:
        raise Conflict(f"Visit {visit.slip_number} is already {visit.status.replace('_', ' ')}.",
                       code="visit_not_scheduled")
    _set_visit_status(actor, visit, VisitStatus.ON_THE_WAY, "visit.on_my_way")
    _event(actor, visit, VisitEventKind.ON_MY_WAY)
    return visit


def arrive(actor: User, visit: Visit) -> Visit:
    _check_actor(actor, visit)
    _check_live(visit)
    if visit.status == VisitStatus.ON_SITE:
        return visit
    if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(f"Visit {visit.slip_number} is already {visit.status.replace('_', ' ')}.",
                       code="visit_not_open")
    _set_visit_status(actor, visit, VisitStatus.ON_SITE, "visit.arrived")
    _event(actor, visit, VisitEventKind.ARRIVED)
    call = visit.call
    if call.status in (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED):
        set_call_status(actor, call, CallStatus.IN_PROGRESS, reason=f"technician arrived ({visit.slip_number})")
    return visit


# ----------------------------------------------------------------------------- complete


def parse_parts(raw: Any) -> list[PartUse]:
    """[{"sku", "quantity"}] -> merged PartUse list. Rows with an empty sku (blank form rows) are skipped.
    Quantities may have up to three decimals (refrigerant by the kg); a missing quantity is 1."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid('parts must be a list like [{"sku": "FLT-01", "quantity": 2}].', fields={"parts": "must be a list"})
    merged: dict[str, Decimal] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Invalid(f"Part {i + 1} must be an object with sku and quantity.", fields={"parts": f"row {i + 1}"})
        sku = item.get("sku")
        if sku is None or (isinstance(sku, str) and not sku.strip()):
            continue
        if not isinstance(sku, str) or len(sku.strip()) > 60:
            raise Invalid(f"Part {i + 1}: sku must be short text.", fields={"parts": f"row {i + 1}: bad sku"})
        key = sku.strip().upper()
        errors: dict[str, str] = {}
        raw_qty = item.get("quantity")
        quantity = billing.parse_decimal(1 if raw_qty in (None, "") else raw_qty, "quantity", errors, places=3,
                                         maximum=MAX_PART_QUANTITY, positive=True)
        if quantity is None:
            problem = errors.get("quantity", "is wrong")
            raise Invalid(f"Part {key}: quantity {problem}.", fields={"parts": f"{key}: quantity {problem}"})
        merged[key] = merged.get(key, Decimal(0)) + quantity
    if len(merged) > MAX_PARTS:
        raise Invalid(f"At most {MAX_PARTS} different parts per visit.", fields={"parts": "too many"})
    return [PartUse(sku, qty) for sku, qty in merged.items()]


def as_int(value: Any) -> int | None:
    """A whole number from JSON or a form: 45 or "45" (not 4.5, not true)."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    return None


def complete(actor: User, visit: Visit, *, work_summary: str, labor_minutes: int, parts: list[PartUse],
             outcome: str) -> WorkRecord:
    """Record the work, the labor and the parts (as charge lines), and move the call on by outcome.

    Completing again before the customer signs corrects the record; after sign-off it is 409."""
    _check_actor(actor, visit)
    _check_live(visit)
    errors: dict[str, str] = {}
    summary = (work_summary or "").strip()
    if not summary:
        errors["work_summary"] = "required"
    elif len(summary) > MAX_SUMMARY:
        errors["work_summary"] = f"at most {MAX_SUMMARY} characters"
    if not 0 <= labor_minutes <= MAX_LABOR_MINUTES:
        errors["labor_minutes"] = f"from 0 to {MAX_LABOR_MINUTES}"
    if outcome not in {o.value for o in Outcome}:
        errors["outcome"] = "one of: fixed, carry_back, follow_up"
    if errors:
        raise Invalid("The work cannot be recorded: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    if visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(f"Tap Arrived on visit {visit.slip_number} before completing it.", code="not_on_site")
    record = _lock_record(visit)
    if record is not None and record.sealed_at is not None:
        _check_not_signed(visit)
    call = visit.call
    billing.record_work(actor, call, visit, labor_minutes=labor_minutes,
                        parts=[(p.sku, p.quantity) for p in parts])
    now = utcnow()
    before = audit.snapshot(record, "work_summary", "labor_minutes", "outcome") if record else None
    if record is None:
        record = WorkRecord(visit=visit, call=call, work_summary=summary, labor_minutes=labor_minutes,
                            outcome=outcome, completed_at=now, completed_by_id=actor.id)
        db.session.add(record)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            raise Conflict(f"Visit {visit.slip_number} was completed at the same moment from another device; "
                           "reload to see it.", code="already_completed") from None
    else:
        record.work_summary, record.labor_minutes, record.outcome = summary, labor_minutes, outcome
        record.completed_at, record.completed_by_id = now, actor.id
    audit.record(actor, record, "work.recorded" if before is None else "work.corrected", before=before,
                 after={**audit.snapshot(record, "work_summary", "labor_minutes", "outcome"),
                        "parts": [[p.sku, str(p.quantity)] for p in parts]})
    if visit.status != VisitStatus.COMPLETED:
        _set_visit_status(actor, visit, VisitStatus.COMPLETED, "visit.completed")
    _event(actor, visit, VisitEventKind.COMPLETED, at=now)
    if outcome == Outcome.FOLLOW_UP and record.follow_up_call_id is None:
        follow = create_call(
            actor, customer=call.customer, site=call.site, equipment=call.equipment,
            channel=call.channel if call.channel in {c.value for c in Channel} else Channel.PHONE,
            problem_type=call.problem_type, priority=call.priority,
            description=f"Follow-up of {call.number} (visit {visit.slip_number}): {summary}"[:5000],
            on_site=True, required_skill=call.required_skill, parent_call=call)
        db.session.flush()
        record.follow_up_call_id = follow.id
    target = CallStatus.CARRIED_BACK if outcome == Outcome.CARRY_BACK else CallStatus.COMPLETED
    if call.status not in (CallStatus.CLOSED, CallStatus.CANCELLED):
        set_call_status(actor, call, target, reason=f"visit {visit.slip_number}: {outcome.replace('_', ' ')}")
    return record


def _lock_record(visit: Visit) -> WorkRecord | None:
    """The work record, row-locked on PostgreSQL so a sign-off and a correction cannot interleave
    (SQLite already holds the write lock for the whole request)."""
    return db.session.scalar(select(WorkRecord).where(WorkRecord.visit_id == visit.id).with_for_update())


# ----------------------------------------------------------------------------- sign-off


def decode_png(image_png_base64: Any) -> bytes:
    """The PNG bytes of a base64 string (a data: URL prefix is allowed); 422 unless it is a PNG <= 512 KB."""
    if not isinstance(image_png_base64, str) or not image_png_base64.strip():
        raise Invalid("Send the signature as a base64 PNG.", fields={"image_png_base64": "required"})
    text = image_png_base64.strip()
    if text.startswith("data:"):
        header, _, text = text.partition(",")
        if "base64" not in header:
            raise Invalid("The signature must be base64 encoded.", code="not_png",
                          fields={"image_png_base64": "not base64"})
    # A quick refusal before decoding something huge: base64 is 4 characters per 3 bytes.
    if len(text) > (MAX_SIGNATURE_BYTES + 2) // 3 * 4 + 4:
        raise Invalid("The signature image is larger than 512 KB.", code="signature_too_large",
                      fields={"image_png_base64": "at most 512 KB"})
    try:
        data = base64.b64decode("".join(text.split()), validate=True)
    except (binascii.Error, ValueError):
        raise Invalid("The signature is not valid base64.", code="not_png",
                      fields={"image_png_base64": "not base64"}) from None
    if len(data) > MAX_SIGNATURE_BYTES:
        raise Invalid("The signature image is larger than 512 KB.", code="signature_too_large",
                      fields={"image_png_base64": "at most 512 KB"})
    if not data.startswith(PNG_MAGIC):
        raise Invalid("The signature must be a PNG image.", code="not_png", fields={"image_png_base64": "not a PNG"})
    return data


def _plain_amount(value: Decimal | None) -> str | None:
    return None if value is None else f"{value:.2f}"


def quantity_text(value: Any) -> str:
    q = Decimal(str(value))
    return str(q.quantize(Decimal(1))) if q == q.to_integral_value() else str(q.normalize())


def signed_content(visit: Visit, record: WorkRecord, signer_name: str) -> dict[str, Any]:
    """What the customer signs: the work, labor, parts and amounts, and who signs. Hashed as canonical JSON."""
    call = visit.call
    sheet = billing.charges_for_call(call)
    return {
        "slip_number": visit.slip_number,
        "call_number": call.number,
        "customer": call.customer.name,
        "work_summary": record.work_summary,
        "labor_minutes": record.labor_minutes,
        "outcome": record.outcome,
        "parts": [{"sku": line.sku, "description": line.description, "quantity": quantity_text(line.quantity)}
                  for line in visit_parts(visit)],
        "lines": [{"kind": line.kind, "description": line.description, "sku": line.sku,
                   "quantity": quantity_text(line.quantity), "unit_price": _plain_amount(line.unit_price),
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
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignOff:
    signature: Signature
    created: bool  # False: the same signature was already there (a resend), nothing changed


def sign(actor: User, visit: Visit, *, signer_name: str, image_png_base64: Any,
         technician_confirmed: bool = True) -> SignOff:
    """Seal the work record with the customer's signature. One signature per visit: a different second
    one is 409; the very same one again (a resend without its Idempotency-Key) answers the first."""
    _check_actor(actor, visit)
    _check_live(visit)
    name = (signer_name or "").strip() if isinstance(signer_name, str) else ""
    errors = {}
    if not name:
        errors["signer_name"] = "required"
    elif len(name) > 200:
        errors["signer_name"] = "at most 200 characters"
    if not technician_confirmed:
        errors["technician_confirmed"] = "the technician must confirm the work record"
    if errors:
        raise Invalid("The sign-off is incomplete: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    image = decode_png(image_png_base64)
    image_sha = hashlib.sha256(image).hexdigest()
    record = _lock_record(visit)
    if record is None or visit.status != VisitStatus.COMPLETED:
        raise Conflict(f"Complete visit {visit.slip_number} before the customer signs.", code="not_completed")
    existing = signature(visit)
    if existing is not None:
        return _same_or_conflict(existing, name, image_sha, visit)
    text = canonical_json(signed_content(visit, record, name))
    now = utcnow()
    sig = Signature(visit=visit, signer_name=name, image_png=image, image_sha256=image_sha, signed_content=text,
                    content_sha256=content_hash(text), signed_at=now, technician_id=actor.id,
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
        return _same_or_conflict(existing, name, image_sha, visit)
    record.sealed_at = now
    billing.lock_call_charges(visit.call, visit)
    _event(actor, visit, VisitEventKind.SIGNED, at=now)
    audit.record(actor, sig, "visit.signed", after={"visit_id": visit.id, "signer_name": name,
                                                     "content_sha256": sig.content_sha256})
    return SignOff(sig, True)


def _same_or_conflict(existing: Signature, name: str, image_sha: str, visit: Visit) -> SignOff:
    if existing.signer_name == name and existing.image_sha256 == image_sha:
        return SignOff(existing, False)
    raise Conflict(f"Visit {visit.slip_number} is already signed by {existing.signer_name}.",
                   code="already_signed")


def verify(sig: Signature) -> bool:
    """The stored content still hashes to the stored hash."""
    return content_hash(sig.signed_content) == sig.content_sha256


# ----------------------------------------------------------------------------- payment


def take_payment(actor: User, visit: Visit, *, amount: Any, method: Any) -> Payment:
    """Money collected on the spot for charged work; billing checks the amount against what is due."""
    _check_actor(actor, visit)
    _check_live(visit)
    if work_record(visit) is None:
        raise Conflict(f"Complete visit {visit.slip_number} before taking a payment.", code="not_completed")
    return billing.record_onsite_payment(actor, visit.call, visit, amount=amount, method=method)


# ----------------------------------------------------------------------------- admin time (category D)


def log_admin_work(actor: User, *, technician: User | None, day: date, activity: str, minutes: int,
                   notes: str | None = None) -> AdminWork:
    """Technicians log their own time; a manager (or admin) may log it for a technician."""
    if technician is None:
        technician = actor
    if actor.role == Role.TECHNICIAN and technician.id != actor.id:
        raise Forbidden("Technicians log their own admin time only.", code="not_your_time")
    if actor.role not in (Role.TECHNICIAN, Role.MANAGER, Role.ADMIN):
        raise Forbidden("Your role may not log admin time.")
    errors = {}
    if technician.role != Role.TECHNICIAN:
        errors["technician_id"] = "not a technician"
    if activity not in {a.value for a in AdminActivity}:
        errors["activity"] = "one of: " + ", ".join(a.value for a in AdminActivity)
    if not 1 <= minutes <= MAX_LABOR_MINUTES:
        errors["minutes"] = f"from 1 to {MAX_LABOR_MINUTES}"
    if day > local_today() + timedelta(days=1):
        errors["date"] = "cannot be in the future"
    if notes is not None and len(notes) > 2000:
        errors["notes"] = "at most 2000 characters"
    if errors:
        raise Invalid("The admin time cannot be logged: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    entry = AdminWork(technician=technician, date=day, activity=activity, minutes=minutes,
                      notes=(notes or "").strip(), logged_by_id=actor.id)
    db.session.add(entry)
    audit.record(actor, entry, "admin_work.logged", after={
        "technician_id": technician.id, "date": day, "activity": activity, "minutes": minutes})
    return entry


def admin_work_for(technician: User, since: date) -> list[AdminWork]:
    return list(db.session.scalars(select(AdminWork).where(
        AdminWork.technician_id == technician.id, AdminWork.date >= since)
        .order_by(AdminWork.date.desc(), AdminWork.id.desc())))


def admin_minutes_by_activity(entries: list[AdminWork]) -> dict[str, int]:
    totals: dict[str, int] = {}
    for e in entries:
        totals[ACTIVITY_LABELS.get(e.activity, e.activity)] = totals.get(
            ACTIVITY_LABELS.get(e.activity, e.activity), 0) + e.minutes
    return totals


def visit_day(visit: Visit) -> date:
    return local_date_of(visit.start)
