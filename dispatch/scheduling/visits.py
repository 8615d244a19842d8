"""Visits as the desk, the slips and the technician's phone see them: one loader, one local day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, select
from sqlalchemy.orm import joinedload

from ..core.errors import NotFound
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import Role, User
from ..core.timeutil import local_tz
from ..models import RepairCall, Visit, VisitStatus


def day_window(day: date, days: int = 1) -> tuple[datetime, datetime]:
    """From local midnight of `day` to local midnight `days` days later: what "a day" means on the
    board, the slips, the technician's phone and the API."""
    start = datetime.combine(day, time(0), tzinfo=local_tz())
    return start, start + timedelta(days=days)


def get_visit_or_404(visit_id: int, for_user: User) -> Visit:
    """A visit the user may see: a technician only their own (404 for anyone else's)."""
    visit = db.session.get(Visit, visit_id)
    if visit is None or (for_user.role == Role.TECHNICIAN and visit.technician_id != for_user.id):
        raise NotFound(_("There is no visit %(id)s.", id=visit_id))
    return visit


# The longest a visit lasts (booking refuses longer ones): what lets a search for the visits of a day bound the
# start from below as well, so the index on visits (start) reads that day and not every earlier visit.
LONGEST_VISIT = timedelta(hours=12)


def overlapping(start: datetime, end: datetime) -> Any:
    """The visits that overlap [start, end): the start bounded on both sides for the indexes on start."""
    return and_(Visit.start < end, Visit.start > start - LONGEST_VISIT, Visit.end > start)


# What the board, the slips and the technician's day show of each visit: its call, the customer, the site and
# the technician.
VISIT_ROW = (joinedload(Visit.call, innerjoin=True).options(joinedload(RepairCall.customer, innerjoin=True),
                                                             joinedload(RepairCall.site, innerjoin=True)),
             joinedload(Visit.technician, innerjoin=True))


def visits_on(day_start: datetime, day_end: datetime, technician_id: int | None = None) -> list[Visit]:
    stmt = select(Visit).options(*VISIT_ROW).where(
        overlapping(day_start, day_end), Visit.status != VisitStatus.CANCELLED).order_by(Visit.technician_id,
                                                                                         Visit.start)
    if technician_id is not None:
        stmt = stmt.where(Visit.technician_id == technician_id)
    return list(db.session.scalars(stmt))
