"""The desk's customer pages: the list, one customer, and the edit pages for them and what they own.

The edit pages share one shape (`_form_view`): a valid form goes to one service call, `page_view`
commits, and the page goes back to the customer; a domain error goes onto the form's fields (422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from ..core.apiutil import paginate
from ..core.i18n import _
from ..core.pages import form_errors, page_view
from ..core.security import DESK, allow
from ..core.timeutil import local_today
from ..forms import ContractForm, CustomerForm, EquipmentForm, SiteForm
from ..models import Customer
from ..services import calls, customers
from .blueprint import bp, search_term


@bp.get("/customers", endpoint="customers")
@allow(DESK)
def customer_list() -> Any:
    q = search_term()
    page = paginate(customers.search_customers(q or None), Customer.id, lambda c: c)
    next_url = url_for("desk.customers", q=q or None, cursor=page["next"]) if page["next"] else None
    return render_template("dispatch/customers.html", customers=page["items"], q=q, next_url=next_url)


@bp.get("/customers/<int:customer_id>")
@allow(DESK)
def customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    return render_template("dispatch/customer.html", customer=customer, calls=calls.calls_of_customer(customer),
                           today=local_today())


def _form_page(form: FlaskForm, title: str, cancel: str, status: int = 200, messages: Any = None,
               submit: str | None = None) -> Any:
    return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, messages=messages,
                           submit=submit or _("Save")), status


def _form_view(form: FlaskForm, title: str, cancel: str, save: Callable[[], str | None], saved: str) -> Any:
    """A valid form goes to `save` (one service call), then back to `cancel` (or where `save` says);
    a domain error goes back onto the form's fields, nothing saved."""
    if form.validate_on_submit():
        with form_errors(form) as messages:
            target = save()
            flash(saved, "success")
            return redirect(target or cancel)
        return _form_page(form, title, cancel, 422, messages)
    return _form_page(form, title, cancel, 422 if form.errors else 200)


@bp.route("/customers/new", methods=["GET", "POST"])
@allow(DESK)
@page_view
def new_customer() -> Any:
    form = CustomerForm()
    cancel = url_for("desk.customers")

    def save() -> str:
        customer = customers.create_customer(current_user, name=form.name.data or "", phone=form.phone.data or "",
                                             contact_name=form.contact_name.data, email=form.email.data,
                                             notes=form.notes.data)
        return url_for("desk.customer", customer_id=customer.id)

    return _form_view(form, _("New customer"), cancel, save, _("Customer %(name)s saved.", name=form.name.data))


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    form = CustomerForm(obj=customer)
    title, cancel = _("Edit %(name)s", name=customer.name), url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        customers.update_customer(current_user, customer, name=form.name.data, phone=form.phone.data,
                                  contact_name=form.contact_name.data, email=form.email.data,
                                  notes=form.notes.data)

    return _form_view(form, title, cancel, save, _("Customer saved."))


@bp.route("/customers/<int:customer_id>/sites/new", methods=["GET", "POST"])
@allow(DESK)
@page_view
def new_site(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    form = SiteForm()
    title, cancel = _("New site for %(name)s", name=customer.name), url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        customers.add_site(current_user, customer, address=form.address.data or "",
                           latitude=form.latitude.data, longitude=form.longitude.data)

    return _form_view(form, title, cancel, save, _("Site saved."))


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_site(site_id: int) -> Any:
    site = customers.get_site_or_404(site_id)
    form = SiteForm(address=site.address)
    title, cancel = _("Edit site of %(name)s", name=site.customer.name), url_for("desk.customer", customer_id=site.customer_id)

    def save() -> None:
        customers.update_site(current_user, site, address=form.address.data or "",
                              latitude=form.latitude.data, longitude=form.longitude.data)

    return _form_view(form, title, cancel, save, _("Site saved."))


def _site_choices(customer: Customer) -> list[tuple[int, str]]:
    return [(s.id, s.address) for s in customer.sites if s.archived_at is None]


@bp.route("/customers/<int:customer_id>/equipment/new", methods=["GET", "POST"])
@allow(DESK)
@page_view
def new_equipment(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    form = EquipmentForm()
    form.site_id.choices = _site_choices(customer)
    title, cancel = _("New equipment for %(name)s", name=customer.name), url_for("desk.customer", customer_id=customer.id)
    if not form.site_id.choices:
        flash(_("Add a site first: equipment stands at one of the customer's sites."), "error")
        return redirect(url_for("desk.new_site", customer_id=customer.id))

    def save() -> None:
        customers.add_equipment(current_user, customer, customers.site_of(customer, form.site_id.data),
                                model=form.model.data or "", serial_number=form.serial_number.data or "",
                                warranty_until=form.warranty_until.data)

    return _form_view(form, title, cancel, save, _("Equipment saved."))


@bp.route("/equipment/<int:equipment_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_equipment(equipment_id: int) -> Any:
    item = customers.get_equipment_or_404(equipment_id)
    form = EquipmentForm(obj=item)
    form.site_id.choices = _site_choices(item.customer)
    title = _("Edit %(model)s %(serial)s", model=item.model, serial=item.serial_number)
    cancel = url_for("desk.customer", customer_id=item.customer_id)

    def save() -> None:
        customers.update_equipment(current_user, item, model=form.model.data, serial_number=form.serial_number.data,
                                   warranty_until=form.warranty_until.data, site_id=form.site_id.data)

    return _form_view(form, title, cancel, save, _("Equipment saved."))


@bp.route("/customers/<int:customer_id>/contracts/new", methods=["GET", "POST"])
@allow(DESK)
@page_view
def new_contract(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    form = ContractForm()
    form.equipment_ids.choices = [(e.id, f"{e.model} · {e.serial_number}") for e in customer.equipment
                                  if e.archived_at is None]
    title, cancel = _("New contract for %(name)s", name=customer.name), url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        customers.create_contract(current_user, customer, number=form.number.data or "",
                                  starts_on=form.starts_on.data, ends_on=form.ends_on.data,  # type: ignore[arg-type]
                                  equipment_ids=form.equipment_ids.data or [],
                                  covers_parts=bool(form.covers_parts.data), notes=form.notes.data)

    return _form_view(form, title, cancel, save, _("Contract saved."))
