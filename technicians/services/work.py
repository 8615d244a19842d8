"""The work record of a visit: what was done, the labor, the parts (charged through billing), the outcome
that moves the call on, and a follow-up call when one is needed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from billing.models import ChargeLine
from billing.services.charges import record_work, visit_lines
from billing.services.parts import PartUse
from dispatch.core import audit
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.i18n import _, label
from dispatch.core.models import User
from dispatch.core.timeutil import utcnow
from dispatch.models import CallStatus, Channel, Visit, VisitStatus
from dispatch.services.calls import create_call, set_call_status

from ..models import Outcome, VisitEventKind, WorkRecord
from . import problems
from .progress import check_actor, check_live, event_time, record_event, set_visit_status

MAX_SUMMARY = 5000
MAX_LABOR_MINUTES = 24 * 60


def work_record(visit: Visit) -> WorkRecord | None:
    return db.session.scalar(select(WorkRecord).where(WorkRecord.visit_id == visit.id))


def lock_record(visit: Visit) -> WorkRecord | None:
    """The work record, row-locked on PostgreSQL so a sign-off and a correction cannot interleave
    (SQLite already holds the write lock for the whole request)."""
    return db.session.scalar(select(WorkRecord).where(WorkRecord.visit_id == visit.id).with_for_update())


def visit_parts(visit: Visit) -> list[ChargeLine]:
    """The parts recorded on this visit (live charge lines)."""
    return [line for line in visit_lines(visit) if line.kind == "part"]


def suggested_labor_minutes(visit: Visit, now: datetime | None = None) -> int:
    """From arrival to now, rounded up to whole minutes (what the visit page prefills)."""
    return minutes_since_arrival(event_time(visit, VisitEventKind.ARRIVED), now)


def minutes_since_arrival(arrived: datetime | None, now: datetime | None = None) -> int:
    """suggested_labor_minutes from the arrival time already at hand (a list has read its visits' events)."""
    if arrived is None:
        return 0
    seconds = ((now or utcnow()) - arrived).total_seconds()
    return max(0, min(MAX_LABOR_MINUTES, int(-(-seconds // 60))))


def complete(actor: User, visit: Visit, *, work_summary: str, labor_minutes: int, parts: list[PartUse],
             outcome: str) -> WorkRecord:
    """Record the work, the labor and the parts (as charge lines), and move the call on by outcome.

    Completing again before the customer signs corrects the record; after sign-off it is 409. A return visit
    is 409: it completes with the customer's signature for the item (services/returns.py)."""
    check_actor(actor, visit)
    check_live(visit)
    if visit.kind == "return":
        # Completing it here would complete the call before the item is back in the customer's hands.
        raise Conflict(_("Visit %(slip)s is a return visit: it is completed when the customer signs for the "
                         "returned item (Customer signs for the item, on the visit's page), not with a work "
                         "record.", slip=visit.slip_number), code="return_visit")
    errors: dict[str, str] = {}
    summary = (work_summary or "").strip()
    if not summary:
        errors["work_summary"] = _("required")
    elif len(summary) > MAX_SUMMARY:
        errors["work_summary"] = _("at most %(n)d characters", n=MAX_SUMMARY)
    if not 0 <= labor_minutes <= MAX_LABOR_MINUTES:
        errors["labor_minutes"] = _("from 0 to %(max)d", max=MAX_LABOR_MINUTES)
    if outcome not in {o.value for o in Outcome}:
        errors["outcome"] = _("choose one of the outcomes offered")
    if errors:
        raise Invalid(problems(_("The work cannot be recorded."), errors), fields=errors)
    if visit.status in (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY):
        raise Conflict(_("Tap Arrived on visit %(slip)s before completing it.", slip=visit.slip_number),
                       code="not_on_site")
    record = lock_record(visit)
    if record is not None and record.sealed_at is not None:
        raise Conflict(_("Visit %(slip)s is signed off by the customer; its record can no longer change.",
                         slip=visit.slip_number), code="already_signed")
    call = visit.call
    record_work(actor, call, visit, labor_minutes=labor_minutes, parts=[(p.sku, p.quantity) for p in parts])
    now = utcnow()
    before = audit.snapshot(record, "work_summary", "labor_minutes", "outcome") if record else None
    if record is None:
        record = WorkRecord(visit=visit, call=call, work_summary=summary, labor_minutes=labor_minutes,
                            outcome=outcome, completed_at=now, completed_by_id=actor.id)
        db.session.add(record)
        try:
            with db.session.begin_nested():
                db.session.flush()
        except IntegrityError:
            raise Conflict(_("Visit %(slip)s was completed at the same moment from another device; reload to "
                             "see it.", slip=visit.slip_number), code="already_completed") from None
    else:
        record.work_summary, record.labor_minutes, record.outcome = summary, labor_minutes, outcome
        record.completed_at, record.completed_by_id = now, actor.id
    audit.record(actor, record, "work.recorded" if before is None else "work.corrected", before=before,
                 after={**audit.snapshot(record, "work_summary", "labor_minutes", "outcome"),
                        "parts": [[p.sku, str(p.quantity)] for p in parts]})
    if visit.status != VisitStatus.COMPLETED:
        set_visit_status(actor, visit, VisitStatus.COMPLETED, "visit.completed")
    record_event(actor, visit, VisitEventKind.COMPLETED, at=now)
    if outcome == Outcome.FOLLOW_UP and record.follow_up_call_id is None:
        follow = create_call(
            actor, customer=call.customer, site=call.site, equipment=call.equipment,
            channel=call.channel if call.channel in {c.value for c in Channel} else Channel.PHONE,
            problem_type=call.problem_type, priority=call.priority,
            description=_("Follow-up of %(call)s (visit %(slip)s): %(summary)s", call=call.number,
                          slip=visit.slip_number, summary=summary)[:5000],
            on_site=True, required_skill=call.required_skill, parent_call=call)
        db.session.flush()
        record.follow_up_call_id = follow.id
    target = CallStatus.CARRIED_BACK if outcome == Outcome.CARRY_BACK else CallStatus.COMPLETED
    if call.status not in (CallStatus.CLOSED, CallStatus.CANCELLED):
        set_call_status(actor, call, target, reason=_("visit %(slip)s: %(outcome)s", slip=visit.slip_number,
                                                      outcome=label(outcome, "outcome")))
    return record
