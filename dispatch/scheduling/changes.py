"""A technician's "your day changed": the visits from today on that were moved, given to them, taken away
or cancelled since they last said OK (User.day_seen_at). booking.mark_changed marks each change, by a
dispatcher or a re-plan; a fresh booking is no change (it simply appears on their day)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from ..core import audit
from ..core.extensions import db
from ..core.models import User
from ..core.timeutil import local_today, utcnow
from ..models import Visit, VisitStatus
from .visits import day_window

MOVED, ADDED, TAKEN_AWAY, CANCELLED = "moved", "added", "taken_away", "cancelled"


@dataclass(frozen=True)
class DayChange:
    visit: Visit
    change: str  # moved | added | taken_away | cancelled
    at: datetime  # when the visit last changed

    @property
    def still_mine(self) -> bool:
        return self.change in (MOVED, ADDED)


def _after(moment: datetime | None, since: datetime | None) -> bool:
    return moment is not None and (since is None or moment > since)


def _change_of(visit: Visit, technician_id: int, since: datetime | None) -> str | None:
    if visit.technician_id == technician_id:
        if visit.status == VisitStatus.CANCELLED:
            return CANCELLED
        return ADDED if _after(visit.reassigned_at, since) and visit.former_technician_ids else MOVED
    if technician_id in (visit.former_technician_ids or []) and _after(visit.reassigned_at, since):
        return TAKEN_AWAY
    return None


def day_changes(technician: User) -> list[DayChange]:
    """The changes to the technician's visits from today on since they last said OK, earliest visit first."""
    since = technician.day_seen_at
    today_start, _end = day_window(local_today())
    stmt = select(Visit).where(Visit.changed_at.is_not(None), Visit.end > today_start)
    if since is not None:
        stmt = stmt.where(Visit.changed_at > since)
    changes = []
    for visit in db.session.scalars(stmt.order_by(Visit.start, Visit.id)):
        # former_technician_ids is JSON: whose visit it was is read here, not in SQL, on both engines alike
        if visit.technician_id != technician.id and technician.id not in (visit.former_technician_ids or []):
            continue
        change = _change_of(visit, technician.id, since)
        if change is not None and visit.changed_at is not None:
            changes.append(DayChange(visit, change, visit.changed_at))
    return changes


def acknowledge(technician: User, seen_until: datetime | None = None) -> datetime:
    """The technician said OK to the changes shown to them: those up to `seen_until` (the latest change on
    their screen; now when not given), so a change made meanwhile still shows. Never goes back; audited."""
    now = utcnow()
    seen = min(seen_until, now) if seen_until is not None else now
    before = technician.day_seen_at
    if before is not None and seen <= before:
        return before
    technician.day_seen_at = seen
    audit.record(technician, technician, "user.day_changes_seen", before={"day_seen_at": before},
                 after={"day_seen_at": seen})
    return seen
