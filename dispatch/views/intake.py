"""Taking a call at the desk (the intake page): find or add the customer, pick or add the site and the
equipment, describe the problem, save.

One endpoint per action, so each does one thing: the page's buttons post to their own URL
(`formaction`, which works without JavaScript; htmx posts to the same URL and gets just the customer
panel back). POST /calls/new saves the call; a form that still names its action (`action=find`, `pick=`,
as the page did before the actions had their own URLs) is handed to that action's handler.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.i18n import _
from ..core.pages import form_errors, page_view
from ..core.security import DESK, allow
from ..core.timeutil import local_today
from ..forms import CallForm, NewCustomerForm, NewEquipmentForm, NewSiteForm
from ..models import Customer
from ..services import calls, customers, queues
from .blueprint import bp, is_htmx, search_term


def _intake_context(form: CallForm, customer: Customer | None, **extra: Any) -> dict[str, Any]:
    sites = [s for s in customer.sites if s.archived_at is None] if customer else []
    equipment = [e for e in customer.equipment if e.archived_at is None] if customer else []
    today = local_today()
    previews: dict[int, calls.Categorisation] = {}
    if customer is not None:
        form.customer_id.data = str(customer.id)
        if form.site_id.data is None and sites:
            form.site_id.data = sites[0].id
        # What the call would be if saved today with this equipment (0: none), so the dispatcher can say so.
        previews = {e.id: calls.categorise(customer, e, today) for e in equipment}
        previews[0] = calls.categorise(customer, None, today)
    extra.setdefault("new_customer", NewCustomerForm(prefix="nc", formdata=None))
    extra.setdefault("new_site", NewSiteForm(prefix="ns", formdata=None))
    extra.setdefault("new_equipment", NewEquipmentForm(prefix="ne", formdata=None))
    return {"form": form, "customer": customer, "sites": sites, "equipment": equipment,
            "today": today, "previews": previews, "problem_types": queues.common_problem_types(),
            "skills": queues.technician_skills(), **extra}


def _panel(form: CallForm, customer: Customer | None, status: int = 200, **extra: Any) -> Any:
    """An intake action's answer: the customer panel for htmx, else the whole page."""
    template = "dispatch/_intake_customer.html" if is_htmx() else "dispatch/new_call.html"
    return render_template(template, **_intake_context(form, customer, **extra)), status


# ----------------------------------------------------------------------------- reading


@bp.get("/calls/new")
@allow(DESK)
def new_call() -> Any:
    customer = customers.pickable_customer(request.args.get("customer_id"))
    return render_template("dispatch/new_call.html", **_intake_context(CallForm(), customer))


@bp.get("/calls/new/customers")
@allow(DESK)
def customer_search() -> Any:
    """Customers matching what has been typed so far (an HTML fragment for the intake page)."""
    q = search_term()
    results = customers.find_customers(q, 8) if len(q) >= 2 else []
    return render_template("dispatch/_customer_results.html", results=results, q=q, searched=len(q) >= 2)


@bp.get("/calls/new/customer")
@allow(DESK)
def intake_customer() -> Any:
    """The picked customer's sites and equipment (an HTML fragment for the intake page)."""
    customer = customers.pickable_customer(request.args.get("customer_id"))
    if request.args.get("customer_id") and customer is None:
        abort(404)
    form = CallForm(formdata=None)
    return render_template("dispatch/_intake_customer.html", **_intake_context(form, customer, picked=True))


@bp.post("/calls/new/find")
@allow(DESK)
def intake_find() -> Any:
    """"Find" without JavaScript: the page again, with the matches and what was typed so far."""
    form = CallForm()
    customer = customers.pickable_customer(form.customer_id.data)
    return _panel(form, customer, results=customers.find_customers(search_term(), 20), searched=True)


@bp.post("/calls/new/pick")
@allow(DESK)
def intake_pick() -> Any:
    """A match picked without JavaScript: the page with that customer's sites and equipment."""
    form = CallForm()
    form.site_id.data = None
    form.equipment_id.data = None
    return _panel(form, customers.pickable_customer(request.form.get("pick")), picked=True)


# ----------------------------------------------------------------------------- adding inline


@bp.post("/calls/new/customers")
@allow(DESK)
@page_view
def intake_add_customer() -> Any:
    form = CallForm()
    new_customer = NewCustomerForm(prefix="nc")
    if new_customer.validate():
        with form_errors(new_customer) as messages:
            customer = customers.create_customer(current_user, name=new_customer.name.data or "",
                                                 phone=new_customer.phone.data or "",
                                                 contact_name=new_customer.contact_name.data)
            form.site_id.data = None
            return _panel(form, customer, picked=True)
        return _panel(form, None, 422, new_customer=new_customer, messages=messages)
    return _panel(form, customers.pickable_customer(form.customer_id.data), 422, new_customer=new_customer)


@bp.post("/calls/new/sites")
@allow(DESK)
@page_view
def intake_add_site() -> Any:
    form = CallForm()
    customer = customers.pickable_customer(form.customer_id.data)
    if customer is None:
        return _panel(form, None)
    new_site = NewSiteForm(prefix="ns")
    messages: list[str] = []
    if new_site.validate():
        with form_errors(new_site) as messages:
            site = customers.add_site(current_user, customer, address=new_site.address.data or "",
                                      latitude=new_site.latitude.data, longitude=new_site.longitude.data)
            form.site_id.data = site.id
            return _panel(form, customer)
    return _panel(form, customer, 422, new_site=new_site, open_site=True, messages=messages)


@bp.post("/calls/new/equipment")
@allow(DESK)
@page_view
def intake_add_equipment() -> Any:
    form = CallForm()
    customer = customers.pickable_customer(form.customer_id.data)
    if customer is None:
        return _panel(form, None)
    new_equipment = NewEquipmentForm(prefix="ne")
    messages: list[str] = []
    if new_equipment.validate():
        # The site is the one picked on the call form: a missing one is marked there.
        with form_errors(new_equipment, form) as messages:
            item = customers.add_equipment(current_user, customer, customers.site_of(customer, form.site_id.data),
                                           model=new_equipment.model.data or "",
                                           serial_number=new_equipment.serial_number.data or "",
                                           warranty_until=new_equipment.warranty_until.data)
            form.equipment_id.data = item.id
            return _panel(form, customer)
    return _panel(form, customer, 422, new_equipment=new_equipment, open_equipment=True, messages=messages)


# ----------------------------------------------------------------------------- saving


def _older_action() -> Callable[[], Any] | None:
    """The handler a form posted to /calls/new names with `action=` or `pick=` (see the docstring)."""
    if request.form.get("pick"):
        return intake_pick
    return {"find": intake_find, "add_customer": intake_add_customer, "add_site": intake_add_site,
            "add_equipment": intake_add_equipment}.get(request.form.get("action", "save"))


@bp.post("/calls/new")
@allow(DESK)
@page_view
def save_call() -> Any:
    action = _older_action()
    if action is not None:
        return action()
    form = CallForm()
    customer = customers.pickable_customer(form.customer_id.data)
    extra: dict[str, Any] = {}
    valid = form.validate()
    if customer is None:
        extra["customer_error"] = _("Find and pick the customer first (or add a new one).")
        valid = False
    site = customers.site_of(customer, form.site_id.data)
    if customer is not None and site is None:
        form.site_id.errors = [*list(form.site_id.errors or []), _("Pick the site (or add one).")]
        valid = False
    equipment = customers.equipment_of(customer, form.equipment_id.data)
    if customer is not None and form.equipment_id.data and equipment is None:
        form.equipment_id.errors = [*list(form.equipment_id.errors or []), _("Pick this customer's equipment.")]
        valid = False
    if not valid:
        extra["messages"] = [_("The call is not saved yet: see the marked fields.")]
    else:
        assert customer is not None and site is not None
        with form_errors(form) as messages:
            call = calls.create_call(current_user, customer=customer, site=site, equipment=equipment,
                                     channel=form.channel.data or "", problem_type=form.problem_type.data or "",
                                     priority=form.priority.data or "", description=form.description.data or "",
                                     on_site=bool(form.on_site.data),
                                     required_skill=(form.required_skill.data or "").lower() or None)
            flash(_("Call %(number)s saved.", number=call.number), "success")
            return redirect(url_for("desk.call", call_id=call.id))
        extra["messages"] = messages
    return render_template("dispatch/new_call.html", **_intake_context(form, customer, **extra)), 422
