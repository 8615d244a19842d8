"""Overruns explained (超时说明): the explanation form on the call page, the managers' list of late clocks, and
their API (`POST /api/v1/calls/{id}/overruns`, `GET /api/v1/overruns`, `GET /api/v1/calls/{id}/clocks`).

The rules live in dispatch/services/clocks.py; these are the request edges.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, TextAreaField

from .core.apiutil import api_view, body
from .core.errors import DomainError, Invalid
from .core.i18n import _, _l
from .core.pages import form_errors, page_view
from .core.security import DESK, MANAGERS, allow
from .core.timeutil import local_today, parse_date
from .core.validate import Fields
from .services import clocks
from .services.calls import get_call_or_404
from .sla_models import CLOCK_KINDS

bp = Blueprint("overruns", __name__)
api_bp = Blueprint("overruns_api", __name__, url_prefix="/api/v1")

# The managers' list looks back this far unless a period is given.
DEFAULT_DAYS = 90


class OverrunForm(FlaskForm):
    clock = HiddenField()
    cause = TextAreaField(_l("Cause"))
    action = TextAreaField(_l("Corrective action"))


def _period(args: Any) -> tuple[date, date]:
    today = local_today()
    until = parse_date(args["to"], "to", _("To")) if args.get("to") else today
    since = parse_date(args["from"], "from", _("From")) if args.get("from") else until - timedelta(days=DEFAULT_DAYS)
    if since > until:
        raise Invalid(_("The period's first day is after its last."), fields={"from": _("after the last day")})
    if (until - since).days > 3 * 366:
        raise Invalid(_("Choose a period of at most three years."), fields={"from": _("too far back")})
    return since, until


def _explained(value: str | None) -> bool | None:
    if value in (None, "", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    if value == "all":
        return None
    raise Invalid(_("%(field)s must be 0, 1 or all.", field="explained"), fields={"explained": _("0, 1 or all")})


# ----------------------------------------------------------------------------- pages


@bp.post("/calls/<int:call_id>/overruns")
@allow(DESK)
@page_view
def explain(call_id: int) -> Any:
    from .views.calls import _call_page  # the call page, re-shown with the form's problems

    call = get_call_or_404(call_id)
    form = OverrunForm()
    if form.validate_on_submit():
        with form_errors(form) as messages:
            clocks.explain_overrun(current_user, call, clock=form.clock.data or "", cause=form.cause.data or "",
                                   action=form.action.data or "")
            flash(_("Overrun explained."), "success")
            return redirect(url_for("desk.call", call_id=call.id, _anchor="clocks"))
        return _call_page(call, messages.status, overrun_form=form, overrun_messages=messages)
    return _call_page(call, 422, overrun_form=form)


@bp.get("/overruns")
@allow(MANAGERS)
def overrun_list() -> Any:
    try:
        since, until = _period(request.args)
        explained = _explained(request.args.get("explained"))
    except DomainError as exc:
        today = local_today()
        return render_template("dispatch/overruns.html", items=[], since=today - timedelta(days=DEFAULT_DAYS),
                               until=today, explained=False, error=exc.message), 422
    items = clocks.overruns(since=since, until=until, explained=explained)
    return render_template("dispatch/overruns.html", items=items, since=since, until=until, explained=explained,
                           error=None)


# ----------------------------------------------------------------------------- API


@api_bp.post("/calls/<int:call_id>/overruns")
@allow(DESK)
@api_view
def api_explain(call_id: int) -> Any:
    call = get_call_or_404(call_id)
    f = Fields(body())
    clock = f.choice("clock", CLOCK_KINDS)
    cause = f.text("cause", max_length=2000)
    action = f.text("action", max_length=2000)
    f.check(_("The overrun cannot be explained."))
    entry = clocks.explain_overrun(current_user, call, clock=clock or "", cause=cause or "", action=action or "")
    return clocks.explanation_json(entry), 201


@api_bp.get("/calls/<int:call_id>/clocks")
@allow(DESK)
@api_view
def api_clocks(call_id: int) -> Any:
    call = get_call_or_404(call_id)
    return {"items": [clocks.clock_json(c) for c in clocks.call_clocks(call)]}


@api_bp.get("/overruns")
@allow(MANAGERS)
@api_view
def api_overruns() -> Any:
    since, until = _period(request.args)
    explained = _explained(request.args.get("explained"))
    items = clocks.overruns(since=since, until=until, explained=explained)
    return {"from": since.isoformat(), "to": until.isoformat(), "items": [clocks.overrun_json(o) for o in items]}
