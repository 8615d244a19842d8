"""What templates may call: local times, money, masked phones, labels, and the navigation by role."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask import Flask, current_app, url_for
from flask_login import current_user

from . import i18n
from .i18n import _, _l
from .security import mask_phone
from .timeutil import date_text, datetime_text, localtime_text, utcnow

# Enum values reach people through the label registry (`|label("call_status")`, i18n.label), whose tables
# sit next to the enums (dispatch/models.py and the other packages' models).

# (endpoint, label, roles) in the order they appear; only registered endpoints are shown.
NAVIGATION = [
    ("desk.home", _l("Desk"), {"admin", "manager", "dispatcher"}),
    ("desk.new_call", _l("New call"), {"admin", "manager", "dispatcher"}),
    ("desk.calls", _l("Calls"), {"admin", "manager", "dispatcher"}),
    ("desk.followup_queue", _l("Follow-up"), {"admin", "manager", "dispatcher"}),
    ("board.board", _l("Board"), {"admin", "manager", "dispatcher"}),
    ("desk.customers", _l("Customers"), {"admin", "manager", "dispatcher"}),
    ("technicians.today", _l("Today"), {"technician"}),
    # the desk too: it confirms the hand-in of carried-back items and hands them back at a pick-up
    ("technicians.workshop", _l("Workshop"), {"admin", "manager", "dispatcher", "technician"}),
    ("billing.home", _l("Billing"), {"admin", "manager", "finance"}),
    ("reports.dashboard", _l("Reports"), {"admin", "manager", "finance"}),
    ("board.technicians", _l("Technicians"), {"admin", "manager"}),
    ("overruns.overrun_list", _l("Overruns"), {"admin", "manager"}),
    ("admin.users", _l("Users"), {"admin"}),
    ("calendar.page", _l("Calendar"), {"admin"}),
]


localtime = localtime_text


def money(value: Decimal | None) -> str:
    return f"{value:,.2f}" if value is not None else ""


def countdown(deadline: datetime | None) -> dict[str, Any]:
    """Minutes left and a traffic light: ok, amber under 2 hours, red when overdue."""
    if deadline is None:
        return {"minutes": None, "state": "none", "text": _("no visit needed")}
    minutes = int((deadline - utcnow()).total_seconds() // 60)
    state = "overdue" if minutes < 0 else "amber" if minutes < 120 else "ok"
    span = i18n.span_text(minutes)
    text = _("overdue by %(span)s", span=span) if minutes < 0 else _("%(span)s left", span=span)
    return {"minutes": minutes, "state": state, "text": text}


def navigation() -> list[tuple[str, str]]:
    if not current_user.is_authenticated:
        return []
    return [(url_for(endpoint), str(label)) for endpoint, label, roles in NAVIGATION
            if current_user.role in roles and endpoint in current_app.view_functions]


def init_app(app: Flask) -> None:
    app.jinja_env.filters.update(localtime=localtime, money=money, mask_phone=mask_phone, label=i18n.label,
                                 datetime_text=datetime_text, date_text=date_text,
                                 currency=i18n.format_money, span=i18n.span_text, number=i18n.format_number)
    app.jinja_env.globals.update(
        navigation=navigation, countdown=countdown, html_lang=i18n.html_lang, locale_name=i18n.locale_name,
        LOCALES=i18n.LOCALES, weekday_name=i18n.weekday_name, print_label=i18n.print_label,
        print_enum=i18n.print_enum)
    app.jinja_env.add_extension("jinja2.ext.do")
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True


# Strings the desk's and board's scripts show, by key (served by /i18n.js).
JS_MESSAGES: dict[str, object] = {
    # The countdowns that tick on the desk's pages (static/js/desk.js; the board may use them too):
    # the same words as countdown() and i18n.span_text() on the server. The script pads the minutes.
    "countdown.overdue": _l("overdue by %(span)s"),
    "countdown.left": _l("%(span)s left"),
    "span.days": _l("%(d)s d %(h)s h"),
    "span.hours": _l("%(h)s h %(m)s min"),
    "span.minutes": _l("%(m)s min"),
    # The intake's category line (desk.js).
    "intake.will_be": _l("This call will be:"),
}
