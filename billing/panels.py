"""What the desk's call page shows of the money: the charges by category and the payments collected.
Lent to dispatch by the factory (dispatch/app.py register_hooks); part costs are not shown here."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from dispatch.models import RepairCall

from .services.charges import charges_for_call


def charges_panel(call: RepairCall) -> Markup | None:
    """The call's charges and payments as an HTML fragment; None while nothing is charged or paid."""
    sheet = charges_for_call(call)
    if not sheet.lines and not sheet.payments:
        return None
    return Markup(render_template("billing/_call_panel.html", call=call, sheet=sheet))
