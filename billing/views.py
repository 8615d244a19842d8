"""Finance pages: on-site payments to reconcile, the price list, the parts catalogue.

Finance and admin change things; managers read. Each handler parses a form, calls one service,
commits once and redirects or renders.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select

from dispatch.core.errors import DomainError, Forbidden, NotFound
from dispatch.core.extensions import db
from dispatch.core.models import Role
from dispatch.core.security import DESK, FINANCE, allow
from dispatch.models import RepairCall

from . import services
from .forms import ActionForm, PartForm, PricesForm
from .models import Part, Payment

bp = Blueprint("billing", __name__, url_prefix="/billing")

READERS = FINANCE | {Role.MANAGER}
PAGE = 50


@bp.app_template_filter("percent")
def percent(rate: Decimal | None) -> str:
    """0.13 -> "13 %"; 0.065 -> "6.5 %"."""
    if rate is None:
        return ""
    text = format((Decimal(rate) * 100).normalize(), "f")
    return f"{text} %"


@bp.app_template_filter("quantity")
def quantity(value: Decimal | None) -> str:
    return services.format_quantity(value) if value is not None else ""


def _show_errors(exc: DomainError, form: FlaskForm, aliases: dict[str, str] | None = None) -> list[str]:
    """A domain error's field messages go on the form's fields; nothing is half-saved."""
    db.session.rollback()
    loose = []
    for name, message in (exc.fields or {}).items():
        name = (aliases or {}).get(name, name)
        if name in form._fields:
            field = form._fields[name]
            field.errors = [*list(field.errors or []), message]
        else:
            loose.append(f"{name}: {message}")
    return [exc.message, *loose]


def _can_change() -> bool:
    return current_user.role in FINANCE


# ----------------------------------------------------------------------------- payments


@bp.get("/")
@allow(READERS)
def home() -> Any:
    show = request.args.get("show", "open")
    if show not in ("open", "reconciled", "all"):
        show = "open"
    reconciled = {"open": False, "reconciled": True, "all": None}[show]
    stmt = services.payments_query(reconciled=reconciled)
    before = request.args.get("before", type=int)
    if before:
        stmt = stmt.where(Payment.id < before)
    payments = list(db.session.scalars(stmt.order_by(Payment.id.desc()).limit(PAGE + 1)))
    more = len(payments) > PAGE
    payments = payments[:PAGE]
    next_url = url_for("billing.home", show=show, before=payments[-1].id) if more else None
    open_count = db.session.scalar(select(func.count(Payment.id)).where(Payment.reconciled_at.is_(None)))
    return render_template("billing/home.html", payments=payments, show=show, next_url=next_url,
                           open_count=open_count, can_change=_can_change(), action=ActionForm())


@bp.post("/payments/<int:payment_id>/reconcile")
@allow(FINANCE)
def reconcile(payment_id: int) -> Any:
    form = ActionForm()
    payment = db.session.get(Payment, payment_id)
    if payment is None:
        raise NotFound(f"There is no payment {payment_id}.")
    if form.validate_on_submit():
        try:
            services.reconcile_payment(current_user, payment)
            db.session.commit()
            flash(f"Receipt {payment.receipt_number} reconciled.", "success")
        except DomainError as exc:
            db.session.rollback()
            flash(exc.message, "error")
    return redirect(url_for("billing.home", show=request.args.get("show", "open")))


@bp.get("/calls/<int:call_id>")
@allow(READERS)
def call_charges(call_id: int) -> Any:
    """What a call costs, line by line, with its payments: finance checks a receipt against the work."""
    call = db.session.get(RepairCall, call_id)
    if call is None:
        raise NotFound(f"There is no call {call_id}.")
    return render_template("billing/call.html", call=call, sheet=services.charges_for_call(call),
                           link_calls="desk.call" in current_app.view_functions and current_user.role in DESK)


# ----------------------------------------------------------------------------- prices


@bp.route("/prices", methods=["GET", "POST"])
@allow(READERS)
def prices() -> Any:
    current = services.current_prices()
    form = PricesForm(data={
        "call_out_fee": f"{current.call_out_fee:.2f}",
        "labor_rate_per_hour": f"{current.labor_rate_per_hour:.2f}",
        "tax_percent": percent(current.tax_rate).removesuffix(" %"),
        "currency": current.currency,
    } if request.method == "GET" else None)
    messages: list[str] | None = None
    status = 200
    if request.method == "POST":
        if not _can_change():
            raise Forbidden("Only finance and admin may change the prices.")
        if form.validate_on_submit():
            try:
                tax = Decimal(form.tax_percent.data or "") / 100
            except InvalidOperation:
                tax = None
            if tax is None:
                form.tax_percent.errors = ["a number like 13"]
                status = 422
            else:
                try:
                    services.set_prices(current_user, call_out_fee=form.call_out_fee.data,
                                        labor_rate_per_hour=form.labor_rate_per_hour.data, tax_rate=tax,
                                        currency=form.currency.data)
                    db.session.commit()
                    flash("New prices saved; they apply to work recorded from now on.", "success")
                    return redirect(url_for("billing.prices"))
                except DomainError as exc:
                    messages = _show_errors(exc, form, {"tax_rate": "tax_percent"})
                    status = exc.status
        else:
            status = 422
    return render_template("billing/prices.html", form=form, current=current, history=services.price_history(),
                           messages=messages, can_change=_can_change()), status


# ----------------------------------------------------------------------------- parts


def _part_or_404(part_id: int) -> Part:
    part = db.session.get(Part, part_id)
    if part is None:
        raise NotFound(f"There is no part {part_id}.")
    return part


@bp.get("/parts")
@allow(READERS)
def parts() -> Any:
    q = (request.args.get("q") or "").strip()
    archived = request.args.get("archived") == "1"
    found = services.search_parts(q, 200, include_archived=archived)
    total = db.session.scalar(select(func.count(Part.id)).where(Part.archived_at.is_(None)))
    return render_template("billing/parts.html", parts=found, q=q, archived=archived, total=total,
                           can_change=_can_change(), action=ActionForm())


@bp.route("/parts/new", methods=["GET", "POST"])
@allow(FINANCE)
def new_part() -> Any:
    form = PartForm()
    messages: list[str] | None = None
    status = 200
    if form.validate_on_submit():
        try:
            part = services.create_part(current_user, sku=form.sku.data, name=form.name.data,
                                        unit_price=form.unit_price.data, unit_cost=form.unit_cost.data,
                                        unit=form.unit.data)
            db.session.commit()
            flash(f"Part {part.sku} added.", "success")
            return redirect(url_for("billing.parts", q=part.sku))
        except DomainError as exc:
            messages = _show_errors(exc, form)
            status = exc.status
    elif request.method == "POST":
        status = 422
    return render_template("billing/part_form.html", form=form, part=None, messages=messages), status


@bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"])
@allow(FINANCE)
def edit_part(part_id: int) -> Any:
    part = _part_or_404(part_id)
    form = PartForm(obj=None if request.method == "POST" else part)
    if request.method == "GET":
        form.unit_price.data = f"{part.unit_price:.2f}"
        form.unit_cost.data = f"{part.unit_cost:.2f}" if part.unit_cost is not None else ""
    form.sku.data = part.sku  # the sku names the part on old lines: it does not change
    messages: list[str] | None = None
    status = 200
    if form.validate_on_submit():
        try:
            services.update_part(current_user, part, name=form.name.data, unit_price=form.unit_price.data,
                                 unit_cost=form.unit_cost.data, unit=form.unit.data)
            db.session.commit()
            flash(f"Part {part.sku} saved.", "success")
            return redirect(url_for("billing.parts", q=part.sku))
        except DomainError as exc:
            messages = _show_errors(exc, form)
            status = exc.status
    elif request.method == "POST":
        status = 422
    return render_template("billing/part_form.html", form=form, part=part, messages=messages,
                           action=ActionForm()), status


@bp.post("/parts/<int:part_id>/archive")
@allow(FINANCE)
def archive_part(part_id: int) -> Any:
    part = _part_or_404(part_id)
    if ActionForm().validate_on_submit():
        if part.archived_at is None:
            services.archive_part(current_user, part)
            flash(f"Part {part.sku} archived: it is no longer offered to technicians.", "success")
        else:
            services.restore_part(current_user, part)
            flash(f"Part {part.sku} is back in the catalogue.", "success")
        db.session.commit()
    return redirect(url_for("billing.parts", q=part.sku, archived=1))
