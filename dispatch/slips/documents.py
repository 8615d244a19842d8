"""The dispatch slip as a PDF: one page per visit, from `SlipData`."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.i18n import _, _l
from ..core.pdf import DocumentType, qr_svg, render_document
from .data import SlipData

SLIP = DocumentType("slip", "pdf/slip.html", _l("Dispatch slip"))  # type: ignore[arg-type]


def render_slip(data: SlipData) -> bytes:
    return render_document(SLIP, [data], qr_svg=qr_svg)


def render_slips(slips: Sequence[SlipData], empty_message: str | None = None) -> bytes:
    """A day's slips as one PDF, one page per visit (a single page saying so when there are none)."""
    return render_document(SLIP, slips, qr_svg=qr_svg, empty_message=empty_message or _("Nothing to print."))
