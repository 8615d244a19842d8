"""The invoice and the credit note as PDFs (WeasyPrint through dispatch.core.pdf), in the printing user's
language with bilingual labels (print_label), in any script the fonts cover.

Everything printed comes from the invoice's own snapshot (seller, buyer, tax rate, lines), never from
today's configuration or prices, so a reprint always shows what was issued.
"""

from __future__ import annotations

from flask import current_app

from dispatch.core.i18n import _l
from dispatch.core.pdf import DocumentType, render_document
from dispatch.core.timeutil import local_date_of
from dispatch.slips.data import company_info

from .models import CreditNote, Invoice
from .services import invoice_payments
from .services import invoices as service

INVOICE = DocumentType("invoice", "pdf/invoice.html", _l("Invoice"),  # type: ignore[arg-type]
                       stylesheets=("css/print.css", "css/invoice.css"))
CREDIT_NOTE = DocumentType("credit_note", "pdf/invoice.html", _l("Credit note"),  # type: ignore[arg-type]
                           stylesheets=("css/print.css", "css/invoice.css"))


def _context(invoice: Invoice) -> dict[str, object]:
    return {"invoice": invoice, "lines": service.invoice_lines(invoice), "line_label": service.line_label,
            "paid": invoice_payments.paid(invoice), "balance": invoice_payments.balance(invoice),
            "payments": invoice_payments.invoice_payments(invoice), "calls": service.invoice_call_numbers(invoice),
            "company": company_info(), "terms_days": (invoice.due_on - local_date_of(invoice.issued_at)).days,
            "phone": current_app.config.get("COMPANY_PHONE") or ""}


def invoice_pdf(invoice: Invoice) -> bytes:
    return render_document(INVOICE, [invoice], note=None, **_context(invoice))


def credit_note_pdf(note: CreditNote) -> bytes:
    return render_document(CREDIT_NOTE, [note.invoice], note=note, **_context(note.invoice))
