"""Repair calls from intake to closure: category, status, notes, the customer's feedback, the lists of calls.
Their clocks are in clocks.py, the stored reasons in reasons.py, corrections and cancelling in corrections.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, false, select, union
from sqlalchemy.orm import joinedload

from .. import sla
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import _, label
from ..core.models import AuditEvent, Role, User
from ..core.numbering import next_number
from ..core.timeutil import local_date_of, local_tz, utcnow
from ..core.validate import is_id
from ..models import (
    OPEN_CALL_STATUSES,
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
from ..scheduling.visits import day_window
from . import escalation
from .clocks import overdue_clause
from .customers import searchable
from .reasons import (
    REASON_CONFIRMED,
    REASON_CONTRACT,
    REASON_CONTRACT_PARTS,
    REASON_FREE,
    REASON_NEW_VISIT_DUE,
    REASON_NO_EQUIPMENT,
    REASON_NO_WARRANTY,
    REASON_NOT_SOLVED,
    REASON_OVERRIDE,
    REASON_RATED,
    REASON_WARRANTY_ENDED,
    reason_text,
)

MAX_DESCRIPTION = 5000
# Clocks differ a little between a phone, the desk and the server.
_FUTURE_SLACK = timedelta(minutes=5)


def get_call_or_404(call_id: object, for_user: User | None = None) -> RepairCall:
    """The call; for a technician only the calls of their own visits (any other is "not there")."""
    call = db.session.get(RepairCall, call_id) if is_id(call_id) else None
    if call is not None and for_user is not None and for_user.role == Role.TECHNICIAN and not db.session.scalar(
            select(Visit.id).where(Visit.call_id == call.id, Visit.technician_id == for_user.id).limit(1)):
        call = None
    if call is None:
        raise NotFound(_("There is no call %(id)s.", id=call_id))
    return call


# ----------------------------------------------------------------------------- repair calls


@dataclass(frozen=True)
class Categorisation:
    category: str
    reason: str  # as stored, in English
    contract: Contract | None = None

    @property
    def reason_text(self) -> str:
        """The reason in the reader's language (markup for a page)."""
        return reason_text(self.reason, html=True)


def categorise(customer: Customer, equipment: Equipment | None, on: date) -> Categorisation:
    """DOMAIN.md: under warranty on the call date -> free; else an active contract covering it -> contract;
    else charged. The warranty's last day still counts."""
    if equipment is not None and equipment.warranty_until is not None and on <= equipment.warranty_until:
        return Categorisation(Category.FREE, REASON_FREE % {"date": equipment.warranty_until.isoformat()})
    contracts = db.session.scalars(select(Contract).where(
        Contract.customer_id == customer.id, Contract.cancelled_at.is_(None),
        Contract.starts_on <= on, Contract.ends_on >= on).order_by(Contract.ends_on.desc()))
    for contract in contracts:
        if contract.covers(equipment, on):
            reason = REASON_CONTRACT_PARTS if contract.covers_parts else REASON_CONTRACT
            return Categorisation(Category.CONTRACT, reason % {"number": contract.number,
                                                               "date": contract.ends_on.isoformat()}, contract)
    if equipment is not None and equipment.warranty_until is not None:
        reason = REASON_WARRANTY_ENDED % {"date": equipment.warranty_until.isoformat()}
    elif equipment is not None:
        reason = REASON_NO_WARRANTY
    else:
        reason = REASON_NO_EQUIPMENT
    return Categorisation(Category.CHARGED, reason)


def create_call(actor: User, *, customer: Customer, site: Site, equipment: Equipment | None, channel: str,
                problem_type: str, priority: str, description: str, on_site: bool = True,
                required_skill: str | None = None, received_at: datetime | None = None,
                parent_call: RepairCall | None = None) -> RepairCall:
    errors: dict[str, str] = {}
    if site.customer_id != customer.id:
        errors["site_id"] = _("not this customer's site")
    if equipment is not None and equipment.customer_id != customer.id:
        errors["equipment_id"] = _("not this customer's equipment")
    if channel not in {c.value for c in Channel}:
        errors["channel"] = _("one of: %(values)s", values=", ".join(c.value for c in Channel))
    if priority not in {p.value for p in Priority}:
        errors["priority"] = _("one of: %(values)s", values=", ".join(p.value for p in Priority))
    now = utcnow()
    received = received_at or now
    if received > now.replace(microsecond=0) + _FUTURE_SLACK:
        errors["received_at"] = _("cannot be in the future")
    if errors:
        names = {"site_id": _("Site"), "equipment_id": _("Equipment"), "channel": _("Channel"),
                 "priority": _("Priority"), "received_at": _("Received")}
        raise Invalid(_("The call cannot be saved: %(problems)s.",
                        problems=_("; ").join(_("%(field)s: %(problem)s", field=names[k], problem=v)
                                              for k, v in errors.items())),
                      fields=errors)
    cat = categorise(customer, equipment, local_date_of(received))
    call = RepairCall(
        number=next_number("call", received.astimezone(local_tz()).year),
        customer=customer, site=site, equipment=equipment, channel=channel, problem_type=problem_type,
        priority=priority, description=description, on_site=on_site, required_skill=required_skill or None,
        status=CallStatus.NEW, category=cat.category, category_reason=cat.reason, contract=cat.contract,
        received_at=received,
        booking_deadline=sla.booking_deadline(received, site.remote) if on_site else None,
        response_deadline=sla.response_deadline(received, priority),
        resolution_deadline=sla.resolution_deadline(received, priority),
        created_by=actor, parent_call_id=parent_call.id if parent_call else None,
    )
    db.session.add(call)
    audit.record(actor, call, "call.created", after=audit.snapshot(
        call, "number", "status", "category", "category_reason", "priority", "booking_deadline"))
    return call


def set_call_status(actor: User | None, call: RepairCall, status: str, reason: str | None = None) -> None:
    """Every status change goes through here so the timeline is complete."""
    if call.status == status:
        return
    before = call.status
    call.status = status
    now = utcnow()
    if status == CallStatus.BOOKED and call.booked_at is None:
        call.booked_at = now
    if status == CallStatus.COMPLETED:
        call.completed_at = now
    if status == CallStatus.CLOSED:
        call.closed_at = now
    if status in (CallStatus.BOOKED, CallStatus.IN_PROGRESS) and call.responded_at is None:
        call.responded_at = now
    audit.record(actor, call, "call.status", before={"status": before}, after={"status": status}, reason=reason)


_OVERRIDERS = (Role.MANAGER, Role.ADMIN)
_FINAL = (CallStatus.CLOSED, CallStatus.CANCELLED)


def may_override_category(user: User, call: RepairCall) -> bool:
    """Whether the call page offers `user` the category override."""
    return user.role in _OVERRIDERS and call.status not in _FINAL


def override_category(actor: User, call: RepairCall, category: str, reason: str) -> RepairCall:
    if actor.role not in _OVERRIDERS:
        raise Forbidden(_("Only a service manager may override a call's category."))
    if category not in {c.value for c in Category}:
        raise Invalid(_("Unknown category."),
                      fields={"category": _("one of: %(values)s", values="charged, contract, free")})
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the category changes: the reason is kept in the audit trail."),
                      code="reason_required", fields={"reason": _("required")})
    if len(reason) > 1000:
        raise Invalid(_("The reason is too long (at most %(n)d characters).", n=1000),
                      fields={"reason": _("too long")})
    if call.status in _FINAL:
        raise Conflict(_("Call %(number)s is %(status)s; its category can no longer change.", number=call.number,
                         status=label(call.status, "call_status")), code="call_not_open")
    before = audit.snapshot(call, "category", "category_reason")
    call.category = category
    call.category_reason = (REASON_OVERRIDE % {"category": category, "name": actor.name, "reason": reason})[:300]
    call.category_overridden = True
    if category != Category.CONTRACT:
        call.contract = None
    audit.record(actor, call, "call.category_override", before=before,
                 after=audit.snapshot(call, "category", "category_reason"), reason=reason)
    return call


NOTE_KINDS = ("consultation", "complaint", "fault", "suggestion")


def add_note(actor: User, call: RepairCall, *, channel: str, text: str,
             next_follow_up: datetime | None = None, kind: str | None = None, promise: str | None = None,
             promised_by: datetime | None = None, escalated_authority: bool = False,
             safety_risk: bool = False) -> CallNote:
    """A communication-log entry (the record sheet: time, channel, type, what was said, what was promised and
    by when, next follow-up). One to the customer resets the call's progress-update clock (followup.py); a
    complaint escalated to a higher authority or a safety risk puts the call on the managers' list at once."""
    if channel not in {c.value for c in Channel} | {"visit", "internal"}:
        raise Invalid(_("Unknown channel."), fields={"channel": _(
            "one of: %(values)s", values="phone, email, web, messaging, walk_in, internal")})
    if not text.strip():
        raise Invalid(_("Write what was said."), fields={"text": _("required")})
    if kind is not None and kind not in NOTE_KINDS:
        raise Invalid(_("Unknown type of entry."), fields={"kind": _(
            "one of: %(values)s", values=", ".join(NOTE_KINDS))})
    promise = (promise or "").strip() or None
    if promise is not None and len(promise) > 2000:
        raise Invalid(_("The promise is too long (at most %(n)d characters).", n=2000),
                      fields={"promise": _("too long")})
    if promised_by is not None and promise is None:
        raise Invalid(_("Say what was promised by that time."), fields={"promise": _("required with a date")})
    note = CallNote(call=call, author=actor, channel=channel, text=text.strip(), next_follow_up=next_follow_up,
                    kind=kind, promise=promise, promised_by=promised_by,
                    escalated_authority=bool(escalated_authority), safety_risk=bool(safety_risk))
    db.session.add(note)
    if call.responded_at is None and channel != "internal":
        call.responded_at = utcnow()
    audit.record(actor, note, "call.note", after={
        "call_id": call.id, "channel": channel, "kind": kind, "promise": promise, "promised_by": promised_by,
        "escalated_authority": bool(escalated_authority), "safety_risk": bool(safety_risk)})
    if escalated_authority:
        escalation.raise_escalation(actor, call, "authority", detail=note.text[:500], note=note)
    if safety_risk:
        escalation.raise_escalation(actor, call, "safety", detail=note.text[:500], note=note)
    return note


RATING_WORDS = {5: "very satisfied", 4: "satisfied", 3: "average", 2: "unsatisfied", 1: "unsatisfied"}


def record_feedback(actor: User, call: RepairCall, *, rating: int | None, comment: str | None = None,
                    solved: bool = True) -> RepairCall:
    """The follow-up call (回访), two questions (API.md): solved? and the rating 1-5 (None: the customer would
    not rate, 未评价). Solved and 3 or more, or solved and unrated, closes "resolved - customer confirmed".
    Not solved, or 1-2, reopens the call, puts it on the managers' attention list and restarts its clocks
    (booking, resolution and the progress updates run again from now)."""
    if call.status != CallStatus.COMPLETED:
        raise Conflict(_("Call %(number)s is %(status)s: feedback is taken once the work is complete.",
                         number=call.number, status=label(call.status, "call_status")), code="not_completed")
    if rating is not None and (isinstance(rating, bool) or not 1 <= rating <= 5):
        raise Invalid(_("The rating runs from 1 to 5."), fields={"rating": _("1 to 5")})
    comment = (comment or "").strip() or None
    now = utcnow()
    call.rating = rating
    call.feedback_comment = comment
    call.solved = bool(solved)
    call.feedback_at = now
    audit.record(actor, call, "call.feedback", after={"rating": rating, "comment": comment, "solved": bool(solved)})
    if solved and (rating is None or rating >= 3):
        set_call_status(actor, call, CallStatus.CLOSED, reason=REASON_CONFIRMED)
        return call
    if not solved:
        reason, why = REASON_NOT_SOLVED, "reopened"
    else:
        reason, why = REASON_RATED % {"rating": RATING_WORDS[rating or 1]}, "unsatisfied"
    call.completed_at = None
    call.reopened_at = now
    set_call_status(actor, call, CallStatus.REOPENED, reason=reason)
    # The clocks start again: a new visit is due within the booking window, the resolution target counts
    # from now, and the customer is owed progress updates from now (followup.py).
    before = audit.snapshot(call, "booking_deadline", "resolution_deadline")
    if call.on_site:
        call.booking_deadline = sla.booking_deadline(now, call.site.remote)
    call.resolution_deadline = sla.resolution_deadline(now, call.priority)
    audit.record(actor, call, "call.booking_deadline", before=before,
                 after=audit.snapshot(call, "booking_deadline", "resolution_deadline"),
                 reason=REASON_NEW_VISIT_DUE if call.on_site else None)
    escalation.raise_escalation(actor, call, why, detail=comment)
    return call


# What a row of a list of calls shows besides the call: loaded with it, never one query per row.
CALL_ROW = (joinedload(RepairCall.customer, innerjoin=True), joinedload(RepairCall.site, innerjoin=True),
            joinedload(RepairCall.contract), joinedload(RepairCall.equipment))


def calls_query(*, status: str | None = None, category: str | None = None, priority: str | None = None,
                q: str | None = None, overdue: bool = False, customer_id: int | None = None,
                technician_id: int | None = None, received_from: date | None = None,
                received_to: date | None = None, rows: Sequence[Any] = CALL_ROW) -> Select[Any]:
    """The calls matching the filters; `received_from`/`received_to` are local days, both included (the
    archive: a customer's calls of any period, years back). Each row comes with what a list shows of it
    (`rows`: the loader options, by default customer, site, contract and equipment), in the same statement."""
    stmt = select(RepairCall).options(*rows)
    if received_from is not None:
        stmt = stmt.where(RepairCall.received_at >= day_window(received_from)[0])
    if received_to is not None:
        stmt = stmt.where(RepairCall.received_at < day_window(received_to)[1])
    if status:
        if status == "open":
            stmt = stmt.where(RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]))
        else:
            stmt = stmt.where(RepairCall.status == status)
    if category:
        stmt = stmt.where(RepairCall.category == category)
    if priority:
        stmt = stmt.where(RepairCall.priority == priority)
    if customer_id:
        stmt = stmt.where(RepairCall.customer_id == customer_id)
    if technician_id:
        stmt = stmt.where(RepairCall.id.in_(select(Visit.call_id).where(Visit.technician_id == technician_id)))
    if overdue:
        stmt = stmt.where(overdue_clause(utcnow()))
    if q:
        stmt = stmt.where(RepairCall.id.in_(search_ids(q)))
    return stmt


def search_ids(q: str) -> Any:
    """The ids of the calls a search term finds, in the call's number, problem and description, the customer's
    name and phone, or the equipment's serial number: a UNION of one lookup per column, each of which a
    trigram index answers on PostgreSQL (migration 0018), where one OR across the joined tables would read
    every call."""
    term = searchable(q)  # literally: "50%" or "_" are not wildcards

    def has(column: Any) -> Any:
        return column.icontains(term, autoescape=True)

    return union(
        select(RepairCall.id).where(has(RepairCall.number)),
        select(RepairCall.id).where(has(RepairCall.problem_type)),
        select(RepairCall.id).where(has(RepairCall.description)),
        select(RepairCall.id).where(RepairCall.customer_id.in_(
            select(Customer.id).where(has(Customer.name)).union(select(Customer.id).where(has(Customer.phone))))),
        select(RepairCall.id).where(RepairCall.equipment_id.in_(select(Equipment.id).where(
            has(Equipment.serial_number)))))


def call_timeline(call: RepairCall) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "repair_calls", AuditEvent.entity_id == call.id).order_by(AuditEvent.id)))


def calls_of_customer(customer: Customer) -> list[RepairCall]:
    """The customer's calls, newest first (their page's history)."""
    return list(db.session.scalars(calls_query(customer_id=customer.id)
                                   .order_by(RepairCall.received_at.desc(), RepairCall.id.desc())))


# ----------------------------------------------------------------------------- duplicates at intake


def open_calls_for(customer: Customer | None, *, site: Site | None = None, equipment: Equipment | None = None,
                   exclude: RepairCall | None = None) -> list[RepairCall]:
    """Open calls on that equipment, or (without equipment) at that site: the desk sees them before
    registering the same fault twice."""
    if customer is None or customer.id is None:
        return []
    stmt = select(RepairCall).where(RepairCall.customer_id == customer.id,
                                    RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]))
    if equipment is not None and equipment.id is not None:
        stmt = stmt.where(RepairCall.equipment_id == equipment.id)
    elif site is not None and site.id is not None:
        stmt = stmt.where(RepairCall.site_id == site.id)
    else:
        stmt = stmt.where(false())
    if exclude is not None:
        stmt = stmt.where(RepairCall.id != exclude.id)
    return list(db.session.scalars(stmt.order_by(RepairCall.received_at.desc()).limit(10)))


def open_calls_of_customer(customer: Customer | None) -> list[RepairCall]:
    """The customer's open calls (the intake form shows them next to the site and equipment they are on)."""
    if customer is None or customer.id is None:
        return []
    return list(db.session.scalars(select(RepairCall).where(
        RepairCall.customer_id == customer.id, RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]))
        .order_by(RepairCall.received_at.desc()).limit(50)))
