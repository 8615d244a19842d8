"""Repair calls from intake to closure: category, deadlines, status, notes, the customer's feedback."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from markupsafe import Markup, escape
from sqlalchemy import ColumnElement, Select, and_, false, or_, select

from .. import sla
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import N_, _, label
from ..core.models import AuditEvent, Role, User
from ..core.numbering import next_number
from ..core.timeutil import date_text, local_date_of, local_tz, utcnow
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
    VisitStatus,
)
from .customers import searchable, site_of

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


# Why a call has its category. The record keeps the English sentence (the API and the audit trail read it
# as written); people read it in their language through `reason_text`, which recognises the sentence again.
REASON_FREE = N_("free: under warranty until %(date)s")
REASON_CONTRACT_PARTS = N_("contract: covered by %(number)s until %(date)s (parts included)")
REASON_CONTRACT = N_("contract: covered by %(number)s until %(date)s (parts charged)")
REASON_WARRANTY_ENDED = N_("charged: warranty ended %(date)s, no contract")
REASON_NO_WARRANTY = N_("charged: no warranty, no contract")
REASON_NO_EQUIPMENT = N_("charged: no equipment under warranty, no contract")
REASON_OVERRIDE = N_("%(category)s: set by %(name)s (%(reason)s)")
# And the reasons the system writes on a call's status changes (the timeline).
REASON_CONFIRMED = N_("resolved - customer confirmed")
REASON_RATED = N_("customer %(rating)s")
REASON_NEW_VISIT_DUE = N_("reopened: a new visit is due")
REASON_VISIT_CANCELLED = N_("visit %(slip)s cancelled: %(reason)s")
REASON_ARRIVED = N_("technician arrived (%(slip)s)")
REASON_VISIT_OUTCOME = N_("visit %(slip)s: %(outcome)s")


def _pattern(msgid: str, **groups: str) -> re.Pattern[str]:
    """The stored sentence as a pattern: each %(name)s becomes a group (`groups` may narrow one)."""
    parts = re.split(r"%\((\w+)\)s", msgid)
    groups = {"date": r"\d{4}-\d{2}-\d{2}", **groups}
    regex = "".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>{groups.get(part, '.+?')})"
                    for i, part in enumerate(parts))
    return re.compile(f"^{regex}$", re.DOTALL)


_STORED_REASONS = [(_pattern(m, **g), m) for m, g in (
    (REASON_FREE, {}), (REASON_CONTRACT_PARTS, {}), (REASON_CONTRACT, {}), (REASON_WARRANTY_ENDED, {}),
    (REASON_NO_WARRANTY, {}), (REASON_NO_EQUIPMENT, {}),
    (REASON_OVERRIDE, {"category": "charged|contract|free", "reason": ".*"}),
    (REASON_CONFIRMED, {}), (REASON_RATED, {"rating": "[a-z ]+"}), (REASON_NEW_VISIT_DUE, {}),
    (REASON_VISIT_CANCELLED, {"slip": r"\S+", "reason": ".*"}), (REASON_ARRIVED, {}),
    (REASON_VISIT_OUTCOME, {"slip": r"\S+", "outcome": "fixed|carry back|follow up"}),
    (N_("corrected: %(fields)s"), {"fields": "[a-z_, ]*"}))]
# The fields of a call as people name them (a correction's reason lists the ones that changed).
FIELD_NAMES = {"description": N_("description"), "priority": N_("priority"), "problem_type": N_("problem type"),
               "channel": N_("channel"), "site_id": N_("site"), "equipment_id": N_("equipment"),
               "required_skill": N_("required skill")}
_RATING_CODES = {"very satisfied": "5", "satisfied": "4", "average": "3", "unsatisfied": "2",
                 "very unsatisfied": "1"}


def reason_text(stored: str | None, *, html: bool = False) -> str:
    """A reason the system wrote in English (a call's category reason, a status change's reason), in the
    reader's language; a reason a person typed (or one cut short) stays as it is. With `html`, markup
    where dates and numbers do not break across lines (CJK text may otherwise break one at its hyphens)."""
    if not stored:
        return ""
    for pattern, msgid in _STORED_REASONS:
        match = pattern.match(stored)
        if match is None:
            continue
        values = match.groupdict()
        if "category" in values:
            values["category"] = label(values["category"], "category")
        if "rating" in values:
            values["rating"] = label(_RATING_CODES.get(values["rating"], values["rating"]), "rating")
        if "outcome" in values:
            values["outcome"] = label(values["outcome"].replace(" ", "_"), "outcome")
        if "fields" in values:
            values["fields"] = _(", ").join(_(FIELD_NAMES.get(f.strip(), f.strip()))
                                            for f in values["fields"].split(",") if f.strip())
        if "date" in values:
            values["date"] = date_text(date.fromisoformat(values["date"]))
        if not html:
            return _(msgid, **values)
        whole = {"date", "number", "slip"}
        return Markup(escape(_(msgid))) % {k: Markup('<span class="nowrap">%s</span>') % v if k in whole else v
                                            for k, v in values.items()}
    return escape(stored) if html else stored


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


def add_note(actor: User, call: RepairCall, *, channel: str, text: str,
             next_follow_up: datetime | None = None) -> CallNote:
    if channel not in {c.value for c in Channel} | {"visit", "internal"}:
        raise Invalid(_("Unknown channel."), fields={"channel": _(
            "one of: %(values)s", values="phone, email, web, messaging, walk_in, internal")})
    if not text.strip():
        raise Invalid(_("Write what was said."), fields={"text": _("required")})
    note = CallNote(call=call, author=actor, channel=channel, text=text.strip(), next_follow_up=next_follow_up)
    db.session.add(note)
    if call.responded_at is None and channel != "internal":
        call.responded_at = utcnow()
    audit.record(actor, note, "call.note", after={"call_id": call.id, "channel": channel})
    return note


RATING_WORDS = {5: "very satisfied", 4: "satisfied", 3: "average", 2: "unsatisfied", 1: "unsatisfied"}


def record_feedback(actor: User, call: RepairCall, *, rating: int, comment: str | None = None) -> RepairCall:
    """The follow-up call (回访): 3 or more closes as resolved - customer confirmed; 1-2 reopens."""
    if call.status != CallStatus.COMPLETED:
        raise Conflict(_("Call %(number)s is %(status)s: feedback is taken once the work is complete.",
                         number=call.number, status=label(call.status, "call_status")), code="not_completed")
    if not 1 <= rating <= 5:
        raise Invalid(_("The rating runs from 1 to 5."), fields={"rating": _("1 to 5")})
    call.rating = rating
    call.feedback_comment = comment
    audit.record(actor, call, "call.feedback", after={"rating": rating, "comment": comment})
    if rating >= 3:
        set_call_status(actor, call, CallStatus.CLOSED, reason=REASON_CONFIRMED)
    else:
        call.completed_at = None
        set_call_status(actor, call, CallStatus.REOPENED, reason=REASON_RATED % {"rating": RATING_WORDS[rating]})
        if call.on_site:
            # The customer is owed a new visit, booked within the same window counted from now.
            before = audit.snapshot(call, "booking_deadline")
            call.booking_deadline = sla.booking_deadline(utcnow(), call.site.remote)
            audit.record(actor, call, "call.booking_deadline", before=before,
                         after=audit.snapshot(call, "booking_deadline"), reason=REASON_NEW_VISIT_DUE)
    return call


def calls_query(*, status: str | None = None, category: str | None = None, priority: str | None = None,
                q: str | None = None, overdue: bool = False, customer_id: int | None = None,
                technician_id: int | None = None) -> Select[Any]:
    stmt = select(RepairCall)
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
        term = searchable(q)  # literally: "50%" or "_" are not wildcards
        by_serial = select(Equipment.id).where(Equipment.serial_number.icontains(term, autoescape=True))
        stmt = stmt.join(Customer, RepairCall.customer_id == Customer.id).where(or_(
            *(column.icontains(term, autoescape=True) for column in (
                RepairCall.number, Customer.name, RepairCall.description, RepairCall.problem_type, Customer.phone)),
            RepairCall.equipment_id.in_(by_serial)))
    return stmt


def call_timeline(call: RepairCall) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "repair_calls", AuditEvent.entity_id == call.id).order_by(AuditEvent.id)))


def calls_of_customer(customer: Customer) -> list[RepairCall]:
    """The customer's calls, newest first (their page's history)."""
    return list(db.session.scalars(calls_query(customer_id=customer.id)
                                   .order_by(RepairCall.received_at.desc(), RepairCall.id.desc())))


# ----------------------------------------------------------------------------- clocks


# The one definition of "overdue" (the desk home, the calls list's "Overdue only" and the API's ?overdue=1 all
# use it): a clock still running past its due time. Booking runs while an on-site call waits for a visit;
# first response runs until someone answers; resolution runs while the call is open.
_WAITING_FOR_BOOKING = (CallStatus.NEW, CallStatus.REOPENED)


def overdue_clause(now: datetime) -> ColumnElement[bool]:
    """SQL: the call has a clock running past its due time (see `call_clocks`, the same rule per call)."""
    is_open = RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES])
    return or_(
        and_(RepairCall.status.in_([s.value for s in _WAITING_FOR_BOOKING]), RepairCall.on_site.is_(True),
             RepairCall.booking_deadline.is_not(None), RepairCall.booking_deadline < now),
        and_(is_open, RepairCall.responded_at.is_(None), RepairCall.response_deadline < now),
        and_(is_open, RepairCall.resolution_deadline < now),
    )


CLOCK_LABELS = {"booking": N_("Book a visit by"), "response": N_("First response by"), "resolution": N_("Resolve by")}


@dataclass(frozen=True)
class Clock:
    """One of a call's clocks as people read it: due, and met at / missed by, or still running."""

    kind: str  # booking, response, resolution
    due: datetime | None
    met_at: datetime | None
    # met (in time), missed (met, late), running (not met, due later), overdue (not met, past due), stopped
    state: str
    minutes: int  # late by (missed, overdue) or left (running); 0 otherwise

    @property
    def label(self) -> str:
        return _(CLOCK_LABELS[self.kind])

    @property
    def late(self) -> bool:
        return self.state in ("missed", "overdue")


def _clock(kind: str, due: datetime | None, met_at: datetime | None, running: bool, now: datetime) -> Clock:
    if due is None:
        return Clock(kind, None, met_at, "stopped", 0)
    if met_at is not None and not running:
        late = int((met_at - due).total_seconds() // 60)
        return Clock(kind, due, met_at, "missed" if late > 0 else "met", max(late, 0))
    if not running:
        return Clock(kind, due, None, "stopped", 0)
    left = int((due - now).total_seconds() // 60)
    return Clock(kind, due, None, "overdue" if due < now else "running", abs(left))


def call_clocks(call: RepairCall, now: datetime | None = None) -> list[Clock]:
    """Booking agreed, first response, resolution: each due at, and met at / missed by (or running)."""
    now = now or utcnow()
    is_open = call.status in OPEN_CALL_STATUSES
    clocks = []
    if call.on_site:
        waiting = call.status in _WAITING_FOR_BOOKING
        clocks.append(_clock("booking", call.booking_deadline, None if waiting else call.booked_at,
                             waiting, now))
    clocks.append(_clock("response", call.response_deadline, call.responded_at,
                         is_open and call.responded_at is None, now))
    clocks.append(_clock("resolution", call.resolution_deadline, call.completed_at or call.closed_at,
                         is_open, now))
    return clocks


def is_overdue(call: RepairCall, now: datetime | None = None) -> bool:
    """The call has a clock running past its due time (the same rule as `overdue_clause`)."""
    return any(c.state == "overdue" for c in call_clocks(call, now))


# ----------------------------------------------------------------------------- correcting and cancelling


EDITABLE_STATUSES = (CallStatus.NEW,)
CANCELLABLE_STATUSES = (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED)
EDITABLE_FIELDS = ("description", "priority", "problem_type", "channel", "site_id", "equipment_id",
                   "required_skill")
REASON_CORRECTED = N_("corrected: %(fields)s")


def may_edit(call: RepairCall) -> bool:
    return call.status in EDITABLE_STATUSES


def not_editable_message(call: RepairCall) -> str:
    return _("Call %(number)s is %(status)s: it can no longer be corrected. Cancel its visit first "
             "(the call goes back to new), or add a note to the log.", number=call.number,
             status=label(call.status, "call_status").lower())


def may_cancel(call: RepairCall) -> bool:
    return call.status in CANCELLABLE_STATUSES


def update_call(actor: User, call: RepairCall, **changes: Any) -> RepairCall:
    """The desk corrects a call it took down wrong, until it is booked: description, priority, problem type,
    channel, site, equipment (None: not listed) and skill. The category (unless a manager set it) and the
    deadlines are worked out again from the time the customer called, with their reason; audited."""
    if actor.role not in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only the desk may correct a call."))
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise Invalid(_("These fields cannot be changed here: %(fields)s.", fields=", ".join(unknown)),
                      fields={k: _("cannot be changed") for k in unknown})
    if not may_edit(call):
        raise Conflict(not_editable_message(call), code="call_not_editable")
    errors: dict[str, str] = {}
    site: Site | None = call.site
    if "site_id" in changes:
        site = site_of(call.customer, changes["site_id"])
        if site is None or site.archived_at is not None:
            errors["site_id"] = _("not this customer's site")
    equipment = call.equipment
    if "equipment_id" in changes:
        equipment = None
        if changes["equipment_id"] is not None:
            equipment = db.session.get(Equipment, changes["equipment_id"]) if is_id(changes["equipment_id"]) else None
            if equipment is None or equipment.customer_id != call.customer_id:
                errors["equipment_id"] = _("not this customer's equipment")
    if "channel" in changes and changes["channel"] not in {c.value for c in Channel}:
        errors["channel"] = _("one of: %(values)s", values=", ".join(c.value for c in Channel))
    if "priority" in changes and changes["priority"] not in {p.value for p in Priority}:
        errors["priority"] = _("one of: %(values)s", values=", ".join(p.value for p in Priority))
    for key in ("description", "problem_type"):
        if key in changes and not (changes[key] or "").strip():
            errors[key] = _("required")
    if errors:
        raise Invalid(_("The call cannot be corrected: %(problems)s.",
                        problems=_("; ").join(_("%(field)s: %(problem)s", field=k, problem=v)
                                              for k, v in errors.items())), fields=errors)
    watched = ("description", "priority", "problem_type", "channel", "site_id", "equipment_id", "required_skill",
               "category", "category_reason", "contract_id", "booking_deadline", "response_deadline",
               "resolution_deadline")
    before = audit.snapshot(call, *watched)
    for key in ("description", "problem_type", "channel", "priority"):
        if key in changes:
            setattr(call, key, changes[key].strip())
    if "required_skill" in changes:
        call.required_skill = (changes["required_skill"] or "").strip().lower() or None
    assert site is not None  # a wrong site was refused above
    call.site, call.equipment = site, equipment
    if not call.category_overridden:
        cat = categorise(call.customer, equipment, local_date_of(call.received_at))
        call.category, call.category_reason, call.contract = cat.category, cat.reason, cat.contract
    call.booking_deadline = sla.booking_deadline(call.received_at, site.remote) if call.on_site else None
    call.response_deadline = sla.response_deadline(call.received_at, call.priority)
    call.resolution_deadline = sla.resolution_deadline(call.received_at, call.priority)
    db.session.flush()
    after = audit.snapshot(call, *watched)
    changed = [k for k in watched if before.get(k) != after.get(k)]
    if changed:
        audit.record(actor, call, "call.corrected", before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed},
                     reason=REASON_CORRECTED % {"fields": ", ".join(k for k in changed if k in EDITABLE_FIELDS)})
    return call


def cancel_call(actor: User, call: RepairCall, reason: str) -> RepairCall:
    """Cancel a call with a reason (the customer withdrew it, a duplicate, ...): its scheduled visits are
    cancelled with it; nothing is deleted. A technician already on site, or work done, is 409."""
    from ..scheduling.booking import cancel_visit  # booking uses this module's status changes

    if actor.role not in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only the desk may cancel a call."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the call is cancelled: the reason is kept in the audit trail."),
                      code="reason_required", fields={"reason": _("required")})
    if len(reason) > 1000:
        raise Invalid(_("The reason is too long (at most %(n)d characters).", n=1000),
                      fields={"reason": _("too long")})
    if not may_cancel(call):
        raise Conflict(_("Call %(number)s is %(status)s: it can no longer be cancelled.", number=call.number,
                         status=label(call.status, "call_status").lower()), code="call_not_cancellable")
    for visit in list(call.visits):
        if visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
            cancel_visit(actor, visit, reason)
        elif visit.status == VisitStatus.ON_SITE:
            raise Conflict(_("Visit %(slip)s is on site now: the call cannot be cancelled.",
                             slip=visit.slip_number), code="call_not_cancellable")
    call.cancelled_at = utcnow()
    call.cancel_reason = reason
    set_call_status(actor, call, CallStatus.CANCELLED, reason=reason)
    return call


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
