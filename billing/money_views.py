"""Finance pages for money received: a payment on an invoice, the cash-up (on-site money per technician and
day, with the reconcile list as its second half), contract invoices due, and the exports with the cost of
covered work. Finance and admin change things; managers read. `page_view` commits once."""

from __future__ import annotations

import uuid
from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from dispatch.core.errors import DomainError
from dispatch.core.i18n import _, _l, format_money, label
from dispatch.core.models import Role
from dispatch.core.pages import form_errors, page_view
from dispatch.core.security import FINANCE, allow
from dispatch.core.timeutil import local_today, parse_date
from dispatch.forms import strip

from .forms import ActionForm
from .models import PAYMENT_METHODS
from .money_api import _invoice_or_404
from .services import cashup, contract_billing, exports, invoice_payments
from .services.fee_lines import fee_line_text

bp = Blueprint("money", __name__, url_prefix="/billing")

READERS = FINANCE | {Role.MANAGER}


class InvoicePaymentForm(FlaskForm):
    amount = StringField(_l("Amount"), filters=[strip], validators=[DataRequired(), Length(max=20)])
    method = SelectField(_l("Method"), default="transfer", validators=[DataRequired()])
    reference = StringField(_l("Reference (bank slip, transaction no.)"), filters=[strip],
                            validators=[Optional(), Length(max=100)])
    request_key = HiddenField(default=lambda: uuid.uuid4().hex)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.method.choices = [SelectChoice(m, label(m, "payment_method")) for m in PAYMENT_METHODS]


class HandInForm(FlaskForm):
    technician_id = HiddenField(validators=[DataRequired()])
    day = HiddenField(validators=[DataRequired()])


def _can_change() -> bool:
    return current_user.role in FINANCE


@bp.route("/invoices/<int:invoice_id>/payments", methods=["GET", "POST"])
@allow(READERS)
@page_view
def invoice_payment(invoice_id: int) -> Any:
    """The invoice's payments and, for finance, the form to record one (full or partial)."""
    invoice = _invoice_or_404(invoice_id)
    form = InvoicePaymentForm()
    messages: Any = None
    status = 200
    if request.method == "POST":
        if not _can_change():
            from dispatch.core.errors import Forbidden

            raise Forbidden(_("Only finance and admin may record payments."))
        status = 422
        if form.validate_on_submit():
            with form_errors(form) as messages:
                row = invoice_payments.record_invoice_payment(current_user, invoice, amount=form.amount.data,
                                                              method=form.method.data, reference=form.reference.data)
                flash(_("Payment of %(amount)s recorded on invoice %(number)s.",
                        amount=format_money(row.amount, invoice.currency), number=invoice.number), "success")
                return redirect(url_for("money.invoice_payment", invoice_id=invoice.id))
            status = messages.status
    elif invoice_payments.balance(invoice) > 0:
        form.amount.data = f"{invoice_payments.balance(invoice):.2f}"
    return render_template("billing/invoice_payments.html", invoice=invoice, form=form, messages=messages,
                           payments=invoice_payments.invoice_payments(invoice),
                           paid=invoice_payments.paid(invoice), balance=invoice_payments.balance(invoice),
                           state=invoice_payments.payment_state(invoice), can_change=_can_change()), status


# ----------------------------------------------------------------------------- cash-up


@bp.get("/cash-up")
@allow(READERS)
def cash_up() -> Any:
    days = cashup.not_handed_in()
    return render_template("billing/cashup.html", days=days, total=cashup.totals(days),
                           to_reconcile=cashup.handed_in_not_reconciled(), can_change=_can_change(),
                           hand_in=HandInForm(), action=ActionForm())


@bp.post("/cash-up/receive")
@allow(FINANCE)
@page_view
def receive() -> Any:
    form = HandInForm()
    if form.validate_on_submit():
        try:
            day = parse_date(form.day.data, "date")
            tech = int(form.technician_id.data) if (form.technician_id.data or "").isdigit() else None
            handed = cashup.receive_from_technician(current_user, tech, day)
        except DomainError as exc:
            flash(exc.message, "error")
        else:
            name = handed[0].collected_by.name if handed and handed[0].collected_by else ""
            flash(_("Received %(amount)s from %(name)s (%(n)s payments).",
                    amount=format_money(sum(p.amount for p in handed)), name=name, n=len(handed)), "success")
    return redirect(url_for("money.cash_up"))


# ----------------------------------------------------------------------------- contract invoices


@bp.get("/contract-invoices")
@allow(READERS)
def contract_invoices() -> Any:
    rows = contract_billing.preview()
    return render_template("billing/contract_invoices.html", rows=rows, due_total=contract_billing.due_total(rows),
                           issued=contract_billing.contract_invoices(), today=local_today(),
                           can_change=_can_change(), action=ActionForm(),
                           fee_line_text=fee_line_text)


@bp.post("/contract-invoices")
@allow(FINANCE)
@page_view
def issue_contract_invoices() -> Any:
    if ActionForm().validate_on_submit():
        issued = contract_billing.issue_contract_invoices(current_user)
        if issued:
            flash(_("%(n)s contract invoices issued: %(first)s to %(last)s.", n=len(issued),
                    first=issued[0].number, last=issued[-1].number), "success")
        else:
            flash(_("No contract invoice is due: every period begun so far is invoiced."), "success")
    return redirect(url_for("money.contract_invoices"))


# ----------------------------------------------------------------------------- exports


@bp.get("/exports")
@allow(READERS)
def exports_page() -> Any:
    try:
        span = exports.parse_span(request.args.get("from"), request.args.get("to"))
        problem = None
    except DomainError as exc:
        span, problem = exports.parse_span(None, None), exc.message
    rows = exports.covered_cost(span)
    return render_template("billing/exports.html", span=span, problem=problem, rows=rows,
                           totals=exports.covered_cost_totals(rows), last_month=exports.last_month(),
                           kinds=[("invoices", _("Invoices")), ("credit-notes", _("Credit notes")),
                                  ("payments", _("Payments")), ("covered-cost", _("Cost of covered work"))]), \
        (422 if problem else 200)
