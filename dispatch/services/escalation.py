"""The managers' attention list (DOMAIN.md step 6): calls escalated to them at once, and the bell's count.

On the list: a call reopened by the customer (not solved) or rated unsatisfied (from the follow-up call,
calls.record_feedback), a complaint marked as escalated to a higher authority or as a safety risk (a
communication-log entry, calls.add_note), and an open call far past its resolution target: open for more than
`ESCALATE_OVERDUE_FACTOR` (default 2) times the time it was given. The first four are stored when they happen
(an Escalation row); the last is worked out when the list is read, so nothing is written on a page view. A
manager acknowledges a call: that clears every reason it is on the list for (an overdue call is kept as
acknowledged until it is reopened and runs late again).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from flask import current_app
from sqlalchemy import ColumnElement, Float, Select, and_, case, func, literal, or_, select, union_all
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import joinedload, selectinload
from sqlalchemy.sql.functions import FunctionElement

from ..core import audit
from ..core.errors import Conflict, Forbidden
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import Role, User
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..models import LIVE_VISIT_STATUSES, OPEN_CALL_STATUSES, CallNote, Priority, RepairCall, Visit
from ..sla_models import Escalation

REASONS = ("reopened", "unsatisfied", "authority", "safety", "overdue")
MANAGER_ROLES = (Role.MANAGER, Role.ADMIN)
DEFAULT_OVERDUE_FACTOR = 2.0
LIST_SHOWN = 200  # the attention page and API show the longest waiting; the bell counts them all


def overdue_factor() -> float:
    """How far past its target an open call goes to the managers: open this many times its allowed time."""
    return float(current_app.config.get("ESCALATE_OVERDUE_FACTOR", DEFAULT_OVERDUE_FACTOR))


def raise_escalation(actor: User | None, call: RepairCall, reason: str, *, detail: str | None = None,
                     note: CallNote | None = None) -> Escalation:
    """Put the call on the managers' attention list for `reason` (once while it waits for them)."""
    if reason not in REASONS:
        raise ValueError(reason)
    if call.id is not None:
        waiting = db.session.scalar(select(Escalation).where(
            Escalation.call_id == call.id, Escalation.reason == reason, Escalation.acknowledged_at.is_(None)))
        if waiting is not None:
            if detail and detail not in (waiting.detail or ""):
                waiting.detail = "\n".join(filter(None, [waiting.detail, detail]))[:4000]
            return waiting
    escalation = Escalation(call=call, reason=reason, detail=detail, note_id=note.id if note else None,
                            raised_at=utcnow(), raised_by_id=actor.id if actor else None)
    db.session.add(escalation)
    audit.record(actor, call, "call.escalated", after={"reason": reason, "detail": detail})
    return escalation


class _seconds(FunctionElement[float]):
    """A time as seconds, in SQL on both engines: arithmetic on times (intervals have no SQLite form)."""

    type = Float()
    name = "seconds"
    inherit_cache = True


@compiles(_seconds)
def _seconds_postgresql(element: _seconds, compiler: Any, **kw: Any) -> str:
    return f"EXTRACT(EPOCH FROM {compiler.process(element.clauses, **kw)})"


@compiles(_seconds, "sqlite")
def _seconds_sqlite(element: _seconds, compiler: Any, **kw: Any) -> str:
    return f"(julianday({compiler.process(element.clauses, **kw)}) * 86400.0)"


def far_overdue(now: datetime, factor: float | None = None) -> ColumnElement[bool]:
    """The calls open for more than `factor` times the time their resolution target allowed (from their last
    reopening), as an SQL condition on RepairCall: the list and the bell count them in the database."""
    factor = overdue_factor() if factor is None else factor
    start = case((RepairCall.reopened_at > RepairCall.received_at, RepairCall.reopened_at),
                 else_=RepairCall.received_at)
    allowed = _seconds(RepairCall.resolution_deadline) - _seconds(start)
    running = _seconds(literal(now, UTCDateTime)) - _seconds(start)
    return and_(RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]),
                RepairCall.resolution_deadline.is_not(None),
                or_(and_(allowed <= 0, RepairCall.resolution_deadline < now),
                    and_(allowed > 0, running > allowed * factor)))


@dataclass
class AttentionItem:
    """One call on the list, with every reason it is there for."""

    call: RepairCall
    escalations: list[Escalation] = field(default_factory=list)
    overdue: bool = False  # far past its target (worked out, not stored)

    @property
    def reasons(self) -> list[str]:
        found = [e.reason for e in self.escalations]
        if self.overdue and "overdue" not in found:
            found.append("overdue")
        return found

    @property
    def since(self) -> datetime:
        times = [e.raised_at for e in self.escalations]
        if self.overdue or not times:
            times.append(self.call.resolution_deadline)
        return min(times)

    @property
    def details(self) -> list[str]:
        return [e.detail for e in self.escalations if e.detail]


def _overdue(now: datetime) -> Select[int, datetime, int]:
    """Open calls far past their resolution target whose lateness no manager has acknowledged since they last
    started running (received or reopened): (call_id, since, overdue=1)."""
    acknowledged = (select(Escalation.id).where(
        Escalation.call_id == RepairCall.id, Escalation.reason == "overdue",
        Escalation.raised_at >= func.coalesce(RepairCall.reopened_at, RepairCall.received_at)).exists())
    return select(RepairCall.id.label("call_id"), RepairCall.resolution_deadline.label("since"),
                  literal(1).label("overdue")).where(
        # past the target (with the open statuses in far_overdue: the index on status and deadline), then the factor
        RepairCall.resolution_deadline < now, far_overdue(now), ~acknowledged)


def _on_list(now: datetime) -> Any:
    """Every reason a call waits for a manager, one row each: the stored escalations and the late calls."""
    waiting = select(Escalation.call_id.label("call_id"), Escalation.raised_at.label("since"),
                     literal(0).label("overdue")).where(Escalation.acknowledged_at.is_(None))
    return union_all(waiting, _overdue(now)).subquery()


def _items(call_ids: Sequence[int], overdue: set[int]) -> list[AttentionItem]:
    """The calls with their waiting escalations (customers and who raised them read at once)."""
    if not call_ids:
        return []
    calls = db.session.scalars(select(RepairCall).options(joinedload(RepairCall.customer, innerjoin=True))
                               .where(RepairCall.id.in_(call_ids)))
    items = {call.id: AttentionItem(call, overdue=call.id in overdue) for call in calls}
    for escalation in db.session.scalars(
            select(Escalation).options(selectinload(Escalation.raised_by))
            .where(Escalation.call_id.in_(call_ids), Escalation.acknowledged_at.is_(None))
            .order_by(Escalation.raised_at, Escalation.id)):
        items[escalation.call_id].escalations.append(escalation)
    return sorted(items.values(), key=lambda item: (item.since, item.call.id))


def attention_list(now: datetime | None = None, limit: int = LIST_SHOWN) -> list[AttentionItem]:
    """The `limit` calls waiting longest for a manager, the longest waiting first (the bell counts them all)."""
    rows = _on_list(now or utcnow())
    first = db.session.execute(select(rows.c.call_id, func.max(rows.c.overdue)).group_by(rows.c.call_id)
                               .order_by(func.min(rows.c.since), rows.c.call_id).limit(limit)).all()
    return _items([call_id for call_id, _late in first], {call_id for call_id, late in first if late})


def attention_count(now: datetime | None = None) -> int:
    """The bell's number: calls on the attention list, counted in the database."""
    rows = _on_list(now or utcnow())
    return db.session.scalar(select(func.count(func.distinct(rows.c.call_id)))) or 0


def attention_item(call: RepairCall, now: datetime | None = None) -> AttentionItem | None:
    """The call as the attention list shows it, or None when it is not on the list."""
    overdue = db.session.scalar(select(func.count()).select_from(
        _overdue(now or utcnow()).where(RepairCall.id == call.id).subquery())) or 0
    item = next(iter(_items([call.id], {call.id} if overdue else set())), None)
    return item if item is not None and item.reasons else None


def acknowledge(actor: User, call: RepairCall, now: datetime | None = None) -> list[str]:
    """A manager has seen the call: every reason it is on the list for is cleared. Returns those reasons."""
    if actor.role not in MANAGER_ROLES:
        raise Forbidden(_("Only a service manager acknowledges the attention list."))
    now = now or utcnow()
    item = attention_item(call, now)
    if item is None:
        raise Conflict(_("Call %(number)s is not on the attention list.", number=call.number),
                       code="not_on_attention_list")
    for escalation in item.escalations:
        escalation.acknowledged_at = now
        escalation.acknowledged_by_id = actor.id
    if item.overdue and not any(e.reason == "overdue" for e in item.escalations):
        db.session.add(Escalation(call=call, reason="overdue", raised_at=now, raised_by_id=None,
                                  acknowledged_at=now, acknowledged_by_id=actor.id))
    reasons = item.reasons
    audit.record(actor, call, "call.escalation_acknowledged", after={"reasons": reasons})
    return reasons


def escalations_of(call: RepairCall) -> list[Escalation]:
    """The call's escalations, newest first (its page shows them)."""
    return list(db.session.scalars(select(Escalation).where(and_(Escalation.call_id == call.id))
                                   .order_by(Escalation.raised_at.desc(), Escalation.id.desc())))


# ----------------------------------------------------------------------------- urgent: phone the technician


def visits_to_phone(call: RepairCall) -> list[Visit]:
    """An urgent call's live visits whose technician has not yet been phoned (紧急问题需同步电话通知处理人)."""
    if call.priority != Priority.URGENT:
        return []
    return [v for v in call.visits if v.status in LIVE_VISIT_STATUSES and v.phoned_at is None]


def record_phoned(actor: User, visit: Visit) -> Visit:
    """The dispatcher has phoned the technician about an urgent visit."""
    if visit.call.priority != Priority.URGENT:
        raise Conflict(_("Only an urgent call's visit is phoned to the technician."), code="not_urgent")
    if visit.status not in LIVE_VISIT_STATUSES:
        raise Conflict(_("Visit %(slip)s is no longer live.", slip=visit.slip_number), code="visit_not_live")
    if visit.phoned_at is not None:
        return visit  # already recorded: a second tap changes nothing
    visit.phoned_at = utcnow()
    visit.phoned_by_id = actor.id
    audit.record(actor, visit, "visit.phoned", after={"technician_id": visit.technician_id,
                                                      "phoned_at": visit.phoned_at})
    return visit
