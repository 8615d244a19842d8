"""The desk's home and its call pages: the list, one call, its notes, category and the customer's feedback.

Each writing handler parses a form, calls one service and redirects; `page_view` commits. A DomainError
goes back onto the form (`form_errors`) and the page is shown again with 422, keeping what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from ..core.apiutil import paginate
from ..core.i18n import _, _l
from ..core.pages import form_errors, page_view
from ..core.security import DESK, MANAGERS, allow
from ..core.timeutil import parse_datetime
from ..forms import CallEditForm, CallFilterForm, CancelCallForm, FeedbackForm, NoteForm, OverrideForm
from ..models import CALL_STATUS_LABELS, CallStatus, RepairCall
from ..services import calls, clocks, corrections, queues, reasons
from .blueprint import bp

STATUS_FILTERS = [("", _l("Any status")), ("open", _l("Open")), *[(s.value, CALL_STATUS_LABELS[s])
                                                                  for s in CallStatus]]
# The actions of a call's timeline people read (the audit trail keeps the codes).
TIMELINE_ACTIONS = {"call.feedback": _l("Customer feedback recorded"), "call.corrected": _l("Call corrected"),
                    "call.booking_deadline": _l("Booking deadline set again")}


@bp.get("/")
@allow(DESK)
def home() -> Any:
    return render_template("dispatch/home.html", queues=queues.desk_queues())


@bp.get("/calls", endpoint="calls")
@allow(DESK)
def calls_list() -> Any:
    filters = CallFilterForm(request.args)
    filters.status.choices = STATUS_FILTERS
    status = request.args.get("status") or None
    category = request.args.get("category") or None
    priority = request.args.get("priority") or None
    if status not in {None, *(v for v, _label in STATUS_FILTERS)}:
        status = None
    if category not in {None, "charged", "contract", "free"}:
        category = None
    if priority not in {None, "urgent", "high", "normal", "low"}:
        priority = None
    q = (request.args.get("q") or "").strip()[:200] or None
    overdue = request.args.get("overdue") in ("1", "y", "true", "on")
    # A bad date is shown on its field and ignored: the list still answers.
    dates_ok = filters.validate() or not (filters.received_from.errors or filters.received_to.errors)
    received_from = filters.received_from.data if dates_ok else None
    received_to = filters.received_to.data if dates_ok else None
    stmt = calls.calls_query(status=status, category=category, priority=priority, q=q, overdue=overdue,
                             received_from=received_from, received_to=received_to, rows=queues.CALL_TABLE_ROW)
    page = paginate(stmt, RepairCall.id, lambda call: call)
    next_url = None
    if page["next"]:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("desk.calls", **args, cursor=page["next"])
    return render_template("dispatch/calls.html", calls=page["items"], filters=filters, next_url=next_url)


# ----------------------------------------------------------------------------- what other packages show here


CallPanel = Callable[[RepairCall], "Markup | str | None"]


def register_call_panel(app: Flask, panel: CallPanel) -> None:
    """The factory lends the call page a panel of another package (the work on site, the charges):
    a callable (call) -> HTML fragment, or None when it has nothing to show. dispatch imports neither."""
    app.extensions.setdefault("dispatch.call_panels", []).append(panel)


def call_panels(call: RepairCall) -> list[Markup]:
    panels: list[CallPanel] = current_app.extensions.get("dispatch.call_panels", [])
    return [Markup(html) for panel in panels if (html := panel(call))]


def _call_page(call: RepairCall, status: int = 200, **forms: Any) -> Any:
    note_form = forms.pop("note_form", None) or NoteForm(formdata=None)
    cancel_form = forms.pop("cancel_form", None) or CancelCallForm(formdata=None)
    override_form = forms.pop("override_form", None) or OverrideForm(formdata=None, category=call.category)
    feedback_form = forms.pop("feedback_form", None) or FeedbackForm(formdata=None)
    return render_template(
        "dispatch/call.html", call=call, timeline=calls.call_timeline(call), note_form=note_form,
        reason_text=reasons.reason_text, timeline_actions=TIMELINE_ACTIONS,
        override_form=override_form, feedback_form=feedback_form, cancel_form=cancel_form,
        may_override=calls.may_override_category(current_user, call),
        may_edit=corrections.may_edit(call), may_cancel=corrections.may_cancel(call), clocks=clocks.call_clocks(call),
        panels=call_panels(call),
        has_suggestions="board.call_suggestions" in current_app.view_functions,
        **forms), status


@bp.get("/calls/<int:call_id>")
@allow(DESK)
def call(call_id: int) -> Any:
    return _call_page(calls.get_call_or_404(call_id))


@bp.post("/calls/<int:call_id>/notes")
@allow(DESK)
@page_view
def add_note(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    form = NoteForm()
    if form.validate_on_submit():
        with form_errors(form):
            follow_up = form.next_follow_up.data
            if follow_up is not None:  # typed in local time
                follow_up = parse_datetime(follow_up, "next_follow_up")
            promised_by = form.promised_by.data
            if promised_by is not None:
                promised_by = parse_datetime(promised_by, "promised_by")
            calls.add_note(current_user, call, channel=form.channel.data or "", text=form.text.data or "",
                           next_follow_up=follow_up, kind=form.kind.data or None, promise=form.promise.data,
                           promised_by=promised_by, escalated_authority=form.escalated_authority.data,
                           safety_risk=form.safety_risk.data)
            flash(_("Note added to the communication log."), "success")
            return redirect(url_for("desk.call", call_id=call.id, _anchor="log"))
    return _call_page(call, 422, note_form=form)


@bp.post("/calls/<int:call_id>/category")
@allow(MANAGERS)
@page_view
def override_category(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    form = OverrideForm()
    if form.validate_on_submit():
        with form_errors(form):
            calls.override_category(current_user, call, form.category.data or "", form.reason.data or "")
            flash(_("Category changed; the reason is in the timeline."), "success")
            return redirect(url_for("desk.call", call_id=call.id))
    return _call_page(call, 422, override_form=form)


@bp.post("/calls/<int:call_id>/feedback")
@allow(DESK)
@page_view
def feedback(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        with form_errors(form):
            calls.record_feedback(current_user, call, rating=int(form.rating.data) if form.rating.data else None,
                                  comment=form.comment.data, solved=form.solved.data == "yes")
            flash(_("Feedback recorded.") if call.status == "closed" else
                  _("Feedback recorded: the call is reopened and the managers are told."), "success")
            return redirect(url_for("desk.call", call_id=call.id))
    return _call_page(call, 422, feedback_form=form)


# ----------------------------------------------------------------------------- correcting and cancelling


def _edit_choices(form: CallEditForm, call: RepairCall) -> None:
    customer = call.customer
    form.site_id.choices = [(s.id, s.address) for s in customer.sites if s.archived_at is None]
    form.equipment_id.choices = [(0, _("Not listed")), *[
        (e.id, f"{e.model} · {e.serial_number} · {e.site.address}") for e in customer.equipment
        if e.archived_at is None]]


@bp.route("/calls/<int:call_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_call(call_id: int) -> Any:
    """Correct a call taken down wrong, until it is booked; the category and deadlines follow."""
    call = calls.get_call_or_404(call_id)
    form = CallEditForm(obj=call) if request.method == "GET" else CallEditForm()
    if request.method == "GET":
        form.equipment_id.data = call.equipment_id or 0
    _edit_choices(form, call)
    title = _("Correct call %(number)s", number=call.number)
    cancel = url_for("desk.call", call_id=call.id)
    messages: list[str] = []
    if not corrections.may_edit(call):
        messages = [corrections.not_editable_message(call)]
    if form.validate_on_submit():
        with form_errors(form) as messages:
            corrections.update_call(current_user, call, site_id=form.site_id.data,
                              equipment_id=form.equipment_id.data or None,
                              problem_type=form.problem_type.data or "", priority=form.priority.data or "",
                              channel=form.channel.data or "", description=form.description.data or "",
                              required_skill=form.required_skill.data)
            flash(_("Call corrected; the category and deadlines are worked out again."), "success")
            return redirect(cancel)
        return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, messages=messages,
                               submit=_("Save corrections")), messages.status or 422
    status = 422 if form.errors else (409 if request.method == "POST" else 200)
    return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, messages=messages,
                           submit=_("Save corrections")), status


@bp.post("/calls/<int:call_id>/cancel")
@allow(DESK)
@page_view
def cancel_call(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id)
    form = CancelCallForm()
    if form.validate_on_submit():
        with form_errors(form) as messages:
            corrections.cancel_call(current_user, call, form.reason.data or "")
            flash(_("Call %(number)s cancelled.", number=call.number), "success")
            return redirect(url_for("desk.call", call_id=call.id))
        return _call_page(call, messages.status or 422, cancel_form=form, cancel_messages=messages)
    return _call_page(call, 422, cancel_form=form)
