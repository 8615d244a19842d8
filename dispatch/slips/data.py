"""The slip's data: everything one dispatch slip prints, as plain data detached from the database,
and the hook through which the voucher (filled in after sign-off) reaches it."""

from __future__ import annotations

import base64
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask import Flask, current_app

from ..core.pdf import STATIC_PREFIX, public_url
from ..models import Visit
from ..scheduling.booking import after_deadline
from ..services.reasons import reason_text


@dataclass(frozen=True)
class Company:
    name: str
    address: str
    phone: str
    logo_url: str | None = None  # "/static/..." (served by the fetcher) or None


@dataclass(frozen=True)
class VoucherLine:
    """One part used on the job, as the customer signed for it."""

    description: str
    quantity: Decimal | int
    unit_price: Decimal | None = None
    amount: Decimal | None = None
    sku: str = ""


@dataclass(frozen=True)
class Voucher:
    """The service voucher (服务凭证): what the customer signed, filled in after sign-off."""

    work_summary: str
    labor_minutes: int
    signer_name: str
    signed_at: datetime
    content_sha256: str
    parts: Sequence[VoucherLine] = ()
    # The money, line by line as billing explains it: ("Labor 1.5 h", Decimal("180.00")), ...
    amounts: Sequence[tuple[str, Decimal]] = ()
    total: Decimal | None = None
    currency: str = "CNY"
    amount_note: str = ""  # e.g. "free service: no charge"
    outcome: str | None = None  # fixed | carry_back | follow_up
    signature_png: bytes | None = None
    # Paid on site for this visit: (receipt number, method code, amount), as the receipts say.
    paid_on_site: Sequence[tuple[str, str, Decimal]] = ()

    @property
    def paid_total(self) -> Decimal:
        return sum((amount for _n, _m, amount in self.paid_on_site), Decimal("0.00"))

    @property
    def signature_data_uri(self) -> str | None:
        if not self.signature_png:
            return None
        return "data:image/png;base64," + base64.b64encode(self.signature_png).decode("ascii")


@dataclass(frozen=True)
class SlipData:
    """Everything one dispatch slip (服务派工单) prints, detached from the database."""

    visit_id: int
    slip_number: str
    qr_url: str
    company: Company
    call_number: str
    received_at: datetime
    category: str  # free | contract | charged
    category_reason: str
    priority: str
    customer_name: str
    contact_name: str
    phone: str
    site_address: str
    equipment_model: str
    equipment_serial: str
    problem_type: str
    description: str
    window_start: datetime  # the appointment: the visit's planned start and end
    window_end: datetime
    technician_name: str
    status: str = "scheduled"
    channel: str = ""
    # A start after the booking deadline: the written reason (超时说明) and whether the customer asked for it.
    late_reason: str = ""
    customer_requested: bool = False
    print_count: int = 1  # this print is the n-th of this document (the slip, or the voucher once signed)
    voucher: Voucher | None = None
    # The arrival window promised to the customer, (start, end); the planned start lies inside it.
    arrival_window: tuple[datetime, datetime] | None = None

    @property
    def reprint(self) -> int | None:
        """The reprint number shown from the second print on ("reprint 2"); None on the first."""
        return self.print_count if self.print_count >= 2 else None


# ----------------------------------------------------------------------------- the voucher hook

VoucherProvider = Callable[[Visit], "Voucher | None"]


def register_voucher_provider(app: Flask, provider: VoucherProvider | None) -> None:
    """The factory gives each app the function that assembles a signed visit's voucher (it lives in
    technicians, which dispatch never imports). None removes it."""
    app.extensions["dispatch.voucher_provider"] = provider


def voucher_provider() -> VoucherProvider | None:
    provider: VoucherProvider | None = current_app.extensions.get("dispatch.voucher_provider")
    return provider


# ----------------------------------------------------------------------------- building the data


def company_info() -> Company:
    cfg = current_app.config
    logo = (cfg.get("COMPANY_LOGO") or "").strip().lstrip("/")
    if logo.startswith("static/"):
        logo = logo[len("static/"):]
    return Company(name=cfg["COMPANY_NAME"] or "", address=cfg["COMPANY_ADDRESS"] or "",
                   phone=cfg["COMPANY_PHONE"] or "", logo_url=STATIC_PREFIX + logo if logo else None)


def visit_url(visit_id: int) -> str:
    """The visit's page on the technician's phone, which the slip's QR code opens."""
    return public_url(f"/t/visits/{visit_id}")


def slip_data(visit: Visit) -> SlipData:
    call = visit.call
    customer = call.customer
    equipment = call.equipment
    provider = voucher_provider()
    voucher = provider(visit) if provider is not None else None
    # The slip and the signed voucher are counted apart: the customer's first voucher is no reprint.
    printed = visit.voucher_print_count if voucher is not None else visit.print_count
    return SlipData(
        visit_id=visit.id,
        slip_number=visit.slip_number,
        qr_url=visit_url(visit.id),
        company=company_info(),
        call_number=call.number,
        received_at=call.received_at,
        category=call.category,
        category_reason=reason_text(call.category_reason),
        priority=call.priority,
        customer_name=customer.name,
        contact_name=customer.contact_name or "",
        phone=customer.phone,
        site_address=call.site.address,
        equipment_model=equipment.model if equipment else "",
        equipment_serial=equipment.serial_number if equipment else "",
        problem_type=call.problem_type,
        description=call.description,
        window_start=visit.start,
        window_end=visit.end,
        technician_name=visit.technician.name,
        status=visit.status,
        channel=call.channel,
        late_reason=(visit.override_reason or "") if after_deadline(call, visit.start) else "",
        customer_requested=bool(visit.customer_requested),
        print_count=max(printed or 0, 1),
        voucher=voucher,
        arrival_window=(visit.window_start, visit.window_end),
    )
