"""Reading money and quantities from JSON or forms: exact Decimals, problems collected per field."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

ZERO = Decimal("0.00")
MAX_MONEY = Decimal("9999999999.99")  # Numeric(12, 2)


def parse_decimal(value: Any, name: str, errors: dict[str, str], *, required: bool = True,
                  places: int = 2, minimum: Decimal | None = ZERO, maximum: Decimal | None = MAX_MONEY,
                  positive: bool = False) -> Decimal | None:
    """A JSON number or numeric string as an exact Decimal; problems go into `errors`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors[name] = "required"
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
        errors[name] = "must be a number like 80.00"
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        errors[name] = "must be a number like 80.00"
        return None
    if not number.is_finite():
        errors[name] = "must be a number like 80.00"
        return None
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and -exponent > places and number != number.quantize(Decimal(1).scaleb(-places)):
        errors[name] = f"at most {places} decimal places"
        return None
    if positive and number <= 0:
        errors[name] = "must be more than 0"
        return None
    if minimum is not None and number < minimum:
        errors[name] = f"must be at least {minimum}"
        return None
    if maximum is not None and number > maximum:
        errors[name] = f"must be at most {maximum}"
        return None
    return number


def invalid_message(intro: str, errors: dict[str, str]) -> str:
    """"The part cannot be saved: sku required; name required." from the collected field errors."""
    return intro + ": " + "; ".join(f"{k} {v}" for k, v in errors.items()) + "."


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
