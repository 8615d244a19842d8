"""Service contracts: a customer's equipment covered for a period, and the contract's fee."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select

from ..core import audit
from ..core.errors import Conflict, Invalid
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import User
from ..models import Contract, Customer
from .customers import equipment_of

BILLING_PERIODS = ("monthly", "quarterly", "yearly")
MAX_FEE = Decimal("9999999999.99")


def contract_fee(fee: Any, billing_period: Any) -> tuple[Decimal | None, str | None]:
    """A contract's fee and how often it is invoiced: both or neither; the fee in cents, 0 or more."""
    errors: dict[str, str] = {}
    value: Decimal | None = None
    if fee not in (None, "") and not (isinstance(fee, str) and not fee.strip()):
        try:
            if isinstance(fee, bool) or not isinstance(fee, int | float | str | Decimal):
                raise InvalidOperation
            value = Decimal(str(fee).strip())
            if not value.is_finite():
                raise InvalidOperation
        except InvalidOperation:
            errors["fee"] = _("must be a number like 80.00")
        else:
            if value < 0 or value > MAX_FEE:
                errors["fee"] = _("must be at least %(minimum)s", minimum="0.00") if value < 0 else \
                    _("must be at most %(maximum)s", maximum=MAX_FEE)
            elif value != value.quantize(Decimal("0.01")):
                errors["fee"] = _("at most %(places)d decimal places", places=2)
    period = billing_period.strip() if isinstance(billing_period, str) else billing_period
    period = period or None
    if period is not None and period not in BILLING_PERIODS:
        errors["billing_period"] = _("one of: %(options)s", options=", ".join(BILLING_PERIODS))
    if not errors and (value is None) != (period is None):
        if value is None:
            errors["fee"] = _("required with a billing period")
        else:
            errors["billing_period"] = _("required with a fee")
    if errors:
        raise Invalid(_("A contract fee needs an amount and a billing period (monthly, quarterly or yearly)."),
                      code="invalid_fee", fields=errors)
    return (value.quantize(Decimal("0.01")) if value is not None else None), period


def create_contract(actor: User, customer: Customer, *, number: str, starts_on: date, ends_on: date,
                    equipment_ids: Sequence[int] = (), covers_parts: bool = False,
                    notes: str | None = None, fee: Any = None, billing_period: Any = None) -> Contract:
    fee_value, period = contract_fee(fee, billing_period)
    if ends_on < starts_on:
        raise Invalid(_("The contract ends before it starts."), code="invalid_period",
                      fields={"ends_on": _("must be on or after the start date")})
    if db.session.scalar(select(Contract.id).where(Contract.number == number)) is not None:
        raise Conflict(_("Contract number %(number)s already exists.", number=number), code="duplicate_contract",
                       fields={"number": _("already exists")})
    equipment = []
    for eid in equipment_ids:
        item = equipment_of(customer, eid)
        if item is None:
            raise Invalid(_("Equipment %(id)s is not this customer's.", id=eid),
                          fields={"equipment_ids": _("unknown %(id)s", id=eid)})
        equipment.append(item)
    contract = Contract(customer=customer, number=number, starts_on=starts_on, ends_on=ends_on,
                        covers_parts=covers_parts, notes=notes, equipment=equipment, fee=fee_value,
                        billing_period=period)
    db.session.add(contract)
    audit.record(actor, contract, "contract.created",
                 after={**audit.snapshot(contract, "number", "starts_on", "ends_on", "covers_parts", "fee",
                                         "billing_period"),
                        "equipment_ids": [e.id for e in equipment]})
    return contract
