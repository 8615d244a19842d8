"""The customer product receipt (客户商品领取收据) as a PDF: what the technician took, its condition and
photos, the promised return date, the customer's signature, and a QR label to stick on the item.

Once signed it prints the content the customer signed (the canonical JSON stored with the receipt, whose
SHA-256 is printed), so paper and hash always agree; before that, the current record with a blank
signature box.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import date, datetime

from dispatch.core.i18n import _l
from dispatch.core.pdf import DocumentType, public_url, qr_svg, render_document
from dispatch.slips.data import Company, company_info

from .models import CarryBack

RECEIPT = DocumentType("carry_back_receipt", "pdf/carry_back_receipt.html",
                       _l("Customer product receipt"),  # type: ignore[arg-type]
                       stylesheets=("css/print.css", "css/carry_back_receipt.css"))


@dataclass(frozen=True)
class ReceiptData:
    """Everything the receipt prints, detached from the database."""

    receipt_number: str
    taken_at: datetime
    company: Company
    call_number: str
    slip_number: str
    customer_name: str
    customer_phone: str
    site_address: str
    item: str
    model: str
    serial_number: str
    accessories: str
    condition: str
    stated_fault: str
    promised_return_on: date
    technician_name: str
    workshop_url: str
    photos: tuple[str, ...] = ()  # data: URIs of the JPEGs
    signer_name: str | None = None
    signed_at: datetime | None = None
    signature_png: bytes | None = None
    receipt_sha256: str | None = None

    @property
    def signature_data_uri(self) -> str | None:
        if not self.signature_png:
            return None
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode("ascii")


def workshop_url(cb: CarryBack) -> str:
    """The item's workshop page, which the QR label opens on a phone (an absolute URL)."""
    return public_url(f"/t/workshop/{cb.id}")


def receipt_data(cb: CarryBack) -> ReceiptData:
    call = cb.call
    signed = json.loads(cb.receipt_signed_content) if cb.receipt_signed_content else {}

    def field(name: str, current: str) -> str:
        return str(signed.get(name, current)) if signed else current

    promised = date.fromisoformat(signed["promised_return_on"]) if signed else cb.promised_return_on
    wanted = set(signed.get("photos", [])) if signed else None
    photos = tuple("data:image/jpeg;base64," + base64.b64encode(p.image).decode("ascii")
                   for p in cb.photos if wanted is None or p.sha256 in wanted)
    return ReceiptData(
        receipt_number=cb.number, taken_at=cb.created_at, company=company_info(), call_number=call.number,
        slip_number=cb.visit.slip_number, customer_name=field("customer", call.customer.name),
        customer_phone=call.customer.phone, site_address=field("site", call.site.address),
        item=field("item", cb.item), model=field("model", cb.model),
        serial_number=field("serial_number", cb.serial_number), accessories=field("accessories", cb.accessories),
        condition=field("condition", cb.condition), stated_fault=field("stated_fault", cb.stated_fault),
        promised_return_on=promised, technician_name=field("technician", cb.taken_by.name),
        workshop_url=workshop_url(cb), photos=photos, signer_name=cb.receipt_signer_name,
        signed_at=cb.receipt_signed_at, signature_png=cb.receipt_signature_png, receipt_sha256=cb.receipt_sha256)


def receipt_pdf(cb: CarryBack) -> bytes:
    return render_document(RECEIPT, [receipt_data(cb)], qr_svg=qr_svg)
