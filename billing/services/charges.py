"""What a call costs by its category: coverage, the charge lines a visit's work makes, and the call's bill.

Plain functions on explicit arguments. They flush, never commit, and raise domain errors.

Arithmetic: every line amount is rounded half-up to cents on its own (labor = minutes x rate / 60,
parts = quantity x unit price); tax is taken on the subtotal of what is due and rounded the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, format_money
from dispatch.core.models import User
from dispatch.core.timeutil import date_text, utcnow
from dispatch.core.types import money
from dispatch.models import Category, RepairCall, Visit

from ..models import ChargeKind, ChargeLine, Payment, Prices
from ..parsing import ZERO
from .parts import resolve_parts
from .prices import current_prices, prices_in_force

MAX_LABOR_MINUTES = 24 * 60
KIND_ORDER = {ChargeKind.CALL_OUT: 0, ChargeKind.LABOR: 1, ChargeKind.PART: 2}


# ----------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """What the call's category covers, and how to say it.

    `by` is what a covered line keeps (its `covered_by`, a record in English such as "contract MC-0057"
    or "free: under warranty until 2027-03-01"; `cover_text` says it in the reader's language).
    `explanation` and `without_parts` are sentences in the request's language (gettext when made)."""

    call_out: bool
    labor: bool
    parts: bool
    by: str | None
    explanation: str
    without_parts: str = ""  # a contract that does not cover parts, when no part was used

    def covers(self, kind: str) -> bool:
        return {ChargeKind.CALL_OUT: self.call_out, ChargeKind.LABOR: self.labor,
                ChargeKind.PART: self.parts}[kind]


_WARRANTY = re.compile(r"free: under warranty until (\d{4}-\d{2}-\d{2})")
_SET_BY = re.compile(r"free: set by (.+?) \((.*?)\)?", re.S)
_CONTRACT = re.compile(r"contract (\S+)")
_FREE = re.compile(r"free: (.*)", re.S)


def _warranty_date(by: str) -> str | None:
    match = _WARRANTY.fullmatch(by)
    if match is None:
        return None
    try:
        return date_text(date.fromisoformat(match.group(1)))
    except ValueError:
        return match.group(1)


def cover_text(by: str | None) -> str:
    """What covers a line (its `covered_by`), in the reader's language: "contract MC-0057" / "合同 MC-0057",
    "free: under warranty until 2027-03-01" / "免费服务：保修期至 2027-03-01". Text of another shape (a
    manager's own words) shows as it is."""
    if not by:
        return ""
    if by == "free":
        return _("free")
    if by == "contract":
        return _("contract")
    if (match := _CONTRACT.fullmatch(by)) is not None:
        return _("contract %(number)s", number=match.group(1))
    if (until := _warranty_date(by)) is not None:
        return _("free: under warranty until %(date)s", date=until)
    if (match := _SET_BY.fullmatch(by)) is not None:
        return _("free: set by %(name)s (%(reason)s)", name=match.group(1), reason=match.group(2))
    if (match := _FREE.fullmatch(by)) is not None:
        return _("free: %(reason)s", reason=match.group(1))
    return by


def coverage_for(call: RepairCall) -> Coverage:
    if call.category == Category.FREE:
        reason = (call.category_reason or "").strip()
        by = reason if reason.lower().startswith("free") else ("free: " + reason if reason else "free")
        by = by[:300]
        until = _warranty_date(by)
        if until is not None:
            return Coverage(True, True, True, by, _("free: under warranty until %(date)s: nothing to pay",
                                                    date=until))
        return Coverage(True, True, True, by, _("%(reason)s: nothing to pay", reason=cover_text(by)))
    if call.category == Category.CONTRACT:
        number = call.contract.number if call.contract is not None else None
        by = f"contract {number}" if number else "contract"
        if call.contract is not None and call.contract.covers_parts:
            return Coverage(True, True, True, by, _("contract %(number)s covers call-out, labor and parts",
                                                    number=number))
        if number:
            return Coverage(True, True, False, by,
                            _("contract %(number)s covers labor and call-out; parts are charged", number=number),
                            _("contract %(number)s covers labor and call-out", number=number))
        return Coverage(True, True, False, by, _("contract covers labor and call-out; parts are charged"),
                        _("contract covers labor and call-out"))
    return Coverage(False, False, False, None, _("charged: call-out, labor and parts are due"))


def line_text(line: ChargeLine | Mapping[str, Any]) -> str:
    """A charge line as people read it, in their language: "Call-out fee" / "上门费", "Labor 45 min at
    120.00/h" / "工时费 45 分钟（每小时 120.00）"; a part by its catalogue name. Takes a line or its JSON
    (kind, description, labor_minutes, unit_price), as a signed voucher keeps it."""
    def get(name: str) -> Any:
        return line.get(name) if isinstance(line, Mapping) else getattr(line, name, None)

    kind, minutes = get("kind"), get("labor_minutes")
    if kind == ChargeKind.CALL_OUT:
        return _("Call-out fee")
    if kind == ChargeKind.LABOR and minutes is not None and get("unit_price") is not None:
        return _("Labor %(minutes)s min at %(rate)s/h", minutes=minutes,
                 rate=format_money(get("unit_price"), symbol=False))
    return str(get("description") or "")


# ----------------------------------------------------------------------------- charge lines


def lock_call(call: RepairCall) -> None:
    """Serialise billing changes of one call: the call row is locked on PostgreSQL (SQLite writers hold
    the database lock from BEGIN IMMEDIATE). Reads after this see what others committed before."""
    db.session.execute(select(RepairCall.id).where(RepairCall.id == call.id).with_for_update())


def _live_lines(call: RepairCall) -> list[ChargeLine]:
    lines = db.session.scalars(select(ChargeLine).where(ChargeLine.call_id == call.id,
                                                        ChargeLine.voided_at.is_(None)))
    return _bill_order(lines)


def _bill_order(lines: Iterable[ChargeLine]) -> list[ChargeLine]:
    return sorted(lines, key=lambda ln: (KIND_ORDER.get(ln.kind, 9), ln.visit_id or 0, ln.id))


def record_work(actor: User | None, call: RepairCall, visit: Visit, *, labor_minutes: int,
                parts: Sequence[tuple[str, Any]]) -> list[ChargeLine]:
    """Replaces the visit's draft charge lines with the work now recorded; returns the visit's lines.

    The call-out fee is charged once per call, with the first visit that records work.
    """
    if visit.call_id != call.id:
        raise Invalid(_("The visit belongs to another call."), fields={"visit_id": _("not this call's visit")})
    if isinstance(labor_minutes, bool) or not isinstance(labor_minutes, int) or \
            not 0 <= labor_minutes <= MAX_LABOR_MINUTES:
        raise Invalid(_("The labor time must be a whole number of minutes from 0 to %(max)d.",
                        max=MAX_LABOR_MINUTES),
                      fields={"labor_minutes": _("a whole number from 0 to %(max)d", max=MAX_LABOR_MINUTES)})
    wanted = resolve_parts(parts)
    lock_call(call)
    live = _live_lines(call)
    mine = [ln for ln in live if ln.visit_id == visit.id]
    if any(ln.locked_at is not None for ln in mine):
        raise Conflict(_("The work of this visit is signed off; its charges can no longer change."),
                       code="charges_locked")
    before = [_line_snapshot(ln) for ln in mine]
    now = utcnow()
    for line in mine:
        line.voided_at = now
    prices = current_prices()
    cover = coverage_for(call)
    new: list[ChargeLine] = []

    def add(kind: str, **values: Any) -> None:
        covered = cover.covers(kind)
        line = ChargeLine(call_id=call.id, visit_id=visit.id, kind=kind, covered=covered,
                          covered_by=cover.by if covered else None,
                          created_by_id=actor.id if actor is not None else None, created_at=now, **values)
        db.session.add(line)
        new.append(line)

    others_have_call_out = any(ln.kind == ChargeKind.CALL_OUT and ln.visit_id != visit.id for ln in live)
    if not others_have_call_out:
        fee = money(prices.call_out_fee)
        add(ChargeKind.CALL_OUT, sku=None, description="Call-out fee", quantity=Decimal(1),
            unit_price=fee, amount=fee, cost=fee)
    if labor_minutes > 0:
        rate = money(prices.labor_rate_per_hour)
        amount = money(Decimal(labor_minutes) * rate / Decimal(60))
        hours = (Decimal(labor_minutes) / Decimal(60)).quantize(Decimal("0.0001"))
        add(ChargeKind.LABOR, sku=None, description=f"Labor {labor_minutes} min at {rate}/h",
            quantity=hours, labor_minutes=labor_minutes, unit_price=rate, amount=amount, cost=amount)
    for part, qty in wanted:
        unit_price = money(part.unit_price)
        add(ChargeKind.PART, sku=part.sku, description=part.name[:300], quantity=qty, unit_price=unit_price,
            amount=money(qty * unit_price),
            cost=money(qty * part.unit_cost) if part.unit_cost is not None else None)
    db.session.flush()
    audit.record(actor, visit, "charges.recorded", before={"lines": before},
                 after={"lines": [_line_snapshot(ln) for ln in new], "labor_minutes": labor_minutes})
    return new


def visit_lines(visit: Visit) -> list[ChargeLine]:
    lines = db.session.scalars(select(ChargeLine).where(ChargeLine.visit_id == visit.id,
                                                        ChargeLine.voided_at.is_(None)))
    return sorted(lines, key=lambda ln: (KIND_ORDER.get(ln.kind, 9), ln.id))


def lock_call_charges(call: RepairCall, visit: Visit, actor: User | None = None) -> list[ChargeLine]:
    """After sign-off: the visit's lines become read-only (a later record_work is a 409)."""
    if visit.call_id != call.id:
        raise Invalid(_("The visit belongs to another call."), fields={"visit_id": _("not this call's visit")})
    now = utcnow()
    lines = visit_lines(visit)
    locked = [ln for ln in lines if ln.locked_at is None]
    for line in locked:
        line.locked_at = now
    db.session.flush()
    if locked:
        audit.record(actor, visit, "charges.locked", after={"lines": [ln.id for ln in locked]})
    return lines


# ----------------------------------------------------------------------------- workshop work

WORKSHOP = "workshop"


def workshop_lines(call: RepairCall, ref: str) -> list[ChargeLine]:
    """The live charge lines of the workshop work recorded under `ref` (a carry-back's receipt number)."""
    lines = db.session.scalars(select(ChargeLine).where(
        ChargeLine.call_id == call.id, ChargeLine.source == WORKSHOP, ChargeLine.source_ref == ref,
        ChargeLine.voided_at.is_(None)))
    return sorted(lines, key=lambda ln: (KIND_ORDER.get(ln.kind, 9), ln.id))


def record_workshop_work(actor: User | None, call: RepairCall, *, ref: str, labor_minutes: int,
                         parts: Sequence[tuple[str, Any]]) -> list[ChargeLine]:
    """Workshop work on an item taken back from the call's site (携回修护), charged on the call like on-site
    work and by the same rules (the call's category covers or charges each line; no second call-out fee).

    Replaces what was recorded under `ref` before (the workshop corrects its own record until the item goes
    back to the customer, when `lock_workshop_charges` seals it); returns the new lines."""
    if isinstance(labor_minutes, bool) or not isinstance(labor_minutes, int) or \
            not 0 <= labor_minutes <= MAX_LABOR_MINUTES:
        raise Invalid(_("The labor time must be a whole number of minutes from 0 to %(max)d.",
                        max=MAX_LABOR_MINUTES),
                      fields={"labor_minutes": _("a whole number from 0 to %(max)d", max=MAX_LABOR_MINUTES)})
    wanted = resolve_parts(parts)
    lock_call(call)
    mine = workshop_lines(call, ref)
    if any(ln.locked_at is not None for ln in mine):
        raise Conflict(_("The workshop work of %(ref)s is sealed; its charges can no longer change.", ref=ref),
                       code="charges_locked")
    before = [_line_snapshot(ln) for ln in mine]
    now = utcnow()
    for line in mine:
        line.voided_at = now
    prices = current_prices()
    cover = coverage_for(call)
    new: list[ChargeLine] = []

    def add(kind: str, **values: Any) -> None:
        covered = cover.covers(kind)
        line = ChargeLine(call_id=call.id, visit_id=None, kind=kind, covered=covered,
                          covered_by=cover.by if covered else None, source=WORKSHOP, source_ref=ref,
                          created_by_id=actor.id if actor is not None else None, created_at=now, **values)
        db.session.add(line)
        new.append(line)

    if labor_minutes > 0:
        rate = money(prices.labor_rate_per_hour)
        amount = money(Decimal(labor_minutes) * rate / Decimal(60))
        hours = (Decimal(labor_minutes) / Decimal(60)).quantize(Decimal("0.0001"))
        add(ChargeKind.LABOR, sku=None, description=f"Workshop labor {labor_minutes} min at {rate}/h",
            quantity=hours, labor_minutes=labor_minutes, unit_price=rate, amount=amount, cost=amount)
    for part, qty in wanted:
        unit_price = money(part.unit_price)
        add(ChargeKind.PART, sku=part.sku, description=part.name[:300], quantity=qty, unit_price=unit_price,
            amount=money(qty * unit_price),
            cost=money(qty * part.unit_cost) if part.unit_cost is not None else None)
    db.session.flush()
    audit.record(actor, call, "charges.workshop_recorded", before={"ref": ref, "lines": before},
                 after={"ref": ref, "lines": [_line_snapshot(ln) for ln in new], "labor_minutes": labor_minutes})
    return new


def lock_workshop_charges(call: RepairCall, ref: str, actor: User | None = None) -> list[ChargeLine]:
    """When the item goes back to the customer: the workshop lines become read-only, as a voucher's do."""
    now = utcnow()
    lines = workshop_lines(call, ref)
    locked = [ln for ln in lines if ln.locked_at is None]
    for line in locked:
        line.locked_at = now
    db.session.flush()
    if locked:
        audit.record(actor, call, "charges.workshop_locked", after={"ref": ref, "lines": [ln.id for ln in locked]})
    return lines


def _line_snapshot(line: ChargeLine) -> dict[str, Any]:
    return audit.snapshot(line, "kind", "sku", "quantity", "unit_price", "amount", "covered")


# ----------------------------------------------------------------------------- the charge sheet


@dataclass
class ChargeSheet:
    call_id: int
    category: str
    lines: list[ChargeLine]
    subtotal: Decimal
    tax: Decimal
    tax_rate: Decimal
    total_due: Decimal
    currency: str
    explanation: str
    cost: Decimal
    list_total: Decimal
    paid: Decimal
    balance: Decimal
    locked: bool
    payments: list[Payment] = field(default_factory=list)


def charges_for_call(call: RepairCall) -> ChargeSheet:
    """The call's bill. Tax and currency are those of the price list in force when the work was last
    recorded, so a later price change does not alter a bill already shown (or signed)."""
    return charge_sheets([call])[call.id]


def charge_sheets(calls: Sequence[RepairCall]) -> dict[int, ChargeSheet]:
    """charges_for_call of each call (by call id), read in the same few statements whatever their number:
    for a list that shows each row's bill."""
    ids = list(dict.fromkeys(call.id for call in calls))
    lines: dict[int, list[ChargeLine]] = {call_id: [] for call_id in ids}
    payments: dict[int, list[Payment]] = {call_id: [] for call_id in ids}
    if ids:
        for line in db.session.scalars(select(ChargeLine).where(ChargeLine.call_id.in_(ids),
                                                                ChargeLine.voided_at.is_(None))):
            lines[line.call_id].append(line)
        for payment in db.session.scalars(select(Payment).where(Payment.call_id.in_(ids)).order_by(Payment.id)):
            payments[payment.call_id].append(payment)
    last_work = {call_id: max(ln.created_at for ln in found) for call_id, found in lines.items() if found}
    in_force = prices_in_force(last_work.values())
    current = current_prices() if len(last_work) < len(ids) else None
    sheets: dict[int, ChargeSheet] = {}
    for call in calls:
        prices = in_force[last_work[call.id]] if call.id in last_work else current
        assert prices is not None
        sheets[call.id] = _sheet(call, _bill_order(lines[call.id]), payments[call.id], prices)
    return sheets


def _sheet(call: RepairCall, lines: list[ChargeLine], payments: list[Payment], prices: Prices) -> ChargeSheet:
    subtotal = money(sum((ln.due for ln in lines), ZERO))
    tax = money(subtotal * prices.tax_rate)
    total_due = subtotal + tax
    paid = money(sum((p.amount for p in payments), ZERO))
    cover = coverage_for(call)
    explanation = cover.explanation if lines else _("no work recorded yet")
    if lines and cover.without_parts and not any(ln.kind == ChargeKind.PART for ln in lines):
        explanation = cover.without_parts
    return ChargeSheet(
        call_id=call.id, category=call.category, lines=lines, subtotal=subtotal, tax=tax,
        tax_rate=prices.tax_rate, total_due=total_due, currency=prices.currency, explanation=explanation,
        cost=money(sum((ln.cost or ZERO for ln in lines), ZERO)),
        list_total=money(sum((ln.amount for ln in lines), ZERO)),
        paid=paid, balance=total_due - paid, locked=bool(lines) and all(ln.locked_at for ln in lines),
        payments=payments)


def call_payments(call: RepairCall) -> list[Payment]:
    """The payments taken on the call, oldest first (the bill's paid and balance come from them)."""
    return list(db.session.scalars(select(Payment).where(Payment.call_id == call.id).order_by(Payment.id)))
