"""The workshop side of carry-back repairs (携回修护): received at the desk, worked in the workshop, back to the
customer.

An item taken back from a site (see the carry-back receipt) is handed in at the desk, which confirms the
receipt and so enters it in the customer's service file (客户服务档案) and on the workshop board. The
workshop moves it through its statuses with notes, records the parts and labor it spends (charged on the
call through billing, by the call's category, like on-site work), records a replaced unit's new serial
(the equipment record follows), and moves the promised date only with a reason (the desk gets a progress
call to make). The item goes back by a booked return visit or a pick-up at the desk (returns.py).

Plain functions on explicit arguments; they flush, never commit, and raise domain errors. Every step writes
an item event (its history) and an audit event; nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from billing.models import ChargeKind, ChargeLine
from billing.services.charges import (
    record_workshop_work,
    workshop_lines,
)
from billing.services.parts import PartUse, format_quantity
from dispatch.core import audit
from dispatch.core.errors import Conflict, Forbidden, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import Role, User
from dispatch.core.timeutil import date_text, local_date_of, local_today, utcnow
from dispatch.models import Customer, RepairCall
from dispatch.services.calls import add_note as add_call_note
from dispatch.services.customers import searchable, update_equipment

from ..models import (
    CarryBack,
    CarryBackEvent,
    CarryBackEventKind,
    CarryBackStatus,
)
from . import problems
from .carry_back import visible_to

S = CarryBackStatus
WORKSHOP_ROLES = frozenset({Role.TECHNICIAN, Role.MANAGER, Role.ADMIN})
DESK_ROLES = frozenset({Role.DISPATCHER, Role.MANAGER, Role.ADMIN})
READ_ROLES = WORKSHOP_ROLES | DESK_ROLES

# The board's columns, left to right; returned items sit in a collapsed list below them.
BOARD_COLUMNS = (S.RECEIVED, S.DIAGNOSING, S.WAITING_PARTS, S.REPAIRED, S.READY_TO_RETURN)
# Where the workshop may move an item itself (PATCH): any of these from any workshop status.
WORKSHOP_STATUSES = (S.DIAGNOSING, S.WAITING_PARTS, S.REPAIRED, S.READY_TO_RETURN)
IN_WORKSHOP = (S.RECEIVED, *WORKSHOP_STATUSES)
RETURNABLE = (S.REPAIRED, S.READY_TO_RETURN)
MAX_NOTE = 2000
MAX_SERIAL = 100
RETURNED_SHOWN = 30


# ----------------------------------------------------------------------------- who sees what


def carry_backs_query(user: User, *, status: str | None = None, q: str | None = None) -> Select[Any]:
    stmt = select(CarryBack).options(selectinload(CarryBack.call).selectinload(RepairCall.customer),
                                     selectinload(CarryBack.assigned_to))
    stmt = stmt.where(visible_to(user))
    if status:
        if status not in {s.value for s in S}:
            raise Invalid(_("Unknown status."), fields={"status": _("one of: %(values)s",
                                                                    values=", ".join(s.value for s in S))})
        stmt = stmt.where(CarryBack.status == status)
    if q:
        term = searchable(q)
        stmt = stmt.join(RepairCall, CarryBack.call_id == RepairCall.id).join(
            Customer, RepairCall.customer_id == Customer.id).where(or_(*(
                column.icontains(term, autoescape=True) for column in (
                    CarryBack.number, CarryBack.serial_number, CarryBack.new_serial_number, CarryBack.item,
                    CarryBack.model, Customer.name, Customer.phone, RepairCall.number))))
    return stmt


@dataclass
class Board:
    awaiting: list[CarryBack]  # taken back, not yet handed in at the desk
    columns: list[tuple[str, list[CarryBack]]]
    returned: list[CarryBack]
    overdue: int


def board(user: User, q: str | None = None, returned_shown: int = RETURNED_SHOWN) -> Board:
    """The items still away from their customer, and the `returned_shown` returned last (the older ones are
    in each customer's service file and found by the search): not every item ever carried back."""
    base = carry_backs_query(user, q=q).options(selectinload(CarryBack.taken_by))
    items = list(db.session.scalars(base.where(CarryBack.status != S.RETURNED)
                                    .order_by(CarryBack.promised_return_on, CarryBack.id)))
    returned = list(db.session.scalars(base.where(CarryBack.status == S.RETURNED)
                                       .order_by(CarryBack.returned_at.desc(), CarryBack.id.desc())
                                       .limit(returned_shown)))
    by_status: dict[str, list[CarryBack]] = {}
    for item in items:
        by_status.setdefault(item.status, []).append(item)
    today = local_today()
    return Board(awaiting=by_status.get(S.IN_WORKSHOP, []),
                 columns=[(str(s), by_status.get(s, [])) for s in BOARD_COLUMNS],
                 returned=returned,
                 overdue=sum(1 for i in items if is_overdue(i, today)))


def carry_backs_of_call(call: RepairCall) -> list[CarryBack]:
    return list(db.session.scalars(select(CarryBack).where(CarryBack.call_id == call.id).order_by(CarryBack.id)))


def service_file(customer: Customer) -> list[CarryBack]:
    """The customer's service file (客户服务档案): every item ever carried back, newest first, with its history."""
    return list(db.session.scalars(
        select(CarryBack).join(RepairCall, CarryBack.call_id == RepairCall.id)
        .where(RepairCall.customer_id == customer.id)
        .options(selectinload(CarryBack.events).selectinload(CarryBackEvent.actor))
        .order_by(CarryBack.created_at.desc(), CarryBack.id.desc())))


# ----------------------------------------------------------------------------- reading an item


def days_held(item: CarryBack, today: date | None = None) -> int:
    """Whole days since the item left the customer, up to its return (or today)."""
    start = local_date_of(item.created_at)
    end = local_date_of(item.returned_at) if item.returned_at else (today or local_today())
    return max(0, (end - start).days)


def is_overdue(item: CarryBack, today: date | None = None) -> bool:
    return item.status != S.RETURNED and item.promised_return_on < (today or local_today())


def history(item: CarryBack) -> list[CarryBackEvent]:
    return list(db.session.scalars(select(CarryBackEvent).where(CarryBackEvent.carry_back_id == item.id)
                                   .options(selectinload(CarryBackEvent.actor)).order_by(CarryBackEvent.id)))


def last_promise_move(item: CarryBack) -> CarryBackEvent | None:
    """From the item's events: a list loads them for all its items at once (selectinload(CarryBack.events))."""
    moves = [e for e in item.events if e.kind == CarryBackEventKind.PROMISE_MOVED]
    return max(moves, key=lambda e: e.id, default=None)


def work_lines(item: CarryBack) -> list[ChargeLine]:
    return workshop_lines(item.call, item.number)


def workshop_labor_minutes(item: CarryBack) -> int:
    return sum(ln.labor_minutes or 0 for ln in work_lines(item) if ln.kind == ChargeKind.LABOR)


def workshop_parts(item: CarryBack) -> list[ChargeLine]:
    return [ln for ln in work_lines(item) if ln.kind == ChargeKind.PART]




# ----------------------------------------------------------------------------- steps


def add_event(actor: User | None, item: CarryBack, kind: str, **values: Any) -> CarryBackEvent:
    event = CarryBackEvent(carry_back=item, kind=kind, actor_id=actor.id if actor else None, at=utcnow(),
                           note=values.pop("note", "") or "", **values)
    db.session.add(event)
    return event


def clean_note(value: Any, field: str = "note", *, required: bool = False) -> str:
    text = value.strip() if isinstance(value, str) else ""
    if value is not None and not isinstance(value, str):
        raise Invalid(_("Write the note as text."), fields={field: _("not text")})
    if required and not text:
        raise Invalid(problems(_("Say why."), {field: _("required")}), code="reason_required",
                      fields={field: _("required")})
    if len(text) > MAX_NOTE:
        raise Invalid(problems(_("The text is too long."), {field: _("at most %(n)d characters", n=MAX_NOTE)}),
                      fields={field: _("at most %(n)d characters", n=MAX_NOTE)})
    return text


def require_role(actor: User, roles: frozenset[str], message: str) -> None:
    if actor.role not in roles:
        raise Forbidden(message)


def _not_returned(item: CarryBack) -> None:
    if item.status == S.RETURNED:
        raise Conflict(_("%(number)s was returned to the customer on %(date)s; it can no longer change.",
                         number=item.number, date=date_text(local_date_of(item.returned_at or utcnow()))),
                       code="already_returned")


def _in_workshop(item: CarryBack) -> None:
    _not_returned(item)
    if item.status == S.IN_WORKSHOP:
        raise Conflict(_("%(number)s has not been handed in at the desk yet: the desk confirms receipt first.",
                         number=item.number), code="not_received")


def receive(actor: User, item: CarryBack, note: Any = None) -> CarryBack:
    """The desk confirms the technician handed the item in (who and when): it enters the customer's service
    file and the workshop board."""
    require_role(actor, DESK_ROLES, _("Only the desk confirms that an item was handed in."))
    text = clean_note(note)
    if item.status != S.IN_WORKSHOP:
        _not_returned(item)
        raise Conflict(_("%(number)s was already received at the desk by %(name)s.", number=item.number,
                         name=item.received_by.name if item.received_by else _("someone")),
                       code="already_received")
    now = utcnow()
    item.status, item.received_at, item.received_by_id = S.RECEIVED, now, actor.id
    add_event(actor, item, CarryBackEventKind.RECEIVED, from_status=S.IN_WORKSHOP, to_status=S.RECEIVED, note=text)
    audit.record(actor, item, "carry_back.received", before={"status": S.IN_WORKSHOP},
                 after={"status": S.RECEIVED, "received_by_id": actor.id})
    return item


def change_status(actor: User, item: CarryBack, status: Any, note: Any = None) -> CarryBack:
    """Move the item in the workshop (any workshop status to any other), with an optional note."""
    require_role(actor, WORKSHOP_ROLES, _("Only the workshop changes an item's status."))
    if status not in {s.value for s in WORKSHOP_STATUSES}:
        hint = _("one of: %(values)s", values=", ".join(s.value for s in WORKSHOP_STATUSES))
        if status == S.RETURNED:
            hint = _("returned only with the customer's signature (POST .../return)")
        elif status == S.RECEIVED:
            hint = _("received only by the desk (POST .../receive)")
        raise Invalid(problems(_("The status cannot be set."), {"status": hint}), code="invalid_status",
                      fields={"status": hint})
    text = clean_note(note)
    _in_workshop(item)
    if item.status == status:
        if text:
            add_note(actor, item, text)
        return item
    before = item.status
    item.status = status
    add_event(actor, item, CarryBackEventKind.STATUS, from_status=before, to_status=status, note=text)
    audit.record(actor, item, "carry_back.status", before={"status": before}, after={"status": status},
                 reason=text or None)
    return item


def add_note(actor: User, item: CarryBack, note: Any) -> CarryBackEvent:
    require_role(actor, READ_ROLES, _("You may not write on this item."))
    text = clean_note(note, required=True)
    event = add_event(actor, item, CarryBackEventKind.NOTE, note=text)
    audit.record(actor, item, "carry_back.note", after={"note": text})
    return event


def assign(actor: User, item: CarryBack, technician: User | None) -> CarryBack:
    """Give the item to a workshop technician (a manager: anyone; a technician: themselves)."""
    require_role(actor, WORKSHOP_ROLES, _("Only the workshop assigns its items."))
    _not_returned(item)
    if technician is not None and (technician.role != Role.TECHNICIAN or not technician.active):
        raise Invalid(_("Choose an active technician."), fields={"assigned_to_id": _("not a technician")})
    if actor.role == Role.TECHNICIAN and (technician is None or technician.id != actor.id):
        raise Forbidden(_("A technician may only take an item themselves; a manager assigns it to others."))
    new_id = technician.id if technician is not None else None
    if item.assigned_to_id == new_id:
        return item
    before = item.assigned_to_id
    item.assigned_to_id = new_id
    add_event(actor, item, CarryBackEventKind.ASSIGNED,
           note=technician.name if technician is not None else _("nobody"))
    audit.record(actor, item, "carry_back.assigned", before={"assigned_to_id": before},
                 after={"assigned_to_id": new_id})
    return item


def record_work(actor: User, item: CarryBack, *, labor_minutes: int, parts: Sequence[PartUse],
                note: Any = None) -> list[ChargeLine]:
    """The parts and labor spent on the item in the workshop (the totals so far: a correction replaces the
    record), charged on the call through billing by its category."""
    require_role(actor, WORKSHOP_ROLES, _("Only the workshop records its work."))
    text = clean_note(note)
    _in_workshop(item)
    before_minutes = workshop_labor_minutes(item)
    lines = record_workshop_work(actor, item.call, ref=item.number, labor_minutes=labor_minutes,
                                 parts=[(p.sku, p.quantity) for p in parts])
    summary = _("%(minutes)d min labor", minutes=labor_minutes)
    used = ", ".join(f"{ln.sku} × {format_quantity(ln.quantity)}" for ln in lines if ln.kind == ChargeKind.PART)
    add_event(actor, item, CarryBackEventKind.WORK, note=" · ".join(x for x in (summary, used, text) if x))
    audit.record(actor, item, "carry_back.work", before={"labor_minutes": before_minutes},
                 after={"labor_minutes": labor_minutes, "parts": [[p.sku, str(p.quantity)] for p in parts],
                        "note": text})
    return lines


def replace_unit(actor: User, item: CarryBack, new_serial: Any, note: Any = None) -> CarryBack:
    """A replaced unit: its new serial number beside the old one, and the call's equipment record follows."""
    require_role(actor, WORKSHOP_ROLES, _("Only the workshop records a replaced unit."))
    serial = new_serial.strip() if isinstance(new_serial, str) else ""
    if not serial or len(serial) > MAX_SERIAL:
        problem = _("required") if not serial else _("at most %(n)d characters", n=MAX_SERIAL)
        raise Invalid(problems(_("The new serial number is missing."), {"new_serial_number": problem}),
                      fields={"new_serial_number": problem})
    text = clean_note(note)
    _in_workshop(item)
    old = item.new_serial_number or item.serial_number
    if serial == old:
        return item
    equipment = item.call.equipment
    if equipment is not None and equipment.serial_number in (item.serial_number, item.new_serial_number or "") \
            or equipment is not None and not item.serial_number:
        update_equipment(actor, equipment, serial_number=serial)  # 409 when that serial is already registered
    before = item.new_serial_number
    item.new_serial_number = serial
    add_event(actor, item, CarryBackEventKind.SERIAL, note=" · ".join(x for x in (f"{old} → {serial}", text) if x))
    audit.record(actor, item, "carry_back.unit_replaced", before={"new_serial_number": before},
                 after={"new_serial_number": serial, "old_serial_number": item.serial_number}, reason=text or None)
    return item


def move_promise(actor: User, item: CarryBack, new_date: date, reason: Any) -> CarryBack:
    """Move the promised return date, only with a reason; the desk gets a progress call to make (a
    communication-log entry on the call, follow-up due now)."""
    require_role(actor, WORKSHOP_ROLES | DESK_ROLES, _("You may not move the promised date."))
    text = clean_note(reason, "reason", required=True)
    _not_returned(item)
    if not isinstance(new_date, date):
        raise Invalid(_("Give the new promised date."), fields={"promised_return_on": _("required")})
    if new_date < local_today():
        raise Invalid(problems(_("The promised date cannot be moved into the past."),
                               {"promised_return_on": _("today or later")}),
                      fields={"promised_return_on": _("today or later")})
    old = item.promised_return_on
    if new_date == old:
        return item
    item.promised_return_on = new_date
    add_event(actor, item, CarryBackEventKind.PROMISE_MOVED, old_promised_on=old, new_promised_on=new_date,
           reason=text)
    audit.record(actor, item, "carry_back.promise_moved", before={"promised_return_on": old},
                 after={"promised_return_on": new_date}, reason=text)
    add_call_note(actor, item.call, channel="internal", next_follow_up=utcnow(), text=_(
        "Promised return date of %(number)s moved from %(old)s to %(new)s: %(reason)s. Call the customer to "
        "tell them.", number=item.number, old=date_text(old), new=date_text(new_date), reason=text))
    return item

