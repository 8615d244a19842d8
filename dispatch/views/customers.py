"""The desk's customer pages: the list, one customer, and the edit pages for them and what they own.

The edit pages share one shape (`_form_view`): a valid form goes to one service call, `page_view`
commits, and the page goes back to the customer; a domain error goes onto the form's fields (422).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from markupsafe import Markup

from ..core.apiutil import paginate
from ..core.errors import DomainError
from ..core.i18n import _
from ..core.pages import form_errors, page_view
from ..core.security import DESK, allow
from ..core.timeutil import local_today
from ..forms import ContractForm, CustomerForm, EquipmentForm, SiteForm, SitePlaceForm
from ..geo.distance import distance_from_centre_km, format_km, site_place
from ..models import Customer, Site
from ..services import calls, contracts, customers, sites
from .blueprint import bp, search_term


@bp.get("/customers", endpoint="customers")
@allow(DESK)
def customer_list() -> Any:
    q = search_term()
    page = paginate(customers.search_customers(q or None), Customer.id, lambda c: c)
    next_url = url_for("desk.customers", q=q or None, cursor=page["next"]) if page["next"] else None
    return render_template("dispatch/customers.html", customers=page["items"], q=q, next_url=next_url)


CustomerPanel = Callable[[Customer], "Markup | str | None"]


def register_customer_panel(app: Flask, panel: CustomerPanel) -> None:
    """The factory lends the customer page a panel of another package (the service file of carried-back
    items): a callable (customer) -> HTML fragment, or None/"" when it has nothing to show."""
    app.extensions.setdefault("dispatch.customer_panels", []).append(panel)


def customer_panels(customer: Customer) -> list[Markup]:
    panels: list[CustomerPanel] = current_app.extensions.get("dispatch.customer_panels", [])
    return [Markup(html) for panel in panels if (html := panel(customer))]


@bp.get("/customers/<int:customer_id>")
@allow(DESK)
def customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    return render_template("dispatch/customer.html", customer=customer, calls=calls.calls_of_customer(customer),
                           today=local_today(), panels=customer_panels(customer))


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
    """A customer on their own. One whose name or phone is already on file is shown with a link to the one
    on file, and saved only when the desk ticks "a different customer"."""
    form = CustomerForm()
    cancel = url_for("desk.customers")
    title = _("New customer")
    if form.validate_on_submit():
        with form_errors(form) as messages:
            customer = customers.create_customer(current_user, name=form.name.data or "",
                                                 phone=form.phone.data or "", contact_name=form.contact_name.data,
                                                 email=form.email.data, notes=form.notes.data,
                                                 confirm_duplicate=bool(form.confirm_duplicate.data))
            flash(_("Customer %(name)s saved.", name=form.name.data), "success")
            return redirect(url_for("desk.customer", customer_id=customer.id))
        duplicates = customers.possible_duplicates(form.name.data, form.phone.data)
        return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, messages=messages,
                               submit=_("Save"), duplicates=duplicates), messages.status or 422
    return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, submit=_("Save")), \
        422 if form.errors else 200


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_customer(customer_id: int) -> Any:
    customer = customers.get_customer_or_404(customer_id)
    form = CustomerForm(obj=customer)
    del form.confirm_duplicate  # only a new customer can be a duplicate
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
        sites.add_site(current_user, customer, address=form.address.data or "",
                           latitude=form.latitude.data, longitude=form.longitude.data)

    return _form_view(form, title, cancel, save, _("Site saved."))


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@allow(DESK)
@page_view
def edit_site(site_id: int) -> Any:
    """The site's page: its address, what it was understood as, and the corrections of its position."""
    site = sites.get_site_or_404(site_id)
    form = SiteForm(address=site.address)
    if form.validate_on_submit():
        with form_errors(form) as messages:
            sites.update_site(current_user, site, address=form.address.data or "",
                                  latitude=form.latitude.data, longitude=form.longitude.data)
            flash(_("Site saved."), "success")
            return redirect(url_for("desk.edit_site", site_id=site.id))
        return _site_page(site, form=form, messages=messages, status=422)
    return _site_page(site, form=form, status=422 if form.errors else 200)


@bp.post("/sites/<int:site_id>/place")
@allow(DESK)
@page_view
def place_site(site_id: int) -> Any:
    """Correct the position: pick one of the places the address may mean, or type coordinates."""
    site = sites.get_site_or_404(site_id)
    place_form = SitePlaceForm()
    if place_form.validate_on_submit():
        with form_errors(place_form) as messages:
            sites.place_site(current_user, site, code=place_form.code.data,
                                 latitude=place_form.latitude.data, longitude=place_form.longitude.data)
            flash(_("Position corrected: %(place)s", place=site_place(site)), "success")
            return redirect(url_for("desk.edit_site", site_id=site.id))
        return _site_page(site, place_form=place_form, messages=messages, status=422)
    return _site_page(site, place_form=place_form, status=422)


def _site_page(site: Site, *, form: SiteForm | None = None, place_form: SitePlaceForm | None = None,
               messages: Any = None, status: int = 200) -> Any:
    # The readings of the address (from the geocode cache: looked up once); none when it is not found.
    try:
        candidates = sites.site_candidates(site)
    except DomainError:
        candidates = []
    return render_template("dispatch/site.html", site=site, form=form or SiteForm(formdata=None, address=site.address),
                           place_form=place_form or SitePlaceForm(formdata=None), candidates=candidates,
                           messages=messages,
                           km={c.code: format_km(distance_from_centre_km(c.latitude, c.longitude))
                               for c in candidates}), status


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
        customers.add_equipment(current_user, customer, sites.site_of(customer, form.site_id.data),
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
        contracts.create_contract(current_user, customer, number=form.number.data or "",
                                  starts_on=form.starts_on.data, ends_on=form.ends_on.data,  # type: ignore[arg-type]
                                  equipment_ids=form.equipment_ids.data or [],
                                  covers_parts=bool(form.covers_parts.data), notes=form.notes.data,
                                  fee=form.fee.data, billing_period=form.billing_period.data)

    return _form_view(form, title, cancel, save, _("Contract saved."))
