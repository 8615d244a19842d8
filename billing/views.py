"""Finance pages: on-site payments to reconcile, the price list, the parts catalogue.

Finance and admin change things; managers read. Each handler parses a form, calls one service and
redirects or renders; `page_view` commits once.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from dispatch.core.errors import Forbidden
from dispatch.core.i18n import _
from dispatch.core.models import Role
from dispatch.core.pages import form_errors, page_view
from dispatch.core.security import DESK, FINANCE, allow
from dispatch.services.calls import get_call_or_404

from .forms import ActionForm, PartForm, PricesForm
from .parsing import percent_text
from .services import charges, payments
from .services import parts as catalogue
from .services import prices as price_list

bp = Blueprint("billing", __name__, url_prefix="/billing")

READERS = FINANCE | {Role.MANAGER}
PAGE = 50
SHOW = {"open": False, "reconciled": True, "all": None}  # ?show= -> which payments (reconciled or not)


@bp.app_template_filter("percent")
def percent(rate: Decimal | None) -> str:
    """0.13 -> "13 %" ("13%" in Chinese); 0.065 -> "6.5 %"."""
    return _("%(n)s %%", n=percent_text(rate)) if rate is not None else ""


@bp.app_template_filter("quantity")
def quantity(value: Decimal | None) -> str:
    return catalogue.format_quantity(value) if value is not None else ""


# A charge line and what covers it, in the reader's language (the technician's pages may use them too).
bp.add_app_template_filter(charges.line_text, "charge_line")
bp.add_app_template_filter(charges.cover_text, "cover_text")


def _can_change() -> bool:
    return current_user.role in FINANCE


# ----------------------------------------------------------------------------- payments


@bp.get("/")
@allow(READERS)
def home() -> Any:
    show = request.args.get("show", "open")
    if show not in SHOW:
        show = "open"
    page, more = payments.payments_page(reconciled=SHOW[show], before=request.args.get("before", type=int),
                                        size=PAGE)
    next_url = url_for("billing.home", show=show, before=page[-1].id) if more else None
    return render_template("billing/home.html", payments=page, show=show, next_url=next_url,
                           open_count=payments.count_unreconciled(), can_change=_can_change(),
                           currencies=price_list.currencies_of(page), action=ActionForm())


@bp.post("/payments/<int:payment_id>/reconcile")
@allow(FINANCE)
@page_view
def reconcile(payment_id: int) -> Any:
    form = ActionForm()
    payment = payments.get_payment_or_404(payment_id)
    if form.validate_on_submit():
        with form_errors(form) as messages:
            payments.reconcile_payment(current_user, payment)
            flash(_("Receipt %(number)s reconciled.", number=payment.receipt_number), "success")
        if messages:
            flash(messages[0], "error")
    return redirect(url_for("billing.home", show=request.args.get("show", "open")))


@bp.get("/calls/<int:call_id>")
@allow(READERS)
def call_charges(call_id: int) -> Any:
    """What a call costs, line by line, with its payments: finance checks a receipt against the work."""
    call = get_call_or_404(call_id, current_user)
    return render_template("billing/call.html", call=call, sheet=charges.charges_for_call(call),
                           link_calls="desk.call" in current_app.view_functions and current_user.role in DESK)


# ----------------------------------------------------------------------------- prices


@bp.route("/prices", methods=["GET", "POST"])
@allow(READERS)
@page_view
def prices() -> Any:
    current = price_list.current_prices()
    form = PricesForm(data={
        "call_out_fee": f"{current.call_out_fee:.2f}",
        "labor_rate_per_hour": f"{current.labor_rate_per_hour:.2f}",
        "tax_percent": percent_text(current.tax_rate),
        "currency": current.currency,
    } if request.method == "GET" else None)
    messages: list[str] | None = None
    status = 200
    if request.method == "POST":
        if not _can_change():
            raise Forbidden(_("Only finance and admin may change the prices."))
        status = 422
        if form.validate_on_submit():
            with form_errors(form, aliases={"tax_rate": "tax_percent"}) as messages:
                price_list.set_prices(current_user, call_out_fee=form.call_out_fee.data,
                                      labor_rate_per_hour=form.labor_rate_per_hour.data,
                                      tax_rate=form.tax_rate, currency=form.currency.data)
                flash(_("New prices saved; they apply to work recorded from now on."), "success")
                return redirect(url_for("billing.prices"))
            status = messages.status
    return render_template("billing/prices.html", form=form, current=current,
                           history=price_list.price_history(), messages=messages, can_change=_can_change()), status


# ----------------------------------------------------------------------------- parts


@bp.get("/parts")
@allow(READERS)
def parts() -> Any:
    q = (request.args.get("q") or "").strip()
    archived = request.args.get("archived") == "1"
    found = catalogue.search_parts(q, 200, include_archived=archived)
    return render_template("billing/parts.html", parts=found, q=q, archived=archived,
                           total=catalogue.count_live_parts(), can_change=_can_change(), action=ActionForm(),
                           currency=price_list.current_prices().currency)


@bp.route("/parts/new", methods=["GET", "POST"])
@allow(FINANCE)
@page_view
def new_part() -> Any:
    form = PartForm()
    messages: list[str] | None = None
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with form_errors(form) as messages:
            part = catalogue.create_part(current_user, sku=form.sku.data, name=form.name.data,
                                         unit_price=form.unit_price.data, unit_cost=form.unit_cost.data,
                                         unit=form.unit.data)
            flash(_("Part %(sku)s added.", sku=part.sku), "success")
            return redirect(url_for("billing.parts", q=part.sku))
        status = messages.status
    return render_template("billing/part_form.html", form=form, part=None, messages=messages), status


@bp.route("/parts/<int:part_id>/edit", methods=["GET", "POST"])
@allow(FINANCE)
@page_view
def edit_part(part_id: int) -> Any:
    part = catalogue.get_part_or_404(part_id)
    form = PartForm(obj=None if request.method == "POST" else part)
    if request.method == "GET":
        form.unit_price.data = f"{part.unit_price:.2f}"
        form.unit_cost.data = f"{part.unit_cost:.2f}" if part.unit_cost is not None else ""
    form.sku.data = part.sku  # the sku names the part on old lines: it does not change
    messages: list[str] | None = None
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with form_errors(form) as messages:
            catalogue.update_part(current_user, part, name=form.name.data, unit_price=form.unit_price.data,
                                  unit_cost=form.unit_cost.data, unit=form.unit.data)
            flash(_("Part %(sku)s saved.", sku=part.sku), "success")
            return redirect(url_for("billing.parts", q=part.sku))
        status = messages.status
    return render_template("billing/part_form.html", form=form, part=part, messages=messages,
                           action=ActionForm()), status


@bp.post("/parts/<int:part_id>/archive")
@allow(FINANCE)
@page_view
def archive_part(part_id: int) -> Any:
    part = catalogue.get_part_or_404(part_id)
    if ActionForm().validate_on_submit():
        catalogue.toggle_archived(current_user, part)
        if part.archived_at is not None:
            flash(_("Part %(sku)s archived: it is no longer offered to technicians.", sku=part.sku), "success")
        else:
            flash(_("Part %(sku)s is back in the catalogue.", sku=part.sku), "success")
    return redirect(url_for("billing.parts", q=part.sku, archived=1))
