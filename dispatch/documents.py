"""Documents: PDFs rendered in-process by WeasyPrint from plain data.

One function builds each document's data (reading the database) and one renders it (plain data in,
PDF bytes out), so tests and benches can render a document without a database. Adding a document is
a template under templates/pdf/ and one `register_document` line.

The URL fetcher serves only our own static files: a slip never reaches the network or the disk
outside static/, whatever ends up in its HTML.
"""

from __future__ import annotations

import base64
import gc
import mimetypes
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Flask, current_app, has_request_context, render_template, request
from sqlalchemy import update

from .core import audit
from .core.extensions import db
from .core.models import User
from .models import Visit

# Relative URLs in a document ("/static/css/print.css") resolve against this origin; the fetcher
# answers for it alone. `.invalid` is reserved (RFC 2606): it can never be a real host.
DOCUMENT_ORIGIN = "https://documents.invalid"
STATIC_PREFIX = "/static/"


# ----------------------------------------------------------------------------- the plain data


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
    window_start: datetime
    window_end: datetime
    technician_name: str
    status: str = "scheduled"
    channel: str = ""
    print_count: int = 1  # this print is the n-th of the slip
    voucher: Voucher | None = None

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
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else "http://localhost/"
    return base.rstrip("/") + f"/t/visits/{visit_id}"


def slip_data(visit: Visit) -> SlipData:
    call = visit.call
    customer = call.customer
    equipment = call.equipment
    provider = voucher_provider()
    return SlipData(
        visit_id=visit.id,
        slip_number=visit.slip_number,
        qr_url=visit_url(visit.id),
        company=company_info(),
        call_number=call.number,
        received_at=call.received_at,
        category=call.category,
        category_reason=call.category_reason,
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
        print_count=max(visit.print_count or 0, 1),
        voucher=provider(visit) if provider is not None else None,
    )


def record_prints(actor: User, visits: Sequence[Visit]) -> None:
    """Count one more print of each visit's slip (an atomic increment) and audit it."""
    for visit in visits:
        # In SQL, not in Python: two prints at the same moment must count as two.
        db.session.execute(update(Visit).where(Visit.id == visit.id)
                           .values(print_count=Visit.print_count + 1))
        db.session.refresh(visit, ["print_count"])
        audit.record(actor, visit, "visit.slip_printed", before={"print_count": visit.print_count - 1},
                     after={"print_count": visit.print_count})


# ----------------------------------------------------------------------------- the engine


@dataclass(frozen=True)
class DocumentType:
    name: str
    template: str  # under templates/, rendered with `items` (a list of the document's data)
    title: str
    stylesheets: tuple[str, ...] = ("css/print.css",)  # under static/


DOCUMENTS: dict[str, DocumentType] = {}


def register_document(name: str, template: str, title: str,
                      stylesheets: tuple[str, ...] = ("css/print.css",)) -> DocumentType:
    doc = DocumentType(name, template, title, stylesheets)
    DOCUMENTS[name] = doc
    return doc


register_document("slip", "pdf/slip.html", "Dispatch slip")


class RefusedURL(ValueError):
    """A document asked for something other than one of our static files."""


def fetch_static(url: str, static_folder: str | Path) -> tuple[bytes, str]:
    """The bytes and MIME type of one of our static files, for `url` = DOCUMENT_ORIGIN + /static/...

    Everything else (file://, http(s) to any other host, a path outside static/) is refused."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin != DOCUMENT_ORIGIN or not parts.path.startswith(STATIC_PREFIX):
        raise RefusedURL(f"Documents may only load our own static files, not {url!r}.")
    root = Path(static_folder).resolve()
    target = (root / unquote(parts.path[len(STATIC_PREFIX):])).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise RefusedURL(f"There is no static file {parts.path!r}.")
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return target.read_bytes(), mime


_weasy: dict[str, Any] = {}
_weasy_lock = threading.Lock()


def _weasyprint() -> Any:
    """WeasyPrint imported once per process, on the first document (the import alone costs ~0.5 s)."""
    if "module" not in _weasy:
        with _weasy_lock:
            if "module" not in _weasy:
                import weasyprint

                _weasy["module"] = weasyprint
    return _weasy["module"]


_per_thread = threading.local()


def font_config() -> Any:
    """One font configuration per thread, kept: it holds Pango's font map, which is not shared
    between threads, and building it costs more than a slip."""
    config = getattr(_per_thread, "font_config", None)
    if config is None:
        _weasyprint()
        from weasyprint.text.fonts import FontConfiguration

        config = _per_thread.font_config = FontConfiguration()
    return config


def static_fetcher(static_folder: str | Path) -> Any:
    """A WeasyPrint URL fetcher that serves static files and data: URIs (inline images), nothing else."""
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler
            body, mime = fetch_static(url, static_folder)
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return StaticOnlyFetcher(fail_on_errors=False)


_stylesheets: dict[tuple[str, str, float], Any] = {}


def _stylesheet(static_folder: str, name: str, fetcher: Any) -> Any:
    """Parsed once per file version and shared by all threads (print CSS has no @font-face, the one
    part of a stylesheet tied to a thread's font configuration)."""
    path = Path(static_folder) / name
    key = (static_folder, name, path.stat().st_mtime)
    css = _stylesheets.get(key)
    if css is None:
        weasyprint = _weasyprint()
        css = weasyprint.CSS(string=path.read_text(encoding="utf-8"),
                             base_url=f"{DOCUMENT_ORIGIN}{STATIC_PREFIX}{name}", url_fetcher=fetcher,
                             font_config=font_config())
        _stylesheets[key] = css
    return css


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the length of a render.

    A render builds a large tree of boxes; the collector's full passes over it cost about a third
    of a 50-slip batch (bench/bench_slips.py) and find nothing to free while the render runs.
    What the render leaves behind is collected as usual once the collector is back on."""
    global _gc_pauses
    with _gc_lock:
        if _gc_pauses == 0 and not gc.isenabled():
            paused_here = False  # someone else turned it off: leave it alone
        else:
            paused_here = True
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


def html_to_pdf(html: str, stylesheets: Sequence[str] = ("css/print.css",)) -> bytes:
    """Render HTML (already built from trusted templates) to PDF bytes, in this process."""
    weasyprint = _weasyprint()
    static_folder = current_app.static_folder or ""
    fetcher = static_fetcher(static_folder)
    sheets = [_stylesheet(static_folder, name, fetcher) for name in stylesheets]
    with _gc_paused():
        document = weasyprint.HTML(string=html, base_url=DOCUMENT_ORIGIN + "/", url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(stylesheets=sheets, font_config=font_config())
    return pdf


def render_document(name: str, items: Sequence[Any], **context: Any) -> bytes:
    """One PDF of a registered document: each item of `items` is one copy (one page when it fits)."""
    doc = DOCUMENTS[name]
    html = render_template(doc.template, items=list(items), title=doc.title, **context)
    return html_to_pdf(html, doc.stylesheets)


def qr_svg(url: str) -> str:
    """A QR code as inline SVG markup (no image file, no fetch)."""
    import segno

    svg: str = segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000")
    return svg


def render_slip(data: SlipData) -> bytes:
    return render_document("slip", [data], qr_svg=qr_svg)


def render_slips(slips: Sequence[SlipData], empty_message: str = "Nothing to print.") -> bytes:
    """A day's slips as one PDF, one page per visit (a single page saying so when there are none)."""
    return render_document("slip", slips, qr_svg=qr_svg, empty_message=empty_message)
