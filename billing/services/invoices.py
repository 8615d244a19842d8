"""Invoices from completed work: issuing one, recording its official tax invoice (发票), and reading them.

`issue_invoice` bills one customer's calls on one invoice (INV-YYYY-NNNNNN from the "invoice" counter, taken
under a lock in the caller's transaction: gapless, never repeated). The tax rate is the configured one (the
current price list) and is stored on the invoice, with a snapshot of buyer and seller. A charge line is on at
most one live invoice (`ChargeLine.invoice_id`); the calls are locked first, so two people invoicing the same
call at the same moment get one invoice and one 409. What is to invoice is in pending.py, credit notes that
void an invoice in credit_notes.py, the tax system's CSV in invoice_csv.py.

Plain functions: they flush, never commit, raise domain errors, and audit every change.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import local_date_of, local_today, local_tz, parse_date, utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id
from dispatch.models import RepairCall

from ..models import (
    INVOICE_SERIES,
    ChargeKind,
    ChargeLine,
    CreditNote,
    Invoice,
    InvoiceKind,
    InvoiceLine,
    InvoiceStatus,
    Part,
)
from ..parsing import ZERO
from . import invoice_payments
from .charges import cover_text, line_text
from .fee_lines import fee_line_text
from .pending import BILLABLE_STATUSES, billable_lines, tax_on
from .prices import current_prices

MAX_CALLS = 200
MAX_FAPIAO = 40
# The unit of a line that is not a part (a part keeps its catalogue unit): labels in billing.models.LABELS.
UNIT_OF = {ChargeKind.CALL_OUT: "visit", ChargeKind.LABOR: "h"}


def get_invoice_or_404(invoice_id: Any) -> Invoice:
    invoice = db.session.get(Invoice, invoice_id) if is_id(invoice_id) else None
    if invoice is None:
        raise NotFound(_("There is no invoice %(id)s.", id=invoice_id))
    return invoice


# ----------------------------------------------------------------------------- issuing


def parse_call_ids(value: Any) -> list[int]:
    if not isinstance(value, list) or not value:
        raise Invalid(_("Choose at least one call to invoice."), code="nothing_to_bill",
                      fields={"call_ids": _("a list of call ids")})
    ids: list[int] = []
    for item in value:
        if isinstance(item, str) and item.strip().isdigit():
            item = int(item.strip())
        if isinstance(item, bool) or not isinstance(item, int) or not is_id(item):
            raise Invalid(_("%(value)s is not a call id.", value=str(item)[:40]),
                          fields={"call_ids": _("a list of call ids")})
        if item not in ids:
            ids.append(item)
    if len(ids) > MAX_CALLS:
        raise Invalid(_("At most %(n)d calls fit on one invoice.", n=MAX_CALLS),
                      fields={"call_ids": _("at most %(n)d", n=MAX_CALLS)})
    return ids


def _lock_calls(call_ids: Sequence[int]) -> None:
    """Serialise invoicing of these calls (in id order, so two issuers never wait on each other in a circle)."""
    for call_id in sorted(call_ids):
        db.session.execute(select(RepairCall.id).where(RepairCall.id == call_id).with_for_update())


def _part_units(lines: Sequence[ChargeLine]) -> dict[str, str]:
    skus = {ln.sku for ln in lines if ln.kind == ChargeKind.PART and ln.sku}
    if not skus:
        return {}
    return {p.sku: p.unit for p in db.session.scalars(select(Part).where(Part.sku.in_(skus)))}


def _seller() -> dict[str, Any]:
    cfg = current_app.config
    return {"seller_name": cfg.get("COMPANY_NAME") or "", "seller_address": cfg.get("COMPANY_ADDRESS") or None,
            "seller_tax_id": cfg.get("COMPANY_TAX_ID") or None,
            "seller_bank": cfg.get("COMPANY_BANK_ACCOUNT") or None}


def payment_terms_days() -> int:
    try:
        return max(0, int(current_app.config.get("PAYMENT_TERMS_DAYS") or 30))
    except (TypeError, ValueError):
        return 30


def issue_invoice(actor: User | None, call_ids: Any) -> Invoice:
    """One invoice for the billable lines of one customer's calls. 409 if a call is already invoiced;
    422 for calls of different customers, a call not completed, or nothing to bill."""
    ids = parse_call_ids(call_ids)
    calls = {c.id: c for c in db.session.scalars(select(RepairCall).where(RepairCall.id.in_(ids)))}
    missing = [i for i in ids if i not in calls]
    if missing:
        raise Invalid(_("There is no call %(id)s.", id=missing[0]), code="unknown_call",
                      fields={"call_ids": _("unknown call %(id)s", id=missing[0])})
    customers = {c.customer_id for c in calls.values()}
    if len(customers) > 1:
        names = sorted({c.customer.name for c in calls.values()})
        raise Invalid(_("One invoice is for one customer; these calls are for %(names)s.", names=", ".join(names)),
                      code="mixed_customers", fields={"call_ids": _("calls of different customers")})
    _lock_calls(ids)
    for call in calls.values():
        db.session.refresh(call)
    ordered = sorted(calls.values(), key=lambda c: (c.completed_at or c.created_at, c.id))
    picked: list[tuple[RepairCall, list[ChargeLine]]] = []
    for call in ordered:
        lines = billable_lines(call)
        if not lines:
            invoiced = db.session.scalar(
                select(Invoice).join(ChargeLine, ChargeLine.invoice_id == Invoice.id)
                .where(ChargeLine.call_id == call.id, ChargeLine.voided_at.is_(None),
                       Invoice.status == InvoiceStatus.ISSUED).limit(1))
            if invoiced is not None:
                raise Conflict(_("Call %(call)s is already invoiced on %(invoice)s.", call=call.number,
                                 invoice=invoiced.number), code="already_invoiced")
            if call.status not in BILLABLE_STATUSES:
                raise Invalid(_("Call %(call)s is not completed yet: there is nothing to invoice.",
                                call=call.number), code="not_completed",
                              fields={"call_ids": _("call %(call)s is not completed", call=call.number)})
            raise Invalid(_("Call %(call)s has nothing to bill.", call=call.number), code="nothing_to_bill",
                          fields={"call_ids": _("nothing to bill on %(call)s", call=call.number)})
        picked.append((call, lines))
    all_lines = [ln for _call, lines in picked for ln in lines]
    subtotal = money(sum((ln.due for ln in all_lines), ZERO))
    if subtotal <= 0:
        raise Invalid(_("Nothing to bill: every line of these calls is covered (%(why)s).",
                        why="; ".join(sorted({cover_text(ln.covered_by) for ln in all_lines if ln.covered_by}))),
                      code="nothing_to_bill", fields={"call_ids": _("nothing to bill")})
    prices = current_prices()
    rate = prices.tax_rate
    tax = tax_on(subtotal, rate)
    now = utcnow()
    today = local_date_of(now)
    customer = ordered[0].customer
    site = ordered[0].site
    invoice = Invoice(
        number=next_number(INVOICE_SERIES, now.astimezone(local_tz()).year), customer_id=customer.id,
        kind=InvoiceKind.CALLS, status=InvoiceStatus.ISSUED, issued_at=now,
        issued_by_id=actor.id if actor is not None else None, due_on=today + timedelta(days=payment_terms_days()),
        currency=prices.currency, tax_rate=rate, subtotal=subtotal, tax=tax, total=subtotal + tax,
        buyer_name=customer.name, buyer_address=site.address if site is not None else None,
        buyer_tax_id=customer.tax_id or None, **_seller())
    db.session.add(invoice)
    db.session.flush()
    units = _part_units(all_lines)
    position = 0
    for call, lines in picked:
        for ln in lines:
            position += 1
            unit = units.get(ln.sku or "", "pcs") if ln.kind == ChargeKind.PART else UNIT_OF.get(ln.kind)
            db.session.add(InvoiceLine(
                invoice_id=invoice.id, call_id=call.id, charge_line_id=ln.id, description=ln.description,
                quantity=ln.quantity, unit_price=ln.unit_price, amount=ln.amount, covered=ln.covered,
                covered_by=ln.covered_by, category=call.category, position=position, kind=ln.kind, unit=unit))
            ln.invoice_id = invoice.id
    db.session.flush()
    audit.record(actor, invoice, "invoice.issued", after={
        **audit.snapshot(invoice, "number", "customer_id", "subtotal", "tax", "total", "tax_rate", "currency",
                         "due_on"),
        "calls": [c.number for c, _lines in picked], "charge_lines": [ln.id for ln in all_lines]})
    invoice_payments.link_onsite_payments(invoice, actor)
    db.session.expire(invoice, ["lines", "payments"])
    return invoice


def _lock_invoice(invoice: Invoice) -> None:
    db.session.execute(select(Invoice.id).where(Invoice.id == invoice.id).with_for_update())
    db.session.refresh(invoice)


# ----------------------------------------------------------------------------- the official tax invoice


def set_fapiao(actor: User | None, invoice: Invoice, *, number: Any, on: Any) -> Invoice:
    """Record the official tax invoice (发票) finance issued for this invoice through the tax system."""
    errors: dict[str, str] = {}
    text = number.strip() if isinstance(number, str) else ""
    if not text:
        errors["fapiao_number"] = _("required")
    elif len(text) > MAX_FAPIAO:
        errors["fapiao_number"] = _("at most %(n)d characters", n=MAX_FAPIAO)
    elif not all(ch.isalnum() or ch in "-/ " for ch in text):
        errors["fapiao_number"] = _("letters and digits only")
    day: date | None = None
    if on is None or (isinstance(on, str) and not on.strip()):
        errors["fapiao_date"] = _("required")
    else:
        try:
            day = parse_date(on, "fapiao_date", _("Tax invoice date"))
        except Invalid as exc:
            errors["fapiao_date"] = (exc.fields or {}).get("fapiao_date") or exc.message
    if day is not None:
        if day < local_date_of(invoice.issued_at):
            errors["fapiao_date"] = _("not before the invoice (%(date)s)", date=local_date_of(invoice.issued_at))
        elif day > local_today():
            errors["fapiao_date"] = _("not in the future")
    if errors:
        raise Invalid(_("The tax invoice cannot be recorded: %(problems)s.",
                        problems="; ".join(errors.values())), fields=errors)
    _lock_invoice(invoice)
    if invoice.status == InvoiceStatus.VOID:
        raise Conflict(_("Invoice %(number)s is void: no tax invoice can be recorded on it.",
                         number=invoice.number), code="invoice_void")
    before = audit.snapshot(invoice, "fapiao_number", "fapiao_date")
    invoice.fapiao_number = text
    invoice.fapiao_date = day
    db.session.flush()
    audit.record(actor, invoice, "invoice.fapiao_recorded", before=before,
                 after=audit.snapshot(invoice, "fapiao_number", "fapiao_date"))
    return invoice


# ----------------------------------------------------------------------------- reading


# What the invoices API shows of each listed invoice beyond its own columns: who issued it and its credit note.
INVOICE_ROW = (selectinload(Invoice.issued_by),
               selectinload(Invoice.credit_note).selectinload(CreditNote.issued_by))


def invoices_query(*, customer_id: int | None = None, status: str | None = None,
                   number: str | None = None) -> Any:
    stmt = select(Invoice)
    if customer_id is not None:
        stmt = stmt.where(Invoice.customer_id == customer_id)
    if status:
        stmt = stmt.where(Invoice.status == status)
    if number:
        stmt = stmt.where(Invoice.number.ilike(f"%{number.strip()}%"))
    return stmt


def parse_filters(customer_id: Any, status: Any) -> tuple[int | None, str | None]:
    cid: int | None = None
    if customer_id not in (None, ""):
        text = str(customer_id).strip()
        if not text.isdigit() or not is_id(int(text)):
            raise Invalid(_("customer_id must be a customer's id."), fields={"customer_id": _("not a customer id")})
        cid = int(text)
    state: str | None = None
    if status not in (None, ""):
        if status not in InvoiceStatus.ALL:
            raise Invalid(_("status is issued or void."), fields={"status": _("issued or void")})
        state = str(status)
    return cid, state


def invoices_page(*, customer_id: int | None, status: str | None, number: str | None, before: int | None,
                  size: int) -> tuple[list[Invoice], bool]:
    stmt = invoices_query(customer_id=customer_id, status=status, number=number)
    if before:
        stmt = stmt.where(Invoice.id < before)
    rows = list(db.session.scalars(stmt.order_by(Invoice.id.desc()).limit(size + 1)))
    return rows[:size], len(rows) > size


def invoice_lines(invoice: Invoice) -> list[InvoiceLine]:
    return list(db.session.scalars(select(InvoiceLine).where(InvoiceLine.invoice_id == invoice.id)
                                   .order_by(InvoiceLine.position, InvoiceLine.id)))


def invoice_call_numbers(invoice: Invoice) -> list[str]:
    return list(db.session.scalars(
        select(RepairCall.number).where(RepairCall.id.in_(
            select(InvoiceLine.call_id).where(InvoiceLine.invoice_id == invoice.id))).order_by(RepairCall.id)))


def invoiced_again(invoice: Invoice) -> list[Invoice]:
    """The live invoices that now bill the calls of a void invoice (re-invoiced after its credit note)."""
    if invoice.status != InvoiceStatus.VOID:
        return []
    call_ids = select(InvoiceLine.call_id).where(InvoiceLine.invoice_id == invoice.id)
    return list(db.session.scalars(
        select(Invoice).join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .where(InvoiceLine.call_id.in_(call_ids), Invoice.id != invoice.id).distinct().order_by(Invoice.id)))


def line_label(line: InvoiceLine) -> str:
    """An invoice line as people read it, in their language."""
    if line.charge_line is not None:
        return line_text(line.charge_line)
    if line.category == "contract_fee":
        return fee_line_text(line.description)
    return line.description


def paid(invoice: Invoice) -> Decimal:
    return invoice_payments.paid(invoice)


def balance(invoice: Invoice) -> Decimal:
    return invoice_payments.balance(invoice)

