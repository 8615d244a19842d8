"""API: repair calls, their communication log and the customer's feedback."""

from __future__ import annotations

from typing import Any

from flask import request
from flask_login import current_user

from ..core.apiutil import api_view, body, paginate
from ..core.errors import Invalid
from ..core.i18n import _
from ..core.models import Role
from ..core.security import DESK, allow
from ..core.timeutil import iso, parse_date
from ..core.validate import Fields, is_id
from ..models import CallStatus, Category, Channel, Customer, Equipment, Priority, RepairCall, Site
from ..schemas import call_json, note_json
from ..services import calls, corrections
from .blueprint import CUSTOMER, EQUIPMENT, SITE, bp, load_by_id

READ_CALLS = DESK | {Role.TECHNICIAN, Role.FINANCE}


@bp.post("/calls")
@allow(DESK)
@api_view
def create_call() -> Any:
    f = Fields(body())
    channel = f.choice("channel", [c.value for c in Channel])
    priority = f.choice("priority", [p.value for p in Priority])
    problem_type = f.text("problem_type", max_length=100)
    description = f.text("description", max_length=calls.MAX_DESCRIPTION)
    on_site = f.boolean("on_site", default=True)
    skill = f.text("required_skill", required=False, max_length=60)
    received_at = f.datetime("received_at", required=False)
    f.check(_("The call cannot be saved."))
    customer = load_by_id(Customer, f.data.get("customer_id"), CUSTOMER, "customer_id")
    site = load_by_id(Site, f.data.get("site_id"), SITE, "site_id")
    equipment = None
    if f.data.get("equipment_id") is not None:
        equipment = load_by_id(Equipment, f.data.get("equipment_id"), EQUIPMENT, "equipment_id")
    # Open calls on the same equipment (or, without equipment, at the same site) come back with the new
    # call, so a call-centre system can show them: the same fault may have been reported twice.
    already_open = calls.open_calls_for(customer, site=site, equipment=equipment)
    call = calls.create_call(current_user, customer=customer, site=site, equipment=equipment,
                                channel=channel or "", problem_type=problem_type or "", priority=priority or "",
                                description=description or "", on_site=on_site,
                                required_skill=skill.lower() if skill else None, received_at=received_at)
    data = call_json(call)
    data["open_calls"] = [{"id": c.id, "number": c.number, "status": c.status, "problem_type": c.problem_type,
                           "received_at": iso(c.received_at)} for c in already_open]
    return data, 201


@bp.get("/calls")
@allow(READ_CALLS)
@api_view
def list_calls() -> Any:
    args = request.args
    status, category = args.get("status") or None, args.get("category") or None
    if status and status != "open" and status not in {s.value for s in CallStatus}:
        raise Invalid(_("Unknown status."),
                      fields={"status": _("one of: %(options)s", options=", ".join(s.value for s in CallStatus))})
    if category and category not in {c.value for c in Category}:
        raise Invalid(_("Unknown category."),
                      fields={"category": _("one of: %(options)s", options=", ".join(c.value for c in Category))})
    if args.get("priority") and args["priority"] not in {p.value for p in Priority}:
        raise Invalid(_("Unknown priority."),
                      fields={"priority": _("one of: %(options)s", options=", ".join(p.value for p in Priority))})
    received_from = parse_date(args["from"], "from") if args.get("from") else None
    received_to = parse_date(args["to"], "to") if args.get("to") else None
    stmt = calls.calls_query(status=status, category=category, priority=args.get("priority") or None,
                                q=args.get("q") or None, overdue=args.get("overdue") in ("1", "true"),
                                technician_id=current_user.id if current_user.role == Role.TECHNICIAN else None,
                                received_from=received_from, received_to=received_to)
    return paginate(stmt, RepairCall.id, call_json)


@bp.get("/calls/<int:call_id>")
@allow(READ_CALLS)
@api_view
def get_call(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id, current_user)
    data = call_json(call)
    data["notes"] = [note_json(n) for n in call.notes]
    return data


@bp.patch("/calls/<int:call_id>")
@allow(DESK)
@api_view
def override_category(call_id: int) -> Any:
    """Correct a call (desk roles, until it is booked) or override its category (managers, with a reason)"""
    call = calls.get_call_or_404(call_id, current_user)
    data = body()
    f = Fields(data)
    if "category" in data:
        category = f.choice("category", [c.value for c in Category])
        reason = f.text("reason", max_length=1000)
        f.check(_("The category cannot be changed."))
        calls.override_category(current_user, call, category or "", reason or "")
        return call_json(call)
    changes: dict[str, Any] = {}
    if "description" in data:
        changes["description"] = f.text("description", max_length=calls.MAX_DESCRIPTION)
    if "problem_type" in data:
        changes["problem_type"] = f.text("problem_type", max_length=100)
    if "priority" in data:
        changes["priority"] = f.choice("priority", [p.value for p in Priority])
    if "channel" in data:
        changes["channel"] = f.choice("channel", [c.value for c in Channel])
    if "required_skill" in data:
        changes["required_skill"] = f.text("required_skill", required=False, max_length=60)
    for key in ("site_id", "equipment_id"):
        if key in data:
            value = data[key]
            if key == "equipment_id" and value is None:
                changes[key] = None  # not listed
            elif not is_id(value):
                f.errors[key] = _("required id")
            else:
                changes[key] = value
    unknown = sorted(set(data) - set(corrections.EDITABLE_FIELDS))
    for key in unknown:
        f.errors[key] = _("cannot be changed here") if key != "reason" else _("only with a category")
    if not data:
        raise Invalid(_("Send the fields to change: %(fields)s.", fields=", ".join(corrections.EDITABLE_FIELDS)))
    f.check(_("The call cannot be corrected."))
    corrections.update_call(current_user, call, **changes)
    return call_json(call)


@bp.post("/calls/<int:call_id>/cancel")
@allow(DESK)
@api_view
def cancel_call(call_id: int) -> Any:
    """Cancel a call with a reason; its scheduled visits are cancelled with it"""
    call = calls.get_call_or_404(call_id, current_user)
    f = Fields(body())
    reason = f.text("reason", max_length=1000)
    f.check(_("The call cannot be cancelled."))
    corrections.cancel_call(current_user, call, reason or "")
    return call_json(call)


cancel_call.openapi_status = "200"  # type: ignore[attr-defined]  # a POST that creates nothing (openapi.py)


@bp.post("/calls/<int:call_id>/notes")
@allow(DESK)
@api_view
def add_note(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id, current_user)
    f = Fields(body())
    channel = f.choice("channel", [c.value for c in Channel] + ["internal"])
    text = f.text("text", max_length=5000)
    follow_up = f.datetime("next_follow_up", required=False)
    kind = f.choice("kind", list(calls.NOTE_KINDS), required=False)
    promise = f.text("promise", required=False, max_length=2000)
    promised_by = f.datetime("promised_by", required=False)
    authority = f.boolean("escalated_authority", default=False)
    safety = f.boolean("safety_risk", default=False)
    f.check(_("The note cannot be saved."))
    note = calls.add_note(current_user, call, channel=channel or "", text=text or "", next_follow_up=follow_up,
                          kind=kind, promise=promise, promised_by=promised_by, escalated_authority=bool(authority),
                          safety_risk=bool(safety))
    return note_json(note), 201


@bp.post("/calls/<int:call_id>/feedback")
@allow(DESK)
@api_view
def feedback(call_id: int) -> Any:
    call = calls.get_call_or_404(call_id, current_user)
    f = Fields(body())
    # "rating": null is the customer declining to rate (未评价); left out, it is missing (422). "solved"
    # defaults to true.
    rating = f.integer("rating", minimum=1, maximum=5, required=False)
    if "rating" not in f.data:
        f.errors["rating"] = _("required: 1 to 5, or null when the customer would not rate")
    comment = f.text("comment", required=False, max_length=2000)
    solved = f.boolean("solved", default=True)
    f.check(_("The feedback cannot be saved."))
    calls.record_feedback(current_user, call, rating=rating, comment=comment, solved=bool(solved))
    return call_json(call)


feedback.openapi_status = "200"  # type: ignore[attr-defined]  # a POST that creates nothing (openapi.py)
