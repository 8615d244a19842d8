"""The progress of a visit on the phone: on my way, arrived, the times each step happened, and which
visits a technician sees (today's, the one on top, the equipment's earlier ones).

Plain functions on explicit arguments; they flush, never commit, and raise domain errors. Call status
changes go through dispatch's `set_call_status`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Select, and_, func, select, union_all
from sqlalchemy.orm import aliased

from dispatch.core import audit
from dispatch.core.errors import Conflict, Forbidden, NotFound
from dispatch.core.extensions import db
from dispatch.core.i18n import _, label
from dispatch.core.models import Role, User
from dispatch.core.timeutil import utcnow
from dispatch.models import CallStatus, RepairCall, Visit, VisitStatus
from dispatch.scheduling.visits import VISIT_ROW, get_visit_or_404, overlapping
from dispatch.services.calls import set_call_status

from ..models import VisitEvent, VisitEventKind

ON_SITE_ROLES = frozenset({Role.TECHNICIAN, Role.MANAGER, Role.ADMIN})


# ----------------------------------------------------------------------------- lookups


def events(visit: Visit) -> list[VisitEvent]:
    return list(db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)
                                   .order_by(VisitEvent.at, VisitEvent.id)))


def event_time(visit: Visit, kind: str) -> datetime | None:
    return db.session.scalar(select(VisitEvent.at).where(VisitEvent.visit_id == visit.id, VisitEvent.kind == kind)
                             .order_by(VisitEvent.at.desc()).limit(1))


def technician_visits(technician: User, start: datetime, end: datetime) -> list[Visit]:
    """The technician's visits in [start, end): live ones in time order, cancelled ones left out."""
    return list(db.session.scalars(select(Visit).options(*VISIT_ROW).where(
        Visit.technician_id == technician.id, overlapping(start, end),
        Visit.status != VisitStatus.CANCELLED).order_by(Visit.start)))


def next_visit(visits: list[Visit]) -> Visit | None:
    """The one to put on top: the first that is not yet completed."""
    return next((v for v in visits if v.status != VisitStatus.COMPLETED), None)


def earlier_visits(visit: Visit, limit: int = 10) -> list[Visit]:
    """The equipment's earlier visits (or the site's, when the call names no equipment), newest first."""
    return earlier_visits_of([visit], limit)[visit.id]


def earlier_visits_of(visits: Sequence[Visit], limit: int = 10) -> dict[int, list[Visit]]:
    """earlier_visits of each visit (by visit id), in one statement whatever their number (a list's rows):
    each visit's `limit` newest, ranked per visit in SQL."""
    found: dict[int, list[Visit]] = {v.id: [] for v in visits}
    if not found:
        return found
    mine, my_call = aliased(Visit), aliased(RepairCall)

    def ranked(same: Any) -> Select[Any]:
        return (select(mine.id.label("for_id"), Visit.id.label("visit_id"), func.row_number().over(
            partition_by=mine.id, order_by=(Visit.start.desc(), Visit.id.desc())).label("n"))
            .select_from(mine).join(my_call, my_call.id == mine.call_id).join(RepairCall, same)
            .join(Visit, Visit.call_id == RepairCall.id)
            .where(mine.id.in_(list(found)), Visit.id != mine.id, Visit.start < mine.start,
                   Visit.status != VisitStatus.CANCELLED))

    rows = union_all(
        ranked(and_(my_call.equipment_id.is_not(None), RepairCall.equipment_id == my_call.equipment_id)),
        # a site is one customer's (calls.create_call): the customer's index finds the site's calls
        ranked(and_(my_call.equipment_id.is_(None), RepairCall.customer_id == my_call.customer_id,
                    RepairCall.site_id == my_call.site_id))).subquery()
    for for_id, earlier in db.session.execute(
            select(rows.c.for_id, Visit).join(Visit, Visit.id == rows.c.visit_id).where(rows.c.n <= limit)
            .order_by(rows.c.for_id, rows.c.n)):
        found[for_id].append(earlier)
    return found


# ----------------------------------------------------------------------------- state checks


def visit_for(visit_id: int, user: User) -> Visit:
    """The visit the user may act on (404 for anyone else's). A visit the dispatcher has meanwhile given
    to another technician is a 409 for the one who had it, so a queued offline action says why it failed."""
    try:
        return get_visit_or_404(visit_id, user)
    except NotFound:
        if user.role == Role.TECHNICIAN and _was_assigned_to(visit_id, user):
            raise Conflict(_("The dispatcher gave this visit to another technician; it is no longer yours."),
                           code="visit_reassigned") from None
        raise


def _was_assigned_to(visit_id: int, user: User) -> bool:
    formers = db.session.scalar(select(Visit.former_technician_ids).where(Visit.id == visit_id))
    return user.id in (formers or [])


def check_actor(actor: User, visit: Visit) -> None:
    if actor.role not in ON_SITE_ROLES:
        raise Forbidden(_("Only the visit's technician or a manager may record work on site."))


def check_live(visit: Visit) -> None:
    if visit.status == VisitStatus.CANCELLED:
        message = (_("The dispatcher cancelled visit %(slip)s: %(reason)s.", slip=visit.slip_number,
                     reason=visit.cancel_reason) if visit.cancel_reason
                   else _("The dispatcher cancelled visit %(slip)s.", slip=visit.slip_number))
        raise Conflict(message, code="visit_cancelled")


def record_event(actor: User, visit: Visit, kind: str, at: datetime | None = None) -> VisitEvent:
    event = VisitEvent(visit=visit, kind=kind, at=at or utcnow(), actor_id=actor.id)
    db.session.add(event)
    return event


def set_visit_status(actor: User, visit: Visit, status: str, action: str) -> None:
    before = visit.status
    visit.status = status
    audit.record(actor, visit, action, before={"status": before}, after={"status": status})


# ----------------------------------------------------------------------------- on my way, arrived


def on_my_way(actor: User, visit: Visit) -> Visit:
    check_actor(actor, visit)
    check_live(visit)
    if visit.status == VisitStatus.ON_THE_WAY:
        return visit  # a resend: nothing to do
    if visit.status != VisitStatus.SCHEDULED:
        raise Conflict(_("Visit %(slip)s is already %(status)s.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status")), code="visit_not_scheduled")
    set_visit_status(actor, visit, VisitStatus.ON_THE_WAY, "visit.on_my_way")
    record_event(actor, visit, VisitEventKind.ON_MY_WAY)
    return visit


def arrive(actor: User, visit: Visit) -> Visit:
    check_actor(actor, visit)
    check_live(visit)
    if visit.status == VisitStatus.ON_SITE:
        return visit
    if visit.status not in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(_("Visit %(slip)s is already %(status)s.", slip=visit.slip_number,
                         status=label(visit.status, "visit_status")), code="visit_not_open")
    set_visit_status(actor, visit, VisitStatus.ON_SITE, "visit.arrived")
    record_event(actor, visit, VisitEventKind.ARRIVED)
    call = visit.call
    if call.status in (CallStatus.NEW, CallStatus.BOOKED, CallStatus.REOPENED):
        set_call_status(actor, call, CallStatus.IN_PROGRESS, reason=_("technician arrived (%(slip)s)", slip=visit.slip_number))
    return visit
