"""The desk's rules: people, customers and what they own, and repair calls from intake to closure.

Plain functions on explicit arguments. They flush, never commit, and raise domain errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Select, func, or_, select
from sqlalchemy.exc import IntegrityError

from . import geo, sla
from .core import audit
from .core.errors import Conflict, Forbidden, Invalid, NotFound
from .core.extensions import db
from .core.models import Role, User
from .core.numbering import next_number
from .core.timeutil import local_date_of, local_tz, utcnow
from .core.validate import is_id
from .models import (
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
    WorkingHours,
)

MAX_DESCRIPTION = 5000
# Clocks differ a little between a phone, the desk and the server.
_FUTURE_SLACK = timedelta(minutes=5)
DEFAULT_WORKING_HOURS = [(d, time(8, 0), time(17, 0)) for d in range(5)]

CATEGORY_LABELS = {"charged": "Charged", "contract": "Contract", "free": "Free"}


# ----------------------------------------------------------------------------- people


def create_user(actor: User | None, *, username: str, password: str, name: str, role: str,
                phone: str | None = None, email: str | None = None, skills: Sequence[str] = (),
                base_latitude: float | None = None, base_longitude: float | None = None,
                working_hours: Sequence[tuple[int, time, time]] | None = None,
                password_method: str | None = None) -> User:
    if role not in {r.value for r in Role}:
        raise Invalid("Unknown role.", fields={"role": "one of: " + ", ".join(r.value for r in Role)})
    if len(password) < 8:
        raise Invalid("The password must have at least 8 characters.", fields={"password": "at least 8 characters"})
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"The username {username!r} is taken.", code="duplicate_username",
                       fields={"username": "already taken"})
    user = User(username=username, name=name or username, role=role, phone=phone, email=email,
                skills=sorted({s.strip().lower() for s in skills if s.strip()}), base_latitude=base_latitude,
                base_longitude=base_longitude, active=True)
    user.set_password(password, method=password_method)
    db.session.add(user)
    if role == Role.TECHNICIAN:
        set_working_hours(user, working_hours if working_hours is not None else DEFAULT_WORKING_HOURS)
    try:
        db.session.flush()
    except IntegrityError:
        raise Conflict(f"The username {username!r} is taken.", code="duplicate_username",
                       fields={"username": "already taken"}) from None
    audit.record(actor, user, "user.created", after=audit.snapshot(user, "username", "name", "role", "skills"))
    return user


def set_working_hours(user: User, spans: Sequence[tuple[int, time, time]]) -> None:
    for weekday, start, end in spans:
        if not 0 <= weekday <= 6:
            raise Invalid("weekday runs from 0 (Monday) to 6 (Sunday).", fields={"working_hours": "bad weekday"})
        if start == end:
            raise Invalid("A working span needs a start and a different end.",
                          fields={"working_hours": "start equals end"})
    user.working_hours = [WorkingHours(weekday=w, start=s, end=e) for w, s, e in spans]


def technicians(include_inactive: bool = False) -> list[User]:
    stmt = select(User).where(User.role == Role.TECHNICIAN).order_by(User.name)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(db.session.scalars(stmt))


# ----------------------------------------------------------------------------- customers


def get_or_404(model: Any, object_id: Any, what: str) -> Any:
    obj = db.session.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise NotFound(f"There is no {what} with id {object_id}.", code="not_found")
    return obj


def create_customer(actor: User, *, name: str, phone: str, contact_name: str | None = None,
                    email: str | None = None, notes: str | None = None) -> Customer:
    customer = Customer(name=name, phone=phone, contact_name=contact_name, email=email, notes=notes)
    db.session.add(customer)
    audit.record(actor, customer, "customer.created", after=audit.snapshot(customer, "name", "phone"))
    return customer


def update_customer(actor: User, customer: Customer, **changes: Any) -> Customer:
    fields = [k for k in ("name", "phone", "contact_name", "email", "notes") if k in changes]
    before = audit.snapshot(customer, *fields)
    for key in fields:
        setattr(customer, key, changes[key])
    after = audit.snapshot(customer, *fields)
    if before != after:
        audit.record(actor, customer, "customer.updated", before=before, after=after)
    return customer


def _searchable(q: str) -> str:
    """A search term the database accepts: PostgreSQL text cannot hold NUL."""
    return q.replace("\x00", "").strip()[:200]


def search_customers(q: str | None) -> Select[Any]:
    stmt = select(Customer).where(Customer.archived_at.is_(None))
    if q:
        term = _searchable(q)
        digits = "".join(ch for ch in term if ch.isdigit())
        conditions = [Customer.name.icontains(term, autoescape=True),
                      Customer.contact_name.icontains(term, autoescape=True)]
        if len(digits) >= 3:
            conditions.append(func.replace(func.replace(Customer.phone, " ", ""), "-", "").like(f"%{digits}%"))
        stmt = stmt.where(or_(*conditions))
    return stmt


def add_site(actor: User, customer: Customer, *, address: str, latitude: float | None = None,
             longitude: float | None = None) -> Site:
    if (latitude is None) != (longitude is None):
        raise Invalid("Give both latitude and longitude, or neither.",
                      fields={"latitude" if latitude is None else "longitude": "required with the other"})
    if latitude is None or longitude is None:
        position = geo.geocode(address)
        latitude, longitude, source = position.latitude, position.longitude, position.source
    else:
        source = "given"
    distance = geo.distance_from_centre_km(latitude, longitude)
    site = Site(customer=customer, address=address, latitude=latitude, longitude=longitude,
                distance_km=distance, remote=geo.is_remote(distance), geocoded_by=source)
    db.session.add(site)
    audit.record(actor, site, "site.created", after=audit.snapshot(site, "address", "latitude", "longitude",
                                                                   "distance_km", "remote"))
    return site


def add_equipment(actor: User, customer: Customer, site: Site, *, model: str, serial_number: str,
                  warranty_until: date | None) -> Equipment:
    if site.customer_id != customer.id:
        raise Invalid("That site belongs to another customer.", fields={"site_id": "not this customer's site"})
    _check_serial_free(model, serial_number)
    equipment = Equipment(customer=customer, site=site, model=model, serial_number=serial_number,
                          warranty_until=warranty_until)
    db.session.add(equipment)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise _duplicate_serial(model, serial_number) from None
    audit.record(actor, equipment, "equipment.created",
                 after=audit.snapshot(equipment, "model", "serial_number", "warranty_until"))
    return equipment


def update_equipment(actor: User, equipment: Equipment, **changes: Any) -> Equipment:
    fields = [k for k in ("model", "serial_number", "warranty_until", "site_id") if k in changes]
    if ("model" in changes or "serial_number" in changes):
        model = changes.get("model", equipment.model)
        serial = changes.get("serial_number", equipment.serial_number)
        if (model, serial) != (equipment.model, equipment.serial_number):
            _check_serial_free(model, serial)
    before = audit.snapshot(equipment, *fields)
    for key in fields:
        setattr(equipment, key, changes[key])
    after = audit.snapshot(equipment, *fields)
    if before != after:
        audit.record(actor, equipment, "equipment.updated", before=before, after=after)
    return equipment


def _check_serial_free(model: str, serial_number: str) -> None:
    taken = db.session.scalar(select(Equipment.id).where(Equipment.model == model,
                                                         Equipment.serial_number == serial_number))
    if taken is not None:
        raise _duplicate_serial(model, serial_number)


def _duplicate_serial(model: str, serial_number: str) -> Conflict:
    return Conflict(f"A {model} with serial number {serial_number} is already registered.",
                    code="duplicate_serial", fields={"serial_number": "already registered for this model"})


def create_contract(actor: User, customer: Customer, *, number: str, starts_on: date, ends_on: date,
                    equipment_ids: Sequence[int] = (), covers_parts: bool = False,
                    notes: str | None = None) -> Contract:
    if ends_on < starts_on:
        raise Invalid("The contract ends before it starts.", code="invalid_period",
                      fields={"ends_on": "must be on or after starts_on"})
    if db.session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(f"Contract number {number} already exists.", code="duplicate_contract",
                       fields={"number": "already exists"})
    equipment = []
    for eid in equipment_ids:
        item = db.session.get(Equipment, eid)
        if item is None or item.customer_id != customer.id:
            raise Invalid(f"Equipment {eid} is not this customer's.", fields={"equipment_ids": f"unknown {eid}"})
        equipment.append(item)
    contract = Contract(customer=customer, number=number, starts_on=starts_on, ends_on=ends_on,
                        covers_parts=covers_parts, notes=notes, equipment=equipment)
    db.session.add(contract)
    audit.record(actor, contract, "contract.created",
                 after={**audit.snapshot(contract, "number", "starts_on", "ends_on", "covers_parts"),
                        "equipment_ids": [e.id for e in equipment]})
    return contract


# ----------------------------------------------------------------------------- repair calls


@dataclass(frozen=True)
class Categorisation:
    category: str
    reason: str
    contract: Contract | None = None


def categorise(customer: Customer, equipment: Equipment | None, on: date) -> Categorisation:
    """DOMAIN.md: under warranty on the call date -> free; else an active contract covering it -> contract;
    else charged. The warranty's last day still counts."""
    if equipment is not None and equipment.warranty_until is not None and on <= equipment.warranty_until:
        return Categorisation(Category.FREE, f"free: under warranty until {equipment.warranty_until.isoformat()}")
    contracts = db.session.scalars(select(Contract).where(
        Contract.customer_id == customer.id, Contract.cancelled_at.is_(None),
        Contract.starts_on <= on, Contract.ends_on >= on).order_by(Contract.ends_on.desc()))
    for contract in contracts:
        if contract.covers(equipment, on):
            parts = "parts included" if contract.covers_parts else "parts charged"
            return Categorisation(Category.CONTRACT,
                                  f"contract: covered by {contract.number} until {contract.ends_on.isoformat()} "
                                  f"({parts})", contract)
    if equipment is not None and equipment.warranty_until is not None:
        why = f"warranty ended {equipment.warranty_until.isoformat()}, no contract"
    elif equipment is not None:
        why = "no warranty, no contract"
    else:
        why = "no equipment under warranty, no contract"
    return Categorisation(Category.CHARGED, f"charged: {why}")


def create_call(actor: User, *, customer: Customer, site: Site, equipment: Equipment | None, channel: str,
                problem_type: str, priority: str, description: str, on_site: bool = True,
                required_skill: str | None = None, received_at: datetime | None = None,
                parent_call: RepairCall | None = None) -> RepairCall:
    errors: dict[str, str] = {}
    if site.customer_id != customer.id:
        errors["site_id"] = "not this customer's site"
    if equipment is not None and equipment.customer_id != customer.id:
        errors["equipment_id"] = "not this customer's equipment"
    if channel not in {c.value for c in Channel}:
        errors["channel"] = "one of: " + ", ".join(c.value for c in Channel)
    if priority not in {p.value for p in Priority}:
        errors["priority"] = "one of: " + ", ".join(p.value for p in Priority)
    now = utcnow()
    received = received_at or now
    if received > now.replace(microsecond=0) + _FUTURE_SLACK:
        errors["received_at"] = "cannot be in the future"
    if errors:
        raise Invalid("The call cannot be saved: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
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


def override_category(actor: User, call: RepairCall, category: str, reason: str) -> RepairCall:
    if actor.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden("Only a service manager may override a call's category.")
    if category not in {c.value for c in Category}:
        raise Invalid("Unknown category.", fields={"category": "one of: charged, contract, free"})
    reason = (reason or "").strip()
    if not reason:
        raise Invalid("Say why the category changes: the reason is kept in the audit trail.",
                      code="reason_required", fields={"reason": "required"})
    if len(reason) > 1000:
        raise Invalid("The reason is too long (at most 1000 characters).", fields={"reason": "too long"})
    if call.status in (CallStatus.CLOSED, CallStatus.CANCELLED):
        raise Conflict(f"Call {call.number} is {call.status}; its category can no longer change.",
                       code="call_not_open")
    before = audit.snapshot(call, "category", "category_reason")
    call.category = category
    call.category_reason = f"{category}: set by {actor.name} ({reason})"[:300]
    call.category_overridden = True
    if category != Category.CONTRACT:
        call.contract = None
    audit.record(actor, call, "call.category_override", before=before,
                 after=audit.snapshot(call, "category", "category_reason"), reason=reason)
    return call


def add_note(actor: User, call: RepairCall, *, channel: str, text: str,
             next_follow_up: datetime | None = None) -> CallNote:
    if channel not in {c.value for c in Channel} | {"visit", "internal"}:
        raise Invalid("Unknown channel.", fields={"channel": "phone, email, web, messaging, walk_in or internal"})
    if not text.strip():
        raise Invalid("Write what was said.", fields={"text": "required"})
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
        raise Conflict(f"Call {call.number} is {call.status}: feedback is taken once the work is complete.",
                       code="not_completed")
    if not 1 <= rating <= 5:
        raise Invalid("The rating runs from 1 to 5.", fields={"rating": "1 to 5"})
    call.rating = rating
    call.feedback_comment = comment
    audit.record(actor, call, "call.feedback", after={"rating": rating, "comment": comment})
    if rating >= 3:
        set_call_status(actor, call, CallStatus.CLOSED, reason="resolved - customer confirmed")
    else:
        call.completed_at = None
        set_call_status(actor, call, CallStatus.REOPENED, reason=f"customer {RATING_WORDS[rating]}")
        if call.on_site:
            # The customer is owed a new visit, booked within the same window counted from now.
            before = audit.snapshot(call, "booking_deadline")
            call.booking_deadline = sla.booking_deadline(utcnow(), call.site.remote)
            audit.record(actor, call, "call.booking_deadline", before=before,
                         after=audit.snapshot(call, "booking_deadline"), reason="reopened: a new visit is due")
    return call


def calls_query(*, status: str | None = None, category: str | None = None, priority: str | None = None,
                q: str | None = None, overdue: bool = False, customer_id: int | None = None,
                technician_id: int | None = None) -> Select[Any]:
    stmt = select(RepairCall)
    if status:
        if status == "open":
            from .models import OPEN_CALL_STATUSES

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
        from .models import Visit

        stmt = stmt.where(RepairCall.id.in_(select(Visit.call_id).where(Visit.technician_id == technician_id)))
    if overdue:
        stmt = stmt.where(RepairCall.status.in_([CallStatus.NEW, CallStatus.REOPENED]),
                          RepairCall.booking_deadline < utcnow())
    if q:
        term = _searchable(q)  # literally: "50%" or "_" are not wildcards
        stmt = stmt.join(Customer, RepairCall.customer_id == Customer.id).where(or_(*(
            column.icontains(term, autoescape=True) for column in (
                RepairCall.number, Customer.name, RepairCall.description, RepairCall.problem_type, Customer.phone))))
    return stmt


def call_timeline(call: RepairCall) -> list[Any]:
    from .core.models import AuditEvent

    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "repair_calls", AuditEvent.entity_id == call.id).order_by(AuditEvent.id)))


def validate_call_text(problem_type: str | None, description: str | None) -> None:
    errors = {}
    if not problem_type:
        errors["problem_type"] = "required"
    if not description:
        errors["description"] = "required"
    elif len(description) > MAX_DESCRIPTION:
        errors["description"] = f"at most {MAX_DESCRIPTION} characters"
    if errors:
        raise Invalid("Describe the problem.", fields=errors)


# ----------------------------------------------------------------------------- the desk's pages


def update_site(actor: User, site: Site, *, address: str, latitude: float | None = None,
                longitude: float | None = None) -> Site:
    """A changed address is placed again (geocoded unless coordinates are given)."""
    if (latitude is None) != (longitude is None):
        raise Invalid("Give both latitude and longitude, or neither.",
                      fields={"latitude" if latitude is None else "longitude": "required with the other"})
    before = audit.snapshot(site, "address", "latitude", "longitude", "distance_km", "remote")
    if latitude is None or longitude is None:
        if address == site.address:
            latitude, longitude, source = site.latitude, site.longitude, site.geocoded_by or "given"
        else:
            position = geo.geocode(address)
            latitude, longitude, source = position.latitude, position.longitude, position.source
    else:
        source = "given"
    site.address = address
    site.latitude, site.longitude, site.geocoded_by = latitude, longitude, source
    site.distance_km = geo.distance_from_centre_km(latitude, longitude)
    site.remote = geo.is_remote(site.distance_km)
    after = audit.snapshot(site, "address", "latitude", "longitude", "distance_km", "remote")
    if before != after:
        audit.record(actor, site, "site.updated", before=before, after=after)
    return site


COMMON_PROBLEM_TYPES = ("not cooling", "not heating", "no power", "water leak", "noise", "error code",
                        "won't start", "installation", "maintenance", "inspection")


def common_problem_types(limit: int = 20) -> list[str]:
    """The problem types the desk uses most, then the usual ones: the intake form's suggestions."""
    used = db.session.execute(select(RepairCall.problem_type, func.count(RepairCall.id))
                              .group_by(RepairCall.problem_type)
                              .order_by(func.count(RepairCall.id).desc()).limit(limit)).all()
    names = [name for name, _ in used]
    return names + [n for n in COMMON_PROBLEM_TYPES if n not in names]


def technician_skills() -> list[str]:
    return sorted({skill for tech in technicians() for skill in (tech.skills or [])})


@dataclass
class DeskQueues:
    to_book: list[RepairCall]
    awaiting_response: list[RepairCall]
    follow_ups: list[CallNote]
    open_count: int
    overdue_count: int


def desk_queues(limit: int = 50) -> DeskQueues:
    """What needs the desk now: calls to book (soonest deadline first, so the overdue lead), urgent and
    high calls nobody has answered yet, and follow-ups promised for today or earlier that nobody has
    made since (the call's latest note still carries the promise)."""
    from .models import OPEN_CALL_STATUSES

    open_statuses = [s.value for s in OPEN_CALL_STATUSES]
    waiting = [CallStatus.NEW.value, CallStatus.REOPENED.value]
    now = utcnow()
    to_book = list(db.session.scalars(select(RepairCall).where(
        RepairCall.status.in_(waiting), RepairCall.on_site.is_(True), RepairCall.booking_deadline.is_not(None))
        .order_by(RepairCall.booking_deadline, RepairCall.id).limit(limit)))
    awaiting = list(db.session.scalars(select(RepairCall).where(
        RepairCall.status.in_(open_statuses), RepairCall.responded_at.is_(None),
        RepairCall.priority.in_([Priority.URGENT.value, Priority.HIGH.value]))
        .order_by(RepairCall.response_deadline, RepairCall.id).limit(limit)))
    end_of_today = datetime.combine(local_date_of(now) + timedelta(days=1), time(0), tzinfo=local_tz())
    latest = select(func.max(CallNote.id)).group_by(CallNote.call_id)
    follow_ups = list(db.session.scalars(select(CallNote).join(RepairCall, CallNote.call_id == RepairCall.id)
                                         .where(CallNote.id.in_(latest), CallNote.next_follow_up.is_not(None),
                                                CallNote.next_follow_up < end_of_today,
                                                RepairCall.status.in_(open_statuses))
                                         .order_by(CallNote.next_follow_up).limit(limit)))
    open_count = db.session.scalar(select(func.count(RepairCall.id)).where(
        RepairCall.status.in_(open_statuses))) or 0
    overdue_count = db.session.scalar(select(func.count(RepairCall.id)).where(
        RepairCall.status.in_(waiting), RepairCall.booking_deadline < now)) or 0
    return DeskQueues(to_book, awaiting, follow_ups, open_count, overdue_count)


def update_user(actor: User, user: User, *, name: str | None = None, role: str | None = None,
                phone: str | None = None, email: str | None = None, active: bool | None = None,
                password: str | None = None) -> User:
    """Admin edits of an account. Disabling or a new password ends the user's sessions and tokens."""
    if role is not None and role not in {r.value for r in Role}:
        raise Invalid("Unknown role.", fields={"role": "one of: " + ", ".join(r.value for r in Role)})
    if user.id == actor.id and (active is False or (role is not None and role != Role.ADMIN)):
        raise Conflict("You cannot disable yourself or take away your own admin role.", code="self_lockout")
    fields = ("name", "role", "phone", "email", "active")
    before = audit.snapshot(user, *fields)
    for key, value in (("name", name), ("role", role), ("phone", phone), ("email", email), ("active", active)):
        if value is not None:
            setattr(user, key, value)
    if role == Role.TECHNICIAN and not user.working_hours:
        set_working_hours(user, DEFAULT_WORKING_HOURS)
    changed_password = False
    if password:
        if len(password) < 8:
            raise Invalid("The password must have at least 8 characters.",
                          fields={"password": "at least 8 characters"})
        user.set_password(password)
        changed_password = True
    elif active is False and before["active"]:
        user.auth_version += 1  # sessions and tokens of a disabled user end now
    after = audit.snapshot(user, *fields)
    if before != after or changed_password:
        audit.record(actor, user, "user.updated", before=before,
                     after={**after, **({"password": "changed"} if changed_password else {})})
    return user
