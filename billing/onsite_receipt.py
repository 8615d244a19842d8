"""The small receipt of an on-site payment (RC-YYYY-NNNNNN): what the customer paid the technician, for which
call, how, and to whom. The technician shows it on the phone or sends it; finance reprints it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from dispatch.core.i18n import _l
from dispatch.core.pdf import DocumentType, render_document
from dispatch.slips.data import Company, company_info

from .models import Payment
from .services.charges import charges_for_call

ONSITE_RECEIPT = DocumentType("onsite_receipt", "pdf/onsite_receipt.html",
                              _l("Payment receipt"))  # type: ignore[arg-type]


@dataclass(frozen=True)
class OnsiteReceipt:
    receipt_number: str
    collected_at: datetime
    company: Company
    customer_name: str
    site_address: str
    call_number: str
    slip_number: str
    technician_name: str
    method: str
    amount: Decimal
    currency: str
    total_due: Decimal
    paid_so_far: Decimal
    balance: Decimal


def receipt_data(payment: Payment) -> OnsiteReceipt:
    call = payment.call
    sheet = charges_for_call(call)
    # What was paid up to and including this receipt: a reprint later shows the same figures.
    so_far = sum((p.amount for p in sheet.payments if p.id <= payment.id), Decimal("0.00"))
    return OnsiteReceipt(
        receipt_number=payment.receipt_number, collected_at=payment.collected_at, company=company_info(),
        customer_name=call.customer.name, site_address=call.site.address, call_number=call.number,
        slip_number=payment.visit.slip_number if payment.visit is not None else "",
        technician_name=payment.collected_by.name if payment.collected_by is not None else "",
        method=payment.method, amount=payment.amount, currency=sheet.currency, total_due=sheet.total_due,
        paid_so_far=so_far, balance=sheet.total_due - so_far)


def receipt_pdf(payment: Payment) -> bytes:
    return render_document(ONSITE_RECEIPT, [receipt_data(payment)])
