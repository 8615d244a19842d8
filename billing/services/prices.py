"""The price list: call-out fee, labor rate, tax rate and currency, versioned (never overwritten)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

from babel.numbers import list_currencies
from sqlalchemy import select

from dispatch.core import audit
from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.core.types import money

from ..models import Payment, Prices
from ..parsing import invalid_message, parse_decimal

# Until finance sets a price list, these hold (the demo values of API.md).
DEFAULT_PRICES = {"call_out_fee": Decimal("80.00"), "labor_rate_per_hour": Decimal("120.00"),
                  "tax_rate": Decimal("0.13"), "currency": "CNY"}


def current_prices() -> Prices:
    """The latest price list; before finance set one, an unsaved list with the default values."""
    prices = db.session.scalar(select(Prices).order_by(Prices.effective_from.desc(), Prices.id.desc()).limit(1))
    if prices is None:
        prices = Prices(**DEFAULT_PRICES)
    return prices


def prices_at(when: datetime) -> Prices:
    """The price list in force at `when` (the defaults if none was set by then)."""
    return prices_in_force([when])[when]


def prices_in_force(times: Iterable[datetime]) -> dict[datetime, Prices]:
    """prices_at of each time, in one statement whatever their number (the versions are few): the latest
    version that took effect at or before it."""
    wanted = sorted(set(times))
    if not wanted:
        return {}
    versions = list(db.session.scalars(select(Prices).where(Prices.effective_from <= wanted[-1])
                                       .order_by(Prices.effective_from, Prices.id)))
    found: dict[datetime, Prices] = {}
    for when in wanted:
        in_force = [p for p in versions if p.effective_from <= when]
        found[when] = in_force[-1] if in_force else Prices(**DEFAULT_PRICES)
    return found


def price_history(limit: int = 20) -> list[Prices]:
    return list(db.session.scalars(
        select(Prices).order_by(Prices.effective_from.desc(), Prices.id.desc()).limit(limit)))


def set_prices(actor: User, *, call_out_fee: Any, labor_rate_per_hour: Any, tax_rate: Any,
               currency: Any = None) -> Prices:
    """Adds a new version of the price list (the old one stays, for history)."""
    errors: dict[str, str] = {}
    fee = parse_decimal(call_out_fee, "call_out_fee", errors)
    rate = parse_decimal(labor_rate_per_hour, "labor_rate_per_hour", errors)
    tax = parse_decimal(tax_rate, "tax_rate", errors, places=4, minimum=None, maximum=None, floats=True)  # a rate, not money
    if tax is not None and not 0 <= tax <= 1:
        errors["tax_rate"] = _("must be from 0 to 1 (0.13 is 13 %)")
        tax = None
    before = current_prices()
    if currency is None or (isinstance(currency, str) and not currency.strip()):
        currency = before.currency
    if not isinstance(currency, str) or currency.strip().upper() not in list_currencies():
        # ISO 4217, as babel knows it (its list has the codes the formatters can show)
        errors["currency"] = _("a three-letter currency code like CNY")
    if errors:
        raise Invalid(invalid_message(_("The prices cannot be saved"), errors), fields=errors)
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


def currencies_of(payments: Sequence[Payment]) -> dict[int, str]:
    """The currency each payment was taken in: that of the price list in force when it was collected."""
    if not payments:
        return {}
    lists = list(db.session.scalars(select(Prices).order_by(Prices.effective_from, Prices.id)))
    found: dict[int, str] = {}
    for payment in payments:
        currency = DEFAULT_PRICES["currency"]
        for prices in lists:
            if prices.effective_from > payment.collected_at:
                break
            currency = prices.currency
        found[payment.id] = str(currency)
    return found
