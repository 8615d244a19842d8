"""What the desk's call page shows of the work on site: each visit's work record (summary, labor, outcome,
parts), the customer's signature and the signed voucher. Lent to dispatch by the factory
(dispatch/app.py register_hooks), which never imports this package itself."""

from __future__ import annotations

from flask import render_template
from markupsafe import Markup

from dispatch.models import RepairCall

from .services.signoff import signature
from .services.work import visit_parts, work_record


def work_panel(call: RepairCall) -> Markup | None:
    """The call's work records as an HTML fragment; None while no visit has recorded any work."""
    done = []
    for visit in call.visits:
        record = work_record(visit)
        if record is not None:
            done.append({"visit": visit, "record": record, "parts": visit_parts(visit), "signature": signature(visit)})
    if not done:
        return None
    return Markup(render_template("technicians/_call_panel.html", call=call, done=done))
