"""Credit notes (CN-YYYY-NNNNNN, their own series) that void an invoice: nothing deleted or renumbered."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _
from dispatch.core.models import User
from dispatch.core.numbering import next_number
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.core.types import money
from dispatch.core.validate import is_id

from ..models import CREDIT_SERIES, ChargeLine, CreditNote, Invoice, InvoiceStatus
from . import invoice_payments
from .invoices import _lock_invoice

MAX_REASON = 1000


def get_credit_note_or_404(note_id: Any) -> CreditNote:
    note = db.session.get(CreditNote, note_id) if is_id(note_id) else None
    if note is None:
        raise NotFound(_("There is no credit note %(id)s.", id=note_id))
    return note


def credit_notes_page(*, before: int | None, size: int) -> tuple[list[CreditNote], bool]:
    stmt = select(CreditNote)
    if before:
        stmt = stmt.where(CreditNote.id < before)
    rows = list(db.session.scalars(stmt.order_by(CreditNote.id.desc()).limit(size + 1)))
    return rows[:size], len(rows) > size


def parse_reason(value: Any) -> str:
    if value is not None and not isinstance(value, str):
        raise Invalid(_("The reason must be text."), fields={"reason": _("must be text")})
    reason = (value or "").strip()
    if not reason:
        raise Invalid(_("Say why the invoice is voided: the credit note prints the reason."),
                      code="reason_required", fields={"reason": _("required")})
    if len(reason) > MAX_REASON:
        raise Invalid(_("The reason is at most %(n)d characters.", n=MAX_REASON),
                      fields={"reason": _("at most %(n)d characters", n=MAX_REASON)})
    return reason


def void_invoice(actor: User | None, invoice: Invoice, reason: Any) -> CreditNote:
    """Void an issued invoice with a credit note for its total. Its charge lines are released (the calls go
    back to "to invoice"); its payments stay recorded on it. The invoice keeps its number and lines; on-site
    payments move to the calls' next invoice when they are invoiced again."""
    text = parse_reason(reason)
    _lock_invoice(invoice)
    if invoice.status == InvoiceStatus.VOID:
        note = invoice.credit_note
        raise Conflict(_("Invoice %(number)s is already void (credit note %(note)s).", number=invoice.number,
                         note=note.number if note is not None else "—"), code="already_void")
    now = utcnow()
    note = CreditNote(number=next_number(CREDIT_SERIES, now.astimezone(local_tz()).year), invoice_id=invoice.id,
                      reason=text, amount=money(invoice.total), issued_at=now,
                      issued_by_id=actor.id if actor is not None else None)
    db.session.add(note)
    invoice.status = InvoiceStatus.VOID
    invoice.void_reason = text
    invoice.voided_at = now
    invoice.voided_by_id = actor.id if actor is not None else None
    released = list(db.session.scalars(select(ChargeLine).where(ChargeLine.invoice_id == invoice.id)))
    for line in released:
        line.invoice_id = None
    db.session.flush()
    kept = invoice_payments.paid(invoice)
    audit.record(actor, invoice, "invoice.voided", before={"status": InvoiceStatus.ISSUED},
                 after={"status": InvoiceStatus.VOID, "reason": text, "credit_note": note.number,
                        "released_charge_lines": [ln.id for ln in released], "payments_kept": kept})
    audit.record(actor, note, "credit_note.issued",
                 after=audit.snapshot(note, "number", "invoice_id", "amount", "reason"))
    db.session.expire(invoice, ["credit_note"])
    return note

