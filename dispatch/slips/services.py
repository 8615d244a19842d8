"""The slips' rules: which visits a print covers, and counting every print."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import update

from ..core import audit
from ..core.errors import NotFound
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import Role, User
from ..core.validate import MAX_ID
from ..models import Visit
from ..scheduling.calendars import get_technician_or_404


def record_prints(actor: User, visits: Sequence[Visit]) -> None:
    """Count one more print of each visit's slip (an atomic increment) and audit it."""
    for visit in visits:
        # In SQL, not in Python: two prints at the same moment must count as two.
        db.session.execute(update(Visit).where(Visit.id == visit.id)
                           .values(print_count=Visit.print_count + 1))
        db.session.refresh(visit, ["print_count"])
        audit.record(actor, visit, "visit.slip_printed", before={"print_count": visit.print_count - 1},
                     after={"print_count": visit.print_count})


def printable_technician(user: User, technician_id: int | None) -> int | None:
    """Whose slips `user` may print: a technician only ever their own (404 for anyone else's); the
    desk any technician's, or everyone's (None)."""
    if technician_id is not None and not 1 <= technician_id <= MAX_ID:
        raise NotFound(_("There is no technician %(id)s.", id=technician_id))
    if user.role == Role.TECHNICIAN:
        if technician_id not in (None, user.id):
            raise NotFound(_("There is no technician %(id)s.", id=technician_id))
        return user.id
    if technician_id is not None:
        get_technician_or_404(technician_id)
    return technician_id
