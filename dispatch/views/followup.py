"""The end of the flow on the desk's pages: the follow-up queue (回访) and the updates the customers are owed,
the follow-up call itself (two questions), the managers' attention list with its bell, and the phone call an
urgent visit needs (the dispatcher taps the technician's number and records that it was done).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user

from ..core.errors import DomainError
from ..core.i18n import _
from ..core.pages import form_errors, page_view
from ..core.security import DESK, MANAGERS, allow
from ..forms import FeedbackForm
from ..models import RepairCall
from ..scheduling.visits import get_visit_or_404
from ..services import calls, escalation, followup
from .blueprint import bp
from .calls import call_panels


@bp.app_context_processor
def attention_bell() -> dict[str, Any]:
    """The bell in the top bar: for managers, how many calls wait on their attention list."""

    def count() -> int:
        try:
            user = current_user
            if not user or not user.is_authenticated or user.role not in MANAGERS:
                return 0
        except Exception:  # outside a request (a printed document): no bell
            return 0
        return escalation.attention_count()

    return {"attention_count": count}


@bp.get("/followup")
@allow(DESK)
def followup_queue() -> Any:
    return render_template("dispatch/followup.html", followups=followup.followup_queue(),
                           updates=followup.updates_due(), update_hours=followup.update_hours())


def _followup_page(call: RepairCall, form: FeedbackForm | None = None, status: int = 200) -> Any:
    return render_template("dispatch/followup_call.html", call=call, form=form or FeedbackForm(formdata=None),
                           panels=call_panels(call),
                           due=followup.confirmation_due(call.completed_at) if call.completed_at else None), status


@bp.get("/followup/<int:call_id>")
@allow(DESK)
def followup_call(call_id: int) -> Any:
    """The follow-up call: what was done and what it cost at hand, and the two questions."""
    return _followup_page(calls.get_call_or_404(call_id))


@bp.post("/followup/<int:call_id>")
@allow(DESK)
@page_view
def record_followup(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        with form_errors(form):
            calls.record_feedback(current_user, call, rating=int(form.rating.data) if form.rating.data else None,
                                  comment=form.comment.data, solved=form.solved.data == "yes")
            if call.status == "closed":
                flash(_("Call %(number)s closed: resolved - customer confirmed.", number=call.number), "success")
            else:
                flash(_("Call %(number)s reopened and put on the managers' attention list.",
                        number=call.number), "warning")
            return redirect(url_for("desk.followup_queue"))
    return _followup_page(call, form, 422)


@bp.get("/attention")
@allow(MANAGERS)
def attention() -> Any:
    return render_template("dispatch/attention.html", items=escalation.attention_list(),
                           factor=escalation.overdue_factor())


@bp.post("/attention/calls/<int:call_id>/acknowledge")
@allow(MANAGERS)
@page_view
def acknowledge(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    try:
        escalation.acknowledge(current_user, call)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Call %(number)s acknowledged.", number=call.number), "success")
    return redirect(url_for("desk.attention"))


@bp.post("/visits/<int:visit_id>/phoned")
@allow(DESK)
@page_view
def visit_phoned(visit_id: int) -> Any:
    """The dispatcher has phoned the technician about an urgent visit (audited)."""
    visit = get_visit_or_404(visit_id, current_user)
    try:
        escalation.record_phoned(current_user, visit)
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(_("Recorded: %(name)s was phoned about visit %(slip)s.", name=visit.technician.name,
                slip=visit.slip_number), "success")
    return redirect(url_for("desk.call", call_id=visit.call_id))
