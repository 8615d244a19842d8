"""Billing nouns: price lists, the parts catalogue, charge lines of a call, on-site payments."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator, TypeEngine

from dispatch.core.extensions import Model
from dispatch.core.i18n import _l
from dispatch.core.models import User, utcnow
from dispatch.core.types import Money, UTCDateTime
from dispatch.models import Contract, Customer, RepairCall, Visit


class ChargeKind:
    CALL_OUT = "call_out"
    LABOR = "labor"
    PART = "part"
    ALL = ("call_out", "labor", "part")


PAYMENT_METHODS = ("cash", "card", "transfer", "wechat", "alipay")


class InvoiceStatus:
    ISSUED = "issued"
    VOID = "void"
    ALL = ("issued", "void")


class InvoiceKind:
    CALLS = "calls"
    CONTRACT = "contract"
    ALL = ("calls", "contract")


# The counters (dispatch.core.numbering.next_number) every invoice and credit note is numbered from: one
# series each, whoever issues (calls or contract invoices): always these names.
INVOICE_SERIES = "invoice"   # INV-YYYY-NNNNNN
CREDIT_SERIES = "credit"     # CN-YYYY-NNNNNN

# What people read for these codes, in both languages (the factory collects the table; `label(value, kind)`).
LABELS: dict[str, dict[str, object]] = {
    "payment_method": {"cash": _l("Cash"), "card": _l("Card"), "transfer": _l("Bank transfer"),
                       "wechat": _l("WeChat Pay"), "alipay": _l("Alipay")},
    "invoice_status": {InvoiceStatus.ISSUED: _l("Issued"), InvoiceStatus.VOID: _l("Void")},
    # The unit of an invoice line that is not a part (a part's unit is "part_unit").
    "invoice_unit": {"visit": _l("visit"), "h": _l("h")},
    "invoice_kind": {InvoiceKind.CALLS: _l("Service calls"), InvoiceKind.CONTRACT: _l("Contract fee")},
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


TO_INVOICE_WHERE = "invoice_id IS NULL AND voided_at IS NULL AND NOT covered AND amount > 0"


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
    # The live invoice this line is billed on (set when invoiced, cleared when that invoice is voided).
    invoice_id: Mapped[int | None] = mapped_column(ForeignKey("invoices.id"), index=True)

    call: Mapped[RepairCall] = relationship()
    visit: Mapped[Visit | None] = relationship()

    __table_args__ = (CheckConstraint("kind in ('call_out','labor','part')", name="kind_known"),
                      CheckConstraint("source in ('site','workshop')", name="source_known"),
                      # "To invoice": the calls with money still to bill (migration 0018). Covered lines of free
                      # and contract work are never invoiced, so without the condition they pile up for ever.
                      Index("ix_charge_lines_to_invoice", "call_id", sqlite_where=text(TO_INVOICE_WHERE),
                            postgresql_where=text(TO_INVOICE_WHERE)))

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
    # The cash-up: when the technician handed this money to finance, and to whom.
    handed_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    handed_in_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    call: Mapped[RepairCall] = relationship()
    visit: Mapped[Visit | None] = relationship()
    handed_in_to: Mapped[User | None] = relationship(foreign_keys=[handed_in_to_id])
    collected_by: Mapped[User | None] = relationship(foreign_keys=[collected_by_id])
    reconciled_by: Mapped[User | None] = relationship(foreign_keys=[reconciled_by_id])

    __table_args__ = (
        CheckConstraint("method in ('cash','card','transfer','wechat','alipay')", name="method_known"),
        Index("ix_payments_reconciled_at", "reconciled_at"),
    )


# ----------------------------------------------------------------------------- invoices (issue 12)


class Invoice(Model):
    """An issued invoice (INV-YYYY-NNNNNN). Never deleted nor renumbered: voided by a credit note.

    Everything printed on it is a snapshot taken at issue (tax rate, buyer, seller), so a later price,
    customer or configuration change never alters an issued invoice.
    """

    __tablename__ = "invoices"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    kind: Mapped[str] = mapped_column(String(10), default=InvoiceKind.CALLS)
    status: Mapped[str] = mapped_column(String(10), default=InvoiceStatus.ISSUED, index=True)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    due_on: Mapped[date] = mapped_column(Date)
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    tax_rate: Mapped[Decimal] = mapped_column(Rate)
    subtotal: Mapped[Decimal] = mapped_column(Money)
    tax: Mapped[Decimal] = mapped_column(Money)
    total: Mapped[Decimal] = mapped_column(Money)
    buyer_name: Mapped[str] = mapped_column(String(200))
    buyer_address: Mapped[str | None] = mapped_column(String(500))
    buyer_tax_id: Mapped[str | None] = mapped_column(String(40))
    seller_name: Mapped[str] = mapped_column(String(200))
    seller_address: Mapped[str | None] = mapped_column(String(500))
    seller_tax_id: Mapped[str | None] = mapped_column(String(40))
    seller_bank: Mapped[str | None] = mapped_column(String(300))
    # The official tax invoice (发票) issued through the tax authority's system, filled in later by finance.
    fapiao_number: Mapped[str | None] = mapped_column(String(40))
    fapiao_date: Mapped[date | None] = mapped_column(Date)
    void_reason: Mapped[str | None] = mapped_column(Text)
    voided_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    voided_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # Contract invoices: the contract and the period billed (each period exactly once).
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"), index=True)
    period_start: Mapped[date | None] = mapped_column(Date)
    period_end: Mapped[date | None] = mapped_column(Date)

    customer: Mapped[Customer] = relationship()
    contract: Mapped[Contract | None] = relationship()
    issued_by: Mapped[User | None] = relationship(foreign_keys=[issued_by_id])
    voided_by: Mapped[User | None] = relationship(foreign_keys=[voided_by_id])
    lines: Mapped[list[InvoiceLine]] = relationship(back_populates="invoice", order_by="InvoiceLine.position")
    credit_note: Mapped[CreditNote | None] = relationship(back_populates="invoice", uselist=False)
    payments: Mapped[list[InvoicePayment]] = relationship(back_populates="invoice",
                                                          order_by="InvoicePayment.paid_at")

    __table_args__ = (
        CheckConstraint("status in ('issued','void')", name="status_known"),
        CheckConstraint("kind in ('calls','contract')", name="kind_known"),
        UniqueConstraint("contract_id", "period_start"),  # each contract period invoiced once
    )


class InvoiceLine(Model):
    """One line of an invoice, copied from a charge line (or a contract period's fee) at issue."""

    __tablename__ = "invoice_lines"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    call_id: Mapped[int | None] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    charge_line_id: Mapped[int | None] = mapped_column(ForeignKey("charge_lines.id"), index=True)
    description: Mapped[str] = mapped_column(String(300))
    quantity: Mapped[Decimal] = mapped_column(Rate)
    unit_price: Mapped[Decimal] = mapped_column(Money)
    amount: Mapped[Decimal] = mapped_column(Money)
    covered: Mapped[bool] = mapped_column(Boolean, default=False)
    covered_by: Mapped[str | None] = mapped_column(String(300))
    # The service category of the call (charged, contract, warranty, free...), or "contract_fee".
    category: Mapped[str | None] = mapped_column(String(20))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # Extra, for the tax-invoice export and the printout: the kind of charge and the unit of a part.
    kind: Mapped[str | None] = mapped_column(String(12))
    unit: Mapped[str | None] = mapped_column(String(20))

    invoice: Mapped[Invoice] = relationship(back_populates="lines")
    call: Mapped[RepairCall | None] = relationship()
    charge_line: Mapped[ChargeLine | None] = relationship()

    @property
    def due(self) -> Decimal:
        return Decimal("0.00") if self.covered else self.amount


class CreditNote(Model):
    """Voids one issued invoice (CN-YYYY-NNNNNN, its own gapless series) for the invoice's total."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), unique=True)
    reason: Mapped[str] = mapped_column(Text)
    amount: Mapped[Decimal] = mapped_column(Money)
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    issued_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    invoice: Mapped[Invoice] = relationship(back_populates="credit_note")
    issued_by: Mapped[User | None] = relationship()


class InvoicePayment(Model):
    """Money received against an invoice. An on-site payment linked to the call's invoice appears here once
    (onsite_payment_id, unique): never count it both as itself and as an invoice payment."""

    __tablename__ = "invoice_payments"

    id: Mapped[int] = mapped_column(primary_key=True)
    invoice_id: Mapped[int] = mapped_column(ForeignKey("invoices.id"), index=True)
    amount: Mapped[Decimal] = mapped_column(Money)
    method: Mapped[str] = mapped_column(String(10))
    paid_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reference: Mapped[str | None] = mapped_column(String(100))
    onsite_payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), unique=True)

    invoice: Mapped[Invoice] = relationship(back_populates="payments")
    received_by: Mapped[User | None] = relationship()
    onsite_payment: Mapped[Payment | None] = relationship()

    __table_args__ = (
        CheckConstraint("method in ('cash','card','transfer','wechat','alipay')", name="method_known"),
    )
