"""The slips' rules: which visits a print covers, and counting prints (the slip's and the voucher's apart)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, update

from ..core import audit
from ..core.errors import NotFound
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import Role, User
from ..core.timeutil import utcnow
from ..core.validate import MAX_ID
from ..models import Visit
from ..scheduling.calendars import get_technician_or_404
from .data import voucher_provider


def document_of(visit: Visit) -> str:
    """What printing this visit gives: "voucher" once the customer has signed (the voucher hook says so),
    else "slip"."""
    provider = voucher_provider()
    return "voucher" if provider is not None and provider(visit) is not None else "slip"


def print_number(visit: Visit, document: str) -> int:
    """How many times this document of the visit has been printed so far."""
    return (visit.voucher_print_count if document == "voucher" else visit.print_count) or 0


def record_prints(actor: User, visits: Sequence[Visit]) -> list[tuple[Visit, str, int]]:
    """Count one print of each visit's document (the slip, or the voucher once signed: two counters, so
    the customer's first voucher is no reprint), atomically, and audit it. Only a deliberate print counts
    (a POST from a print button); reading the PDF does not. Returns (visit, document, print number)."""
    printed = []
    for visit in visits:
        document = document_of(visit)
        column = Visit.voucher_print_count if document == "voucher" else Visit.print_count
        # In SQL, not in Python: two prints at the same moment must count as two.
        values: dict[str, Any] = {column.key: func.coalesce(column, 0) + 1}
        if document == "slip":
            values["slip_printed_at"] = utcnow()  # a slip printed after the visit's last change is current
        db.session.execute(update(Visit).where(Visit.id == visit.id).values(values))
        db.session.refresh(visit, ["print_count", "voucher_print_count", "slip_printed_at"])
        number = print_number(visit, document)
        audit.record(actor, visit, f"visit.{document}_printed", before={"print_count": number - 1},
                     after={"print_count": number})
        printed.append((visit, document, number))
    return printed


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
