"""Reading money and quantities from JSON or forms: exact Decimals, problems collected per field.

The problems are in the request's language (gettext when the error is raised); a field named in a
message for people is its label (FIELD_LABELS), never its code.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from typing import Any

from dispatch.core.i18n import _, _l

ZERO = Decimal("0.00")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)

# The fields billing checks, as people read them in a message ("Call-out fee must be at least 0.00").
FIELD_LABELS: dict[str, Any] = {
    "call_out_fee": _l("Call-out fee"), "labor_rate_per_hour": _l("Labor per hour"), "tax_rate": _l("Tax rate"),
    "currency": _l("Currency"), "sku": _l("SKU"), "name": _l("Part name"), "unit": _l("Unit"),
    "unit_price": _l("Unit price"), "unit_cost": _l("Unit cost"), "amount": _l("Amount"),
    "method": _l("Payment method"), "quantity": _l("Quantity"), "labor_minutes": _l("Labor minutes"),
    "parts": _l("Parts"), "visit_id": _l("Visit"),
}


def _not_a_number() -> str:
    return _("must be a number like 80.00")


def parse_decimal(value: Any, name: str, errors: dict[str, str], *, required: bool = True,
                  places: int = 2, minimum: Decimal | None = ZERO, maximum: Decimal | None = MAX_MONEY,
                  positive: bool = False, floats: bool = False) -> Decimal | None:
    """A numeric string (or a whole JSON number) as an exact Decimal; problems go into `errors`.

    Money and rates are decimal strings (API.md): a JSON float (1.5) has already been rounded to binary
    by the time it is parsed, so it is refused unless `floats` (a quantity, where 1.5 is exact enough)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = _("required")
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors[name] = _not_a_number()
        return None
    if isinstance(value, float) and not floats:
        errors[name] = _('must be a decimal string like "80.00", not a JSON number with a fraction')
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[name] = _not_a_number()
        return None
    if not number.is_finite():
        errors[name] = _not_a_number()
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
        errors[name] = _("at most %(places)d decimal places", places=places)
        return None
    if positive and number <= 0:
        errors[name] = _("must be more than 0")
        return None
    if minimum is not None and number < minimum:
        errors[name] = _("must be at least %(minimum)s", minimum=minimum)
        return None
    if maximum is not None and number > maximum:
        errors[name] = _("must be at most %(maximum)s", maximum=maximum)
        return None
    return number


def field_label(name: str, labels: Mapping[str, Any] | None = None) -> str:
    """The label of a field for a message; an unknown field shows as itself."""
    text = (labels or FIELD_LABELS).get(name) or FIELD_LABELS.get(name)
    return str(text) if text is not None else name


def invalid_message(intro: str, errors: Mapping[str, str], labels: Mapping[str, Any] | None = None) -> str:
    """"The part cannot be saved: SKU required; Name required." from the collected field errors (`intro`
    already translated; each field by its label)."""
    problems = [_("%(field)s %(problem)s", field=field_label(name, labels), problem=problem)
                for name, problem in errors.items()]
    # TRANSLATORS: between the problems of a refused form ("SKU required; Name required").
    return _("%(intro)s: %(problems)s.", intro=intro, problems=_("; ").join(problems))


def rate_from_percent(text: Any) -> Decimal | None:
    """"13" (as finance types it) -> 0.13; None when it is not a number. The range is the service's check."""
    try:
        return Decimal(str(text or "").strip()) / 100
    except InvalidOperation:
        return None


def percent_text(rate: Decimal | None) -> str:
    """0.13 -> "13"; 0.065 -> "6.5"."""
    if rate is None:
        return ""
    return format((Decimal(rate) * 100).normalize(), "f")
