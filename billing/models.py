"""Billing nouns: price lists, the parts catalogue, charge lines of a call, on-site payments."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, Numeric, String, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from dispatch.core.extensions import Model
from dispatch.core.i18n import _l
from dispatch.core.models import User, utcnow
from dispatch.core.types import Money, UTCDateTime
from dispatch.models import RepairCall, Visit


class ChargeKind:
    CALL_OUT = "call_out"
    LABOR = "labor"
    PART = "part"
    ALL = ("call_out", "labor", "part")


PAYMENT_METHODS = ("cash", "card", "transfer")

# What people read for these codes, in both languages (the factory collects the table; `label(value, kind)`).
LABELS: dict[str, dict[str, object]] = {
    "payment_method": {"cash": _l("Cash"), "card": _l("Card"), "transfer": _l("Bank transfer")},
    "charge_kind": {ChargeKind.CALL_OUT: _l("Call-out fee"), ChargeKind.LABOR: _l("Labor"),
                    ChargeKind.PART: _l("Part")},
    # A part's unit is free text; the usual one reads in each language ("个"), any other as typed.
    "part_unit": {"pcs": _l("pcs")},
}


class Rate(TypeDecorator[Decimal]):
    """An exact decimal with four places (tax rates, hours): Numeric(10, 4); exact text on SQLite."""

    impl = Numeric(10, 4)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(20))
        return dialect.type_descriptor(Numeric(10, 4))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        exact = Decimal(str(value)).quantize(Decimal("0.0001"))
        return str(exact) if dialect.name == "sqlite" else exact

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.0001"))


class Prices(Model):
    """One version of the price list. Never updated: a change adds a row; the latest one is current."""

    __tablename__ = "prices"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_out_fee: Mapped[Decimal] = mapped_column(Money)
    labor_rate_per_hour: Mapped[Decimal] = mapped_column(Money)
    tax_rate: Mapped[Decimal] = mapped_column(Rate)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    effective_from: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    set_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    set_by: Mapped[User | None] = relationship()


class Part(Model):
    """A catalogue part. Archived parts stay for old charge lines but are no longer offered."""

    __tablename__ = "parts"

    id: Mapped[int] = mapped_column(primary_key=True)
    sku: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    unit: Mapped[str] = mapped_column(String(20), default="pcs")
    unit_price: Mapped[Decimal] = mapped_column(Money)
    unit_cost: Mapped[Decimal | None] = mapped_column(Money)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ChargeLine(Model):
    """One line of what a call costs: the call-out fee, labor, or a part; covered lines are not due.

    `amount` is the list value of the line (quantity x unit price), `cost` what it cost us; a line
    replaced by a later record of the same visit gets `voided_at` (nothing is deleted).
    """

    __tablename__ = "charge_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10))
    sku: Mapped[str | None] = mapped_column(String(60))
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Rate)
    labor_minutes: Mapped[int | None] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    cost: Mapped[Decimal | None] = mapped_column(Money)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    covered_by: Mapped[str | None] = mapped_column(String(300))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # "site" (a visit's work) or "workshop" (work on a carried-back item, visit_id NULL, source_ref its number).
    source: Mapped[str] = mapped_column(String(10), default="site", server_default="site")
    source_ref: Mapped[str | None] = mapped_column(String(30))

    call: Mapped[RepairCall] = relationship()
    visit: Mapped[Visit | None] = relationship()

    __table_args__ = (CheckConstraint("kind in ('call_out','labor','part')", name="kind_known"),
                      CheckConstraint("source in ('site','workshop')", name="source_known"))

    @property
    def due(self) -> Decimal:
        return Decimal("0.00") if self.covered else self.amount


class Payment(Model):
    """Money taken on site (or later); finance reconciles it against the till or the bank."""

    __tablename__ = "payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(10))
    receipt_number: Mapped[str] = mapped_column(String(30), unique=True)
    collected_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    reconciled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reconciled_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    notes: Mapped[str | None] = mapped_column(Text)

    call: Mapped[RepairCall] = relationship()
    visit: Mapped[Visit | None] = relationship()
    collected_by: Mapped[User | None] = relationship(foreign_keys=[collected_by_id])
    reconciled_by: Mapped[User | None] = relationship(foreign_keys=[reconciled_by_id])

    __table_args__ = (
        CheckConstraint("method in ('cash','card','transfer')", name="method_known"),
        Index("ix_payments_reconciled_at", "reconciled_at"),
    )
