"""The tax system's CSV of an invoice's billed lines (prices before tax, the rate, each line's tax)."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from dispatch.core.i18n import _, label, locale_name
from dispatch.core.types import money

from ..models import Invoice
from ..parsing import ZERO
from .invoices import invoice_lines, line_label
from .pending import tax_on

CSV_HEADERS_ZH = ("项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额")


def csv_headers() -> tuple[str, ...]:
    """The tax system's column names in Chinese; in English for a reader of English."""
    if locale_name().startswith("zh"):
        return CSV_HEADERS_ZH
    return (_("Item name"), _("Specification / model"), _("Unit"), _("Quantity"), _("Unit price"),
            _("Amount"), _("Tax rate"), _("Tax amount"))


def _quantity_text(value: Decimal) -> str:
    return format(Decimal(value).normalize(), "f")


def lines_csv(invoice: Invoice) -> str:
    """The billed lines (covered ones bill nothing and are left out) as the tax system imports them: prices
    before tax, the rate, and each line's tax; the line taxes add up to the invoice's tax exactly (the last
    line takes the cent rounding leaves over)."""
    rate = Decimal(invoice.tax_rate)
    billed = [ln for ln in invoice_lines(invoice) if not ln.covered and money(ln.amount) > 0]
    taxes = [tax_on(money(ln.amount), rate) for ln in billed]
    if taxes:
        taxes[-1] += money(invoice.tax) - sum(taxes, ZERO)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(csv_headers())
    rate_text = f"{(rate * 100).normalize():f}%"
    for line, tax in zip(billed, taxes, strict=True):
        unit = label(line.unit, "invoice_unit") if line.unit in ("visit", "h") else \
            label(line.unit or "pcs", "part_unit")
        spec = (line.charge_line.sku if line.charge_line is not None and line.charge_line.sku else "")
        writer.writerow([line_label(line), spec, unit, _quantity_text(line.quantity), f"{money(line.unit_price)}",
                         f"{money(line.amount)}", rate_text, f"{money(tax)}"])
    return "\ufeff" + out.getvalue()

