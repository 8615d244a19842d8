"""Billing rules: the price list, the parts catalogue, what a call costs by category, on-site payments.

Plain functions on explicit arguments. They flush, never commit, and raise domain errors.

Arithmetic: every line amount is rounded half-up to cents on its own (labor = minutes x rate / 60,
parts = quantity x unit price); tax is taken on the subtotal of what is due and rounded the same way.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import iso, local_tz, utcnow
from dispatch.core.types import money
from dispatch.models import Category, RepairCall, Visit

from .models import PAYMENT_METHODS, ChargeKind, ChargeLine, Part, Payment, Prices

ZERO = Decimal("0.00")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)
MAX_LABOR_MINUTES = 24 * 60
MAX_PART_QUANTITY = Decimal("10000")
# Until finance sets a price list, these hold (the demo values of API.md).
DEFAULT_PRICES = {"call_out_fee": Decimal("80.00"), "labor_rate_per_hour": Decimal("120.00"),
                  "tax_rate": Decimal("0.13"), "currency": "CNY"}
KIND_ORDER = {ChargeKind.CALL_OUT: 0, ChargeKind.LABOR: 1, ChargeKind.PART: 2}


# ----------------------------------------------------------------------------- reading numbers


def parse_decimal(value: Any, name: str, errors: dict[str, str], *, required: bool = True,
                  places: int = 2, minimum: Decimal | None = ZERO, maximum: Decimal | None = MAX_MONEY,
                  positive: bool = False) -> Decimal | None:
    """A JSON number or numeric string as an exact Decimal; problems go into `errors`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "required"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors[name] = "must be a number like 80.00"
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[name] = "must be a number like 80.00"
        return None
    if not number.is_finite():
        errors[name] = "must be a number like 80.00"
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
        errors[name] = f"at most {places} decimal places"
        return None
    if positive and number <= 0:
        errors[name] = "must be more than 0"
        return None
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
        return None
    if maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum}"
        return None
    return number


# ----------------------------------------------------------------------------- prices


def current_prices() -> Prices:
    """The latest price list; before finance set one, an unsaved list with the default values."""
    prices = db.session.scalar(select(Prices).order_by(Prices.effective_from.desc(), Prices.id.desc()).limit(1))
    if prices is None:
        prices = Prices(**DEFAULT_PRICES)
    return prices


def prices_at(when: datetime) -> Prices:
    """The price list in force at `when` (the defaults if none was set by then)."""
    prices = db.session.scalar(select(Prices).where(Prices.effective_from <= when)
                               .order_by(Prices.effective_from.desc(), Prices.id.desc()).limit(1))
    return prices if prices is not None else Prices(**DEFAULT_PRICES)


def price_history(limit: int = 20) -> list[Prices]:
    return list(db.session.scalars(
        select(Prices).order_by(Prices.effective_from.desc(), Prices.id.desc()).limit(limit)))


def set_prices(actor: User, *, call_out_fee: Any, labor_rate_per_hour: Any, tax_rate: Any,
               currency: Any = None) -> Prices:
    """Adds a new version of the price list (the old one stays, for history)."""
    errors: dict[str, str] = {}
    fee = parse_decimal(call_out_fee, "call_out_fee", errors)
    rate = parse_decimal(labor_rate_per_hour, "labor_rate_per_hour", errors)
    tax = parse_decimal(tax_rate, "tax_rate", errors, places=4, maximum=Decimal(1))
    if tax is None and "tax_rate" in errors and errors["tax_rate"].startswith("must be at"):
        errors["tax_rate"] = "must be from 0 to 1 (0.13 is 13 %)"
    before = current_prices()
    if currency is None or (isinstance(currency, str) and not currency.strip()):
        currency = before.currency
    if not isinstance(currency, str) or len(currency.strip()) != 3 or not currency.strip().isalpha():
        errors["currency"] = "a three-letter currency code like CNY"
    if errors:
        raise Invalid("The prices cannot be saved: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    assert fee is not None and rate is not None and tax is not None
    old = audit.snapshot(before, "call_out_fee", "labor_rate_per_hour", "tax_rate", "currency")
    prices = Prices(call_out_fee=money(fee), labor_rate_per_hour=money(rate), tax_rate=tax,
                    currency=currency.strip().upper(), effective_from=utcnow(),
                    set_by_id=actor.id if actor is not None else None)
    db.session.add(prices)
    db.session.flush()
    audit.record(actor, prices, "prices.set", before=old,
                 after=audit.snapshot(prices, "call_out_fee", "labor_rate_per_hour", "tax_rate", "currency"))
    return prices


def prices_json(prices: Prices) -> dict[str, Any]:
    return {
        "call_out_fee": str(money(prices.call_out_fee)),
        "labor_rate_per_hour": str(money(prices.labor_rate_per_hour)),
        "tax_rate": format_rate(prices.tax_rate),
        "currency": prices.currency,
        "effective_from": iso(prices.effective_from),
        "set_by": prices.set_by.name if prices.set_by is not None else None,
    }


def format_rate(rate: Decimal) -> str:
    """0.1300 -> "0.13"; 0.0650 -> "0.065" (at least two places)."""
    text = format(Decimal(rate).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


# ----------------------------------------------------------------------------- parts


def find_part(sku: str) -> Part | None:
    if not isinstance(sku, str) or not sku.strip():
        return None
    return db.session.scalar(select(Part).where(Part.sku == sku.strip().upper()))  # skus are kept upper-case


def search_parts(q: str | None, limit: int = 20, *, include_archived: bool = False) -> list[Part]:
    stmt = select(Part)
    if not include_archived:
        stmt = stmt.where(Part.archived_at.is_(None))
    if q and q.strip():
        words = q.strip().lower().split()
        for word in words:
            pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
            stmt = stmt.where(or_(func.lower(Part.sku).like(pattern, escape="\\"),
                                  func.lower(Part.name).like(pattern, escape="\\")))
    stmt = stmt.order_by(Part.archived_at.is_not(None), Part.sku).limit(max(1, min(limit, 200)))
    return list(db.session.scalars(stmt))


def _part_fields(errors: dict[str, str], *, name: Any, unit_price: Any, unit_cost: Any,
                 unit: Any) -> tuple[str | None, Decimal | None, Decimal | None, str | None]:
    clean_name: str | None = None
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "required"
    elif len(name.strip()) > 200:
        errors["name"] = "at most 200 characters"
    else:
        clean_name = name.strip()
    price = parse_decimal(unit_price, "unit_price", errors)
    cost = parse_decimal(unit_cost, "unit_cost", errors, required=False)
    clean_unit: str | None = "pcs"
    if unit is not None:
        if not isinstance(unit, str) or not unit.strip() or len(unit.strip()) > 20:
            errors["unit"] = "a short unit like pcs, kg or m"
            clean_unit = None
        else:
            clean_unit = unit.strip()
    return clean_name, price, cost, clean_unit


def create_part(actor: User, *, sku: Any, name: Any, unit_price: Any, unit_cost: Any = None,
                unit: Any = None) -> Part:
    errors: dict[str, str] = {}
    clean_sku: str | None = None
    if not isinstance(sku, str) or not sku.strip():
        errors["sku"] = "required"
    elif len(sku.strip()) > 60 or any(c.isspace() for c in sku.strip()):
        errors["sku"] = "at most 60 characters, no spaces"
    else:
        clean_sku = sku.strip().upper()
    clean_name, price, cost, clean_unit = _part_fields(errors, name=name, unit_price=unit_price,
                                                       unit_cost=unit_cost, unit=unit)
    if errors:
        raise Invalid("The part cannot be saved: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    assert clean_sku is not None and clean_name is not None and price is not None and clean_unit is not None
    if find_part(clean_sku) is not None:
        raise Conflict(f"There is already a part with sku {clean_sku}.", code="duplicate_sku",
                       fields={"sku": "already in the catalogue"})
    part = Part(sku=clean_sku, name=clean_name, unit_price=money(price),
                unit_cost=money(cost) if cost is not None else None, unit=clean_unit)
    db.session.add(part)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(f"There is already a part with sku {clean_sku}.", code="duplicate_sku",
                       fields={"sku": "already in the catalogue"}) from None
    audit.record(actor, part, "part.created", after=_part_snapshot(part))
    return part


def update_part(actor: User, part: Part, *, name: Any = None, unit_price: Any = None, unit_cost: Any = None,
                unit: Any = None) -> Part:
    """Changes the name, unit, price or cost of a part. Lines already recorded keep their prices."""
    errors: dict[str, str] = {}
    clean_name, price, cost, clean_unit = _part_fields(
        errors, name=part.name if name is None else name,
        unit_price=part.unit_price if unit_price is None else unit_price,
        unit_cost=unit_cost, unit=part.unit if unit is None else unit)
    if errors:
        raise Invalid("The part cannot be saved: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    before = _part_snapshot(part)
    assert clean_name is not None and price is not None and clean_unit is not None
    part.name, part.unit_price, part.unit = clean_name, money(price), clean_unit
    part.unit_cost = money(cost) if cost is not None else None
    part.updated_at = utcnow()
    db.session.flush()
    audit.record(actor, part, "part.updated", before=before, after=_part_snapshot(part))
    return part


def archive_part(actor: User, part: Part) -> Part:
    if part.archived_at is not None:
        return part
    part.archived_at = utcnow()
    db.session.flush()
    audit.record(actor, part, "part.archived", after={"archived_at": part.archived_at})
    return part


def restore_part(actor: User, part: Part) -> Part:
    if part.archived_at is None:
        return part
    before = {"archived_at": part.archived_at}
    part.archived_at = None
    db.session.flush()
    audit.record(actor, part, "part.restored", before=before, after={"archived_at": None})
    return part


def _part_snapshot(part: Part) -> dict[str, Any]:
    return audit.snapshot(part, "sku", "name", "unit", "unit_price", "unit_cost")


def part_json(part: Part) -> dict[str, Any]:
    return {
        "id": part.id,
        "sku": part.sku,
        "name": part.name,
        "unit": part.unit,
        "unit_price": str(money(part.unit_price)),
        "unit_cost": str(money(part.unit_cost)) if part.unit_cost is not None else None,
        "archived": part.archived_at is not None,
    }


# ----------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class Coverage:
    """What the call's category covers, and how to say it."""

    call_out: bool
    labor: bool
    parts: bool
    by: str | None
    explanation: str

    def covers(self, kind: str) -> bool:
        return {ChargeKind.CALL_OUT: self.call_out, ChargeKind.LABOR: self.labor,
                ChargeKind.PART: self.parts}[kind]


def coverage_for(call: RepairCall) -> Coverage:
    if call.category == Category.FREE:
        reason = (call.category_reason or "").strip()
        by = reason if reason.lower().startswith("free") else ("free: " + reason if reason else "free")
        by = by[:300]
        return Coverage(True, True, True, by, f"{by}: nothing to pay")
    if call.category == Category.CONTRACT:
        label = f"contract {call.contract.number}" if call.contract is not None else "contract"
        covers_parts = bool(call.contract is not None and call.contract.covers_parts)
        if covers_parts:
            return Coverage(True, True, True, label, f"{label} covers call-out, labor and parts")
        return Coverage(True, True, False, label, f"{label} covers labor and call-out; parts are charged")
    return Coverage(False, False, False, None, "charged: call-out, labor and parts are due")


# ----------------------------------------------------------------------------- charge lines


def _lock_call(call: RepairCall) -> None:
    """Serialise billing changes of one call: the call row is locked on PostgreSQL (SQLite writers hold
    the database lock from BEGIN IMMEDIATE). Reads after this see what others committed before."""
    db.session.execute(select(RepairCall.id).where(RepairCall.id == call.id).with_for_update())


def _live_lines(call: RepairCall) -> list[ChargeLine]:
    lines = db.session.scalars(select(ChargeLine).where(ChargeLine.call_id == call.id,
                                                        ChargeLine.voided_at.is_(None)))
    return sorted(lines, key=lambda ln: (KIND_ORDER.get(ln.kind, 9), ln.visit_id or 0, ln.id))


def _clean_parts(parts: Sequence[Any]) -> list[tuple[Part, Decimal]]:
    """[(sku, quantity)] -> [(part, quantity)], the same sku merged, in the order first given."""
    if not isinstance(parts, list | tuple):
        raise Invalid("parts must be a list of sku and quantity.", fields={"parts": "must be a list"})
    merged: dict[str, tuple[Part, Decimal]] = {}
    for index, item in enumerate(parts):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise Invalid("Each part needs a sku and a quantity.", fields={"parts": f"row {index + 1}: sku and quantity"})
        sku, quantity = item
        errors: dict[str, str] = {}
        qty = parse_decimal(quantity, "quantity", errors, places=3, maximum=MAX_PART_QUANTITY, positive=True)
        if qty is None:
            raise Invalid(f"Part {sku}: quantity {errors.get('quantity', 'is wrong')}.",
                          fields={"parts": f"row {index + 1}: quantity {errors.get('quantity', 'is wrong')}"})
        part = find_part(sku) if isinstance(sku, str) else None
        if part is None:
            raise Invalid(f"There is no part with sku {sku} in the catalogue.", code="unknown_sku",
                          fields={"parts": f"unknown sku {sku}"})
        if part.archived_at is not None:
            raise Invalid(f"Part {part.sku} is no longer in the catalogue.", code="unknown_sku",
                          fields={"parts": f"sku {part.sku} is archived"})
        if part.sku in merged:
            qty += merged[part.sku][1]
        merged[part.sku] = (part, qty)
    return list(merged.values())


def format_quantity(qty: Decimal) -> str:
    """2.000 -> "2", 1.500 -> "1.5", 10 -> "10"."""
    return format(Decimal(qty).normalize(), "f")


def record_work(actor: User | None, call: RepairCall, visit: Visit, *, labor_minutes: int,
                parts: Sequence[tuple[str, Any]]) -> list[ChargeLine]:
    """Replaces the visit's draft charge lines with the work now recorded; returns the visit's lines.

    The call-out fee is charged once per call, with the first visit that records work.
    """
    if visit.call_id != call.id:
        raise Invalid("The visit belongs to another call.", fields={"visit_id": "not this call's visit"})
    if isinstance(labor_minutes, bool) or not isinstance(labor_minutes, int) or \
            not 0 <= labor_minutes <= MAX_LABOR_MINUTES:
        raise Invalid(f"labor_minutes must be a whole number from 0 to {MAX_LABOR_MINUTES}.",
                      fields={"labor_minutes": f"a whole number from 0 to {MAX_LABOR_MINUTES}"})
    wanted = _clean_parts(parts)
    _lock_call(call)
    live = _live_lines(call)
    mine = [ln for ln in live if ln.visit_id == visit.id]
    if any(ln.locked_at is not None for ln in mine):
        raise Conflict("The work of this visit is signed off; its charges can no longer change.",
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
        raise Invalid("The visit belongs to another call.", fields={"visit_id": "not this call's visit"})
    now = utcnow()
    lines = visit_lines(visit)
    locked = [ln for ln in lines if ln.locked_at is None]
    for line in locked:
        line.locked_at = now
    db.session.flush()
    if locked:
        audit.record(actor, visit, "charges.locked", after={"lines": [ln.id for ln in locked]})
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

    def as_json(self) -> dict[str, Any]:
        return {
            "call_id": self.call_id,
            "category": self.category,
            "lines": [line_json(ln) for ln in self.lines],
            "subtotal": str(self.subtotal),
            "tax_rate": format_rate(self.tax_rate),
            "tax": str(self.tax),
            "total_due": str(self.total_due),
            "currency": self.currency,
            "explanation": self.explanation,
            "cost": str(self.cost),
            "list_total": str(self.list_total),
            "paid": str(self.paid),
            "balance": str(self.balance),
            "locked": self.locked,
            "payments": [payment_json(p) for p in self.payments],
        }


def line_json(line: ChargeLine) -> dict[str, Any]:
    return {
        "id": line.id,
        "visit_id": line.visit_id,
        "kind": line.kind,
        "description": line.description,
        "sku": line.sku,
        "quantity": format_quantity(line.quantity),
        "labor_minutes": line.labor_minutes,
        "unit_price": str(money(line.unit_price)),
        "amount": str(money(line.amount)),
        "due": str(money(line.due)),
        "cost": str(money(line.cost)) if line.cost is not None else None,
        "covered": line.covered,
        "covered_by": line.covered_by,
        "locked": line.locked_at is not None,
    }


def charges_for_call(call: RepairCall) -> ChargeSheet:
    """The call's bill. Tax and currency are those of the price list in force when the work was last
    recorded, so a later price change does not alter a bill already shown (or signed)."""
    lines = _live_lines(call)
    prices = prices_at(max(ln.created_at for ln in lines)) if lines else current_prices()
    subtotal = money(sum((ln.due for ln in lines), ZERO))
    tax = money(subtotal * prices.tax_rate)
    total_due = subtotal + tax
    payments = call_payments(call)
    paid = money(sum((p.amount for p in payments), ZERO))
    cover = coverage_for(call)
    explanation = cover.explanation if lines else "no work recorded yet"
    if lines and call.category == Category.CONTRACT and not cover.parts and \
            not any(ln.kind == ChargeKind.PART for ln in lines):
        explanation = cover.explanation.split(";")[0]
    return ChargeSheet(
        call_id=call.id, category=call.category, lines=lines, subtotal=subtotal, tax=tax,
        tax_rate=prices.tax_rate, total_due=total_due, currency=prices.currency, explanation=explanation,
        cost=money(sum((ln.cost or ZERO for ln in lines), ZERO)),
        list_total=money(sum((ln.amount for ln in lines), ZERO)),
        paid=paid, balance=total_due - paid, locked=bool(lines) and all(ln.locked_at for ln in lines),
        payments=payments)


# ----------------------------------------------------------------------------- payments


def call_payments(call: RepairCall) -> list[Payment]:
    return list(db.session.scalars(select(Payment).where(Payment.call_id == call.id).order_by(Payment.id)))


def record_onsite_payment(actor: User | None, call: RepairCall, visit: Visit | None, *, amount: Any,
                          method: Any) -> Payment:
    """Money the technician takes on site, with a gapless receipt number (RC-2026-000001)."""
    if visit is not None and visit.call_id != call.id:
        raise Invalid("The visit belongs to another call.", fields={"visit_id": "not this call's visit"})
    errors: dict[str, str] = {}
    value = parse_decimal(amount, "amount", errors, positive=True)
    if method not in PAYMENT_METHODS:
        errors["method"] = "one of: " + ", ".join(PAYMENT_METHODS)
    if errors:
        raise Invalid("The payment cannot be taken: " + "; ".join(f"{k} {v}" for k, v in errors.items()) + ".",
                      fields=errors)
    assert value is not None
    _lock_call(call)
    if call.category == Category.FREE:
        raise Conflict("This call is free of charge (" + (call.category_reason or "free") + "): nothing to pay.",
                       code="nothing_due")
    sheet = charges_for_call(call)
    if sheet.total_due <= 0:
        raise Conflict(f"Nothing is due on this call ({sheet.explanation}).", code="nothing_due")
    if sheet.balance <= 0:
        raise Conflict(f"This call is paid in full ({sheet.paid} {sheet.currency}).", code="already_paid")
    if value > sheet.balance:
        raise Invalid(f"The amount {value} is more than the {sheet.balance} {sheet.currency} still due.",
                      code="more_than_due", fields={"amount": f"at most {sheet.balance}"})
    now = utcnow()
    payment = Payment(call_id=call.id, visit_id=visit.id if visit is not None else None, amount=money(value),
                      method=str(method), receipt_number=next_number("receipt", now.astimezone(local_tz()).year),
                      collected_by_id=actor.id if actor is not None else None, collected_at=now)
    db.session.add(payment)
    db.session.flush()
    audit.record(actor, payment, "payment.collected",
                 after=audit.snapshot(payment, "call_id", "visit_id", "amount", "method", "receipt_number"))
    return payment


def reconcile_payment(actor: User, payment: Payment) -> Payment:
    if payment.reconciled_at is not None:
        raise Conflict(f"Receipt {payment.receipt_number} is already reconciled.", code="already_reconciled")
    payment.reconciled_at = utcnow()
    payment.reconciled_by_id = actor.id
    db.session.flush()
    audit.record(actor, payment, "payment.reconciled", after={"reconciled_at": payment.reconciled_at})
    return payment


def payments_query(*, reconciled: bool | None = None) -> Any:
    stmt = select(Payment)
    if reconciled is True:
        stmt = stmt.where(Payment.reconciled_at.is_not(None))
    elif reconciled is False:
        stmt = stmt.where(Payment.reconciled_at.is_(None))
    return stmt


def payment_json(payment: Payment) -> dict[str, Any]:
    return {
        "id": payment.id,
        "call_id": payment.call_id,
        "visit_id": payment.visit_id,
        "amount": str(money(payment.amount)),
        "method": payment.method,
        "receipt_number": payment.receipt_number,
        "collected_by": payment.collected_by.name if payment.collected_by is not None else None,
        "collected_by_id": payment.collected_by_id,
        "collected_at": iso(payment.collected_at),
        "reconciled_at": iso(payment.reconciled_at),
    }
