"""Money received against an invoice: payments finance records (full or partial), and the on-site payments
technicians took on the invoice's calls, linked when the invoice is issued.

`paid(invoice)` and `balance(invoice)` are the one definition of what an invoice has received and still
owes (a list sums its invoices' payments in one statement, `listed_money`, and passes the sums in). An
on-site payment counts exactly once: as the InvoicePayment that links it (onsite_payment_id is unique),
never also as itself. Overpayment is refused, also when two people record at the same moment
(the invoice row is locked before its balance is read).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _, format_money
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id

from ..models import PAYMENT_METHODS, Invoice, InvoiceLine, InvoicePayment, InvoiceStatus, Payment
from ..parsing import ZERO, invalid_message, parse_decimal

MAX_REFERENCE = 100


def get_invoice_payment_or_404(payment_id: int) -> InvoicePayment:
    row = db.session.get(InvoicePayment, payment_id) if is_id(payment_id) else None
    if row is None:
        raise NotFound(_("There is no invoice payment %(id)s.", id=payment_id))
    return row


# ----------------------------------------------------------------------------- the one definition


def paid(invoice: Invoice, total: Decimal | None = None) -> Decimal:
    """What the invoice has received: its payments, on-site ones linked to it included (each once).
    `total` is that sum when a list has read it already for all its invoices (paid_totals)."""
    if invoice.id is None:
        return ZERO
    return money(total if total is not None else paid_totals([invoice])[invoice.id])


def paid_totals(invoices: Iterable[Invoice]) -> dict[int, Decimal]:
    """The sum of each invoice's payments (by invoice id), in one statement whatever their number."""
    ids = sorted({invoice.id for invoice in invoices if invoice.id is not None})
    totals = {invoice_id: ZERO for invoice_id in ids}
    if ids:
        for invoice_id, total in db.session.execute(
                select(InvoicePayment.invoice_id, func.coalesce(func.sum(InvoicePayment.amount), 0))
                .where(InvoicePayment.invoice_id.in_(ids)).group_by(InvoicePayment.invoice_id)):
            totals[invoice_id] = money(total or 0)
    return totals


def balance(invoice: Invoice, paid_total: Decimal | None = None) -> Decimal:
    """What the invoice still owes; a void invoice owes nothing (its credit note cancelled it)."""
    if invoice.status == InvoiceStatus.VOID:
        return ZERO
    return money(invoice.total) - paid(invoice, paid_total)


@dataclass(frozen=True)
class ListedMoney:
    """paid, balance and payment_state of the invoices a list shows, their payments summed at once."""

    totals: Mapping[int, Decimal]

    def paid(self, invoice: Invoice) -> Decimal:
        return paid(invoice, self.totals.get(invoice.id))

    def balance(self, invoice: Invoice) -> Decimal:
        return balance(invoice, self.totals.get(invoice.id))

    def state(self, invoice: Invoice) -> str:
        return payment_state(invoice, self.totals.get(invoice.id))


def listed_money(invoices: Iterable[Invoice]) -> ListedMoney:
    return ListedMoney(paid_totals(invoices))


def invoice_payments(invoice: Invoice) -> list[InvoicePayment]:
    return list(db.session.scalars(select(InvoicePayment).where(InvoicePayment.invoice_id == invoice.id)
                                   .order_by(InvoicePayment.paid_at, InvoicePayment.id)))


# ----------------------------------------------------------------------------- linking on-site money


def _invoice_call_ids(invoice: Invoice) -> list[int]:
    return sorted({cid for cid in db.session.scalars(
        select(InvoiceLine.call_id).where(InvoiceLine.invoice_id == invoice.id, InvoiceLine.call_id.is_not(None)))
        if cid is not None})


def link_onsite_payments(invoice: Invoice, actor: User | None = None) -> list[InvoicePayment]:
    """Link the money technicians took on site for the invoice's calls to the invoice (called when it is
    issued). Each on-site payment is linked once: a payment already on a live invoice stays there; one left on
    a voided invoice (its calls invoiced again) moves to this one. Returns the links made or moved."""
    call_ids = _invoice_call_ids(invoice)
    if not call_ids or invoice.status != InvoiceStatus.ISSUED:
        return []
    onsite = list(db.session.scalars(select(Payment).where(Payment.call_id.in_(call_ids)).order_by(Payment.id)))
    if not onsite:
        return []
    existing = {row.onsite_payment_id: row for row in db.session.scalars(
        select(InvoicePayment).where(InvoicePayment.onsite_payment_id.in_([p.id for p in onsite])))}
    made: list[InvoicePayment] = []
    for payment in onsite:
        link = existing.get(payment.id)
        if link is not None:
            if link.invoice_id == invoice.id or link.invoice.status != InvoiceStatus.VOID:
                continue
            before = {"invoice_id": link.invoice_id}
            link.invoice_id = invoice.id
            db.session.flush()
            audit.record(actor, link, "invoice_payment.relinked", before=before,
                         after={"invoice_id": invoice.id, "receipt_number": payment.receipt_number})
            made.append(link)
            continue
        link = InvoicePayment(invoice_id=invoice.id, amount=money(payment.amount), method=payment.method,
                              paid_at=payment.collected_at, received_by_id=payment.collected_by_id,
                              reference=payment.receipt_number, onsite_payment_id=payment.id)
        db.session.add(link)
        db.session.flush()
        audit.record(actor, link, "invoice_payment.linked",
                     after=audit.snapshot(link, "invoice_id", "amount", "method", "reference", "onsite_payment_id"))
        made.append(link)
    if made:
        db.session.expire(invoice, ["payments"])
    return made


# ----------------------------------------------------------------------------- recording a payment


def _lock_invoice(invoice: Invoice) -> None:
    """Serialise payments of one invoice: the row is locked on PostgreSQL (SQLite writers hold the database
    lock from BEGIN IMMEDIATE); then re-read, so the status and balance are what others committed."""
    db.session.execute(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
    db.session.refresh(invoice)


def record_invoice_payment(actor: User, invoice: Invoice, *, amount: Any, method: Any, reference: Any = None,
                           paid_at: datetime | None = None) -> InvoicePayment:
    """A payment received against an issued invoice, full or partial; more than the balance is refused."""
    errors: dict[str, str] = {}
    value = parse_decimal(amount, "amount", errors, positive=True)
    if method not in PAYMENT_METHODS:
        errors["method"] = _("one of: %(options)s", options=", ".join(PAYMENT_METHODS))
    ref: str | None = None
    if reference is not None and not isinstance(reference, str):
        errors["reference"] = _("must be text")
    elif reference is not None:
        ref = reference.strip() or None
        if ref is not None and len(ref) > MAX_REFERENCE:
            errors["reference"] = _("at most %(n)d characters", n=MAX_REFERENCE)
    if errors:
        raise Invalid(invalid_message(_("The payment cannot be recorded"), errors,
                                      {"reference": _("Reference")}), fields=errors)
    assert value is not None
    _lock_invoice(invoice)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_("Invoice %(number)s is void: no payment can be recorded on it.", number=invoice.number),
                       code="invoice_void")
    owed = balance(invoice)
    if owed <= 0:
        raise Conflict(_("Invoice %(number)s is paid in full.", number=invoice.number), code="already_paid")
    if value > owed:
        raise Invalid(_("The amount %(amount)s is more than the %(due)s still owed on invoice %(number)s.",
                        amount=format_money(value, invoice.currency), due=format_money(owed, invoice.currency),
                        number=invoice.number),
                      code="overpayment", fields={"amount": _("at most %(due)s", due=owed)})
    row = InvoicePayment(invoice_id=invoice.id, amount=money(value), method=str(method),
                         paid_at=paid_at or utcnow(), received_by_id=actor.id, reference=ref)
    db.session.add(row)
    db.session.flush()
    db.session.expire(invoice, ["payments"])
    audit.record(actor, row, "invoice_payment.recorded",
                 after={**audit.snapshot(row, "invoice_id", "amount", "method", "reference"),
                        "balance": balance(invoice)})
    return row


def payment_state(invoice: Invoice, paid_total: Decimal | None = None) -> str:
    """"void", "paid", "partly_paid" or "open": what the invoice's list and page show."""
    if invoice.status == InvoiceStatus.VOID:
        return "void"
    got = paid(invoice, paid_total)
    if got >= money(invoice.total):
        return "paid"
    return "partly_paid" if got > 0 else "open"
