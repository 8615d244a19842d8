"""JSON API v1 for invoicing: what is to invoice, invoices, their PDF and tax-system export, credit notes.

Finance and admin write; managers read; everyone else 403.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request, url_for
from flask_login import current_user

from dispatch.core.apiutil import api_view, body, optional_body, paginate
from dispatch.core.errors import Invalid
from dispatch.core.i18n import _
from dispatch.core.models import Role
from dispatch.core.pdf import pdf_response
from dispatch.core.security import FINANCE, allow
from dispatch.core.timeutil import iso
from dispatch.core.types import money

from .invoice_documents import credit_note_pdf, invoice_pdf
from .models import CreditNote, Invoice, InvoiceLine
from .schemas import format_rate, line_json, payment_json
from .services import credit_notes as notes
from .services import invoice_csv, invoice_payments
from .services import invoices as service
from .services import pending as to_invoice

bp = Blueprint("invoices_api", __name__, url_prefix="/api/v1")

READERS = FINANCE | {Role.MANAGER}

_MONEY = {"type": "string", "examples": ["180.00"]}
_LINE = {"type": "object", "properties": {
    "id": {"type": "integer"}, "call_id": {"type": ["integer", "null"]}, "call_number": {"type": ["string", "null"]},
    "charge_line_id": {"type": ["integer", "null"]}, "kind": {"type": ["string", "null"]},
    "description": {"type": "string"}, "text": {"type": "string"}, "quantity": {"type": "string"},
    "unit": {"type": ["string", "null"]}, "unit_price": _MONEY, "amount": _MONEY, "due": _MONEY,
    "covered": {"type": "boolean"}, "covered_by": {"type": ["string", "null"]},
    "cover_text": {"type": "string"}, "category": {"type": ["string", "null"]}}}
OPENAPI: dict[str, Any] = {"schemas": {
    "InvoiceIn": {"type": "object", "required": ["call_ids"], "properties": {
        "call_ids": {"type": "array", "minItems": 1, "items": {"type": "integer"}}}},
    "Invoice": {"type": "object", "required": ["id", "number", "customer_id", "lines", "subtotal", "tax", "total",
                                               "status", "paid", "balance"], "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "examples": ["INV-2026-000001"]},
        "customer_id": {"type": "integer"}, "kind": {"enum": ["calls", "contract"]},
        "status": {"enum": ["issued", "void"]}, "issued_at": {"type": "string", "format": "date-time"},
        "due_on": {"type": "string", "format": "date"}, "currency": {"type": "string"},
        "tax_rate": {"type": "string"}, "subtotal": _MONEY, "tax": _MONEY, "total": _MONEY, "paid": _MONEY,
        "balance": _MONEY, "payment_state": {"enum": ["open", "partly_paid", "paid", "void"]},
        "buyer": {"type": "object"}, "seller": {"type": "object"},
        "fapiao_number": {"type": ["string", "null"]}, "fapiao_date": {"type": ["string", "null"]},
        "calls": {"type": "array", "items": {"type": "string"}},
        "lines": {"type": "array", "items": _LINE}, "payments": {"type": "array", "items": {"type": "object"}},
        "credit_note": {"type": ["object", "null"]}, "pdf_url": {"type": "string"}}},
    "InvoiceChange": {"type": "object", "required": ["fapiao_number", "fapiao_date"], "properties": {
        "fapiao_number": {"type": "string", "maxLength": 40, "minLength": 1, "pattern": r"\S"},
        "fapiao_date": {"type": "string", "format": "date"}}},
    "VoidIn": {"type": "object", "required": ["reason"], "properties": {"reason": {"type": "string",
                                                                                  "maxLength": 1000, "minLength": 1, "pattern": r"\S"}}},
    "CreditNote": {"type": "object", "properties": {
        "id": {"type": "integer"}, "number": {"type": "string", "examples": ["CN-2026-000001"]},
        "invoice_id": {"type": "integer"}, "invoice_number": {"type": "string"}, "reason": {"type": "string"},
        "amount": _MONEY, "issued_at": {"type": "string", "format": "date-time"}, "pdf_url": {"type": "string"}}},
    "Pending": {"type": "object", "properties": {
        "items": {"type": "array", "items": {"type": "object", "properties": {
            "customer_id": {"type": "integer"}, "customer_name": {"type": "string"},
            "calls": {"type": "array", "items": {"type": "object"}}, "subtotal": _MONEY, "tax": _MONEY,
            "total": _MONEY, "paid": _MONEY, "balance": _MONEY}}},
        "tax_rate": {"type": "string"}, "currency": {"type": "string"}}},
}, "bodies": {
    "invoices_api.pending": (None, "Pending"),
    "invoices_api.create_invoice": ("InvoiceIn", "Invoice"),
    "invoices_api.get_invoice": (None, "Invoice"),
    "invoices_api.update_invoice": ("InvoiceChange", "Invoice"),
    "invoices_api.void_invoice": ("VoidIn", "Invoice"),
    "invoices_api.get_credit_note": (None, "CreditNote"),
}}


# ----------------------------------------------------------------------------- JSON


def invoice_line_json(line: InvoiceLine) -> dict[str, Any]:
    from .services.charges import cover_text
    from .services.parts import format_quantity

    return {
        "id": line.id, "call_id": line.call_id, "call_number": line.call.number if line.call is not None else None,
        "charge_line_id": line.charge_line_id, "kind": line.kind, "description": line.description,
        "text": service.line_label(line), "quantity": format_quantity(line.quantity), "unit": line.unit,
        "unit_price": str(money(line.unit_price)), "amount": str(money(line.amount)), "due": str(money(line.due)),
        "covered": line.covered, "covered_by": line.covered_by, "cover_text": cover_text(line.covered_by),
        "category": line.category,
    }


def credit_note_json(note: CreditNote) -> dict[str, Any]:
    return {"id": note.id, "number": note.number, "invoice_id": note.invoice_id,
            "invoice_number": note.invoice.number, "reason": note.reason, "amount": str(money(note.amount)),
            "issued_at": iso(note.issued_at), "issued_by": note.issued_by.name if note.issued_by else None,
            "pdf_url": url_for("invoices_api.credit_note_document", note_id=note.id)}


def invoice_json(invoice: Invoice, *, full: bool = True,
                 listed: invoice_payments.ListedMoney | None = None) -> dict[str, Any]:
    """`listed`: the payments of a list's invoices, summed at once (invoice_payments.listed_money)."""
    listed = listed or invoice_payments.listed_money([invoice])
    data: dict[str, Any] = {
        "id": invoice.id, "number": invoice.number, "customer_id": invoice.customer_id, "kind": invoice.kind,
        "status": invoice.status, "issued_at": iso(invoice.issued_at),
        "issued_by": invoice.issued_by.name if invoice.issued_by else None,
        "due_on": invoice.due_on.isoformat(), "currency": invoice.currency,
        "tax_rate": format_rate(invoice.tax_rate), "subtotal": str(money(invoice.subtotal)),
        "tax": str(money(invoice.tax)), "total": str(money(invoice.total)),
        "paid": str(listed.paid(invoice)), "balance": str(listed.balance(invoice)),
        "payment_state": listed.state(invoice),
        "buyer": {"name": invoice.buyer_name, "address": invoice.buyer_address, "tax_id": invoice.buyer_tax_id},
        "seller": {"name": invoice.seller_name, "address": invoice.seller_address,
                   "tax_id": invoice.seller_tax_id, "bank": invoice.seller_bank},
        "fapiao_number": invoice.fapiao_number,
        "fapiao_date": invoice.fapiao_date.isoformat() if invoice.fapiao_date else None,
        "contract_id": invoice.contract_id,
        "period_start": invoice.period_start.isoformat() if invoice.period_start else None,
        "period_end": invoice.period_end.isoformat() if invoice.period_end else None,
        "void_reason": invoice.void_reason, "voided_at": iso(invoice.voided_at),
        "credit_note": credit_note_json(invoice.credit_note) if invoice.credit_note is not None else None,
        "pdf_url": url_for("invoices_api.invoice_document", invoice_id=invoice.id),
        "lines_csv_url": url_for("invoices_api.invoice_lines_csv", invoice_id=invoice.id),
    }
    if full:
        data["calls"] = service.invoice_call_numbers(invoice)
        data["lines"] = [invoice_line_json(ln) for ln in service.invoice_lines(invoice)]
        data["payments"] = [{"id": p.id, "amount": str(money(p.amount)), "method": p.method, "paid_at": iso(p.paid_at),
                             "reference": p.reference, "onsite_payment_id": p.onsite_payment_id}
                            for p in invoice_payments.invoice_payments(invoice)]
    return data


def pending_json(pending: to_invoice.Pending) -> dict[str, Any]:
    items = []
    for group in pending.customers:
        items.append({
            "customer_id": group.customer.id, "customer_name": group.customer.name,
            "customer_tax_id": group.customer.tax_id,
            "subtotal": str(group.subtotal), "tax": str(group.tax), "total": str(group.total),
            "paid": str(group.paid), "balance": str(group.balance),
            "calls": [{
                "call_id": e.call.id, "number": e.call.number, "category": e.call.category,
                "status": e.call.status, "completed_at": iso(e.call.completed_at),
                "explanation": e.explanation, "workshop": e.has_workshop,
                "lines": [line_json(ln) for ln in e.lines],
                "subtotal": str(e.subtotal), "tax": str(e.tax), "total": str(e.total),
                "paid": str(e.paid), "balance": str(e.balance),
                "paid_in_full_on_site": e.paid_in_full,
                "payments": [payment_json(p) for p in e.payments],
            } for e in group.calls],
        })
    return {"items": items, "tax_rate": format_rate(pending.tax_rate), "currency": pending.currency}


# ----------------------------------------------------------------------------- endpoints


@bp.get("/billing/pending")
@allow(READERS)
@api_view
def pending() -> Any:
    """Completed calls (and workshop work) with charges not yet invoiced, by customer (?customer_id=)."""
    customer_id, _status = service.parse_filters(request.args.get("customer_id"), None)
    return pending_json(to_invoice.pending(customer_id))


@bp.post("/invoices")
@allow(FINANCE)
@api_view
def create_invoice() -> Any:
    """Issue one invoice for one customer's calls: 409 when a call is already invoiced; 422 for calls of
    different customers or nothing to bill."""
    data = body()
    invoice = service.issue_invoice(current_user, data.get("call_ids"))
    return invoice_json(invoice), 201


@bp.get("/invoices")
@allow(READERS)
@api_view
def list_invoices() -> Any:
    """Invoices, newest first (?customer_id=&status=issued|void)."""
    customer_id, status = service.parse_filters(request.args.get("customer_id"), request.args.get("status"))
    page = paginate(service.invoices_query(customer_id=customer_id, status=status).options(*service.INVOICE_ROW),
                    Invoice.id, lambda inv: inv)  # the invoices themselves: their payments are summed at once below
    listed = invoice_payments.listed_money(page["items"])
    page["items"] = [invoice_json(inv, full=False, listed=listed) for inv in page["items"]]
    return page


@bp.get("/invoices/<int:invoice_id>")
@allow(READERS)
@api_view
def get_invoice(invoice_id: int) -> Any:
    return invoice_json(service.get_invoice_or_404(invoice_id))


@bp.patch("/invoices/<int:invoice_id>")
@allow(FINANCE)
@api_view
def update_invoice(invoice_id: int) -> Any:
    """Record the official tax invoice (发票): {"fapiao_number", "fapiao_date"}."""
    invoice = service.get_invoice_or_404(invoice_id)
    data = body()
    unknown = set(data) - {"fapiao_number", "fapiao_date"}
    if unknown:
        raise Invalid(_("Only fapiao_number and fapiao_date can change; an issued invoice is otherwise final."),
                      fields={k: _("cannot be changed") for k in sorted(unknown)})
    return invoice_json(service.set_fapiao(current_user, invoice, number=data.get("fapiao_number"),
                                           on=data.get("fapiao_date")))


@bp.post("/invoices/<int:invoice_id>/void")
@allow(FINANCE)
@api_view
def void_invoice(invoice_id: int) -> Any:
    """Void with a credit note (its own series); the calls go back to "to invoice". A void invoice: 409."""
    invoice = service.get_invoice_or_404(invoice_id)
    data = optional_body()
    note = notes.void_invoice(current_user, invoice, data.get("reason"))
    return {**invoice_json(invoice), "credit_note": credit_note_json(note)}, 201


def _pdf(content: bytes, name: str) -> Response:
    return pdf_response(content, f"{name}.pdf")


@bp.get("/invoices/<int:invoice_id>.pdf")
@allow(READERS)
@api_view
def invoice_document(invoice_id: int) -> Any:
    """The invoice as a PDF (number, buyer, lines, tax, total, paid, balance), in the reader's language."""
    invoice = service.get_invoice_or_404(invoice_id)
    return _pdf(invoice_pdf(invoice), invoice.number)


@bp.get("/invoices/<int:invoice_id>/lines.csv")
@allow(READERS)
@api_view
def invoice_lines_csv(invoice_id: int) -> Any:
    """The billed lines for the tax system's import (项目名称, 规格型号, 单位, 数量, 单价, 金额, 税率, 税额)."""
    invoice = service.get_invoice_or_404(invoice_id)
    response = Response(invoice_csv.lines_csv(invoice), mimetype="text/csv")
    response.headers["Content-Disposition"] = f'attachment; filename="{invoice.number}-lines.csv"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/credit-notes")
@allow(READERS)
@api_view
def list_credit_notes() -> Any:
    from sqlalchemy import select

    return paginate(select(CreditNote), CreditNote.id, credit_note_json)


@bp.get("/credit-notes/<int:note_id>")
@allow(READERS)
@api_view
def get_credit_note(note_id: int) -> Any:
    return credit_note_json(notes.get_credit_note_or_404(note_id))


@bp.get("/credit-notes/<int:note_id>.pdf")
@allow(READERS)
@api_view
def credit_note_document(note_id: int) -> Any:
    note = notes.get_credit_note_or_404(note_id)
    return _pdf(credit_note_pdf(note), note.number)
