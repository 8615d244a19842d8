"""The desk's pages: calls, customers and their sites, equipment and contracts.

Each handler parses a form, calls one service, commits once and redirects or renders. A DomainError
rolls the request back and puts its field messages next to the fields (422), keeping what was typed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from . import services
from .core.apiutil import paginate
from .core.errors import DomainError
from .core.extensions import db
from .core.security import DESK, MANAGERS, allow
from .core.timeutil import local_today, parse_datetime
from .forms import (
    CallFilterForm,
    CallForm,
    ContractForm,
    CustomerForm,
    EquipmentForm,
    FeedbackForm,
    NewCustomerForm,
    NewEquipmentForm,
    NewSiteForm,
    NoteForm,
    OverrideForm,
    SiteForm,
)
from .models import CallStatus, Customer, Equipment, RepairCall, Site

bp = Blueprint("desk", __name__)

INTAKE_ACTIONS = {"save", "find", "pick", "add_customer", "add_site", "add_equipment"}


# ----------------------------------------------------------------------------- helpers


def _show_errors(exc: DomainError, *forms: FlaskForm, aliases: dict[str, str] | None = None) -> list[str]:
    """Put a domain error's field messages on the matching form fields; what matches none is returned
    for the top of the form. The transaction is rolled back: nothing is half-saved."""
    db.session.rollback()
    loose = []
    for name, message in (exc.fields or {}).items():
        name = (aliases or {}).get(name, name)
        for form in forms:
            if name in form._fields:
                field = form._fields[name]
                field.errors = [*list(field.errors or []), message]
                break
        else:
            loose.append(f"{name}: {message}")
    return [exc.message, *loose]


MAX_ID = 2**31 - 1  # the id columns' range: anything past it is simply unknown


def _customer(customer_id: Any) -> Customer | None:
    try:
        cid = int(customer_id)
    except (TypeError, ValueError):
        return None
    if not 1 <= cid <= MAX_ID:
        return None
    customer = db.session.get(Customer, cid)
    return customer if customer is not None and customer.archived_at is None else None


def _owned(model: Any, object_id: Any, customer: Customer | None) -> Any:
    if customer is None or not object_id:
        return None
    obj = db.session.get(model, object_id) if isinstance(object_id, int) and 1 <= object_id <= MAX_ID else None
    return obj if obj is not None and obj.customer_id == customer.id else None


def _is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


# ----------------------------------------------------------------------------- desk home


@bp.get("/")
@allow(DESK)
def home() -> Any:
    return render_template("dispatch/home.html", queues=services.desk_queues())


# ----------------------------------------------------------------------------- call intake


def _intake_context(form: CallForm, customer: Customer | None, **extra: Any) -> dict[str, Any]:
    sites = [s for s in customer.sites if s.archived_at is None] if customer else []
    equipment = [e for e in customer.equipment if e.archived_at is None] if customer else []
    today = local_today()
    previews: dict[int, services.Categorisation] = {}
    if customer is not None:
        form.customer_id.data = str(customer.id)
        if form.site_id.data is None and sites:
            form.site_id.data = sites[0].id
        # What the call would be if saved today with this equipment (0: none), so the dispatcher can say so.
        previews = {e.id: services.categorise(customer, e, today) for e in equipment}
        previews[0] = services.categorise(customer, None, today)
    extra.setdefault("new_customer", NewCustomerForm(prefix="nc", formdata=None))
    extra.setdefault("new_site", NewSiteForm(prefix="ns", formdata=None))
    extra.setdefault("new_equipment", NewEquipmentForm(prefix="ne", formdata=None))
    return {"form": form, "customer": customer, "sites": sites, "equipment": equipment,
            "today": today, "previews": previews, "problem_types": services.common_problem_types(),
            "skills": services.technician_skills(), **extra}


@bp.get("/calls/new/customers")
@allow(DESK)
def customer_search() -> Any:
    """Customers matching what has been typed so far (an HTML fragment for the intake page)."""
    q = (request.args.get("q") or "").strip()[:200]
    results = list(db.session.scalars(services.search_customers(q).order_by(Customer.name).limit(8))) \
        if len(q) >= 2 else []
    return render_template("dispatch/_customer_results.html", results=results, q=q, searched=len(q) >= 2)


@bp.get("/calls/new/customer")
@allow(DESK)
def intake_customer() -> Any:
    """The picked customer's sites and equipment (an HTML fragment for the intake page)."""
    customer = _customer(request.args.get("customer_id"))
    if request.args.get("customer_id") and customer is None:
        abort(404)
    form = CallForm(formdata=None)
    return render_template("dispatch/_intake_customer.html", **_intake_context(form, customer, picked=True))


@bp.route("/calls/new", methods=["GET", "POST"])
@allow(DESK)
def new_call() -> Any:
    form = CallForm()
    if request.method == "GET":
        customer = _customer(request.args.get("customer_id"))
        return render_template("dispatch/new_call.html", **_intake_context(form, customer))

    action = "pick" if request.form.get("pick") else request.form.get("action", "save")
    if action not in INTAKE_ACTIONS:
        action = "save"
    customer = _customer(request.form.get("pick") if action == "pick" else form.customer_id.data)
    extra: dict[str, Any] = {}
    status = 200
    if action == "pick":
        form.site_id.data = None
        form.equipment_id.data = None
        extra["picked"] = True
    elif action == "find":
        q = (request.form.get("q") or "").strip()[:200]
        extra["results"] = list(db.session.scalars(services.search_customers(q).order_by(Customer.name).limit(20)))
        extra["searched"] = True
    elif action == "add_customer":
        new_customer = extra["new_customer"] = NewCustomerForm(prefix="nc")
        if new_customer.validate():
            try:
                customer = services.create_customer(current_user, name=new_customer.name.data or "",
                                                    phone=new_customer.phone.data or "",
                                                    contact_name=new_customer.contact_name.data)
                db.session.commit()
                del extra["new_customer"]
                form.site_id.data = None
                extra["picked"] = True
            except DomainError as exc:
                extra["messages"] = _show_errors(exc, new_customer)
                customer = None
        if "new_customer" in extra:
            status = 422
    elif action == "add_site" and customer is not None:
        new_site = extra["new_site"] = NewSiteForm(prefix="ns")
        if new_site.validate():
            try:
                site = services.add_site(current_user, customer, address=new_site.address.data or "",
                                         latitude=new_site.latitude.data, longitude=new_site.longitude.data)
                db.session.commit()
                form.site_id.data = site.id
                del extra["new_site"]
            except DomainError as exc:
                extra["messages"] = _show_errors(exc, new_site)
                customer = _customer(form.customer_id.data)
        if "new_site" in extra:
            status, extra["open_site"] = 422, True
    elif action == "add_equipment" and customer is not None:
        new_equipment = extra["new_equipment"] = NewEquipmentForm(prefix="ne")
        site = _owned(Site, form.site_id.data, customer)
        if site is None:
            new_equipment.model.errors = ["Pick (or add) the site where it stands first."]
        elif new_equipment.validate():
            try:
                item = services.add_equipment(current_user, customer, site, model=new_equipment.model.data or "",
                                              serial_number=new_equipment.serial_number.data or "",
                                              warranty_until=new_equipment.warranty_until.data)
                db.session.commit()
                form.equipment_id.data = item.id
                del extra["new_equipment"]
            except DomainError as exc:
                extra["messages"] = _show_errors(exc, new_equipment)
                customer = _customer(form.customer_id.data)
        if "new_equipment" in extra:
            status, extra["open_equipment"] = 422, True
    elif action == "save":
        response = _save_call(form, customer, extra)
        if response is not None:
            return response
        customer = _customer(form.customer_id.data)
        status = 422
    if _is_htmx() and action != "save":
        return render_template("dispatch/_intake_customer.html",
                               **_intake_context(form, customer, **extra)), status
    return render_template("dispatch/new_call.html", **_intake_context(form, customer, **extra)), status


def _save_call(form: CallForm, customer: Customer | None, extra: dict[str, Any]) -> Any:
    valid = form.validate()
    if customer is None:
        extra["customer_error"] = "Find and pick the customer first (or add a new one)."
        valid = False
    site = _owned(Site, form.site_id.data, customer)
    if customer is not None and site is None:
        form.site_id.errors = [*list(form.site_id.errors or []), "Pick the site (or add one)."]
        valid = False
    equipment = _owned(Equipment, form.equipment_id.data, customer)
    if customer is not None and form.equipment_id.data and equipment is None:
        form.equipment_id.errors = [*list(form.equipment_id.errors or []), "Pick this customer's equipment."]
        valid = False
    if not valid:
        extra["messages"] = ["The call is not saved yet: see the marked fields."]
        return None
    assert customer is not None and site is not None
    try:
        call = services.create_call(current_user, customer=customer, site=site, equipment=equipment,
                                    channel=form.channel.data or "", problem_type=form.problem_type.data or "",
                                    priority=form.priority.data or "", description=form.description.data or "",
                                    on_site=bool(form.on_site.data),
                                    required_skill=(form.required_skill.data or "").lower() or None)
        db.session.commit()
    except DomainError as exc:
        extra["messages"] = _show_errors(exc, form)
        return None
    flash(f"Call {call.number} saved.", "success")
    return redirect(url_for("desk.call", call_id=call.id))


# ----------------------------------------------------------------------------- calls


STATUS_FILTERS = [("", "Any status"), ("open", "Open"), *[(s.value, s.value.replace("_", " ").capitalize())
                                                          for s in CallStatus]]


@bp.get("/calls")
@allow(DESK)
def calls() -> Any:
    filters = CallFilterForm(request.args)
    filters.status.choices = STATUS_FILTERS
    status = request.args.get("status") or None
    category = request.args.get("category") or None
    priority = request.args.get("priority") or None
    if status not in {None, *(v for v, _ in STATUS_FILTERS)}:
        status = None
    if category not in {None, "charged", "contract", "free"}:
        category = None
    if priority not in {None, "urgent", "high", "normal", "low"}:
        priority = None
    q = (request.args.get("q") or "").strip()[:200] or None
    overdue = request.args.get("overdue") in ("1", "y", "true", "on")
    stmt = services.calls_query(status=status, category=category, priority=priority, q=q, overdue=overdue)
    page = paginate(stmt, RepairCall.id, lambda call: call)
    next_url = None
    if page["next"]:
        args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "cursor"}
        next_url = url_for("desk.calls", **args, cursor=page["next"])
    return render_template("dispatch/calls.html", calls=page["items"], filters=filters, next_url=next_url)


def _call_or_404(call_id: int) -> RepairCall:
    call: RepairCall = services.get_or_404(RepairCall, call_id, "call")
    return call


def _call_page(call: RepairCall, status: int = 200, **forms: Any) -> Any:
    note_form = forms.pop("note_form", None) or NoteForm(formdata=None)
    override_form = forms.pop("override_form", None) or OverrideForm(formdata=None, category=call.category)
    feedback_form = forms.pop("feedback_form", None) or FeedbackForm(formdata=None)
    return render_template(
        "dispatch/call.html", call=call, timeline=services.call_timeline(call), note_form=note_form,
        override_form=override_form, feedback_form=feedback_form,
        may_override=current_user.role in MANAGERS and call.status not in (CallStatus.CLOSED, CallStatus.CANCELLED),
        has_suggestions="board.call_suggestions" in current_app.view_functions,
        **forms), status


@bp.get("/calls/<int:call_id>")
@allow(DESK)
def call(call_id: int) -> Any:
    return _call_page(_call_or_404(call_id))


@bp.post("/calls/<int:call_id>/notes")
@allow(DESK)
def add_note(call_id: int) -> Any:
    call = _call_or_404(call_id)
    form = NoteForm()
    if form.validate_on_submit():
        follow_up = form.next_follow_up.data
        if follow_up is not None:  # typed in local time
            follow_up = parse_datetime(follow_up, "next_follow_up")
        try:
            services.add_note(current_user, call, channel=form.channel.data or "", text=form.text.data or "",
                              next_follow_up=follow_up)
            db.session.commit()
            flash("Note added to the communication log.", "success")
            return redirect(url_for("desk.call", call_id=call.id, _anchor="log"))
        except DomainError as exc:
            _show_errors(exc, form)
            call = _call_or_404(call_id)
    return _call_page(call, 422, note_form=form)


@bp.post("/calls/<int:call_id>/category")
@allow(MANAGERS)
def override_category(call_id: int) -> Any:
    call = _call_or_404(call_id)
    form = OverrideForm()
    if form.validate_on_submit():
        try:
            services.override_category(current_user, call, form.category.data or "", form.reason.data or "")
            db.session.commit()
            flash("Category changed; the reason is in the timeline.", "success")
            return redirect(url_for("desk.call", call_id=call.id))
        except DomainError as exc:
            if exc.status == 403:
                raise
            _show_errors(exc, form)
            call = _call_or_404(call_id)
    return _call_page(call, 422, override_form=form)


@bp.post("/calls/<int:call_id>/feedback")
@allow(DESK)
def feedback(call_id: int) -> Any:
    call = _call_or_404(call_id)
    form = FeedbackForm()
    if form.validate_on_submit():
        try:
            services.record_feedback(current_user, call, rating=form.rating.data or 0, comment=form.comment.data)
            db.session.commit()
            flash("Feedback recorded.", "success")
            return redirect(url_for("desk.call", call_id=call.id))
        except DomainError as exc:
            _show_errors(exc, form)
            call = _call_or_404(call_id)
    return _call_page(call, 422, feedback_form=form)


# ----------------------------------------------------------------------------- customers


@bp.get("/customers")
@allow(DESK)
def customers() -> Any:
    q = (request.args.get("q") or "").strip()[:200]
    page = paginate(services.search_customers(q or None), Customer.id, lambda c: c)
    next_url = url_for("desk.customers", q=q or None, cursor=page["next"]) if page["next"] else None
    return render_template("dispatch/customers.html", customers=page["items"], q=q, next_url=next_url)


def _customer_or_404(customer_id: int) -> Customer:
    customer: Customer = services.get_or_404(Customer, customer_id, "customer")
    return customer


@bp.get("/customers/<int:customer_id>")
@allow(DESK)
def customer(customer_id: int) -> Any:
    customer = _customer_or_404(customer_id)
    calls = list(db.session.scalars(services.calls_query(customer_id=customer.id)
                                    .order_by(RepairCall.received_at.desc(), RepairCall.id.desc())))
    return render_template("dispatch/customer.html", customer=customer, calls=calls, today=local_today())


def _form_page(form: FlaskForm, title: str, cancel: str, status: int = 200, messages: Any = None,
               submit: str = "Save") -> Any:
    return render_template("dispatch/form.html", form=form, title=title, cancel=cancel, messages=messages,
                           submit=submit), status


def _form_view(form: FlaskForm, title: str, cancel: str, save: Callable[[], str | None], saved: str) -> Any:
    """The one shape of the desk's edit pages: a valid form goes to one service call, one commit, then back
    to `cancel` (or where `save` says); a domain error goes back onto the form's fields, nothing saved."""
    if form.validate_on_submit():
        try:
            target = save()
            db.session.commit()
        except DomainError as exc:
            return _form_page(form, title, cancel, 422, _show_errors(exc, form))
        flash(saved, "success")
        return redirect(target or cancel)
    return _form_page(form, title, cancel, 422 if form.errors else 200)


@bp.route("/customers/new", methods=["GET", "POST"])
@allow(DESK)
def new_customer() -> Any:
    form = CustomerForm()
    cancel = url_for("desk.customers")

    def save() -> str:
        customer = services.create_customer(current_user, name=form.name.data or "", phone=form.phone.data or "",
                                            contact_name=form.contact_name.data, email=form.email.data,
                                            notes=form.notes.data)
        db.session.flush()
        return url_for("desk.customer", customer_id=customer.id)

    return _form_view(form, "New customer", cancel, save, f"Customer {form.name.data} saved.")


@bp.route("/customers/<int:customer_id>/edit", methods=["GET", "POST"])
@allow(DESK)
def edit_customer(customer_id: int) -> Any:
    customer = _customer_or_404(customer_id)
    form = CustomerForm(obj=customer)
    title, cancel = f"Edit {customer.name}", url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        services.update_customer(current_user, customer, name=form.name.data, phone=form.phone.data,
                                 contact_name=form.contact_name.data, email=form.email.data,
                                 notes=form.notes.data)

    return _form_view(form, title, cancel, save, "Customer saved.")


@bp.route("/customers/<int:customer_id>/sites/new", methods=["GET", "POST"])
@allow(DESK)
def new_site(customer_id: int) -> Any:
    customer = _customer_or_404(customer_id)
    form = SiteForm()
    title, cancel = f"New site for {customer.name}", url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        services.add_site(current_user, customer, address=form.address.data or "",
                          latitude=form.latitude.data, longitude=form.longitude.data)

    return _form_view(form, title, cancel, save, "Site saved.")


@bp.route("/sites/<int:site_id>/edit", methods=["GET", "POST"])
@allow(DESK)
def edit_site(site_id: int) -> Any:
    site: Site = services.get_or_404(Site, site_id, "site")
    form = SiteForm(address=site.address)
    title, cancel = f"Edit site of {site.customer.name}", url_for("desk.customer", customer_id=site.customer_id)

    def save() -> None:
        services.update_site(current_user, site, address=form.address.data or "",
                             latitude=form.latitude.data, longitude=form.longitude.data)

    return _form_view(form, title, cancel, save, "Site saved.")


def _site_choices(customer: Customer) -> list[tuple[int, str]]:
    return [(s.id, s.address) for s in customer.sites if s.archived_at is None]


@bp.route("/customers/<int:customer_id>/equipment/new", methods=["GET", "POST"])
@allow(DESK)
def new_equipment(customer_id: int) -> Any:
    customer = _customer_or_404(customer_id)
    form = EquipmentForm()
    form.site_id.choices = _site_choices(customer)
    title, cancel = f"New equipment for {customer.name}", url_for("desk.customer", customer_id=customer.id)
    if not form.site_id.choices:
        flash("Add a site first: equipment stands at one of the customer's sites.", "error")
        return redirect(url_for("desk.new_site", customer_id=customer.id))

    def save() -> None:
        site = _owned(Site, form.site_id.data, customer)
        services.add_equipment(current_user, customer, site, model=form.model.data or "",
                               serial_number=form.serial_number.data or "", warranty_until=form.warranty_until.data)

    return _form_view(form, title, cancel, save, "Equipment saved.")


@bp.route("/equipment/<int:equipment_id>/edit", methods=["GET", "POST"])
@allow(DESK)
def edit_equipment(equipment_id: int) -> Any:
    item: Equipment = services.get_or_404(Equipment, equipment_id, "equipment")
    form = EquipmentForm(obj=item)
    form.site_id.choices = _site_choices(item.customer)
    title, cancel = f"Edit {item.model} {item.serial_number}", url_for("desk.customer", customer_id=item.customer_id)

    def save() -> None:
        services.update_equipment(current_user, item, model=form.model.data, serial_number=form.serial_number.data,
                                  warranty_until=form.warranty_until.data, site_id=form.site_id.data)

    return _form_view(form, title, cancel, save, "Equipment saved.")


@bp.route("/customers/<int:customer_id>/contracts/new", methods=["GET", "POST"])
@allow(DESK)
def new_contract(customer_id: int) -> Any:
    customer = _customer_or_404(customer_id)
    form = ContractForm()
    form.equipment_ids.choices = [(e.id, f"{e.model} · {e.serial_number}") for e in customer.equipment
                                  if e.archived_at is None]
    title, cancel = f"New contract for {customer.name}", url_for("desk.customer", customer_id=customer.id)

    def save() -> None:
        services.create_contract(current_user, customer, number=form.number.data or "",
                                 starts_on=form.starts_on.data, ends_on=form.ends_on.data,  # type: ignore[arg-type]
                                 equipment_ids=form.equipment_ids.data or [],
                                 covers_parts=bool(form.covers_parts.data), notes=form.notes.data)

    return _form_view(form, title, cancel, save, "Contract saved.")

