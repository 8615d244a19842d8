"""Taking a call at the desk (the intake page): find or add the customer, pick or add the site and the
equipment, describe the problem, save.

One endpoint per action, so each does one thing: the page's buttons post to their own URL
(`formaction`, which works without JavaScript; htmx posts to the same URL and gets just the customer
panel back). POST /calls/new saves the call; a form that still names its action (`action=find`, `pick=`,
as the page did before the actions had their own URLs) is handed to that action's handler.

A customer, site or equipment added here is checked by the same services at once (a duplicate, a phone
that is no phone, an address that cannot be placed, a serial already registered) but kept in the form
(hidden fields `pc-`, `ps-`, `pe-`) and saved together with the call by "Save call": an intake that is
abandoned leaves nothing behind. The customer pages save them on their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from ..core.extensions import db
from ..core.i18n import _
from ..core.pages import form_errors, page_view
from ..core.security import DESK, allow
from ..core.timeutil import local_today
from ..forms import CallForm, NewCustomerForm, NewEquipmentForm, NewSiteForm
from ..models import Customer, Equipment, Site
from ..services import calls, customers, queues
from ..services.sites import add_site, site_of
from .blueprint import bp, is_htmx, search_term

NEW = -1  # the radio value of a site or equipment added in this form, not saved yet


# ----------------------------------------------------------------------------- what the form carries


@dataclass
class Pending:
    """The customer, site and equipment typed into this intake and not saved yet."""

    customer: dict[str, Any] | None = None  # name, phone, contact_name, confirm_duplicate
    site: dict[str, Any] | None = None  # address, latitude, longitude (+ distance_km, remote for show)
    equipment: dict[str, Any] | None = None  # model, serial_number, warranty_until

    @classmethod
    def from_form(cls) -> Pending:
        form = request.form
        pending = cls()
        if form.get("customer_id") == "new" and form.get("pc-name"):
            pending.customer = {"name": form.get("pc-name", ""), "phone": form.get("pc-phone", ""),
                                "contact_name": form.get("pc-contact_name") or None,
                                "confirm_duplicate": form.get("pc-confirm_duplicate") == "y"}
        if form.get("ps-address"):
            pending.site = {"address": form["ps-address"], "latitude": _float(form.get("ps-latitude")),
                            "longitude": _float(form.get("ps-longitude")),
                            "distance_km": _float(form.get("ps-distance_km")) or 0.0,
                            "remote": form.get("ps-remote") == "y",
                            # what the address was understood as (dispatch/geo/), for show
                            "place": form.get("ps-place") or None, "place_latin": form.get("ps-place_latin") or None,
                            "precision": form.get("ps-precision") or None}
        if form.get("pe-model") and form.get("pe-serial_number"):
            try:
                warranty = date.fromisoformat(form.get("pe-warranty_until") or "")
            except ValueError:
                warranty = None
            pending.equipment = {"model": form["pe-model"], "serial_number": form["pe-serial_number"],
                                 "warranty_until": warranty}
        return pending

    def customer_shown(self) -> Customer | None:
        """The new customer as the page shows it (never added to the session)."""
        if self.customer is None:
            return None
        return Customer(name=self.customer["name"], phone=self.customer["phone"],
                        contact_name=self.customer["contact_name"])

    def site_shown(self) -> Site | None:
        if self.site is None:
            return None
        return Site(id=NEW, address=self.site["address"], distance_km=self.site["distance_km"],
                    remote=self.site["remote"], place=self.site.get("place"),
                    place_latin=self.site.get("place_latin"), precision=self.site.get("precision"))

    def equipment_shown(self) -> Equipment | None:
        if self.equipment is None:
            return None
        return Equipment(id=NEW, model=self.equipment["model"], serial_number=self.equipment["serial_number"],
                         warranty_until=self.equipment["warranty_until"])


def _float(value: Any) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def _make(pending: Pending, customer: Customer | None, site_choice: int | None,
          equipment_choice: int | None) -> tuple[Customer | None, Site | None, Equipment | None]:
    """Create what the form added (through the services, in the caller's transaction) and resolve the
    choices: the customer, the chosen site and the chosen equipment (None: not listed)."""
    if pending.customer is not None:
        customer = customers.create_customer(current_user, **pending.customer)
        db.session.flush()
    site = None
    if site_choice == NEW and pending.site is not None and customer is not None:
        site = add_site(current_user, customer, address=pending.site["address"],
                                  latitude=pending.site["latitude"], longitude=pending.site["longitude"])
        db.session.flush()
    elif site_choice:
        site = site_of(customer, site_choice)
    equipment = None
    if equipment_choice == NEW and pending.equipment is not None and customer is not None:
        where = site if site is not None else (site_of(customer, site_choice) if site_choice else None)
        equipment = customers.add_equipment(current_user, customer, where, **pending.equipment)
    elif equipment_choice and equipment_choice > 0:
        equipment = customers.equipment_of(customer, equipment_choice)
    return customer, site, equipment


@contextmanager
def _trial() -> Iterator[None]:
    """Run the services on what was typed, then undo it all: the checks without the saving."""
    try:
        yield
    finally:
        db.session.rollback()


# ----------------------------------------------------------------------------- the page


def _equipment_default(form: CallForm, equipment: list[Equipment]) -> None:
    """One piece of equipment at the chosen site: that one. Several: the dispatcher chooses (nothing is
    picked for them). None at all: "not listed" is the only answer."""
    if form.equipment_id.data is not None:
        return
    if not equipment:
        form.equipment_id.data = 0
        return
    here = [e for e in equipment if e.site_id == form.site_id.data]
    if len(here) == 1:
        form.equipment_id.data = here[0].id


def _intake_context(form: CallForm, customer: Customer | None, pending: Pending | None = None,
                    **extra: Any) -> dict[str, Any]:
    pending = pending or Pending()
    shown = customer or pending.customer_shown()
    sites = [s for s in customer.sites if s.archived_at is None] if customer else []
    equipment = [e for e in customer.equipment if e.archived_at is None] if customer else []
    new_site, new_item = pending.site_shown(), pending.equipment_shown()
    if new_site is not None:
        sites = [*sites, new_site]
    if new_item is not None:
        new_item.site_id = form.site_id.data if form.site_id.data is not None else NEW
        equipment = [*equipment, new_item]
    today = local_today()
    previews: dict[int, calls.Categorisation] = {}
    open_calls: list[Any] = []
    if shown is not None:
        form.customer_id.data = str(customer.id) if customer else "new"
        if form.site_id.data is None and len(sites) == 1:
            form.site_id.data = sites[0].id
        _equipment_default(form, equipment)
        # What the call would be if saved today with this equipment (0: not listed), so the dispatcher can
        # say so; the line under the choices follows the one picked.
        previews = {e.id: calls.categorise(shown, e, today) for e in equipment}
        previews[0] = calls.categorise(shown, None, today)
        open_calls = calls.open_calls_of_customer(customer)
    extra.setdefault("new_customer", NewCustomerForm(prefix="nc", formdata=None))
    extra.setdefault("new_site", NewSiteForm(prefix="ns", formdata=None))
    extra.setdefault("new_equipment", NewEquipmentForm(prefix="ne", formdata=None))
    return {"form": form, "customer": shown, "customer_is_new": customer is None and shown is not None,
            "pending": pending, "sites": sites, "equipment": equipment, "today": today, "previews": previews,
            "open_calls": open_calls, "NEW": NEW, "problem_types": queues.common_problem_types(),
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
    return _panel(form, customer, pending=Pending.from_form(),
                  results=customers.find_customers(search_term(), 20), searched=True)


@bp.post("/calls/new/pick")
@allow(DESK)
def intake_pick() -> Any:
    """A match picked without JavaScript: the page with that customer's sites and equipment."""
    form = CallForm()
    form.site_id.data = None
    form.equipment_id.data = None
    return _panel(form, customers.pickable_customer(request.form.get("pick")), picked=True)


# ----------------------------------------------------------------------------- adding inline (kept in the form)


@bp.post("/calls/new/customers")
@allow(DESK)
def intake_add_customer() -> Any:
    """A new customer, checked (phone, possible duplicates) and kept in the form until "Save call"."""
    form = CallForm()
    new_customer = NewCustomerForm(prefix="nc")
    messages: list[str] = []
    duplicates: list[Customer] = []
    if new_customer.validate():
        data = {"name": new_customer.name.data or "", "phone": new_customer.phone.data or "",
                "contact_name": new_customer.contact_name.data,
                "confirm_duplicate": bool(new_customer.confirm_duplicate.data)}
        checked = False
        with _trial(), form_errors(new_customer) as messages:
            customers.create_customer(current_user, **data)
            checked = True
        if checked:  # shown after the trial is undone
            form.site_id.data = None
            form.equipment_id.data = None
            return _panel(form, None, pending=Pending(customer=data), picked=True)
        duplicates = customers.possible_duplicates(data["name"], data["phone"])
    return _panel(form, None, _refused(messages), new_customer=new_customer, messages=messages,
                  duplicates=duplicates)


def _refused(messages: Any) -> int:
    """The status of an inline "add" that was refused: the domain error's (409 for a duplicate), else 422."""
    status = getattr(messages, "status", 200)
    return status if status >= 400 else 422


def _customer_and_pending() -> tuple[Customer | None, Pending]:
    pending = Pending.from_form()
    customer = customers.pickable_customer(request.form.get("customer_id"))
    if customer is not None:
        pending.customer = None
    return customer, pending


@bp.post("/calls/new/sites")
@allow(DESK)
def intake_add_site() -> Any:
    """A new site, placed on the map now (so the page shows where it is) and saved with the call."""
    form = CallForm()
    customer, pending = _customer_and_pending()
    if customer is None and pending.customer is None:
        return _panel(form, None)
    new_site = NewSiteForm(prefix="ns")
    messages: list[str] = []
    if new_site.validate():
        data = {"address": new_site.address.data or "", "latitude": new_site.latitude.data,
                "longitude": new_site.longitude.data}
        placed: dict[str, Any] | None = None
        with _trial(), form_errors(new_site) as messages:
            owner = customer or customers.create_customer(current_user, **{**(pending.customer or {}),
                                                                           "confirm_duplicate": True})
            site = add_site(current_user, owner, **data)
            placed = {**data, "distance_km": site.distance_km, "remote": site.remote, "place": site.place,
                      "place_latin": site.place_latin, "precision": site.precision}
        if placed is not None:
            pending.site = placed
            form.site_id.data = NEW
            form.equipment_id.data = None
            return _panel(form, customers.pickable_customer(request.form.get("customer_id")), pending=pending)
    customer = customers.pickable_customer(request.form.get("customer_id"))
    return _panel(form, customer, _refused(messages), pending=pending, new_site=new_site, open_site=True, messages=messages)


@bp.post("/calls/new/equipment")
@allow(DESK)
def intake_add_equipment() -> Any:
    """New equipment at the chosen site, checked (serial number) and saved with the call."""
    form = CallForm()
    customer, pending = _customer_and_pending()
    if customer is None and pending.customer is None:
        return _panel(form, None)
    new_equipment = NewEquipmentForm(prefix="ne")
    messages: list[str] = []
    if new_equipment.validate():
        data = {"model": new_equipment.model.data or "", "serial_number": new_equipment.serial_number.data or "",
                "warranty_until": new_equipment.warranty_until.data}
        # The site is the one picked on the call form: a missing one is marked there.
        checked = False
        with _trial(), form_errors(new_equipment, form) as messages:
            trial = Pending(customer={**pending.customer, "confirm_duplicate": True} if pending.customer else None,
                            site=pending.site, equipment=data)
            _make(trial, customer, form.site_id.data, NEW)
            checked = True
        if checked:
            pending.equipment = data
            form.equipment_id.data = NEW
            return _panel(form, customers.pickable_customer(request.form.get("customer_id")), pending=pending)
    customer = customers.pickable_customer(request.form.get("customer_id"))
    return _panel(form, customer, _refused(messages), pending=pending, new_equipment=new_equipment, open_equipment=True,
                  messages=messages)


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
    customer, pending = _customer_and_pending()
    extra: dict[str, Any] = {}
    valid = form.validate()
    if customer is None and pending.customer is None:
        extra["customer_error"] = _("Find and pick the customer first (or add a new one).")
        valid = False
    chosen_site = form.site_id.data
    if (customer or pending.customer) is not None and not (
            (chosen_site == NEW and pending.site is not None) or site_of(customer, chosen_site)):
        form.site_id.errors = [*list(form.site_id.errors or []), _("Pick the site (or add one).")]
        valid = False
    chosen = form.equipment_id.data
    has_equipment = bool(customer and any(e.archived_at is None for e in customer.equipment)) or (
        pending.equipment is not None)
    if (customer or pending.customer) is not None:
        if chosen is None and has_equipment:
            form.equipment_id.errors = [*list(form.equipment_id.errors or []),
                                        _("Pick the equipment the call is about, or “not listed”.")]
            valid = False
        elif chosen and not ((chosen == NEW and pending.equipment is not None)
                             or customers.equipment_of(customer, chosen)):
            form.equipment_id.errors = [*list(form.equipment_id.errors or []), _("Pick this customer's equipment.")]
            valid = False
    if not valid:
        extra["messages"] = [_("The call is not saved yet: see the marked fields.")]
    else:
        with form_errors(form, aliases={"address": "site_id", "serial_number": "equipment_id",
                                        "phone": "customer_id", "name": "customer_id"}) as messages:
            made_customer, site, equipment = _make(pending, customer, chosen_site, chosen)
            assert made_customer is not None and site is not None
            call = calls.create_call(current_user, customer=made_customer, site=site, equipment=equipment,
                                     channel=form.channel.data or "", problem_type=form.problem_type.data or "",
                                     priority=form.priority.data or "", description=form.description.data or "",
                                     on_site=bool(form.on_site.data),
                                     required_skill=(form.required_skill.data or "").lower() or None)
            flash(_("Call %(number)s saved.", number=call.number), "success")
            return redirect(url_for("desk.call", call_id=call.id))
        extra["messages"] = messages
        customer = customers.pickable_customer(request.form.get("customer_id"))
    return render_template("dispatch/new_call.html", **_intake_context(form, customer, pending, **extra)), 422
