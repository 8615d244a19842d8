"""The dispatch slip as a PDF: one page per visit, from `SlipData`; and slips' PDFs put together."""

from __future__ import annotations

import io
from collections.abc import Sequence

from ..core.i18n import _, _l
from ..core.pdf import DocumentType, document_html, qr_svg, render_document
from .data import SlipData

SLIP = DocumentType("slip", "pdf/slip.html", _l("Dispatch slip"))  # type: ignore[arg-type]


def render_slip(data: SlipData) -> bytes:
    return render_document(SLIP, [data], qr_svg=qr_svg)


def render_slips(slips: Sequence[SlipData], empty_message: str | None = None) -> bytes:
    """A day's slips as one PDF, one page per visit (a single page saying so when there are none)."""
    return render_document(SLIP, slips, qr_svg=qr_svg, empty_message=empty_message or _("Nothing to print."))


def slips_html(slips: Sequence[SlipData], empty_message: str | None = None) -> str:
    """The HTML `render_slips` lays out, for a render process (dispatch/slips/pool.py) to lay out instead."""
    return document_html(SLIP, slips, qr_svg=qr_svg, empty_message=empty_message or _("Nothing to print."))


def merge_pdfs(parts: Sequence[bytes]) -> bytes:
    """PDFs one after the other, as one PDF (the stored slips and the newly rendered ones of a day)."""
    if len(parts) == 1:
        return parts[0]
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for number, part in enumerate(parts):
        reader = PdfReader(io.BytesIO(part))
        if number == 0 and reader.metadata:
            writer.add_metadata({key: value for key, value in reader.metadata.items() if key == "/Title"})
        writer.append(reader, import_outline=False)
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()
