"""Reading fields out of a JSON object with messages a person understands, in the request's language
(the API: Accept-Language). Field names stay the JSON names the caller sent: developers read them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time
from typing import Any

from .errors import Invalid
from .i18n import _
from .timeutil import FIRST_DATE, LAST_DATE, date_range_problem, in_date_range, parse_date, parse_datetime

_MISSING = object()
# The largest id an integer primary key holds on PostgreSQL; a larger one is never a real object, and
# sending it to the database overflows instead of finding nothing.
MAX_ID = 2**31 - 1


def is_id(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_ID


class Fields:
    """Collects every problem in one go, so the caller hears about all of them at once."""

    def __init__(self, data: dict[str, Any]) -> None:
        self.data = data
        self.errors: dict[str, str] = {}

    def _get(self, name: str, required: bool) -> Any:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None or (isinstance(value, str) and not value.strip()):
            if required:
                self.errors[name] = _("required")
            return _MISSING
        return value

    def text(self, name: str, *, required: bool = True, max_length: int = 200) -> str | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str):
            self.errors[name] = _("must be text")
            return None
        value = value.strip()
        if "\x00" in value:  # PostgreSQL text cannot hold NUL
            self.errors[name] = _("must not contain NUL characters")
            return None
        if len(value) > max_length:
            self.errors[name] = _("at most %(n)d characters", n=max_length)
            return None
        return value

    def choice(self, name: str, options: Iterable[str], *, required: bool = True) -> str | None:
        options = list(options)
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if value not in options:
            self.errors[name] = _("one of: %(options)s", options=", ".join(options))
            return None
        return str(value)

    def boolean(self, name: str, *, required: bool = False, default: bool = False) -> bool:
        value = self.data.get(name, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.errors[name] = _("required")
            return default
        if not isinstance(value, bool):
            self.errors[name] = _("must be true or false")
            return default
        return value

    def integer(self, name: str, *, required: bool = True, minimum: int | None = None,
                maximum: int | None = None) -> int | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.errors[name] = _("must be a whole number")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.errors[name] = _range(minimum, maximum)
            return None
        return value

    def number(self, name: str, *, required: bool = True, minimum: float | None = None,
               maximum: float | None = None) -> float | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            self.errors[name] = _("must be a number")
            return None
        if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
            self.errors[name] = _range(minimum, maximum)
            return None
        return float(value)

    def date(self, name: str, *, required: bool = True) -> date | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        try:
            return parse_date(value, name)
        except Invalid as exc:
            self.errors.update(exc.fields)
            return None

    def datetime(self, name: str, *, required: bool = True) -> datetime | None:
        value = self._get(name, required)
        if value is _MISSING:
            return None
        if not isinstance(value, str | datetime):
            self.errors[name] = _("must be a date and time like 2026-11-23T09:30:00+08:00")
            return None
        try:
            return parse_datetime(value, name)  # refuses dates outside timeutil's FIRST_DATE..LAST_DATE
        except Invalid as exc:
            self.errors.update(exc.fields)
            return None

    def id_list(self, name: str) -> list[int]:
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(is_id(v) for v in value):
            self.errors[name] = _("must be a list of ids")
            return []
        return list(dict.fromkeys(value))

    def text_list(self, name: str, *, max_length: int = 60) -> list[str]:
        value = self.data.get(name) or []
        if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v.strip()) <= max_length
                                                  and "\x00" not in v for v in value):
            self.errors[name] = _("must be a list of short words (at most %(n)d characters each)", n=max_length)
            return []
        return sorted({v.strip().lower() for v in value})

    def check(self, message: str | None = None) -> None:
        """Raise Invalid with every problem: "<message> name: problem." (the message is the caller's,
        already translated; it defaults to "Some fields need attention.")."""
        if self.errors:
            message = message or _("Some fields need attention.")
            if len(self.errors) == 1:
                field, problem = next(iter(self.errors.items()))
                text = _("%(message)s %(field)s: %(problem)s.", message=message, field=field, problem=problem)
            else:
                problems = _("; ").join(_("%(field)s: %(problem)s", field=k, problem=v) for k, v in self.errors.items())
                text = _("%(message)s %(problems)s.", message=message, problems=problems)
            raise Invalid(text, fields=dict(self.errors))


class DateInRange:
    """The WTForms validator of every date and datetime field: the same range as the API's parsers
    (timeutil.FIRST_DATE..LAST_DATE), so year 9999 is a form error, never a 500 further on."""

    def __init__(self, *, with_time: bool = False) -> None:
        # min / max on the input too, so the browser's picker stays within the range.
        suffix = "T00:00" if with_time else ""
        self.field_flags = {"min": FIRST_DATE.isoformat() + suffix,
                            "max": LAST_DATE.isoformat() + ("T23:59" if with_time else "")}

    def __call__(self, form: Any, field: Any) -> None:
        from wtforms.validators import ValidationError

        if isinstance(field.data, date) and not in_date_range(field.data):
            raise ValidationError(date_range_problem())


def _range(minimum: float | None, maximum: float | None) -> str:
    if minimum is not None and maximum is not None:
        return _("must be between %(min)s and %(max)s", min=minimum, max=maximum)
    if minimum is not None:
        return _("must be at least %(min)s", min=minimum)
    return _("must be at most %(max)s", max=maximum)


def parse_hours(value: Any) -> list[tuple[int, time, time]]:
    """Working spans as the API sends them: [{"weekday": 0, "start": "08:00", "end": "17:00"}, ...]."""
    if not isinstance(value, list):
        raise Invalid(_("%(field)s must be a list.", field="working_hours"), fields={"working_hours": _("must be a list")})
    spans = []
    for item in value:
        try:
            spans.append((int(item["weekday"]), time.fromisoformat(item["start"]), time.fromisoformat(item["end"])))
        except (KeyError, TypeError, ValueError):
            raise Invalid(_('Each working span looks like {"weekday": 0, "start": "08:00", "end": "17:00"}.'),
                          fields={"working_hours": _("bad span")}) from None
    return spans
