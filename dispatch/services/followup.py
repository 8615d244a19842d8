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

from flask import current_app
from sqlalchemy import func, select

from .. import sla
from ..core.extensions import db
from ..core.timeutil import utcnow
from ..models import OPEN_CALL_STATUSES, CallNote, CallStatus, RepairCall

DEFAULT_UPDATE_HOURS = {"urgent": 2, "high": 4, "normal": 48, "low": 48}
# Entries that are not a word with the customer: the desk's own remarks and the technician's visit record.
NOT_TO_CUSTOMER = ("internal", "visit")


def update_hours() -> dict[str, float]:
    configured = current_app.config.get("UPDATE_INTERVAL_HOURS") or {}
    return {priority: float(configured.get(priority, hours)) for priority, hours in DEFAULT_UPDATE_HOURS.items()}


def confirmation_due(completed_at: datetime) -> datetime:
    """When the follow-up call is due: the call's confirmation clock (one working hour after completion)."""
    return sla.confirmation_deadline(completed_at)


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
        RepairCall.status == CallStatus.COMPLETED.value)
        .order_by(RepairCall.completed_at.is_(None), RepairCall.completed_at, RepairCall.id).limit(limit))
    items = []
    for call in waiting:
        due = confirmation_due(call.completed_at or call.updated_at)
        minutes = int(abs((now - due).total_seconds()) // 60)
        items.append(FollowUp(call, due, due < now, minutes))
    return items


def followup_count() -> int:
    return db.session.scalar(select(func.count(RepairCall.id)).where(
        RepairCall.status == CallStatus.COMPLETED.value)) or 0


def _last_word_to_customer() -> dict[int, datetime]:
    """call id -> the time of its latest communication-log entry to the customer (open calls only)."""
    rows = db.session.execute(select(CallNote.call_id, func.max(CallNote.at))
                              .join(RepairCall, CallNote.call_id == RepairCall.id)
                              .where(CallNote.channel.not_in(NOT_TO_CUSTOMER),
                                     RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]))
                              .group_by(CallNote.call_id))
    return {call_id: at for call_id, at in rows}


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
    hours = update_hours()
    last_words = _last_word_to_customer()
    items = []
    for priority, interval in hours.items():
        # The clock starts at receipt at the earliest: calls received within the interval cannot be due.
        calls = db.session.scalars(select(RepairCall).where(
            RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]), RepairCall.priority == priority,
            RepairCall.received_at <= now - timedelta(hours=interval)))
        for call in calls:
            since = max(t for t in (call.received_at, call.reopened_at, last_words.get(call.id)) if t is not None)
            due = since + timedelta(hours=interval)
            if due <= now:
                items.append(UpdateDue(call, since, due, int((now - due).total_seconds() // 60)))
    items.sort(key=lambda item: (item.due, item.call.id))
    return items[:limit]
