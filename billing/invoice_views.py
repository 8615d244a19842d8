"""Finance's invoicing pages: "To invoice" (the first tab of the finance home), invoices with their PDF,
tax-invoice (发票) details and CSV export, and credit notes.

Finance and admin write; managers read. Each handler parses a form, calls one service and redirects or
renders; `page_view` commits once.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import DateField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from dispatch.core.i18n import _, _l
from dispatch.core.models import Role
from dispatch.core.pages import form_errors, page_view
from dispatch.core.security import FINANCE, allow
from dispatch.forms import strip

from .services import credit_notes as notes
from .services import invoice_payments
from .services import invoices as service
from .services import pending as to_invoice

bp = Blueprint("invoicing", __name__, url_prefix="/billing")

READERS = FINANCE | {Role.MANAGER}
PAGE = 50


class FapiaoForm(FlaskForm):
    fapiao_number = StringField(_l("Tax invoice number"), filters=[strip], validators=[DataRequired(), Length(max=40)])
    fapiao_date = DateField(_l("Tax invoice date"), validators=[DataRequired()])


class VoidForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), filters=[strip], validators=[DataRequired(), Length(max=1000)])


class IssueForm(FlaskForm):
    customer_id = StringField(validators=[Optional()])


def _can_change() -> bool:
    return current_user.role in FINANCE


@bp.get("/to-invoice")
@allow(READERS)
def pending() -> Any:
    """Completed work not yet invoiced, by customer: tick calls of one customer and issue one invoice."""
    return render_template("billing/pending.html", pending=to_invoice.pending(), can_change=_can_change(),
                           form=IssueForm())


@bp.post("/to-invoice")
@allow(FINANCE)
@page_view
def issue() -> Any:
    form = IssueForm()
    if not form.validate_on_submit():
        flash(_("The form expired; please try again."), "error")
        return redirect(url_for("invoicing.pending"))
    with form_errors(form) as messages:
        invoice = service.issue_invoice(current_user, request.form.getlist("call_ids"))
    if messages:
        flash(messages[0], "error")
        return redirect(url_for("invoicing.pending"))
    flash(_("Invoice %(number)s issued for %(customer)s.", number=invoice.number, customer=invoice.buyer_name),
          "success")
    return redirect(url_for("invoicing.invoice", invoice_id=invoice.id))


@bp.get("/invoices")
@allow(READERS)
def invoices() -> Any:
    status = request.args.get("status") or ""
    if status not in ("", "issued", "void"):
        status = ""
    number = (request.args.get("q") or "").strip()[:40]
    customer_id = request.args.get("customer_id", type=int)
    page, more = service.invoices_page(customer_id=customer_id, status=status or None, number=number or None,
                                       before=request.args.get("before", type=int), size=PAGE)
    next_url = url_for("invoicing.invoices", status=status, q=number, before=page[-1].id) if more else None
    listed = invoice_payments.listed_money(page)  # every row's payments summed in one statement
    return render_template("billing/invoices.html", invoices=page, status=status, q=number, next_url=next_url,
                           paid=listed.paid, state=listed.state, balance=listed.balance)


def _invoice_page(invoice_id: int, *, fapiao: FapiaoForm | None = None, void: VoidForm | None = None,
                  messages: list[str] | None = None, status: int = 200) -> Any:
    invoice = service.get_invoice_or_404(invoice_id)
    if fapiao is None:
        fapiao = FapiaoForm(data={"fapiao_number": invoice.fapiao_number, "fapiao_date": invoice.fapiao_date})
    return render_template(
        "billing/invoice.html", invoice=invoice, lines=service.invoice_lines(invoice), line_label=service.line_label,
        calls=service.invoice_call_numbers(invoice), paid=invoice_payments.paid(invoice),
        balance=invoice_payments.balance(invoice), state=invoice_payments.payment_state(invoice),
        payments=invoice_payments.invoice_payments(invoice), again=service.invoiced_again(invoice),
        payments_url=url_for("money.invoice_payment", invoice_id=invoice.id)
        if "money.invoice_payment" in current_app.view_functions else None,
        can_change=_can_change(), fapiao=fapiao, void=void or VoidForm(), messages=messages), status


@bp.get("/invoices/<int:invoice_id>")
@allow(READERS)
def invoice(invoice_id: int) -> Any:
    return _invoice_page(invoice_id)


@bp.post("/invoices/<int:invoice_id>/fapiao")
@allow(FINANCE)
@page_view
def fapiao(invoice_id: int) -> Any:
    invoice = service.get_invoice_or_404(invoice_id)
    form = FapiaoForm()
    messages: list[str] | None = None
    status = 422
    if form.validate_on_submit():
        with form_errors(form) as messages:
            service.set_fapiao(current_user, invoice, number=form.fapiao_number.data,
                               on=form.fapiao_date.data.isoformat() if form.fapiao_date.data else None)
            flash(_("Tax invoice %(number)s recorded on %(invoice)s.", number=invoice.fapiao_number,
                    invoice=invoice.number), "success")
            return redirect(url_for("invoicing.invoice", invoice_id=invoice.id))
        status = messages.status
    return _invoice_page(invoice_id, fapiao=form, messages=messages, status=status)


@bp.post("/invoices/<int:invoice_id>/void")
@allow(FINANCE)
@page_view
def void(invoice_id: int) -> Any:
    invoice = service.get_invoice_or_404(invoice_id)
    form = VoidForm()
    messages: list[str] | None = None
    status = 422
    if form.validate_on_submit():
        with form_errors(form) as messages:
            note = notes.void_invoice(current_user, invoice, form.reason.data)
            flash(_("Invoice %(number)s voided by credit note %(note)s; its calls are back on the list to "
                    "invoice.", number=invoice.number, note=note.number), "success")
            return redirect(url_for("invoicing.credit_note", note_id=note.id))
        status = messages.status
    return _invoice_page(invoice_id, void=form, messages=messages, status=status)


@bp.get("/credit-notes")
@allow(READERS)
def credit_notes() -> Any:
    page, more = notes.credit_notes_page(before=request.args.get("before", type=int), size=PAGE)
    next_url = url_for("invoicing.credit_notes", before=page[-1].id) if more else None
    return render_template("billing/invoice_credit_notes.html", notes=page, next_url=next_url)


@bp.get("/credit-notes/<int:note_id>")
@allow(READERS)
def credit_note(note_id: int) -> Any:
    note = notes.get_credit_note_or_404(note_id)
    invoice = note.invoice
    return render_template("billing/invoice_credit_note.html", note=note, invoice=invoice,
                           lines=service.invoice_lines(invoice), line_label=service.line_label,
                           payments=invoice_payments.invoice_payments(invoice),
                           paid=invoice_payments.paid(invoice), again=service.invoiced_again(invoice))
