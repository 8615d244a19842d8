"""Exports for the accounting package (CSV) and the cost of covered work.

CSV files are UTF-8 with a byte-order mark, so Excel opens Chinese names right; amounts are plain decimals
with two places (no symbol, no thousands separator); dates are YYYY-MM-DD in the company's time zone.
Headers are in the reader's language; the values are the records' own (numbers, codes, names).

Payments: every sum of money received appears once. An on-site payment is one row (with its receipt number
and, once linked, its invoice); an invoice payment that only links an on-site payment is not repeated.

Cost of covered work: what free (warranty) and contract work really cost the company, per customer and
month: the cost of the covered lines (ChargeLine.cost) and their list value (what the customer would have
paid), next to the contract fees invoiced for that customer in that month.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, label
from dispatch.core.timeutil import local_date_of, local_today, parse_date
from dispatch.core.types import money
from dispatch.models import Category, Customer, RepairCall
from dispatch.scheduling.visits import day_window

from ..models import ChargeLine, CreditNote, Invoice, InvoiceKind, InvoicePayment, InvoiceStatus, Payment
from ..parsing import ZERO
from .invoice_payments import balance, paid

BOM = "\ufeff"
MAX_DAYS = 366 * 5


@dataclass(frozen=True)
class Span:
    start: date  # inclusive
    end: date  # inclusive

    @property
    def window(self) -> tuple[datetime, datetime]:
        return day_window(self.start, (self.end - self.start).days + 1)


def parse_span(start: Any, end: Any) -> Span:
    """?from=&to= (YYYY-MM-DD, both inclusive); without them the current month so far."""
    today = local_today()
    first = parse_date(start, "from", _("From")) if start else today.replace(day=1)
    last = parse_date(end, "to", _("To")) if end else today
    if last < first:
        raise Invalid(_("The period ends before it starts."), code="invalid_period",
                      fields={"to": _("must be on or after the start date")})
    if (last - first).days > MAX_DAYS:
        raise Invalid(_("Export at most five years at once."), code="invalid_period",
                      fields={"from": _("at most five years before the end")})
    return Span(first, last)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else (f"{v:.2f}" if isinstance(v, Decimal) else v) for v in row])
    return BOM + out.getvalue()


def _day(value: datetime | None) -> str:
    return local_date_of(value).isoformat() if value is not None else ""


# ----------------------------------------------------------------------------- invoices, credit notes


def invoices_in(span: Span) -> list[Invoice]:
    start, end = span.window
    return list(db.session.scalars(select(Invoice).where(Invoice.issued_at >= start, Invoice.issued_at < end)
                                   .options(selectinload(Invoice.contract)).order_by(Invoice.number)))


def invoices_csv(span: Span) -> str:
    header = [_("Invoice no."), _("Issued on"), _("Due on"), _("Kind"), _("Status"), _("Customer"),
              _("Buyer tax id"), _("Contract"), _("Period start"), _("Period end"), _("Currency"),
              _("Tax rate"), _("Subtotal"), _("Tax"), _("Total"), _("Paid"), _("Balance"),
              _("Tax invoice (fapiao) no."), _("Tax invoice date"), _("Voided on")]
    rows = [[inv.number, _day(inv.issued_at), inv.due_on.isoformat(), label(inv.kind, "invoice_kind"),
             label(inv.status, "invoice_status"), inv.buyer_name, inv.buyer_tax_id or "",
             inv.contract.number if inv.contract is not None else "",
             inv.period_start.isoformat() if inv.period_start else "",
             inv.period_end.isoformat() if inv.period_end else "", inv.currency,
             format(Decimal(inv.tax_rate).normalize(), "f"), money(inv.subtotal), money(inv.tax), money(inv.total),
             paid(inv), balance(inv), inv.fapiao_number or "",
             inv.fapiao_date.isoformat() if inv.fapiao_date else "", _day(inv.voided_at)]
            for inv in invoices_in(span)]
    return to_csv(header, rows)


def credit_notes_in(span: Span) -> list[CreditNote]:
    start, end = span.window
    return list(db.session.scalars(select(CreditNote).where(CreditNote.issued_at >= start, CreditNote.issued_at < end)
                                   .options(selectinload(CreditNote.invoice)).order_by(CreditNote.number)))


def credit_notes_csv(span: Span) -> str:
    header = [_("Credit note no."), _("Issued on"), _("Invoice no."), _("Invoice issued on"), _("Customer"),
              _("Buyer tax id"), _("Currency"), _("Amount"), _("Reason")]
    rows = [[cn.number, _day(cn.issued_at), cn.invoice.number, _day(cn.invoice.issued_at), cn.invoice.buyer_name,
             cn.invoice.buyer_tax_id or "", cn.invoice.currency, money(cn.amount), cn.reason]
            for cn in credit_notes_in(span)]
    return to_csv(header, rows)


# ----------------------------------------------------------------------------- payments


@dataclass(frozen=True)
class PaymentRow:
    paid_on: date
    source: str  # "onsite" or "invoice"
    receipt_number: str
    invoice_number: str
    customer: str
    method: str
    amount: Decimal
    reference: str
    received_by: str
    handed_in_on: str
    reconciled_on: str


def payment_rows(span: Span) -> list[PaymentRow]:
    start, end = span.window
    onsite = list(db.session.scalars(
        select(Payment).where(Payment.collected_at >= start, Payment.collected_at < end)
        .options(selectinload(Payment.collected_by), selectinload(Payment.call).selectinload(RepairCall.customer))))
    links = {row.onsite_payment_id: row for row in db.session.scalars(
        select(InvoicePayment).where(InvoicePayment.onsite_payment_id.in_([p.id for p in onsite]))
        .options(selectinload(InvoicePayment.invoice)))} if onsite else {}
    rows = [PaymentRow(local_date_of(p.collected_at), "onsite", p.receipt_number,
                       links[p.id].invoice.number if p.id in links else "", p.call.customer.name, p.method,
                       money(p.amount), p.call.number, p.collected_by.name if p.collected_by else "",
                       _day(p.handed_in_at), _day(p.reconciled_at)) for p in onsite]
    received = db.session.scalars(
        select(InvoicePayment).where(InvoicePayment.paid_at >= start, InvoicePayment.paid_at < end,
                                     InvoicePayment.onsite_payment_id.is_(None))
        .options(selectinload(InvoicePayment.invoice), selectinload(InvoicePayment.received_by)))
    rows += [PaymentRow(local_date_of(r.paid_at), "invoice", "", r.invoice.number, r.invoice.buyer_name, r.method,
                        money(r.amount), r.reference or "", r.received_by.name if r.received_by else "", "", "")
             for r in received]
    return sorted(rows, key=lambda r: (r.paid_on, r.source, r.receipt_number, r.invoice_number))


def payments_csv(span: Span) -> str:
    header = [_("Paid on"), _("Source"), _("Receipt no."), _("Invoice no."), _("Customer"), _("Method"),
              _("Amount"), _("Reference"), _("Received by"), _("Handed in on"), _("Reconciled on")]
    sources = {"onsite": _("On site"), "invoice": _("Against invoice")}
    rows = [[r.paid_on.isoformat(), sources[r.source], r.receipt_number, r.invoice_number, r.customer,
             label(r.method, "payment_method"), r.amount, r.reference, r.received_by, r.handed_in_on,
             r.reconciled_on] for r in payment_rows(span)]
    return to_csv(header, rows)


# ----------------------------------------------------------------------------- cost of covered work


@dataclass
class CoverCost:
    customer_id: int
    customer: str
    month: str  # YYYY-MM
    category: str  # free | contract
    calls: set[int]
    cost: Decimal = ZERO
    list_value: Decimal = ZERO
    fees: Decimal = ZERO  # contract fees invoiced in the month (contract rows)

    @property
    def call_count(self) -> int:
        return len(self.calls)

    @property
    def net(self) -> Decimal:
        """What the cover cost us beyond what its fees brought in (negative: the contract earned money)."""
        return money(self.cost - self.fees)


def covered_cost(span: Span) -> list[CoverCost]:
    """Per customer, month and category (free, contract): covered work recorded in the period."""
    start, end = span.window
    stmt = (select(ChargeLine, RepairCall.category, Customer.id, Customer.name)
            .join(RepairCall, ChargeLine.call_id == RepairCall.id).join(Customer, RepairCall.customer_id == Customer.id)
            .where(ChargeLine.voided_at.is_(None), ChargeLine.covered.is_(True), ChargeLine.created_at >= start,
                   ChargeLine.created_at < end))
    table: dict[tuple[int, str, str], CoverCost] = {}
    for line, category, cid, cname in db.session.execute(stmt):
        cat = Category.FREE if category == Category.FREE else Category.CONTRACT
        month = local_date_of(line.created_at).strftime("%Y-%m")
        row = table.setdefault((cid, month, str(cat)), CoverCost(cid, cname, month, str(cat), set()))
        row.calls.add(line.call_id)
        row.cost += line.cost if line.cost is not None else ZERO
        row.list_value += line.amount
    fees = db.session.execute(
        select(Invoice.customer_id, Invoice.buyer_name, Invoice.issued_at, Invoice.subtotal)
        .where(Invoice.kind == InvoiceKind.CONTRACT, Invoice.status == InvoiceStatus.ISSUED,
               Invoice.issued_at >= start, Invoice.issued_at < end))
    for cid, cname, issued_at, subtotal in fees:
        month = local_date_of(issued_at).strftime("%Y-%m")
        key = (cid, month, str(Category.CONTRACT))
        row = table.setdefault(key, CoverCost(cid, cname, month, str(Category.CONTRACT), set()))
        row.fees += subtotal
    for row in table.values():
        row.cost, row.list_value, row.fees = money(row.cost), money(row.list_value), money(row.fees)
    return sorted(table.values(), key=lambda r: (r.month, r.customer, r.category))


def covered_cost_totals(rows: Sequence[CoverCost]) -> dict[str, Decimal]:
    return {"cost": money(sum((r.cost for r in rows), ZERO)),
            "list_value": money(sum((r.list_value for r in rows), ZERO)),
            "fees": money(sum((r.fees for r in rows), ZERO)),
            "net": money(sum((r.net for r in rows), ZERO))}


def covered_cost_csv(span: Span) -> str:
    header = [_("Month"), _("Customer"), _("Category"), _("Calls"), _("Cost to us"), _("List value"),
              _("Contract fees invoiced"), _("Cost beyond fees")]
    rows = [[r.month, r.customer, label(r.category, "category"), r.call_count, r.cost, r.list_value, r.fees, r.net]
            for r in covered_cost(span)]
    return to_csv(header, rows)


EXPORTS = {"invoices": invoices_csv, "credit-notes": credit_notes_csv, "payments": payments_csv,
           "covered-cost": covered_cost_csv}


def export_filename(kind: str, span: Span) -> str:
    return f"{kind}_{span.start.isoformat()}_{span.end.isoformat()}.csv"


def last_month() -> Span:
    first_this = local_today().replace(day=1)
    last = first_this - timedelta(days=1)
    return Span(last.replace(day=1), last)
