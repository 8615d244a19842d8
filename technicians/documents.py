"""The signed service voucher (服务凭证): the part of the slip filled in after the customer signs.

It prints exactly the content the customer signed (the canonical JSON stored with the signature, whose
SHA-256 is on the slip), so the paper and the hash always agree.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from dispatch.core.i18n import print_label
from dispatch.models import Visit
from dispatch.slips.data import Voucher, VoucherLine

from .services.payments import visit_payments
from .services.signoff import signature


def voucher_for(visit: Visit) -> Voucher | None:
    """The voucher of a signed visit; None before sign-off (the slip prints blank lines to sign on)."""
    sig = signature(visit)
    if sig is None:
        return None
    content = json.loads(sig.signed_content)
    parts = [VoucherLine(description=p.get("description") or p.get("sku") or "", quantity=Decimal(p["quantity"]),
                         sku=p.get("sku") or "")
             for p in content.get("parts", [])]
    # Attach the prices of each part line as signed.
    priced = {(ln.get("sku") or ""): ln for ln in content.get("lines", []) if ln.get("kind") == "part"}
    parts = [VoucherLine(description=p.description, quantity=p.quantity, sku=p.sku,
                         unit_price=_dec(priced.get(p.sku, {}).get("unit_price")),
                         amount=_dec(priced.get(p.sku, {}).get("amount"))) for p in parts]
    amounts: list[tuple[str, Decimal]] = []
    for line in content.get("lines", []):
        covered = bool(line.get("covered"))
        amounts.append((_line_label(line, covered), Decimal("0.00") if covered
                        else Decimal(line.get("amount") or "0")))
    if content.get("tax") not in (None, "0.00"):
        amounts.append((print_label("Tax"), Decimal(content["tax"])))
    return Voucher(
        work_summary=content.get("work_summary", ""), labor_minutes=int(content.get("labor_minutes") or 0),
        signer_name=sig.signer_name, signed_at=sig.signed_at, content_sha256=sig.content_sha256, parts=parts,
        amounts=amounts, total=_dec(content.get("total_due")), currency=content.get("currency") or "CNY",
        amount_note=content.get("explanation") or "", outcome=content.get("outcome"), signature_png=sig.image_png,
        paid_on_site=tuple((p.receipt_number, p.method, p.amount) for p in visit_payments(visit)))


def _line_label(line: dict[str, Any], covered: bool) -> str:
    """A signed charge line as the voucher prints it, in the printing user's languages (print_label): the
    call-out fee and the labor by their kind, a part by its name as signed."""
    by = line.get("covered_by") or ""
    kind = line.get("kind")
    if kind == "call_out":
        return print_label("Call-out fee (covered: %(by)s)", by=by) if covered else print_label("Call-out fee")
    if kind == "labor" and line.get("quantity") not in (None, ""):
        minutes = int((Decimal(str(line["quantity"])) * 60).to_integral_value())
        rate = line.get("unit_price") or ""
        if covered:
            return print_label("Labor %(minutes)d min at %(rate)s/h (covered: %(by)s)", minutes=minutes, rate=rate,
                               by=by)
        return print_label("Labor %(minutes)d min at %(rate)s/h", minutes=minutes, rate=rate)
    item = str(line.get("description") or line.get("sku") or kind or "")
    return print_label("%(item)s (covered: %(by)s)", item=item, by=by) if covered else item


def _dec(value: object) -> Decimal | None:
    return Decimal(str(value)) if value not in (None, "") else None
