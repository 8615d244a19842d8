"""Billing's part of seed-demo: the price list, a parts catalogue, and charges of the finished demo calls."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import Role, User
from dispatch.models import CallStatus, Category, RepairCall, Visit, VisitStatus

from .services import charges, payments
from .services import parts as catalogue
from .services import prices as price_list

PARTS = [
    # sku, name, unit, unit_price, unit_cost
    ("FLT-1620", "Air filter 16x20x1 (MERV 8)", "pcs", "18.50", "6.20"),
    ("FLT-G4-592", "Panel filter G4 592x592 for AHU", "pcs", "65.00", "28.00"),
    ("CAP-45-5", "Run capacitor 45+5 µF 450 V", "pcs", "35.00", "12.40"),
    ("CAP-START-189", "Start capacitor 189-227 µF", "pcs", "48.00", "17.50"),
    ("CMP-ZR61", "Scroll compressor Copeland ZR61KCE", "pcs", "4680.00", "3350.00"),
    ("CMP-4FES", "Semi-hermetic compressor Bitzer 4FES-3Y", "pcs", "9800.00", "7420.00"),
    ("R410A-KG", "Refrigerant R410A, per kg", "kg", "95.00", "48.00"),
    ("R404A-KG", "Refrigerant R404A, per kg", "kg", "110.00", "56.00"),
    ("FUSE-10A-RK", "Fuse 10 A time-delay, 10x38", "pcs", "6.50", "1.80"),
    ("UPS-BAT-12V9", "UPS battery 12 V 9 Ah VRLA", "pcs", "285.00", "165.00"),
    ("CONT-25A", "Contactor 25 A 220 V coil", "pcs", "120.00", "54.00"),
    ("TXV-R410A-3T", "Expansion valve R410A 3 ton", "pcs", "420.00", "230.00"),
]

# what the finished demo calls used: (labor minutes, [(sku, quantity)]) by problem type
WORK: dict[str, tuple[int, list[tuple[str, Any]]]] = {
    "calibration": (75, [("FUSE-10A-RK", 2)]),
    "no cooling": (150, [("CAP-45-5", 1), ("CONT-25A", 1), ("R410A-KG", "2.5")]),
    "defrost": (95, [("TXV-R410A-3T", 1), ("R404A-KG", "1.5")]),
}


def seed() -> None:
    finance = db.session.scalar(select(User).where(User.role == Role.FINANCE).order_by(User.id).limit(1))
    actor = finance or db.session.scalar(select(User).where(User.role == Role.ADMIN).order_by(User.id).limit(1))
    assert actor is not None
    price_list.set_prices(actor, call_out_fee="80.00", labor_rate_per_hour="120.00", tax_rate="0.13",
                          currency="CNY")
    for sku, name, unit, price, cost in PARTS:
        catalogue.create_part(actor, sku=sku, name=name, unit=unit, unit_price=price, unit_cost=cost)
    finished = db.session.scalars(select(RepairCall).where(
        RepairCall.status.in_([CallStatus.COMPLETED, CallStatus.CLOSED, CallStatus.REOPENED]))
        .order_by(RepairCall.id))
    for call in finished:
        visit = db.session.scalar(select(Visit).where(Visit.call_id == call.id,
                                                      Visit.status == VisitStatus.COMPLETED).limit(1))
        if visit is None:
            continue
        minutes, parts = WORK.get(call.problem_type, (60, []))
        charges.record_work(visit.technician, call, visit, labor_minutes=minutes, parts=parts)
        charges.lock_call_charges(call, visit, visit.technician)
        if call.category == Category.CHARGED:
            sheet = charges.charges_for_call(call)
            payments.record_onsite_payment(visit.technician, call, visit, amount=sheet.total_due, method="card")
    db.session.flush()
