"""The parts catalogue (find, search, create, change, archive) and part lists: the one parser of
[{"sku", "quantity"}] that every entry point (phone, API, billing) reads work through."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id

from ..models import Part
from ..parsing import invalid_message, parse_decimal

# One limit for every part list: the phone API documents 1-999 per line, refrigerant by the kg
# (up to three decimals) included.
MAX_PART_QUANTITY = Decimal("999")
QUANTITY_PLACES = 3
MAX_PARTS = 50  # different skus per visit
MAX_SKU = 60


@dataclass(frozen=True)
class PartUse:
    sku: str
    quantity: Decimal


# ----------------------------------------------------------------------------- part lists


def parse_quantity(value: Any, errors: dict[str, str]) -> Decimal | None:
    """A part quantity: more than 0, at most MAX_PART_QUANTITY, up to three decimals."""
    return parse_decimal(value, "quantity", errors, floats=True, places=QUANTITY_PLACES, maximum=MAX_PART_QUANTITY,
                         positive=True)


def parse_part_lines(raw: Any) -> list[PartUse]:
    """[{"sku", "quantity"}] -> merged PartUse list. Rows with an empty sku (blank form rows) are skipped.
    Quantities may have up to three decimals (refrigerant by the kg); a missing quantity is 1."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise Invalid(_('parts must be a list like [{"sku": "FLT-01", "quantity": 2}].'),
                      fields={"parts": _("must be a list")})
    merged: dict[str, Decimal] = {}
    for i, item in enumerate(raw):
        if not isinstance(item, dict):
            raise Invalid(_("Part %(row)d must be an object with sku and quantity.", row=i + 1),
                          fields={"parts": _("row %(row)d", row=i + 1)})
        sku = item.get("sku")
        if sku is None or (isinstance(sku, str) and not sku.strip()):
            continue
        if not isinstance(sku, str) or len(sku.strip()) > MAX_SKU:
            raise Invalid(_("Part %(row)d: sku must be short text.", row=i + 1),
                          fields={"parts": _("row %(row)d: bad sku", row=i + 1)})
        key = sku.strip().upper()
        errors: dict[str, str] = {}
        raw_qty = item.get("quantity")
        quantity = parse_quantity(1 if raw_qty in (None, "") else raw_qty, errors)
        if quantity is None:
            problem = errors.get("quantity") or _("is wrong")
            raise Invalid(_("Part %(sku)s: quantity %(problem)s.", sku=key, problem=problem),
                          fields={"parts": _("%(sku)s: quantity %(problem)s", sku=key, problem=problem)})
        merged[key] = merged.get(key, Decimal(0)) + quantity
    if len(merged) > MAX_PARTS:
        raise Invalid(_("At most %(n)d different parts per visit.", n=MAX_PARTS), fields={"parts": _("too many")})
    return [PartUse(sku, qty) for sku, qty in merged.items()]


def resolve_parts(parts: Sequence[Any]) -> list[tuple[Part, Decimal]]:
    """[(sku, quantity)] -> [(part, quantity)] from the live catalogue, the same sku merged, in the order
    first given."""
    if not isinstance(parts, list | tuple):
        raise Invalid(_("parts must be a list of sku and quantity."), fields={"parts": _("must be a list")})
    merged: dict[str, tuple[Part, Decimal]] = {}
    for index, item in enumerate(parts):
        if not isinstance(item, list | tuple) or len(item) != 2:
            raise Invalid(_("Each part needs a sku and a quantity."),
                          fields={"parts": _("row %(row)d: sku and quantity", row=index + 1)})
        sku, quantity = item
        errors: dict[str, str] = {}
        qty = parse_quantity(quantity, errors)
        if qty is None:
            problem = errors.get("quantity") or _("is wrong")
            raise Invalid(_("Part %(sku)s: quantity %(problem)s.", sku=sku, problem=problem),
                          fields={"parts": _("row %(row)d: quantity %(problem)s", row=index + 1, problem=problem)})
        part = find_part(sku) if isinstance(sku, str) else None
        if part is None:
            raise Invalid(_("There is no part with sku %(sku)s in the catalogue.", sku=sku), code="unknown_sku",
                          fields={"parts": _("unknown sku %(sku)s", sku=sku)})
        if part.archived_at is not None:
            raise Invalid(_("Part %(sku)s is no longer in the catalogue.", sku=part.sku), code="unknown_sku",
                          fields={"parts": _("sku %(sku)s is archived", sku=part.sku)})
        if part.sku in merged:
            qty += merged[part.sku][1]
        merged[part.sku] = (part, qty)
    return list(merged.values())


def format_quantity(qty: Decimal) -> str:
    """2.000 -> "2", 1.500 -> "1.5", 10 -> "10"."""
    return format(Decimal(qty).normalize(), "f")


# ----------------------------------------------------------------------------- the catalogue


def find_part(sku: str) -> Part | None:
    if not isinstance(sku, str) or not sku.strip():
        return None
    return db.session.scalar(select(Part).where(Part.sku == sku.strip().upper()))  # skus are kept upper-case


def get_part_or_404(part_id: int) -> Part:
    part = db.session.get(Part, part_id) if is_id(part_id) else None
    if part is None:
        raise NotFound(_("There is no part %(id)s.", id=part_id))
    return part


def count_live_parts() -> int:
    """Parts still offered to technicians (archived ones left out)."""
    return db.session.scalar(select(func.count(Part.id)).where(Part.archived_at.is_(None))) or 0


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
        errors["name"] = _("required")
    elif len(name.strip()) > 200:
        errors["name"] = _("at most %(n)d characters", n=200)
    else:
        clean_name = name.strip()
    price = parse_decimal(unit_price, "unit_price", errors)
    cost = parse_decimal(unit_cost, "unit_cost", errors, required=False)
    clean_unit: str | None = "pcs"
    if unit is not None:
        if not isinstance(unit, str) or not unit.strip() or len(unit.strip()) > 20:
            errors["unit"] = _("a short unit like pcs, kg or m")
            clean_unit = None
        else:
            clean_unit = unit.strip()
    return clean_name, price, cost, clean_unit


def create_part(actor: User, *, sku: Any, name: Any, unit_price: Any, unit_cost: Any = None,
                unit: Any = None) -> Part:
    errors: dict[str, str] = {}
    clean_sku: str | None = None
    if not isinstance(sku, str) or not sku.strip():
        errors["sku"] = _("required")
    elif len(sku.strip()) > MAX_SKU or any(c.isspace() for c in sku.strip()):
        errors["sku"] = _("at most %(n)d characters, no spaces", n=MAX_SKU)
    else:
        clean_sku = sku.strip().upper()
    clean_name, price, cost, clean_unit = _part_fields(errors, name=name, unit_price=unit_price,
                                                       unit_cost=unit_cost, unit=unit)
    if errors:
        raise Invalid(invalid_message(_("The part cannot be saved"), errors), fields=errors)
    assert clean_sku is not None and clean_name is not None and price is not None and clean_unit is not None
    if find_part(clean_sku) is not None:
        raise Conflict(_("There is already a part with sku %(sku)s.", sku=clean_sku), code="duplicate_sku",
                       fields={"sku": _("already in the catalogue")})
    part = Part(sku=clean_sku, name=clean_name, unit_price=money(price),
                unit_cost=money(cost) if cost is not None else None, unit=clean_unit)
    db.session.add(part)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("There is already a part with sku %(sku)s.", sku=clean_sku), code="duplicate_sku",
                       fields={"sku": _("already in the catalogue")}) from None
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
        raise Invalid(invalid_message(_("The part cannot be saved"), errors), fields=errors)
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


def toggle_archived(actor: User, part: Part) -> Part:
    """Archive a live part, restore an archived one (the catalogue page's one button)."""
    return restore_part(actor, part) if part.archived_at is not None else archive_part(actor, part)


def _part_snapshot(part: Part) -> dict[str, Any]:
    return audit.snapshot(part, "sku", "name", "unit", "unit_price", "unit_cost")
