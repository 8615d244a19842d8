"""The desk's side of the end of the flow (DOMAIN.md steps 6 and "Targets"): the follow-up call (回访) queue and
the progress updates an open call owes its customer.

- Follow-up queue: completed calls, oldest completion first, each due within one working hour of completion
  on the company calendar: the call's confirmation clock (dispatch.sla.confirmation_deadline), the same
  deadline the call page shows.
- Updates due: an open call owes the customer news every UPDATE_INTERVAL_HOURS[priority] hours (urgent 2,
  high 4, normal and low 48: their documents differ, so the app config may override any of them). The clock
  runs from the call's receipt, its last reopening or the last communication-log entry to the customer (any
  channel but "internal"), whichever is latest.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from .. import sla
from ..calendar import WorkingCalendar, company_calendar
from ..core.counting import COUNT_CAP, count_up_to
from ..core.extensions import db
from ..core.timeutil import utcnow
from ..core.types import UTCDateTime
from ..models import OPEN_CALL_STATUSES, CallNote, CallStatus, RepairCall

DEFAULT_UPDATE_HOURS = {"urgent": 2, "high": 4, "normal": 48, "low": 48}
# Entries that are not a word with the customer: the desk's own remarks and the technician's visit record.
NOT_TO_CUSTOMER = ("internal", "visit")


def update_hours() -> dict[str, float]:
    configured = current_app.config.get("UPDATE_INTERVAL_HOURS") or {}
    return {priority: float(configured.get(priority, hours)) for priority, hours in DEFAULT_UPDATE_HOURS.items()}


def confirmation_due(completed_at: datetime, calendar: WorkingCalendar | None = None) -> datetime:
    """When the follow-up call is due: the call's confirmation clock (one working hour after completion)."""
    return sla.confirmation_deadline(completed_at, calendar)


@dataclass(frozen=True)
class FollowUp:
    """A completed call waiting for its follow-up call."""

    call: RepairCall
    due: datetime
    overdue: bool
    minutes: int  # late by (overdue) or left


def followup_queue(now: datetime | None = None, limit: int = 100) -> list[FollowUp]:
    """Completed calls waiting for the 回访, the oldest completion first."""
    now = now or utcnow()
    waiting = db.session.scalars(select(RepairCall).where(
        RepairCall.status == CallStatus.COMPLETED.value).options(joinedload(RepairCall.customer, innerjoin=True))
        .order_by(RepairCall.completed_at.is_(None), RepairCall.completed_at, RepairCall.id).limit(limit))
    calendar = company_calendar()  # read once for the whole queue
    items = []
    for call in waiting:
        due = confirmation_due(call.completed_at or call.updated_at, calendar)
        minutes = int(abs((now - due).total_seconds()) // 60)
        items.append(FollowUp(call, due, due < now, minutes))
    return items


def followup_count() -> int:
    return db.session.scalar(select(func.count(RepairCall.id)).where(
        RepairCall.status == CallStatus.COMPLETED.value)) or 0


def _last_word_to_customer() -> Any:
    """The time of the row's call's latest communication-log entry to the customer (None without one):
    correlated, one look at the index on call_notes (call_id, at) per call."""
    return (select(func.max(CallNote.at)).where(CallNote.call_id == RepairCall.id,
                                                CallNote.channel.not_in(NOT_TO_CUSTOMER))
            .correlate(RepairCall).scalar_subquery())


def _update_clock_start() -> Any:
    """Since when a call's update clock runs, as SQL: the latest of receipt, reopening and word to the customer."""
    latest = func.greatest if db.session.get_bind().dialect.name == "postgresql" else func.max
    return latest(RepairCall.received_at, func.coalesce(RepairCall.reopened_at, RepairCall.received_at),
                  func.coalesce(_last_word_to_customer(), RepairCall.received_at), type_=UTCDateTime)


def last_update(call: RepairCall) -> datetime:
    """Since when the update clock runs: receipt, last reopening or last entry to the customer."""
    times = [call.received_at, *(t for t in [call.reopened_at] if t)]
    times += [n.at for n in call.notes if n.channel not in NOT_TO_CUSTOMER and n.at is not None]
    return max(times)


def update_due_at(call: RepairCall, since: datetime | None = None) -> datetime:
    hours = update_hours().get(call.priority, DEFAULT_UPDATE_HOURS["normal"])
    return (since or last_update(call)) + timedelta(hours=hours)


@dataclass(frozen=True)
class UpdateDue:
    """An open call that owes its customer news."""

    call: RepairCall
    last: datetime
    due: datetime
    minutes: int  # late by


def updates_due(now: datetime | None = None, limit: int = 100) -> list[UpdateDue]:
    """Open calls whose progress update is due, the longest overdue first."""
    now = now or utcnow()
    since = _update_clock_start()
    open_statuses = [s.value for s in OPEN_CALL_STATUSES]
    items = []
    for priority, interval in update_hours().items():
        # Due when the clock started an interval ago or more; the database picks the `limit` longest waiting.
        cutoff = now - timedelta(hours=interval)
        rows = db.session.execute(
            select(RepairCall, since.label("since")).options(joinedload(RepairCall.customer, innerjoin=True))
            .where(RepairCall.status.in_(open_statuses), RepairCall.priority == priority,
                   RepairCall.received_at <= cutoff, since <= cutoff)
            .order_by(since, RepairCall.id).limit(limit))
        for call, started in rows:
            due = started + timedelta(hours=interval)
            items.append(UpdateDue(call, started, due, int((now - due).total_seconds() // 60)))
    items.sort(key=lambda item: (item.due, item.call.id))
    return items[:limit]


def updates_due_count(now: datetime | None = None) -> int:
    """How many open calls owe their customer a progress update (the desk home's figure), counted in one query
    up to COUNT_CAP (the page says "1000+" beyond)."""
    now = now or utcnow()
    since = _update_clock_start()
    return count_up_to(select(RepairCall.id).where(
        RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]),
        or_(*((RepairCall.priority == priority) & (RepairCall.received_at <= now - timedelta(hours=interval))
              & (since <= now - timedelta(hours=interval))
              for priority, interval in update_hours().items()))), COUNT_CAP)
