"""Two languages: Simplified Chinese (the users' own words, DOMAIN.md) and English.

Every user-visible string goes through gettext (`_`, or `_l` where it sits at import time); the
catalogues are `translations/<locale>/LC_MESSAGES/messages.po` beside the packages, compiled by make.
The language of a request: the user's own setting, else the browser's Accept-Language, else
DEFAULT_LOCALE (zh_CN). The API keeps codes, field names and enum values in English and localises
`message` by Accept-Language alone.

Here also the formats people read: dates and times (24 h clock, local weekday names), money with its
currency, and the spans of the countdowns ("3 h 20 min" / "3 小时 20 分钟").
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.numbers import format_currency, format_decimal
from flask import current_app, has_request_context, request
from flask_babel import Babel, force_locale, get_locale, gettext, lazy_gettext, ngettext
from flask_login import current_user

from .requests import is_api_request

_ = gettext
_l = lazy_gettext
__all__ = ["LOCALES", "_", "_l", "ngettext", "force_locale", "get_locale", "select_locale", "locale_name",
           "format_money", "format_number", "span_text", "label", "labels"]

babel = Babel()


def N_(msgid: str) -> str:
    """Marks a msgid for the catalogue without translating it (text stored in English, shown translated)."""
    return msgid

# The languages we speak, with their own names (the language menu shows each in itself).
LOCALES: dict[str, str] = {"zh_CN": "简体中文", "en": "English"}


def _from_accept_language() -> str | None:
    """The best of our languages for the browser's Accept-Language (zh, zh-CN, zh-Hans -> zh_CN)."""
    for value, _quality in request.accept_languages:
        tag = value.replace("_", "-").lower()
        if tag == "*":
            return None
        if tag.startswith("zh"):  # any Chinese: simplified is the one we have, and closer than English
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return None


def select_locale() -> str:
    default = current_app.config.get("DEFAULT_LOCALE", "zh_CN")
    if not has_request_context():
        return default
    if not is_api_request():
        user_locale = getattr(current_user, "locale", None) if current_user and current_user.is_authenticated \
            else None
        if user_locale in LOCALES:
            return str(user_locale)
    return _from_accept_language() or default


def init_app(app: Any) -> None:
    babel.init_app(app, locale_selector=select_locale, default_translation_directories=app.config[
        "BABEL_TRANSLATION_DIRECTORIES"])


def locale_name() -> str:
    """The current language as one of LOCALES: zh_CN or en (Babel itself says zh_Hans_CN)."""
    locale = get_locale()
    if locale is None:
        return str(current_app.config.get("DEFAULT_LOCALE", "zh_CN"))
    return "zh_CN" if locale.language == "zh" else "en"


def html_lang() -> str:
    return "zh-CN" if locale_name().startswith("zh") else "en"


# ----------------------------------------------------------------------------- formats


def format_money(value: Decimal | int | str | None, currency: str | None = None, *, symbol: bool = True) -> str:
    """¥1,234.50 in Chinese, CN¥1,234.50 in English; plain 1,234.50 without a symbol."""
    if value is None or value == "":
        return ""
    amount = Decimal(str(value))
    locale = locale_name()
    if not symbol or not currency:
        return format_decimal(amount, format="#,##0.00", locale=locale)
    return format_currency(amount, currency, locale=locale)


def format_number(value: Decimal | float | int | None, digits: int = 0) -> str:
    if value is None:
        return ""
    pattern = "#,##0" + ("." + "#" * digits if digits else "")
    return format_decimal(value, format=pattern, locale=locale_name())


def weekday_name(weekday: int, width: str = "abbreviated") -> str:
    """0 = Monday: 周一 / Mon."""
    names = Locale.parse(locale_name()).days["format"][width]
    return str(names[weekday])


def span_text(minutes: int) -> str:
    """A span for people: 45 min, 3 h 05 min, 2 d 4 h (3 小时 05 分钟 ...)."""
    minutes = abs(int(minutes))
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return _("%(d)d d %(h)d h", d=days, h=hours)
    if hours:
        return _("%(h)d h %(m)02d min", h=hours, m=mins)
    return _("%(m)d min", m=mins)


# ----------------------------------------------------------------------------- enum labels


def labels(kind: str) -> Mapping[str, Any]:
    """The labels of one kind of enum value (call_status, priority, ...), collected by the factory from
    the modules that define the enums (each defines its labels once, next to the enum)."""
    registry: Mapping[str, Mapping[str, Any]] = current_app.extensions["dispatch.labels"]
    return registry[kind]


def label(value: Any, kind: str) -> str:
    """The label people read for an enum value; an unknown value shows as itself, never as None."""
    if value is None or value == "":
        return ""
    text = labels(kind).get(str(value))
    return str(text) if text is not None else str(value)


def register_labels(app: Any, *tables: Mapping[str, Mapping[str, Any]]) -> None:
    registry: dict[str, Mapping[str, Any]] = {}
    for table in tables:
        for kind, values in table.items():
            if kind in registry:
                raise RuntimeError(f"enum labels of {kind!r} are defined twice")
            registry[kind] = values
    app.extensions["dispatch.labels"] = registry


# ----------------------------------------------------------------------------- strings for JavaScript


def register_js_messages(app: Any, *tables: Mapping[str, Any]) -> None:
    """The strings scripts show, by key: each package defines its table with `_l`, the factory joins them,
    and `/i18n.js` serves them in the request's language (`I18N.t("key", {n: 2})` in the scripts)."""
    merged: dict[str, Any] = {}
    for table in tables:
        for key, text in table.items():
            if key in merged:
                raise RuntimeError(f"script string {key!r} is defined twice")
            merged[key] = text
    app.extensions["dispatch.js_messages"] = merged


def js_messages() -> dict[str, str]:
    return {key: str(text) for key, text in current_app.extensions.get("dispatch.js_messages", {}).items()}


# ----------------------------------------------------------------------------- printed documents


def _print_languages() -> list[str]:
    """The other languages a printed label repeats in (SLIP_LANGUAGES less the printing user's own)."""
    current = locale_name()
    listed = [part.strip() for part in str(current_app.config.get("SLIP_LANGUAGES") or "").split(",")]
    return [loc for loc in listed if loc in LOCALES and loc != current]


def _bilingual(make: Any) -> Any:
    from markupsafe import Markup, escape

    primary = str(make())
    seconds = []
    for locale in _print_languages():
        with force_locale(locale):
            text = str(make())
        if text != primary and text not in seconds:
            seconds.append(text)
    return Markup(escape(primary)) + Markup("".join(f'<span class="alt">{escape(t)}</span>' for t in seconds))


def print_label(msgid: str, **values: Any) -> Any:
    """A label on a printed document: in the printing user's language, then a small second line in each
    other language of SLIP_LANGUAGES (a Chinese customer and an English-writing company both read it)."""
    return _bilingual(lambda: gettext(msgid, **values))


def print_enum(value: Any, kind: str) -> Any:
    """An enum value's label on a printed document, bilingual like `print_label`."""
    return _bilingual(lambda: label(value, kind))
