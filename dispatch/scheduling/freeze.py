"""Which visits re-planning may move: one rule for the re-plan, the replay and the board.

A visit is frozen once its technician is on the way, on site or done, or when a dispatcher pinned it.
A cancelled visit is neither frozen nor movable: it is on no plan at all (the caller leaves it out).
"""

from __future__ import annotations

from datetime import datetime

from ..models import Visit, VisitStatus

FROZEN_STATUSES = (VisitStatus.ON_THE_WAY, VisitStatus.ON_SITE, VisitStatus.COMPLETED)


def is_frozen(visit: Visit, now: datetime | None = None) -> bool:
    """Whether re-planning must leave `visit` where it is. With `now`, a visit whose planned start has
    passed counts as started too (the replay of a day: never move a visit already started at that moment)."""
    if visit.pinned or visit.status in FROZEN_STATUSES:
        return True
    return now is not None and visit.start <= now
