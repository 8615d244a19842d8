"""The desk corrects a call it took down wrong (until it is booked), or cancels it with a reason."""

from __future__ import annotations

from typing import Any

from .. import sla
from ..core import audit
from ..core.errors import Conflict, Forbidden, Invalid
from ..core.extensions import db
from ..core.i18n import _, label
from ..core.models import Role, User
from ..core.timeutil import local_date_of, utcnow
from ..core.validate import is_id
from ..models import CallStatus, Channel, Equipment, Priority, RepairCall, Site, VisitStatus
from .calls import categorise, set_call_status
from .reasons import REASON_CORRECTED
from .sites import site_of

EDITABLE_STATUSES = (CallStatus.NEW,)
CANCELLABLE_STATUSES = (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED)
EDITABLE_FIELDS = ("description", "priority", "problem_type", "channel", "site_id", "equipment_id",
                   "required_skill")


def may_edit(call: RepairCall) -> bool:
    return call.status in EDITABLE_STATUSES


def not_editable_message(call: RepairCall) -> str:
    return _("Call %(number)s is %(status)s: it can no longer be corrected. Cancel its visit first "
             "(the call goes back to new), or add a note to the log.", number=call.number,
             status=label(call.status, "call_status").lower())


def may_cancel(call: RepairCall) -> bool:
    return call.status in CANCELLABLE_STATUSES


def update_call(actor: User, call: RepairCall, **changes: Any) -> RepairCall:
    """The desk corrects a call it took down wrong, until it is booked: description, priority, problem type,
    channel, site, equipment (None: not listed) and skill. The category (unless a manager set it) and the
    deadlines are worked out again from the time the customer called, with their reason; audited."""
    if actor.role not in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only the desk may correct a call."))
    unknown = sorted(set(changes) - set(EDITABLE_FIELDS))
    if unknown:
        raise Invalid(_("These fields cannot be changed here: %(fields)s.", fields=", ".join(unknown)),
                      fields={k: _("cannot be changed") for k in unknown})
    if not may_edit(call):
        raise Conflict(not_editable_message(call), code="call_not_editable")
    errors: dict[str, str] = {}
    site: Site | None = call.site
    if "site_id" in changes:
        site = site_of(call.customer, changes["site_id"])
        if site is None or site.archived_at is not None:
            errors["site_id"] = _("not this customer's site")
    equipment = call.equipment
    if "equipment_id" in changes:
        equipment = None
        if changes["equipment_id"] is not None:
            equipment = db.session.get(Equipment, changes["equipment_id"]) if is_id(changes["equipment_id"]) else None
            if equipment is None or equipment.customer_id != call.customer_id:
                errors["equipment_id"] = _("not this customer's equipment")
    if "channel" in changes and changes["channel"] not in {c.value for c in Channel}:
        errors["channel"] = _("one of: %(values)s", values=", ".join(c.value for c in Channel))
    if "priority" in changes and changes["priority"] not in {p.value for p in Priority}:
        errors["priority"] = _("one of: %(values)s", values=", ".join(p.value for p in Priority))
    for key in ("description", "problem_type"):
        if key in changes and not (changes[key] or "").strip():
            errors[key] = _("required")
    if errors:
        raise Invalid(_("The call cannot be corrected: %(problems)s.",
                        problems=_("; ").join(_("%(field)s: %(problem)s", field=k, problem=v)
                                              for k, v in errors.items())), fields=errors)
    watched = ("description", "priority", "problem_type", "channel", "site_id", "equipment_id", "required_skill",
               "category", "category_reason", "contract_id", "booking_deadline", "response_deadline",
               "resolution_deadline")
    before = audit.snapshot(call, *watched)
    for key in ("description", "problem_type", "channel", "priority"):
        if key in changes:
            setattr(call, key, changes[key].strip())
    if "required_skill" in changes:
        call.required_skill = (changes["required_skill"] or "").strip().lower() or None
    assert site is not None  # a wrong site was refused above
    call.site, call.equipment = site, equipment
    if not call.category_overridden:
        cat = categorise(call.customer, equipment, local_date_of(call.received_at))
        call.category, call.category_reason, call.contract = cat.category, cat.reason, cat.contract
    call.booking_deadline = sla.booking_deadline(call.received_at, site.remote) if call.on_site else None
    call.response_deadline = sla.response_deadline(call.received_at, call.priority)
    call.resolution_deadline = sla.resolution_deadline(call.received_at, call.priority)
    db.session.flush()
    after = audit.snapshot(call, *watched)
    changed = [k for k in watched if before.get(k) != after.get(k)]
    if changed:
        audit.record(actor, call, "call.corrected", before={k: before[k] for k in changed},
                     after={k: after[k] for k in changed},
                     reason=REASON_CORRECTED % {"fields": ", ".join(k for k in changed if k in EDITABLE_FIELDS)})
    return call


def cancel_call(actor: User, call: RepairCall, reason: str) -> RepairCall:
    """Cancel a call with a reason (the customer withdrew it, a duplicate, ...): its scheduled visits are
    cancelled with it; nothing is deleted. A technician already on site, or work done, is 409."""
    from ..scheduling.booking import cancel_visit  # booking uses this module's status changes

    if actor.role not in (Role.DISPATCHER, Role.MANAGER, Role.ADMIN):
        raise Forbidden(_("Only the desk may cancel a call."))
    reason = (reason or "").strip()
    if not reason:
        raise Invalid(_("Say why the call is cancelled: the reason is kept in the audit trail."),
                      code="reason_required", fields={"reason": _("required")})
    if len(reason) > 1000:
        raise Invalid(_("The reason is too long (at most %(n)d characters).", n=1000),
                      fields={"reason": _("too long")})
    if not may_cancel(call):
        raise Conflict(_("Call %(number)s is %(status)s: it can no longer be cancelled.", number=call.number,
                         status=label(call.status, "call_status").lower()), code="call_not_cancellable")
    for visit in list(call.visits):
        if visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
            cancel_visit(actor, visit, reason)
        elif visit.status == VisitStatus.ON_SITE:
            raise Conflict(_("Visit %(slip)s is on site now: the call cannot be cancelled.",
                             slip=visit.slip_number), code="call_not_cancellable")
    call.cancelled_at = utcnow()
    call.cancel_reason = reason
    set_call_status(actor, call, CallStatus.CANCELLED, reason=reason)
    return call
