"""The workshop's pages: the board (/t/workshop), one item (/t/workshop/<id>, what the QR label on the item
opens), and the return signed by the customer. Also the panels the desk's call and customer pages show
(lent to dispatch through the app's hooks, so dispatch never imports this package).

The routes hang on the technicians blueprint ("technicians.workshop" is the name the navigation knows);
this module is imported by name in dispatch/app.py before the blueprint is registered. Every form posts
here and calls the same service as the JSON API (technicians/workshop_api.py).
"""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user
from markupsafe import Markup

from billing.services.charges import charges_for_call, cover_text, line_text
from billing.services.parts import format_quantity, parse_part_lines, search_parts
from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, label
from dispatch.core.models import Role, User
from dispatch.core.pages import form_errors, page_view
from dispatch.core.security import DESK, MANAGERS, allow
from dispatch.core.timeutil import local_today, parse_date
from dispatch.models import Customer, RepairCall, Visit

from .models import CarryBack
from .services import returns
from .services import workshop as ws
from .services.carry_back import get_carry_back_or_404
from .views import bp

WORKSHOP = frozenset({Role.TECHNICIAN}) | MANAGERS
READERS = WORKSHOP | DESK
RETURNERS = frozenset({Role.TECHNICIAN}) | DESK
PART_ROWS = 6
CATALOGUE_SIZE = 200


def _may(roles: frozenset[str]) -> bool:
    return current_user.role in roles


@bp.get("/workshop")
@allow(READERS)
def workshop() -> Any:
    q = (request.args.get("q") or "").strip()[:200]
    board = ws.board(current_user, q or None)
    return render_template("technicians/workshop.html", board=board, q=q, today=local_today(),
                           days_held=ws.days_held, is_overdue=ws.is_overdue, moves=ws.WORKSHOP_STATUSES,
                           may_work=_may(WORKSHOP), may_receive=_may(frozenset(ws.DESK_ROLES)))


def _technicians() -> list[User]:
    return list(db.session.scalars(db.select(User).where(User.role == Role.TECHNICIAN, User.active.is_(True))
                                   .order_by(User.name)))


def _item_page(item: CarryBack, status: int = 200) -> Any:
    call = item.call
    parts = ws.workshop_parts(item)
    rows = [{"sku": ln.sku, "quantity": format_quantity(ln.quantity)} for ln in parts]
    rows += [{"sku": "", "quantity": ""}] * max(1, PART_ROWS - len(rows))
    return render_template(
        "technicians/workshop_item.html", item=item, call=call, history=ws.history(item),
        lines=ws.work_lines(item), labor_minutes=ws.workshop_labor_minutes(item), part_rows=rows,
        sheet=charges_for_call(call), line_text=line_text, cover_text=cover_text,
        days_held=ws.days_held(item), overdue=ws.is_overdue(item), moved=ws.last_promise_move(item),
        return_visits=returns.return_visits(item), moves=ws.WORKSHOP_STATUSES, returnable=ws.RETURNABLE,
        technicians=_technicians() if current_user.role != Role.TECHNICIAN else [],
        catalogue=search_parts(None, CATALOGUE_SIZE) if _may(WORKSHOP) else [],
        may_work=_may(WORKSHOP), may_receive=_may(frozenset(ws.DESK_ROLES)), may_return=_may(RETURNERS),
        may_book=_may(DESK), today=local_today()), status


@bp.get("/workshop/<int:carry_back_id>")
@allow(READERS)
def workshop_item(carry_back_id: int) -> Any:
    return _item_page(get_carry_back_or_404(carry_back_id, current_user))


def _done(item: CarryBack, message: str, anchor: str = "") -> Any:
    flash(message, "success")
    target = request.form.get("next")
    if target == "board":
        return redirect(url_for("technicians.workshop", q=request.form.get("q") or None))
    return redirect(url_for("technicians.workshop_item", carry_back_id=item.id) + anchor)


def _refused(item: CarryBack, messages: list[str], anchor: str = "") -> Any:
    for message in messages:
        flash(message, "error")
    if request.form.get("next") == "board":
        return redirect(url_for("technicians.workshop", q=request.form.get("q") or None))
    return redirect(url_for("technicians.workshop_item", carry_back_id=item.id) + anchor)


@bp.post("/workshop/<int:carry_back_id>/receive")
@allow(DESK)
@page_view
def workshop_receive(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    with form_errors() as messages:
        ws.receive(current_user, item, request.form.get("note"))
        return _done(item, _("%(number)s received at the desk: it is in the customer's service file and on the "
                             "workshop board.", number=item.number))
    return _refused(item, messages)


@bp.post("/workshop/<int:carry_back_id>/status")
@allow(WORKSHOP)
@page_view
def workshop_status(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    with form_errors() as messages:
        ws.change_status(current_user, item, request.form.get("status"), request.form.get("note"))
        return _done(item, _("%(number)s is now: %(status)s.", number=item.number,
                             status=_status_text(item.status)))
    return _refused(item, messages, "#status")


def _status_text(status: str) -> str:
    return label(status, "carry_back_status")


@bp.post("/workshop/<int:carry_back_id>/note")
@allow(READERS)
@page_view
def workshop_note(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    with form_errors() as messages:
        ws.add_note(current_user, item, request.form.get("note"))
        return _done(item, _("Note added to the item's history."), "#history")
    return _refused(item, messages, "#note")


@bp.post("/workshop/<int:carry_back_id>/assign")
@allow(WORKSHOP)
@page_view
def workshop_assign(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    raw = request.form.get("assigned_to_id") or ""
    with form_errors() as messages:
        if raw == "me":
            technician: User | None = current_user._get_current_object()  # type: ignore[attr-defined]
        else:
            technician = db.session.get(User, int(raw)) if raw.isdigit() else None
        ws.assign(current_user, item, technician)
        return _done(item, _("Assigned to %(name)s.", name=technician.name) if technician
                     else _("Nobody is assigned now."))
    return _refused(item, messages, "#assign")


@bp.post("/workshop/<int:carry_back_id>/work")
@allow(WORKSHOP)
@page_view
def workshop_work(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    form = request.form
    with form_errors() as messages:
        raw = (form.get("labor_minutes") or "0").strip()
        if not raw.isdigit():
            raise Invalid(_("The labor time must be a whole number of minutes."),
                          fields={"labor_minutes": _("a whole number")})
        rows = [{"sku": sku, "quantity": qty} for sku, qty in zip(form.getlist("part_sku"), form.getlist("part_qty"),
                                                                   strict=False)]
        ws.record_work(current_user, item, labor_minutes=int(raw), parts=parse_part_lines(rows),
                       note=form.get("note"))
        return _done(item, _("Workshop work recorded and charged by the call's category."), "#work")
    return _refused(item, messages, "#work")


@bp.post("/workshop/<int:carry_back_id>/serial")
@allow(WORKSHOP)
@page_view
def workshop_serial(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    with form_errors() as messages:
        ws.replace_unit(current_user, item, request.form.get("new_serial_number"), request.form.get("note"))
        return _done(item, _("New serial number recorded; the equipment record follows."), "#serial")
    return _refused(item, messages, "#serial")


@bp.post("/workshop/<int:carry_back_id>/promise")
@allow(READERS)
@page_view
def workshop_promise(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    with form_errors() as messages:
        new_date = parse_date(request.form.get("promised_return_on"), "promised_return_on",
                              _("New promised date"))
        ws.move_promise(current_user, item, new_date, request.form.get("reason"))
        return _done(item, _("Promised date moved. The desk has a progress call to make."), "#promise")
    return _refused(item, messages, "#promise")


def _return_page(item: CarryBack, status: int = 200, messages: list[str] | None = None) -> Any:
    return render_template("technicians/workshop_return.html", item=item, call=item.call,
                           lines=ws.work_lines(item), line_text=line_text, sheet=charges_for_call(item.call),
                           return_visits=returns.return_visits(item), returnable=ws.RETURNABLE,
                           messages=messages or [], form=request.form if request.method == "POST" else {},
                           is_technician=current_user.role == Role.TECHNICIAN), status


@bp.route("/workshop/<int:carry_back_id>/return", methods=["GET", "POST"])
@allow(RETURNERS)
@page_view
def workshop_return(carry_back_id: int) -> Any:
    item = get_carry_back_or_404(carry_back_id, current_user)
    if request.method == "GET":
        return _return_page(item)
    form = request.form
    with form_errors() as messages:
        returns.return_item(current_user, item, signer_name=form.get("signer_name"),
                       image_png_base64=form.get("image_png_base64"), method=form.get("method") or None,
                       reason=form.get("reason") or None)
        flash(_("%(number)s returned to the customer, signed by %(name)s. The call moves on to the follow-up "
                "call and billing.", number=item.number, name=item.return_signer_name), "success")
        return redirect(url_for("technicians.workshop_item", carry_back_id=item.id))
    return _return_page(item, messages.status, list(messages))


@bp.app_template_global("returning_items")
def returning_items(visit: Visit) -> list[CarryBack]:
    """The items a return visit brings back to the customer (its visit page links to their signing)."""
    return [item for item in ws.carry_backs_of_call(visit.call) if item.status != "in_workshop"]


# ----------------------------------------------------------------------------- panels for the desk's pages


def call_panel(call: RepairCall) -> Markup:
    """The call page's carry-back panel: where the customer's product is, its receipt number and promised
    date (and why it moved), so a dispatcher can tell the customer on the phone."""
    items = ws.carry_backs_of_call(call)
    if not items:
        return Markup("")
    return Markup(render_template("technicians/workshop_call_panel.html", items=items, call=call,
                                  moved={i.id: ws.last_promise_move(i) for i in items},
                                  days_held=ws.days_held, is_overdue=ws.is_overdue,
                                  may_book=_may(DESK)))


def customer_panel(customer: Customer) -> Markup:
    """The customer's service file (客户服务档案): every item ever carried back, where it is, its whole history."""
    items = ws.service_file(customer)
    if not items:
        return Markup("")
    return Markup(render_template("technicians/workshop_service_file.html", items=items,
                                  days_held=ws.days_held, is_overdue=ws.is_overdue))
