"""A contract fee's invoice line: the English text kept on the invoice, and the same line in the reader's
language (one format, written and read here)."""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING, Protocol

from dispatch.core.i18n import _

if TYPE_CHECKING:
    from dispatch.models import Contract


class Period(Protocol):
    """A billing period as contract_billing.Period is: its first and last day, and whether it is whole."""

    @property
    def start(self) -> date: ...

    @property
    def end(self) -> date: ...

    @property
    def full(self) -> bool: ...


def line_description(contract: Contract, period: Period) -> str:
    """The line as kept on the invoice (one record, like a charge line's "Call-out fee"); `fee_line_text`
    says it in the reader's language."""
    tail = " (to the contract's end)" if not period.full else ""
    return f"Maintenance contract {contract.number}, {period.start.isoformat()} – {period.end.isoformat()}{tail}"[:300]


_FEE_LINE = re.compile(r"Maintenance contract (.+), (\d{4}-\d{2}-\d{2}) – (\d{4}-\d{2}-\d{2})( \(to the contract's end\))?")


def fee_line_text(description: str) -> str:
    """A contract fee line in the reader's language; other text as it is."""
    match = _FEE_LINE.fullmatch(description or "")
    if match is None:
        return description
    text = _("Maintenance contract %(number)s, %(start)s – %(end)s", number=match.group(1), start=match.group(2),
             end=match.group(3))
    return _("%(text)s (to the contract's end)", text=text) if match.group(4) else text
