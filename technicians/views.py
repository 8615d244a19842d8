"""The technician's phone pages: today, a visit, sign-off, admin time.

Every action is a plain form that works without JavaScript (it posts here and calls the same service
as the API); each form also names its JSON endpoint in data-api for the offline outbox.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from billing import services as billing
from dispatch.core.errors import DomainError
from dispatch.core.extensions import db
from dispatch.core.models import IdempotentRequest, Role
from dispatch.core.security import MANAGERS, allow
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import Visit, VisitStatus
from dispatch.scheduling import get_visit_or_404

from . import services
from .api import map_links
from .forms import ActionForm, AdminWorkForm, CompleteForm, PaymentForm, SignatureForm
from .models import ACTIVITY_LABELS, OUTCOME_LABELS

bp = Blueprint("technicians", __name__, url_prefix="/t")

TECH = frozenset({Role.TECHNICIAN})
ON_SITE = TECH | MANAGERS


@bp.app_template_filter("qty")
def quantity_text(value: Any) -> str:
    """2.5000 -> 2.5, 3.0000 -> 3."""
    return services.quantity_text(value)


def _day_bounds(day_offset: int) -> tuple[datetime, datetime]:
    start = datetime.combine(local_today() + timedelta(days=day_offset), time.min, tzinfo=local_tz())
    return start, start + timedelta(days=1)


def _tel(phone: str | None) -> str:
    return "tel:" + "".join(c for c in (phone or "") if c.isdigit() or c == "+")


@bp.get("/")
@allow(TECH)
def today() -> Any:
    tomorrow = request.args.get("day") == "tomorrow"
    start, end = _day_bounds(1 if tomorrow else 0)
    visits = services.technician_visits(current_user, start, end)
    open_visits = [v for v in visits if v.status != VisitStatus.COMPLETED]
    done = [v for v in visits if v.status == VisitStatus.COMPLETED]
    return render_template("technicians/today.html", open_visits=open_visits, done=done, tomorrow=tomorrow,
                           day=start.date(), next_visit=services.next_visit(visits), map_links=map_links, tel=_tel)


def _visit_page(visit: Visit, *, complete_form: CompleteForm | None = None,
                payment_form: PaymentForm | None = None, status: int = 200) -> Any:
    record = services.work_record(visit)
    sheet = billing.charges_for_call(visit.call)
    if complete_form is None:
        complete_form = CompleteForm(formdata=None)
        if record is not None:
            complete_form.work_summary.data = record.work_summary
            complete_form.labor_minutes.data = record.labor_minutes
            complete_form.outcome.data = record.outcome
            parts = services.visit_parts(visit)
            while len(complete_form.parts.entries) < len(parts) + 1:
                complete_form.parts.append_entry()
            for row, line in zip(complete_form.parts.entries, parts, strict=False):
                row.form.sku.data = line.sku
                row.form.quantity.data = billing.line_json(line)["quantity"]
        else:
            complete_form.labor_minutes.data = services.suggested_labor_minutes(visit)
    if payment_form is None:
        payment_form = PaymentForm(formdata=None)
        if sheet.balance > 0:
            payment_form.amount.data = f"{sheet.balance:.2f}"
        payment_form.request_key.data = uuid.uuid4().hex
    arrived_at = services.event_time(visit, "arrived")
    signature = services.signature(visit)
    can_pay = (record is not None and visit.call.category != "free" and sheet.total_due > 0
               and sheet.balance > 0)
    return render_template(
        "technicians/visit.html", visit=visit, call=visit.call, record=record, sheet=sheet,
        parts=services.visit_parts(visit), payments=services.visit_payments(visit), signature=signature,
        events=services.events(visit), earlier=[(v, services.work_record(v)) for v in services.earlier_visits(visit)],
        arrived_at=arrived_at, action_form=ActionForm(), complete_form=complete_form, payment_form=payment_form,
        can_pay=can_pay, catalogue=billing.search_parts(None, 200), map_links=map_links, tel=_tel,
        OUTCOME_LABELS=OUTCOME_LABELS, slip_url=f"/api/v1/visits/{visit.id}/slip.pdf"), status


@bp.get("/visits/<int:visit_id>")
@allow(ON_SITE)
def visit(visit_id: int) -> Any:
    return _visit_page(get_visit_or_404(visit_id, current_user))


def _done(visit: Visit, message: str) -> Any:
    db.session.commit()
    flash(message, "success")
    return redirect(url_for("technicians.visit", visit_id=visit.id))


def _failed(visit: Visit, exc: DomainError, anchor: str = "") -> Any:
    db.session.rollback()
    flash(exc.message, "error")
    return redirect(url_for("technicians.visit", visit_id=visit.id) + anchor)


@bp.post("/visits/<int:visit_id>/on-my-way")
@allow(ON_SITE)
def on_my_way(visit_id: int) -> Any:
    v = services.visit_for(visit_id, current_user)
    try:
        services.on_my_way(current_user, v)
    except DomainError as exc:
        return _failed(v, exc)
    return _done(v, "On your way: the desk can see it.")


@bp.post("/visits/<int:visit_id>/arrive")
@allow(ON_SITE)
def arrive(visit_id: int) -> Any:
    v = services.visit_for(visit_id, current_user)
    try:
        services.arrive(current_user, v)
    except DomainError as exc:
        return _failed(v, exc)
    return _done(v, "Arrived: the labor clock runs from now.")


@bp.post("/visits/<int:visit_id>/complete")
@allow(ON_SITE)
def complete(visit_id: int) -> Any:
    v = services.visit_for(visit_id, current_user)
    form = CompleteForm()
    if not form.validate_on_submit():
        return _visit_page(v, complete_form=form, status=422)
    try:
        parts = services.parse_parts([{"sku": row.form.sku.data, "quantity": row.form.quantity.data}
                                      for row in form.parts.entries])
        services.complete(current_user, v, work_summary=form.work_summary.data or "",
                          labor_minutes=form.labor_minutes.data or 0, parts=parts, outcome=form.outcome.data or "")
    except DomainError as exc:
        db.session.rollback()
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        flash(exc.message, "error")
        return _visit_page(v, complete_form=form, status=exc.status)
    return _done(v, "Work recorded. Take the payment if any is due, then ask the customer to sign.")


@bp.post("/visits/<int:visit_id>/payments")
@allow(ON_SITE)
def payments(visit_id: int) -> Any:
    v = services.visit_for(visit_id, current_user)
    form = PaymentForm()
    if not form.validate_on_submit():
        return _visit_page(v, payment_form=form, status=422)
    key = f"form:{form.request_key.data}" if form.request_key.data else None
    if key is not None:
        previous = db.session.scalar(select(IdempotentRequest).where(
            IdempotentRequest.user_id == current_user.id, IdempotentRequest.key == key))
        if previous is not None:  # the same form sent twice (a double tap, a reload)
            flash(f"Payment already recorded: receipt {json.loads(previous.response_body)['receipt_number']}.",
                  "success")
            return redirect(url_for("technicians.visit", visit_id=v.id) + "#payment")
    try:
        payment = services.take_payment(current_user, v, amount=form.amount.data, method=form.method.data)
    except DomainError as exc:
        return _failed(v, exc, "#payment")
    if key is not None:
        db.session.add(IdempotentRequest(user_id=current_user.id, key=key, method="POST", path=request.path,
                                         body_sha256="", status_code=201,
                                         response_body=json.dumps({"receipt_number": payment.receipt_number})))
    db.session.commit()
    flash(f"Payment of {payment.amount:.2f} recorded: receipt {payment.receipt_number}.", "success")
    return redirect(url_for("technicians.visit", visit_id=v.id) + "#payment")


@bp.get("/visits/<int:visit_id>/sign")
@allow(ON_SITE)
def sign(visit_id: int) -> Any:
    v = get_visit_or_404(visit_id, current_user)
    return _sign_page(v, SignatureForm(formdata=None))


def _sign_page(v: Visit, form: SignatureForm, status: int = 200) -> Any:
    record = services.work_record(v)
    return render_template("technicians/sign.html", visit=v, call=v.call, record=record,
                           sheet=billing.charges_for_call(v.call), parts=services.visit_parts(v),
                           signature=services.signature(v), form=form, OUTCOME_LABELS=OUTCOME_LABELS), status


@bp.post("/visits/<int:visit_id>/signature")
@allow(ON_SITE)
def signature(visit_id: int) -> Any:
    v = services.visit_for(visit_id, current_user)
    form = SignatureForm()
    if not form.validate_on_submit():
        return _sign_page(v, form, status=422)
    try:
        result = services.sign(current_user, v, signer_name=form.signer_name.data or "",
                               image_png_base64=form.image_png_base64.data,
                               technician_confirmed=bool(form.technician_confirmed.data))
    except DomainError as exc:
        db.session.rollback()
        for name, message in exc.fields.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message] if isinstance(field.errors, list) else [message]
        flash(exc.message, "error")
        return _sign_page(v, form, status=exc.status)
    return _done(v, f"Signed by {result.signature.signer_name}. The work record is sealed.")


@bp.route("/admin-time", methods=["GET", "POST"])
@allow(TECH)
def admin_time() -> Any:
    form = AdminWorkForm()
    status = 200
    if request.method == "GET":
        form.date.data = local_today()
    elif form.validate_on_submit():
        try:
            entry = services.log_admin_work(current_user, technician=None, day=form.date.data or local_today(),
                                            activity=form.activity.data or "", minutes=form.minutes.data or 0,
                                            notes=form.notes.data)
            db.session.commit()
            flash(f"Logged {entry.minutes} min of {ACTIVITY_LABELS[entry.activity].lower()}.", "success")
            return redirect(url_for("technicians.admin_time"))
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
            status = exc.status
    else:
        status = 422
    since = local_today() - timedelta(days=13)
    entries = services.admin_work_for(current_user, since)
    week_start = local_today() - timedelta(days=local_today().weekday())
    week_minutes = sum(e.minutes for e in entries if e.date >= week_start)
    return render_template("technicians/admin_time.html", form=form, entries=entries, week_minutes=week_minutes,
                           ACTIVITY_LABELS=ACTIVITY_LABELS, now=utcnow()), status

