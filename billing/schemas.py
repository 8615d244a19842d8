"""JSON output of billing's records, as the API contract (API.md) spells it: money as strings with two
decimals, quantities without trailing zeros, times in ISO 8601. What parts cost us (`unit_cost`, a line's
and a sheet's `cost`) is only written with `costs=True`, for the roles `sees_costs` names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from dispatch.core.models import Role
from dispatch.core.timeutil import iso
from dispatch.core.types import money

from .models import ChargeLine, Part, Payment, Prices
from .services.charges import ChargeSheet
from .services.parts import format_quantity

# Part costs are for finance, managers and admins (API.md, Billing): technicians and the desk never get them,
# in any answer or page. The fields are left out (not null), so nothing hints at them either.
SEES_COSTS = frozenset({Role.ADMIN, Role.MANAGER, Role.FINANCE})


def sees_costs(user: Any) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.role in SEES_COSTS


def format_rate(rate: Decimal) -> str:
    """0.1300 -> "0.13"; 0.0650 -> "0.065" (at least two places)."""
    text = format(Decimal(rate).normalize(), "f")
    whole, _, frac = text.partition(".")
    return f"{whole}.{frac.ljust(2, '0')}"


def prices_json(prices: Prices) -> dict[str, Any]:
    return {
        "call_out_fee": str(money(prices.call_out_fee)),
        "labor_rate_per_hour": str(money(prices.labor_rate_per_hour)),
        "tax_rate": format_rate(prices.tax_rate),
        "currency": prices.currency,
        "effective_from": iso(prices.effective_from),
        "set_by": prices.set_by.name if prices.set_by is not None else None,
    }


def part_json(part: Part, *, costs: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": part.id,
        "sku": part.sku,
        "name": part.name,
        "unit": part.unit,
        "unit_price": str(money(part.unit_price)),
        "archived": part.archived_at is not None,
    }
    if costs:
        data["unit_cost"] = str(money(part.unit_cost)) if part.unit_cost is not None else None
    return data


def line_json(line: ChargeLine, *, costs: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
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
        "covered": line.covered,
        "covered_by": line.covered_by,
        "locked": line.locked_at is not None,
        "source": line.source,
        "source_ref": line.source_ref,
    }
    if costs:
        data["cost"] = str(money(line.cost)) if line.cost is not None else None
    return data


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
        "handed_in_at": iso(payment.handed_in_at),
        "handed_in_to_id": payment.handed_in_to_id,
        "receipt_pdf_url": f"/api/v1/payments/{payment.id}/receipt.pdf",
    }


def charge_sheet_json(sheet: ChargeSheet, *, costs: bool = False) -> dict[str, Any]:
    data: dict[str, Any] = {
        "call_id": sheet.call_id,
        "category": sheet.category,
        "lines": [line_json(ln, costs=costs) for ln in sheet.lines],
        "subtotal": str(sheet.subtotal),
        "tax_rate": format_rate(sheet.tax_rate),
        "tax": str(sheet.tax),
        "total_due": str(sheet.total_due),
        "currency": sheet.currency,
        "explanation": sheet.explanation,
        "list_total": str(sheet.list_total),
        "paid": str(sheet.paid),
        "balance": str(sheet.balance),
        "locked": sheet.locked,
        "payments": [payment_json(p) for p in sheet.payments],
    }
    if costs:
        data["cost"] = str(sheet.cost)
    return data
