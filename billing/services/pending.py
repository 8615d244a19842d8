"""What is to invoice: finished calls' live charge lines on no live invoice, by customer, with balances."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sqlalchemy import Select, select, text
from sqlalchemy.orm import aliased, joinedload

from dispatch.core.extensions import db
from dispatch.core.types import money
from dispatch.models import CallStatus, Customer, RepairCall

from ..models import TO_INVOICE_WHERE, ChargeKind, ChargeLine, Invoice, InvoicePayment, InvoiceStatus, Payment
from ..parsing import ZERO
from .charges import KIND_ORDER, WORKSHOP, coverage_for
from .prices import current_prices

BILLABLE_STATUSES = (CallStatus.COMPLETED, CallStatus.CLOSED)


def _billable(line: ChargeLine, call: RepairCall) -> bool:
    """A live, uninvoiced line of finished work: the call is completed (or closed), or the line is workshop
    work sealed when the item went back to the customer."""
    if line.voided_at is not None or line.invoice_id is not None:
        return False
    return call.status in BILLABLE_STATUSES or (line.source == WORKSHOP and line.locked_at is not None)


def _sorted_lines(lines: Iterable[ChargeLine]) -> list[ChargeLine]:
    return sorted(lines, key=lambda ln: (ln.source == WORKSHOP, KIND_ORDER.get(ln.kind, 9), ln.visit_id or 0, ln.id))


def billable_lines(call: RepairCall) -> list[ChargeLine]:
    lines = db.session.scalars(select(ChargeLine).where(ChargeLine.call_id == call.id,
                                                        ChargeLine.voided_at.is_(None),
                                                        ChargeLine.invoice_id.is_(None)))
    return _sorted_lines(ln for ln in lines if _billable(ln, call))


def unlinked_onsite_payments(call_ids: Sequence[int] | Select[Any]) -> list[Payment]:
    """On-site payments of the calls not yet counted on a live invoice (never linked, or left on a void one).
    `call_ids`: a list, or a query of call ids (any number of calls: no parameter per call)."""
    if isinstance(call_ids, Sequence) and not call_ids:
        return []
    counted = (select(InvoicePayment.id).join(Invoice, Invoice.id == InvoicePayment.invoice_id)
               .where(InvoicePayment.onsite_payment_id == Payment.id, Invoice.status == InvoiceStatus.ISSUED))
    return list(db.session.scalars(select(Payment).where(Payment.call_id.in_(call_ids), ~counted.exists())
                                   .order_by(Payment.id)))


def tax_on(subtotal: Decimal, rate: Decimal) -> Decimal:
    return money(subtotal * rate)


@dataclass
class PendingCall:
    call: RepairCall
    lines: list[ChargeLine]
    explanation: str
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    balance: Decimal
    payments: list[Payment] = field(default_factory=list)

    @property
    def paid_in_full(self) -> bool:
        """Paid on site in full: the invoice is sent afterwards (补寄发票)."""
        return self.total > 0 and self.balance <= 0

    @property
    def has_workshop(self) -> bool:
        return any(ln.source == WORKSHOP for ln in self.lines)


@dataclass
class PendingCustomer:
    customer: Customer
    calls: list[PendingCall]
    subtotal: Decimal
    tax: Decimal
    total: Decimal
    paid: Decimal
    balance: Decimal


@dataclass
class Pending:
    customers: list[PendingCustomer]
    tax_rate: Decimal
    currency: str

    @property
    def call_count(self) -> int:
        return sum(len(c.calls) for c in self.customers)

    @property
    def total(self) -> Decimal:
        return money(sum((c.total for c in self.customers), ZERO))


def _pending_call(call: RepairCall, lines: list[ChargeLine], rate: Decimal, payments: list[Payment]) -> PendingCall:
    subtotal = money(sum((ln.due for ln in lines), ZERO))
    tax = tax_on(subtotal, rate)
    paid = money(sum((p.amount for p in payments), ZERO))
    cover = coverage_for(call)
    explanation = cover.explanation
    if cover.without_parts and not any(ln.kind == ChargeKind.PART for ln in lines):
        explanation = cover.without_parts
    return PendingCall(call=call, lines=lines, explanation=explanation, subtotal=subtotal, tax=tax,
                       total=subtotal + tax, paid=paid, balance=subtotal + tax - paid, payments=payments)


def pending(customer_id: int | None = None) -> Pending:
    """Everything to invoice, by customer (name order), each customer's calls oldest first. A call whose
    lines are all covered (free, or a contract covering all) has nothing to bill and is not listed."""
    prices = current_prices()
    # Only calls with money still to bill (the partial index ix_charge_lines_to_invoice): a call whose
    # lines are all covered would be dropped below anyway, and such lines are never invoiced.
    owed = aliased(ChargeLine)
    to_bill = select(owed.call_id).where(text(TO_INVOICE_WHERE)).correlate(None)
    stmt = (select(ChargeLine, RepairCall).join(RepairCall, RepairCall.id == ChargeLine.call_id)
            .where(ChargeLine.voided_at.is_(None), ChargeLine.invoice_id.is_(None), ChargeLine.call_id.in_(to_bill))
            .options(joinedload(RepairCall.customer, innerjoin=True), joinedload(RepairCall.contract)))
    if customer_id is not None:
        stmt = stmt.where(RepairCall.customer_id == customer_id)
    by_call: dict[int, tuple[RepairCall, list[ChargeLine]]] = {}
    for line, call in db.session.execute(stmt):
        if _billable(line, call):
            by_call.setdefault(call.id, (call, []))[1].append(line)
    payments: dict[int, list[Payment]] = {}
    for payment in unlinked_onsite_payments(to_bill):  # every listed call's at once
        payments.setdefault(payment.call_id, []).append(payment)
    by_customer: dict[int, list[PendingCall]] = {}
    for call, lines in by_call.values():
        entry = _pending_call(call, _sorted_lines(lines), prices.tax_rate, payments.get(call.id, []))
        if entry.subtotal <= 0:
            continue
        by_customer.setdefault(call.customer_id, []).append(entry)
    groups = []
    for calls in by_customer.values():
        calls.sort(key=lambda e: (e.call.completed_at or e.call.created_at, e.call.id))
        subtotal = money(sum((e.subtotal for e in calls), ZERO))
        tax = tax_on(subtotal, prices.tax_rate)
        paid = money(sum((e.paid for e in calls), ZERO))
        groups.append(PendingCustomer(customer=calls[0].call.customer, calls=calls, subtotal=subtotal, tax=tax,
                                      total=subtotal + tax, paid=paid, balance=subtotal + tax - paid))
    groups.sort(key=lambda g: (g.customer.name.lower(), g.customer.id))
    return Pending(customers=groups, tax_rate=prices.tax_rate, currency=prices.currency)

