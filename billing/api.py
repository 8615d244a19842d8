"""JSON API v1 for billing: prices, the parts catalogue, a call's charges, on-site payments to reconcile."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, request
from flask_login import current_user

from dispatch.core.apiutil import api_view, body, paginate
from dispatch.core.errors import Invalid
from dispatch.core.i18n import _
from dispatch.core.models import Role
from dispatch.core.security import ALL_ROLES, DESK, FINANCE, allow
from dispatch.services.calls import get_call_or_404

from . import schemas
from .models import Payment
from .services import charges, payments
from .services import parts as catalogue
from .services import prices as price_list

bp = Blueprint("billing_api", __name__, url_prefix="/api/v1")

# A decimal string (or a whole JSON number): a float with a fraction is 422 (billing/parsing.py).
MONEY = {"type": ["string", "integer"], "pattern": r"^\d{1,10}(\.\d{1,2})?$", "minimum": 0,
         "maximum": 9999999999, "examples": ["80.00"]}
# An optional cost: blank or null leaves it unknown.
MONEY_OR_NONE = {"anyOf": [MONEY, {"type": "null"}, {"type": "string", "pattern": r"^\s*$"}]}
OPENAPI: dict[str, Any] = {"schemas": {
    "Prices": {"type": "object", "required": ["call_out_fee", "labor_rate_per_hour", "tax_rate"], "properties": {
        "call_out_fee": MONEY, "labor_rate_per_hour": MONEY,
        "tax_rate": {"type": ["string", "number"], "minimum": 0, "maximum": 1,
                     "pattern": r"^(0(\.\d{1,4})?|1(\.0{1,4})?)$", "examples": ["0.13"]},
        "currency": {"type": "string", "minLength": 3, "maxLength": 3, "examples": ["CNY"]}}},
    "PartIn": {"type": "object", "required": ["sku", "name", "unit_price"], "properties": {
        "sku": {"type": "string", "maxLength": 60, "minLength": 1, "pattern": r"\S"}, "name": {"type": "string", "maxLength": 200, "minLength": 1, "pattern": r"\S"},
        "unit": {"type": "string", "maxLength": 20, "default": "pcs", "minLength": 1, "pattern": r"\S"}, "unit_price": MONEY,
        "unit_cost": MONEY_OR_NONE}},
    "PartChange": {"type": "object", "properties": {
        "name": {"type": "string", "maxLength": 200, "minLength": 1, "pattern": r"\S"}, "unit": {"type": "string", "maxLength": 20, "minLength": 1, "pattern": r"\S"},
        "unit_price": MONEY, "unit_cost": MONEY_OR_NONE}},
    "Part": {"type": "object", "properties": {
        "id": {"type": "integer"}, "sku": {"type": "string"}, "name": {"type": "string"}, "unit": {"type": "string"},
        "unit_price": {"type": "string"},
        "unit_cost": {"type": ["string", "null"], "description": "What the part costs us: only in answers to "
                      "finance, managers and admins."}, "archived": {"type": "boolean"}}},
    "Charges": {"type": "object", "required": ["call_id", "category", "lines", "subtotal", "tax", "total_due",
                                               "currency", "explanation", "paid", "balance"], "properties": {
        "call_id": {"type": "integer"}, "category": {"enum": ["charged", "contract", "free"]},
        "lines": {"type": "array", "items": {"type": "object", "properties": {
            "kind": {"enum": ["call_out", "labor", "part"]}, "description": {"type": "string"},
            "sku": {"type": ["string", "null"]}, "quantity": {"type": "string"}, "unit_price": {"type": "string"},
            "amount": {"type": "string"}, "covered": {"type": "boolean"},
            "covered_by": {"type": ["string", "null"]}}}},
        "subtotal": {"type": "string"}, "tax": {"type": "string"}, "total_due": {"type": "string"},
        "currency": {"type": "string"}, "explanation": {"type": "string"}, "paid": {"type": "string"},
        "balance": {"type": "string"}}},
}, "bodies": {
    "billing_api.get_prices": (None, "Prices"),
    "billing_api.put_prices": ("Prices", "Prices"),
    "billing_api.create_part": ("PartIn", "Part"),
    "billing_api.update_part": ("PartChange", "Part"),
    "billing_api.call_charges": (None, "Charges"),
}}

READ_PRICES = ALL_ROLES  # technicians show the customer what is owed
READ_CHARGES = DESK | FINANCE | {Role.TECHNICIAN}
READ_PAYMENTS = FINANCE | {Role.MANAGER}


@bp.get("/prices")
@allow(READ_PRICES)
@api_view
def get_prices() -> Any:
    """The current price list: call-out fee, hourly labor rate, tax rate, currency."""
    return schemas.prices_json(price_list.current_prices())


@bp.put("/prices")
@allow(FINANCE)
@api_view
def put_prices() -> Any:
    """Set a new price list (the previous one is kept as history)."""
    data = body()
    prices = price_list.set_prices(current_user, call_out_fee=data.get("call_out_fee"),
                                   labor_rate_per_hour=data.get("labor_rate_per_hour"),
                                   tax_rate=data.get("tax_rate"), currency=data.get("currency"))
    return schemas.prices_json(prices)


@bp.get("/parts")
@allow(ALL_ROLES)
@api_view
def list_parts() -> Any:
    """Search the parts catalogue by sku or name (?q=filter&limit=20)."""
    raw = request.args.get("limit", "50")
    if not raw.isdigit() or not 1 <= int(raw) <= 200:
        raise Invalid(_("limit must be a whole number from 1 to 200."), fields={"limit": _("1 to 200")})
    archived = request.args.get("archived") in ("1", "true") and current_user.role in FINANCE | {Role.MANAGER}
    parts = catalogue.search_parts(request.args.get("q"), int(raw), include_archived=archived)
    costs = schemas.sees_costs(current_user)
    return {"items": [schemas.part_json(p, costs=costs) for p in parts]}


@bp.post("/parts")
@allow(FINANCE)
@api_view
def create_part() -> Any:
    """Add a part to the catalogue (a duplicate sku is 409)."""
    data = body()
    part = catalogue.create_part(current_user, sku=data.get("sku"), name=data.get("name"),
                                 unit_price=data.get("unit_price"), unit_cost=data.get("unit_cost"),
                                 unit=data.get("unit"))
    return schemas.part_json(part, costs=True), 201  # finance and admins, who set the cost


@bp.get("/parts/<int:part_id>")
@allow(ALL_ROLES)
@api_view
def get_part(part_id: int) -> Any:
    return schemas.part_json(catalogue.get_part_or_404(part_id), costs=schemas.sees_costs(current_user))


@bp.patch("/parts/<int:part_id>")
@allow(FINANCE)
@api_view
def update_part(part_id: int) -> Any:
    """Change a part's name, unit, price or cost; recorded charges keep their old prices."""
    part = catalogue.get_part_or_404(part_id)
    data = body()
    unknown = set(data) - {"name", "unit", "unit_price", "unit_cost"}
    if unknown:
        raise Invalid(_("Only name, unit, unit_price and unit_cost can change."),
                      fields={k: _("cannot be changed") for k in sorted(unknown)})
    part = catalogue.update_part(current_user, part, name=data.get("name"), unit_price=data.get("unit_price"),
                                 unit_cost=data.get("unit_cost", part.unit_cost), unit=data.get("unit"))
    return schemas.part_json(part, costs=True)


@bp.post("/parts/<int:part_id>/archive")
@allow(FINANCE)
@api_view
def archive_part(part_id: int) -> Any:
    """Take a part out of the catalogue (old charge lines keep it)."""
    return schemas.part_json(catalogue.archive_part(current_user, catalogue.get_part_or_404(part_id)), costs=True)


archive_part.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


@bp.get("/calls/<int:call_id>/charges")
@allow(READ_CHARGES)
@api_view
def call_charges(call_id: int) -> Any:
    """What a call costs: the lines, what covers each, tax, total due, paid and balance."""
    call = get_call_or_404(call_id, current_user)
    return schemas.charge_sheet_json(charges.charges_for_call(call), costs=schemas.sees_costs(current_user))


@bp.get("/payments")
@allow(READ_PAYMENTS)
@api_view
def list_payments() -> Any:
    """Payments taken on site, newest first (?reconciled=false for those still to reconcile)."""
    flag = request.args.get("reconciled")
    if flag not in (None, "", "true", "false"):
        raise Invalid(_("reconciled is true or false."), fields={"reconciled": _("true or false")})
    reconciled = None if not flag else flag == "true"
    return paginate(payments.payments_query(reconciled=reconciled), Payment.id, schemas.payment_json)


@bp.post("/payments/<int:payment_id>/reconcile")
@allow(FINANCE)
@api_view
def reconcile_payment(payment_id: int) -> Any:
    """Mark an on-site payment as matched against the till or the bank."""
    payment = payments.get_payment_or_404(payment_id)
    return schemas.payment_json(payments.reconcile_payment(current_user, payment))


reconcile_payment.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)
