"""The phone's carry-back pages: the customer product receipt form (what is taken, photos, promised date,
the customer's signature) and the receipt once numbered.

Like every phone form, the receipt form works without JavaScript (multipart post here, the same services as
the API) and, with it, goes through the offline outbox as one `POST /api/v1/visits/{id}/carry-back` with
its Idempotency-Key: the photos (shrunk on the phone) and the signature travel in the same request, and the
receipt is numbered when it reaches the server.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import MultipleFileField
from wtforms import DateField, HiddenField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dispatch.core.i18n import _, _l, html_lang
from dispatch.core.models import Role
from dispatch.core.pages import FormMessages, form_errors, page_view
from dispatch.core.security import DESK, MANAGERS, allow
from dispatch.core.timeutil import local_today
from dispatch.core.validate import DateInRange
from dispatch.models import Visit, VisitStatus
from dispatch.scheduling.visits import get_visit_or_404

from .carry_back_api import decode_photo, photo_url
from .models import CarryBack, Outcome
from .services import carry_back, progress
from .services.carry_back import MAX_PHOTO_BYTES, MAX_PHOTOS, MAX_PROMISE_DAYS, ReceiptInput
from .services.work import work_record

bp = Blueprint("carry_back", __name__, url_prefix="/t")

ON_SITE = frozenset({Role.TECHNICIAN}) | MANAGERS
READERS = frozenset({Role.TECHNICIAN}) | DESK


class CarryBackForm(FlaskForm):
    """Field names are the API's (the outbox turns the form into the JSON call)."""

    item = StringField(_l("Item"), validators=[DataRequired(), Length(max=200)])
    model = StringField(_l("Model"), validators=[Optional(), Length(max=200)])
    serial_number = StringField(_l("Serial number"), validators=[Optional(), Length(max=100)])
    accessories = TextAreaField(_l("Accessories taken"), validators=[Optional(), Length(max=2000)])
    condition = TextAreaField(_l("Visible condition"), validators=[Optional(), Length(max=2000)])
    stated_fault = TextAreaField(_l("Fault as the customer states it"), validators=[Optional(), Length(max=2000)])
    promised_return_on = DateField(_l("Promised return date"), validators=[DataRequired(), DateInRange()])
    photos = MultipleFileField(_l("Photos"))
    signer_name = StringField(_l("Customer's name"), validators=[Optional(), Length(max=200)])
    image_png_base64 = HiddenField()


class ReceiptSignatureForm(FlaskForm):
    signer_name = StringField(_l("Customer's name"), validators=[DataRequired(), Length(max=200)])
    image_png_base64 = HiddenField(validators=[DataRequired(message=_l("The customer has not signed yet."))])


@bp.after_request
def _page_language(response: Any) -> Any:
    # As the other phone pages (technicians.views): the service worker keeps saved pages per language.
    response.headers["Content-Language"] = html_lang()
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.app_context_processor
def _carry_back_helpers() -> dict[str, Any]:
    # The visit page asks for the visit's carry-back (its receipt card) without its view knowing of it.
    return {"carry_back_of": carry_back.carry_back_for_visit}


def _form_page(visit: Visit, form: CarryBackForm, status: int = 200) -> Any:
    record = work_record(visit)
    return render_template(
        "technicians/carry_back_form.html", visit=visit, call=visit.call, form=form, record=record,
        outcome_differs=record is not None and record.outcome != Outcome.CARRY_BACK,
        on_site=visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY),
        max_photos=MAX_PHOTOS, max_photo_mb=MAX_PHOTO_BYTES // (1024 * 1024), today=local_today(),
        max_days=MAX_PROMISE_DAYS), status


def _receipt_page(cb: CarryBack, form: ReceiptSignatureForm | None = None, status: int = 200) -> Any:
    if form is None:
        form = ReceiptSignatureForm(formdata=None)
        form.signer_name.data = cb.call.customer.contact_name or cb.call.customer.name
    may_sign = current_user.role in ON_SITE and (current_user.role != Role.TECHNICIAN
                                                 or cb.visit.technician_id == current_user.id)
    return render_template("technicians/carry_back_receipt.html", cb=cb, call=cb.call, visit=cb.visit, form=form,
                           photo_urls=[photo_url(p) for p in cb.photos], may_sign=may_sign,
                           intact=carry_back.receipt_intact(cb)), status


@bp.get("/visits/<int:visit_id>/carry-back")
@allow(ON_SITE)
def take_form(visit_id: int) -> Any:
    """The receipt form; once the item is taken, its receipt."""
    visit = get_visit_or_404(visit_id, current_user)
    existing = carry_back.carry_back_for_visit(visit)
    if existing is not None:
        return redirect(url_for("carry_back.receipt", carry_back_id=existing.id))
    form = CarryBackForm(formdata=None)
    for name, value in carry_back.prefill(visit).items():
        getattr(form, name).data = value
    form.promised_return_on.data = carry_back.default_promise()
    form.signer_name.data = visit.call.customer.contact_name or visit.call.customer.name
    return _form_page(visit, form)


def _page_photos(form: CarryBackForm) -> list[bytes]:
    """The photos the phone shrank (photos-N-image_base64), else the files chosen (no JavaScript)."""
    shrunk = sorted((k for k in request.form if k.startswith("photos-") and k.endswith("-image_base64")),
                    key=lambda k: int(k.split("-")[1]) if k.split("-")[1].isdigit() else 0)
    photos = [decode_photo(request.form[k]) for k in shrunk if request.form[k].strip()]
    if photos:
        return photos
    files = [f for f in (form.photos.data or []) if getattr(f, "filename", "")]
    return [f.stream.read(MAX_PHOTO_BYTES + 1) for f in files]


@bp.post("/visits/<int:visit_id>/carry-back")
@allow(ON_SITE)
@page_view
def take(visit_id: int) -> Any:
    visit = progress.visit_for(visit_id, current_user)
    form = CarryBackForm()
    if not form.validate_on_submit():
        return _form_page(visit, form, status=422)
    messages: FormMessages
    with form_errors(form) as messages:
        uploads = _page_photos(form)
        if len(uploads) > MAX_PHOTOS:
            form.photos.errors = [_("at most %(n)d", n=MAX_PHOTOS)]
            return _form_page(visit, form, status=422)
        cb = carry_back.take(current_user, visit, ReceiptInput(
            item=form.item.data or "", model=form.model.data or "", serial_number=form.serial_number.data or "",
            accessories=form.accessories.data or "", condition=form.condition.data or "",
            stated_fault=form.stated_fault.data or "", promised_return_on=form.promised_return_on.data))
        if uploads:
            carry_back.add_photos(current_user, cb, uploads)
        if form.image_png_base64.data:
            carry_back.sign_receipt(current_user, cb, signer_name=form.signer_name.data,
                                    image_png_base64=form.image_png_base64.data)
        flash(_("Item taken back: receipt %(number)s.", number=cb.number), "success")
        return redirect(url_for("carry_back.receipt", carry_back_id=cb.id))
    for message in messages:
        flash(message, "error")
    return _form_page(visit, form, status=messages.status)


@bp.get("/carry-backs/<int:carry_back_id>")
@allow(READERS)
def receipt(carry_back_id: int) -> Any:
    """The numbered receipt: what was taken, photos, the customer's signature, the PDF."""
    return _receipt_page(carry_back.get_carry_back_or_404(carry_back_id, current_user))


@bp.post("/carry-backs/<int:carry_back_id>/receipt-signature")
@allow(ON_SITE)
@page_view
def receipt_signature(carry_back_id: int) -> Any:
    cb = carry_back.get_carry_back_or_404(carry_back_id, current_user)
    form = ReceiptSignatureForm()
    if not form.validate_on_submit():
        return _receipt_page(cb, form, status=422)
    with form_errors(form) as messages:
        carry_back.sign_receipt(current_user, cb, signer_name=form.signer_name.data,
                                image_png_base64=form.image_png_base64.data)
        flash(_("Receipt %(number)s signed by %(name)s.", number=cb.number, name=cb.receipt_signer_name), "success")
        return redirect(url_for("carry_back.receipt", carry_back_id=cb.id))
    for message in messages:
        flash(message, "error")
    return _receipt_page(cb, form, status=messages.status)
