"""The technician's phone pages: today, a visit, sign-off, admin time.

Every action is a plain form that works without JavaScript (it posts here and calls the same service
as the API); each form also names its JSON endpoint in data-api for the offline outbox.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from babel.dates import format_skeleton
from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from billing.services.charges import charges_for_call
from billing.services.parts import parse_part_lines, search_parts
from dispatch.core.i18n import _, format_money, html_lang, label, locale_name, span_text
from dispatch.core.models import Role
from dispatch.core.pages import FormMessages, form_errors, page_view
from dispatch.core.security import MANAGERS, allow
from dispatch.core.timeutil import local_today, parse_datetime
from dispatch.models import Visit, VisitStatus
from dispatch.scheduling import changes as day_changes
from dispatch.scheduling.visits import day_window, get_visit_or_404

from .forms import PAYMENT_METHOD_LABELS, ActionForm, AdminWorkForm, CompleteForm, PaymentForm, SignatureForm
from .models import LABELS
from .schemas import map_links, tel_link
from .services import admin_work, progress, signoff, work
from .services.actions import visit_actions
from .services.payments import take_payment, visit_payments

bp = Blueprint("technicians", __name__, url_prefix="/t")

TECH = frozenset({Role.TECHNICIAN})
ON_SITE = TECH | MANAGERS
CATALOGUE_SIZE = 200  # the part skus the visit page offers as you type, also offline


@bp.after_request
def _page_language(response: Any) -> Any:
    # The phone's service worker keeps saved pages per language (static/js/sw.js reads this header), so a
    # technician who changes language never gets a saved page in the other one.
    response.headers["Content-Language"] = html_lang()
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


def _outcome_labels() -> dict[str, str]:
    """The outcomes in the page's language, for the sign-off form the phone fills in with no signal."""
    return {str(value): str(text) for value, text in LABELS["outcome"].items()}


@bp.get("/")
@allow(TECH)
def today() -> Any:
    tomorrow = request.args.get("day") == "tomorrow"
    day = local_today() + timedelta(days=1 if tomorrow else 0)
    visits = progress.technician_visits(current_user, *day_window(day))
    open_visits = [v for v in visits if v.status != VisitStatus.COMPLETED]
    done = [v for v in visits if v.status == VisitStatus.COMPLETED]
    changes = day_changes.day_changes(current_user)
    return render_template("technicians/today.html", open_visits=open_visits, done=done, tomorrow=tomorrow,
                           day=day, day_title=format_skeleton("MMMMEEEEd", day, locale=locale_name()), next_visit=progress.next_visit(visits), map_links=map_links, tel=tel_link,
                           changes=changes, changes_until=max((c.at for c in changes), default=None))


@bp.post("/day-changes/seen")
@allow(TECH)
@page_view
def day_changes_seen() -> Any:
    """The technician's OK under "Your day changed": the changes shown are seen (later ones still show)."""
    raw = request.form.get("seen_until")
    with form_errors() as messages:
        day_changes.acknowledge(current_user, parse_datetime(raw, "seen_until") if raw else None)
    _flash_errors(messages)
    return redirect(url_for("technicians.today", day="tomorrow") if request.form.get("day") == "tomorrow"
                    else url_for("technicians.today"))


def _visit_page(visit: Visit, *, complete_form: CompleteForm | None = None,
                payment_form: PaymentForm | None = None, status: int = 200) -> Any:
    record = work.work_record(visit)
    sheet = charges_for_call(visit.call)
    parts = work.visit_parts(visit)
    signature = signoff.signature(visit)
    if complete_form is None:
        complete_form = CompleteForm(formdata=None)
        if record is not None:
            complete_form.show_record(record, parts)
        else:
            complete_form.labor_minutes.data = work.suggested_labor_minutes(visit)
    if payment_form is None:
        payment_form = PaymentForm(formdata=None)
        if sheet.balance > 0:
            payment_form.amount.data = f"{sheet.balance:.2f}"
    return render_template(
        "technicians/visit.html", visit=visit, call=visit.call, record=record, sheet=sheet, parts=parts,
        payments=visit_payments(visit), signature=signature, events=progress.events(visit),
        earlier=[(v, work.work_record(v)) for v in progress.earlier_visits(visit)],
        arrived_at=progress.event_time(visit, "arrived"),
        actions=visit_actions(visit, current_user, record=record, signature=signature, sheet=sheet),
        action_form=ActionForm(), complete_form=complete_form, payment_form=payment_form,
        catalogue=search_parts(None, CATALOGUE_SIZE), map_links=map_links, tel=tel_link,
        payment_methods=PAYMENT_METHOD_LABELS, slip_url=f"/api/v1/visits/{visit.id}/slip.pdf"), status


@bp.get("/visits/<int:visit_id>")
@allow(ON_SITE)
def visit(visit_id: int) -> Any:
    return _visit_page(get_visit_or_404(visit_id, current_user))


def _back_to(visit: Visit, message: str, anchor: str = "") -> Any:
    flash(message, "success")
    return redirect(url_for("technicians.visit", visit_id=visit.id) + anchor)


def _flash_errors(messages: FormMessages) -> None:
    for message in messages:
        flash(message, "error")


def _failed(visit: Visit, messages: FormMessages, anchor: str = "") -> Any:
    _flash_errors(messages)
    return redirect(url_for("technicians.visit", visit_id=visit.id) + anchor)


@bp.post("/visits/<int:visit_id>/on-my-way")
@allow(ON_SITE)
@page_view
def on_my_way(visit_id: int) -> Any:
    v = progress.visit_for(visit_id, current_user)
    with form_errors() as messages:
        progress.on_my_way(current_user, v)
        return _back_to(v, _("On your way: the desk can see it."))
    return _failed(v, messages)


@bp.post("/visits/<int:visit_id>/arrive")
@allow(ON_SITE)
@page_view
def arrive(visit_id: int) -> Any:
    v = progress.visit_for(visit_id, current_user)
    with form_errors() as messages:
        progress.arrive(current_user, v)
        return _back_to(v, _("Arrived: the labor clock runs from now."))
    return _failed(v, messages)


@bp.post("/visits/<int:visit_id>/complete")
@allow(ON_SITE)
@page_view
def complete(visit_id: int) -> Any:
    v = progress.visit_for(visit_id, current_user)
    form = CompleteForm()
    if not form.validate_on_submit():
        return _visit_page(v, complete_form=form, status=422)
    with form_errors(form) as messages:
        work.complete(current_user, v, work_summary=form.work_summary.data or "",
                      labor_minutes=form.labor_minutes.data or 0, parts=parse_part_lines(form.part_rows()),
                      outcome=form.outcome.data or "")
        if form.outcome.data == "carry_back":  # on to the customer's product receipt (carry_back_views)
            flash(_("Work recorded. Now fill in the customer's product receipt for the item you take."), "success")
            return redirect(url_for("carry_back.take_form", visit_id=v.id))
        return _back_to(v, _("Work recorded. Take the payment if any is due, then ask the customer to sign."))
    _flash_errors(messages)
    return _visit_page(v, complete_form=form, status=messages.status)


@bp.post("/visits/<int:visit_id>/payments")
@allow(ON_SITE)
@page_view(key_field="request_key")
def payments(visit_id: int) -> Any:
    v = progress.visit_for(visit_id, current_user)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _visit_page(v, payment_form=form, status=422)
    with form_errors(form) as messages:
        payment = take_payment(current_user, v, amount=form.amount.data, method=form.method.data)
        return _back_to(v, _("Payment of %(amount)s recorded: receipt %(receipt)s.",
                             amount=format_money(payment.amount, charges_for_call(v.call).currency),
                             receipt=payment.receipt_number), "#payment")
    return _failed(v, messages, "#payment")


@bp.get("/visits/<int:visit_id>/sign")
@allow(ON_SITE)
def sign(visit_id: int) -> Any:
    v = get_visit_or_404(visit_id, current_user)
    return _sign_page(v, SignatureForm(formdata=None))


def _sign_page(v: Visit, form: SignatureForm, status: int = 200) -> Any:
    return render_template("technicians/sign.html", visit=v, call=v.call, record=work.work_record(v),
                           sheet=charges_for_call(v.call), parts=work.visit_parts(v),
                           signature=signoff.signature(v), form=form, outcome_labels=_outcome_labels()), status


@bp.post("/visits/<int:visit_id>/signature")
@allow(ON_SITE)
@page_view
def signature(visit_id: int) -> Any:
    v = progress.visit_for(visit_id, current_user)
    form = SignatureForm()
    if not form.validate_on_submit():
        return _sign_page(v, form, status=422)
    with form_errors(form) as messages:
        result = signoff.sign(current_user, v, signer_name=form.signer_name.data or "",
                              image_png_base64=form.image_png_base64.data,
                              technician_confirmed=bool(form.technician_confirmed.data))
        return _back_to(v, _("Signed by %(name)s. The work record is sealed.", name=result.signature.signer_name))
    _flash_errors(messages)
    return _sign_page(v, form, status=messages.status)


@bp.route("/admin-time", methods=["GET", "POST"])
@allow(TECH)
@page_view
def admin_time() -> Any:
    form = AdminWorkForm()
    status = 200
    if request.method == "GET":
        form.date.data = local_today()
    elif form.validate_on_submit():
        with form_errors(form) as messages:
            entry = admin_work.log_admin_work(current_user, technician=None, day=form.date.data or local_today(),
                                              activity=form.activity.data or "", minutes=form.minutes.data or 0,
                                              notes=form.notes.data)
            flash(_("Logged %(span)s of %(activity)s.", span=span_text(entry.minutes),
                    activity=label(entry.activity, "activity")), "success")
            return redirect(url_for("technicians.admin_time"))
        _flash_errors(messages)
        status = messages.status
    else:
        status = 422
    entries, week_minutes = admin_work.recent_admin_work(current_user, local_today())
    return render_template("technicians/admin_time.html", form=form, entries=entries, week_minutes=week_minutes), status
