"""The return voucher (送还凭证): the paper the customer keeps when a carried-back item comes home.

It prints exactly what the customer signed for at the return (the canonical JSON stored with the return,
`CarryBack.return_signed_content`, whose SHA-256 is printed), like the visit voucher: the item and its
serial (and the new one if the unit was replaced), the workshop's work and its lines, the call's charges,
how it went back, the signature, the signer and the time.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from billing.services.charges import cover_text
from dispatch.core.errors import Conflict
from dispatch.core.i18n import _, _l
from dispatch.core.pdf import DocumentType, render_document
from dispatch.slips.data import Company, company_info

from .models import CarryBack

RETURN_VOUCHER = DocumentType("carry_back_return", "pdf/carry_back_return.html",
                              _l("Return voucher"),  # type: ignore[arg-type]
                              stylesheets=("css/print.css", "css/carry_back_receipt.css",
                                           "css/carry_back_return.css"))


@dataclass(frozen=True)
class ReturnLine:
    """One workshop line as signed: labor (minutes) or a part (description, sku, quantity)."""

    kind: str
    description: str
    sku: str
    quantity: str
    minutes: int | None
    unit_price: Decimal | None
    amount: Decimal
    covered_by: str | None  # in the reader's words; None when due

    @property
    def due(self) -> Decimal:
        return Decimal("0.00") if self.covered_by is not None else self.amount


@dataclass(frozen=True)
class ReturnVoucherData:
    """Everything the return voucher prints, taken from the sealed return content."""

    receipt_number: str
    call_number: str
    company: Company
    customer_name: str
    item: str
    model: str
    serial_number: str
    new_serial_number: str
    accessories: str
    return_method: str
    return_slip: str
    return_reason: str
    work: tuple[str, ...]
    labor_minutes: int
    lines: tuple[ReturnLine, ...]
    subtotal: Decimal | None
    tax: Decimal | None
    total_due: Decimal | None
    currency: str
    explanation: str
    signer_name: str
    returned_at: datetime
    signature_png: bytes | None
    return_sha256: str

    @property
    def signature_data_uri(self) -> str | None:
        if not self.signature_png:
            return None
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode("ascii")


def return_voucher_data(cb: CarryBack) -> ReturnVoucherData:
    """The voucher of a returned item; 409 `not_returned` before the customer signed for it."""
    if not cb.return_signed_content or cb.returned_at is None or not cb.return_sha256:
        raise Conflict(_("%(number)s has not been returned to the customer yet: the return voucher is printed "
                         "once the customer signs for the item.", number=cb.number), code="not_returned")
    sealed: dict[str, Any] = json.loads(cb.return_signed_content)
    return ReturnVoucherData(
        receipt_number=str(sealed.get("receipt_number") or cb.number),
        call_number=str(sealed.get("call_number") or cb.call.number), company=company_info(),
        customer_name=str(sealed.get("customer") or ""), item=str(sealed.get("item") or ""),
        model=str(sealed.get("model") or ""), serial_number=str(sealed.get("serial_number") or ""),
        new_serial_number=str(sealed.get("new_serial_number") or ""),
        accessories=str(sealed.get("accessories") or ""), return_method=str(sealed.get("return_method") or ""),
        return_slip=str(sealed.get("return_slip") or ""), return_reason=str(sealed.get("return_reason") or ""),
        work=tuple(str(note) for note in sealed.get("work") or () if str(note).strip()),
        labor_minutes=int(sealed.get("workshop_labor_minutes") or 0),
        lines=tuple(_line(ln) for ln in sealed.get("workshop_lines") or ()),
        subtotal=_dec(sealed.get("call_subtotal")), tax=_dec(sealed.get("call_tax")),
        total_due=_dec(sealed.get("call_total_due")), currency=str(sealed.get("currency") or "CNY"),
        explanation=str(sealed.get("explanation") or ""),
        signer_name=str(sealed.get("signer_name") or cb.return_signer_name or ""), returned_at=cb.returned_at,
        signature_png=cb.return_signature_png, return_sha256=cb.return_sha256)


def _line(line: dict[str, Any]) -> ReturnLine:
    quantity = str(line.get("quantity") or "")
    minutes = None
    if line.get("kind") == "labor" and quantity:
        minutes = int((Decimal(quantity) * 60).to_integral_value())
    covered = bool(line.get("covered"))
    return ReturnLine(kind=str(line.get("kind") or ""), description=str(line.get("description") or ""),
                      sku=str(line.get("sku") or ""), quantity=quantity, minutes=minutes,
                      unit_price=_dec(line.get("unit_price")), amount=_dec(line.get("amount")) or Decimal("0.00"),
                      covered_by=(cover_text(line.get("covered_by")) or _("covered")) if covered else None)


def _dec(value: object) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None


def return_voucher_pdf(cb: CarryBack) -> bytes:
    return render_document(RETURN_VOUCHER, [return_voucher_data(cb)])
