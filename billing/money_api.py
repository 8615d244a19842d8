"""JSON API v1 for the money finance receives: payments against invoices, the cash-up of on-site money,
contract invoices due, the on-site payment receipt, and the CSV exports. Finance and admin write; managers
read; a technician reads the receipts of their own payments."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_login import current_user

from dispatch.core.apiutil import api_view, body, optional_body
from dispatch.core.errors import NotFound
from dispatch.core.i18n import _
from dispatch.core.models import Role
from dispatch.core.pdf import pdf_response
from dispatch.core.security import FINANCE, allow
from dispatch.core.timeutil import iso, local_today, parse_date
from dispatch.core.types import money
from dispatch.core.validate import is_id

from .models import Invoice, InvoicePayment, Payment
from .onsite_receipt import receipt_pdf
from .services import cashup, contract_billing, exports, invoice_payments
from .services.payments import get_payment_or_404

bp = Blueprint("money_api", __name__, url_prefix="/api/v1")

READERS = FINANCE | {Role.MANAGER}
RECEIPT_READERS = READERS | {Role.TECHNICIAN}

MONEY = {"type": ["string", "number"], "pattern": r"^\d+(\.\d{1,2})?$", "examples": ["80.00"]}
METHOD = {"enum": ["cash", "card", "transfer", "wechat", "alipay"]}
OPENAPI: dict[str, Any] = {"schemas": {
    "InvoicePaymentIn": {"type": "object", "required": ["amount", "method"], "properties": {
        "amount": MONEY, "method": METHOD, "reference": {"type": "string", "maxLength": 100}}},
    "InvoicePayment": {"type": "object", "properties": {
        "id": {"type": "integer"}, "invoice_id": {"type": "integer"}, "amount": {"type": "string"},
        "method": METHOD, "paid_at": {"type": "string", "format": "date-time"},
        "reference": {"type": ["string", "null"]}, "onsite_payment_id": {"type": ["integer", "null"]},
        "receipt_number": {"type": ["string", "null"]}, "invoice_paid": {"type": "string"},
        "invoice_balance": {"type": "string"}}},
    "HandInIn": {"type": "object", "required": ["technician_id", "date"], "properties": {
        "technician_id": {"type": "integer"}, "date": {"type": "string", "format": "date"}}},
    "ContractInvoicesIn": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date", "description": "issue the periods begun by this day "
                 "(default: today)"}}},
}, "bodies": {
    "money_api.record_payment": ("InvoicePaymentIn", "InvoicePayment"),
    "money_api.hand_in": ("HandInIn", None),
    "money_api.contract_invoices": ("ContractInvoicesIn", None),
}}


def _invoice_or_404(invoice_id: int) -> Invoice:
    from dispatch.core.extensions import db

    invoice = db.session.get(Invoice, invoice_id) if is_id(invoice_id) else None
    if invoice is None:
        raise NotFound(_("There is no invoice %(id)s.", id=invoice_id))
    return invoice


def invoice_payment_json(row: InvoicePayment, *, with_totals: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": row.id, "invoice_id": row.invoice_id, "amount": str(money(row.amount)), "method": row.method,
        "paid_at": iso(row.paid_at), "reference": row.reference, "onsite_payment_id": row.onsite_payment_id,
        "receipt_number": row.onsite_payment.receipt_number if row.onsite_payment is not None else None,
        "received_by": row.received_by.name if row.received_by is not None else None,
    }
    if with_totals:
        data["invoice_paid"] = str(invoice_payments.paid(row.invoice))
        data["invoice_balance"] = str(invoice_payments.balance(row.invoice))
    return data


@bp.post("/invoices/<int:invoice_id>/payments")
@allow(FINANCE)
@api_view
def record_payment(invoice_id: int) -> Any:
    """Record a full or partial payment against an invoice; more than the balance is 422 `overpayment`."""
    invoice = _invoice_or_404(invoice_id)
    data = body()
    row = invoice_payments.record_invoice_payment(current_user, invoice, amount=data.get("amount"),
                                                  method=data.get("method"), reference=data.get("reference"))
    return invoice_payment_json(row), 201


@bp.get("/invoices/<int:invoice_id>/payments")
@allow(READERS)
@api_view
def list_invoice_payments(invoice_id: int) -> Any:
    """The invoice's payments (on-site ones linked to it included), with what it has received and still owes."""
    invoice = _invoice_or_404(invoice_id)
    return {"items": [invoice_payment_json(r, with_totals=False) for r in invoice_payments.invoice_payments(invoice)],
            "next": None, "total": str(money(invoice.total)), "paid": str(invoice_payments.paid(invoice)),
            "balance": str(invoice_payments.balance(invoice)), "state": invoice_payments.payment_state(invoice)}


# ----------------------------------------------------------------------------- cash-up


def _onsite_json(p: Payment) -> dict[str, Any]:
    return {"id": p.id, "receipt_number": p.receipt_number, "call_id": p.call_id, "amount": str(money(p.amount)),
            "method": p.method, "collected_at": iso(p.collected_at), "handed_in_at": iso(p.handed_in_at),
            "reconciled_at": iso(p.reconciled_at)}


@bp.get("/billing/cash-up")
@allow(READERS)
@api_view
def cash_up() -> Any:
    """On-site money per technician per day not yet handed to finance."""
    days = cashup.not_handed_in()
    return {"items": [{"technician_id": d.technician_id, "technician": d.technician_name,
                       "date": d.day.isoformat(), "total": str(d.total), "cash": str(d.cash),
                       "by_method": {m: str(v) for m, v in d.by_method},
                       "payments": [_onsite_json(p) for p in d.payments]} for d in days],
            "next": None, "total": str(cashup.totals(days))}


@bp.post("/billing/cash-up/receive")
@allow(FINANCE)
@api_view
def hand_in() -> Any:
    """Received from technician: that technician's on-site money of that day is handed in to finance."""
    data = body()
    day = parse_date(data.get("date"), "date")
    handed = cashup.receive_from_technician(current_user, data.get("technician_id"), day)
    return {"technician_id": data.get("technician_id"), "date": day.isoformat(), "count": len(handed),
            "total": str(money(sum((p.amount for p in handed), money(0)))),
            "payments": [_onsite_json(p) for p in handed]}


hand_in.openapi_status = "200"  # type: ignore[attr-defined]  # changes state, creates nothing (openapi.py)


# ----------------------------------------------------------------------------- contract invoices


@bp.post("/billing/contract-invoices")
@allow(FINANCE)
@api_view
def contract_invoices() -> Any:
    """Issue every contract period due and not yet invoiced (each exactly once, however often this runs)."""
    data = optional_body()
    on = parse_date(data["date"], "date") if data.get("date") else local_today()
    issued = contract_billing.issue_contract_invoices(current_user, on)
    return {"issued": [{"id": i.id, "number": i.number, "contract_id": i.contract_id,
                        "customer_id": i.customer_id, "period_start": i.period_start.isoformat() if i.period_start
                        else None, "period_end": i.period_end.isoformat() if i.period_end else None,
                        "subtotal": str(i.subtotal), "tax": str(i.tax), "total": str(i.total)} for i in issued],
            "count": len(issued)}, (201 if issued else 200)


contract_invoices.openapi_status = ("201", "200")  # type: ignore[attr-defined]  # 201 when something was issued (openapi.py)


# ----------------------------------------------------------------------------- the on-site receipt


@bp.get("/payments/<int:payment_id>/receipt.pdf")
@allow(RECEIPT_READERS)
@api_view
def onsite_receipt(payment_id: int) -> Any:
    """The receipt of an on-site payment; a technician gets only those of their own payments (else 404)."""
    payment = get_payment_or_404(payment_id)
    if current_user.role == Role.TECHNICIAN and payment.collected_by_id != current_user.id:
        raise NotFound(_("There is no payment %(id)s.", id=payment_id))
    return pdf_response(receipt_pdf(payment), f"{payment.receipt_number}.pdf")


# ----------------------------------------------------------------------------- exports


def csv_response(text: str, filename: str) -> Response:
    response = Response(text.encode("utf-8"), mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@bp.get("/billing/exports/<kind>.csv")
@allow(READERS)
@api_view
def export(kind: str) -> Any:
    """CSV for the accounting package: invoices, credit-notes, payments, covered-cost (?from=&to=)."""
    make = exports.EXPORTS.get(kind)
    if make is None:
        raise NotFound(_("There is no export %(kind)s: %(options)s.", kind=kind,
                         options=", ".join(exports.EXPORTS)))
    span = exports.parse_span(request.args.get("from"), request.args.get("to"))
    return csv_response(make(span), exports.export_filename(kind, span))
