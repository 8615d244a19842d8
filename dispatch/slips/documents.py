"""The dispatch slip as a PDF: one page per visit, from `SlipData`."""

from __future__ import annotations

from collections.abc import Sequence

from ..core.pdf import DocumentType, qr_svg, render_document
from .data import SlipData

SLIP = DocumentType("slip", "pdf/slip.html", "Dispatch slip")


def render_slip(data: SlipData) -> bytes:
    return render_document(SLIP, [data], qr_svg=qr_svg)


def render_slips(slips: Sequence[SlipData], empty_message: str = "Nothing to print.") -> bytes:
    """A day's slips as one PDF, one page per visit (a single page saying so when there are none)."""
    return render_document(SLIP, slips, qr_svg=qr_svg, empty_message=empty_message)
