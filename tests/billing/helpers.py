"""Calls of each category with a booked visit, for the billing tests."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from billing.services import parts as billing_parts
from billing.services import prices as billing_prices
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.models import RepairCall, Visit
from dispatch.scheduling import booking
from dispatch.services.contracts import create_contract
from tests.factories import make_call, make_customer, make_equipment, make_site


def call_of(category: str, actor: User, *, covers_parts: bool = False) -> RepairCall:
    """A call categorised by the real rules: free (warranty), contract MC-0042, or charged."""
    customer = make_customer(actor, name=f"{category.title()} Customer")
    site = make_site(customer)
    equipment = None
    if category == "free":
        equipment = make_equipment(customer, site, warranty_until=date(2027, 3, 1))
    elif category == "contract":
        equipment = make_equipment(customer, site)
        create_contract(actor, customer, number="MC-0042", starts_on=date(2026, 1, 1),
                        ends_on=date(2027, 12, 31), covers_parts=covers_parts)
        db.session.commit()
    call = make_call(actor, customer=customer, site=site, equipment=equipment)
    assert call.category == category, call.category_reason
    return call


def book(actor: User, call: RepairCall, technician: User, hours_from_now: float = 1, *,
         additional: bool = False) -> Visit:
    """A visit `hours_from_now`; `additional` for a second live visit of the same call (on purpose)."""
    start = utcnow().replace(microsecond=0) + timedelta(hours=hours_from_now)
    visit = booking.book_visit(actor, call, technician, start, start + timedelta(hours=1), additional=additional)
    db.session.commit()
    return visit


def catalogue(actor: User) -> None:
    for sku, name, price, cost in [("CAP-45-5", "Run capacitor 45+5 uF", "35.00", "12.40"),
                                   ("FLT-1620", "Air filter 16x20", "18.50", "6.00"),
                                   ("R410A-KG", "Refrigerant R410A per kg", "95.00", None),
                                   ("TINY", "Washer", "0.25", "0.10")]:
        billing_parts.create_part(actor, sku=sku, name=name, unit_price=price, unit_cost=cost)
    db.session.commit()


def set_prices(actor: User, fee: str = "80.00", rate: str = "120.00", tax: str = "0.13") -> None:
    billing_prices.set_prices(actor, call_out_fee=fee, labor_rate_per_hour=rate, tax_rate=tax, currency="CNY")
    db.session.commit()


def D(value: str) -> Decimal:  # noqa: N802
    return Decimal(value)


__all__: list[Any] = ["call_of", "book", "catalogue", "set_prices", "D"]
