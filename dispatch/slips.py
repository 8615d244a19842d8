"""Dispatch slips as PDF: one visit's slip, or a day's slips in one PDF (one page per visit).

Every print counts: Visit.print_count goes up (audited) and from the second print on the slip
says "Reprint N", so a desk can tell the copy in the technician's hand from a later one.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from flask import Blueprint, Response, request
from flask_login import current_user

from . import documents
from .core.apiutil import api_view
from .core.errors import Invalid, NotFound
from .core.extensions import db
from .core.models import Role, User
from .core.security import DESK, allow
from .core.timeutil import local_today, local_tz, parse_date
from .scheduling import get_visit_or_404, visits_on

bp = Blueprint("slips_api", __name__, url_prefix="/api/v1")
MAX_ID = 2**31 - 1  # ids are 32-bit integer columns; a larger number is simply not found


def _writes(view: Any) -> Any:
    """This GET writes (it counts the print): its transaction takes SQLite's write lock up front."""
    view.writes = True
    return view


def _pdf(data: bytes, filename: str) -> Response:
    response = Response(data, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "no-store"  # every print is counted: never serve a cached copy
    return response


@bp.get("/visits/<int:visit_id>/slip.pdf")
@allow(DESK, Role.TECHNICIAN)
@_writes
@api_view
def visit_slip(visit_id: int) -> Any:
    """The visit's dispatch slip (the service voucher once signed), one A4 page; each print is counted."""
    visit = get_visit_or_404(visit_id, current_user)
    documents.record_prints(current_user, [visit])
    pdf = documents.render_slip(documents.slip_data(visit))
    return _pdf(pdf, f"{visit.slip_number}.pdf")


def _technician_for(user: User, raw: str | None) -> int | None:
    """The technician whose slips to print: a technician only ever their own (404 for anyone else)."""
    technician_id: int | None = None
    if raw not in (None, ""):
        try:
            technician_id = int(raw)  # type: ignore[arg-type]
        except ValueError:
            raise Invalid("technician_id must be a user id.", fields={"technician_id": "not a number"}) from None
    if technician_id is not None and not 1 <= technician_id <= MAX_ID:
        raise NotFound(f"There is no technician {technician_id}.")
    if user.role == Role.TECHNICIAN:
        if technician_id not in (None, user.id):
            raise NotFound(f"There is no technician {technician_id}.")
        return user.id
    if technician_id is not None:
        technician = db.session.get(User, technician_id)
        if technician is None or technician.role != Role.TECHNICIAN:
            raise NotFound(f"There is no technician {technician_id}.")
    return technician_id


@bp.get("/slips.pdf")
@allow(DESK, Role.TECHNICIAN)
@_writes
@api_view
def day_slips() -> Any:
    """A day's slips (?technician_id=&date=, default today) as one PDF, one page per visit."""
    technician_id = _technician_for(current_user, request.args.get("technician_id"))
    raw_date = request.args.get("date")
    day = parse_date(raw_date, "date") if raw_date else local_today()
    if not 1900 <= day.year <= 9000:
        raise Invalid("date must be a real working day, like 2026-11-23.", fields={"date": "out of range"})
    start = datetime.combine(day, time(0), tzinfo=local_tz())
    visits = visits_on(start, start + timedelta(days=1), technician_id)
    documents.record_prints(current_user, visits)
    who = f"technician {technician_id}" if technician_id is not None else "any technician"
    pdf = documents.render_slips([documents.slip_data(v) for v in visits],
                                 empty_message=f"No visits booked for {who} on {day.isoformat()}.")
    suffix = f"-t{technician_id}" if technician_id is not None else ""
    response = _pdf(pdf, f"slips-{day.isoformat()}{suffix}.pdf")
    response.headers["X-Slip-Count"] = str(len(visits))
    return response
