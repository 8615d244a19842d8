"""The service manager's daily summary: what came in, what was done and closed, who was unhappy."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import CallStatus, RepairCall
from dispatch.scheduling.visits import day_window
from technicians.models import WorkRecord


@dataclass
class DailySummary:
    day: date
    received: int
    completed: int
    closed: int
    reopened: int
    ratings: int
    unsatisfied: int
    visits_done: int
    open_now: int
    unsatisfied_calls: list[RepairCall]

    def as_json(self) -> dict[str, Any]:
        return {"date": self.day.isoformat(), "received": self.received, "completed": self.completed,
                "closed": self.closed, "reopened": self.reopened, "ratings": self.ratings,
                "unsatisfied": self.unsatisfied, "visits_done": self.visits_done, "open_now": self.open_now,
                "unsatisfied_calls": [{"id": c.id, "number": c.number, "rating": c.rating,
                                       "comment": c.feedback_comment} for c in self.unsatisfied_calls]}


def daily_summary(day: date) -> DailySummary:
    """One day at a glance for the service manager: what came in, what was done, who was unhappy."""
    from dispatch.models import OPEN_CALL_STATUSES

    start, end = day_window(day)
    received = db.session.scalar(select(db.func.count(RepairCall.id)).where(
        RepairCall.received_at >= start, RepairCall.received_at < end,
        RepairCall.status != CallStatus.CANCELLED)) or 0
    moves: Counter[str] = Counter()
    for (after,) in db.session.execute(select(AuditEvent.after).where(
            AuditEvent.entity_type == RepairCall.__tablename__, AuditEvent.action == "call.status",
            AuditEvent.at >= start, AuditEvent.at < end)):
        moves[(after or {}).get("status", "")] += 1
    feedback_ids = [entity_id for (entity_id,) in db.session.execute(select(AuditEvent.entity_id).where(
        AuditEvent.entity_type == RepairCall.__tablename__, AuditEvent.action == "call.feedback",
        AuditEvent.at >= start, AuditEvent.at < end))]
    rated = [c for c in db.session.scalars(select(RepairCall).where(RepairCall.id.in_(set(feedback_ids))))
             if c.rating is not None] if feedback_ids else []
    unhappy = sorted((c for c in rated if c.rating is not None and c.rating <= 2), key=lambda c: c.number)
    visits_done = db.session.scalar(select(db.func.count(WorkRecord.id)).where(
        WorkRecord.completed_at >= start, WorkRecord.completed_at < end)) or 0
    open_now = db.session.scalar(select(db.func.count(RepairCall.id)).where(
        RepairCall.status.in_([s.value for s in OPEN_CALL_STATUSES]))) or 0
    return DailySummary(day, received, moves[CallStatus.COMPLETED], moves[CallStatus.CLOSED],
                        moves[CallStatus.REOPENED], len(rated), len(unhappy), visits_done, open_now, unhappy)
