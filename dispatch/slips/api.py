"""Dispatch slips as PDF: one visit's slip, or a day's slips in one PDF (one page per visit).

Every print counts: Visit.print_count goes up (audited) and from the second print on the slip
says "Reprint N", so a desk can tell the copy in the technician's hand from a later one.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_login import current_user

from ..core.apiutil import api_view
from ..core.errors import Invalid
from ..core.i18n import _
from ..core.models import Role
from ..core.security import DESK, allow
from ..core.timeutil import local_today, parse_date
from ..scheduling.visits import day_window, get_visit_or_404, visits_on
from . import services
from .data import slip_data
from .documents import render_slip, render_slips

bp = Blueprint("slips_api", __name__, url_prefix="/api/v1")


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
    services.record_prints(current_user, [visit])
    pdf = render_slip(slip_data(visit))
    return _pdf(pdf, f"{visit.slip_number}.pdf")


def _technician_arg(raw: str | None) -> int | None:
    if raw in (None, ""):
        return None
    try:
        return int(raw)  # type: ignore[arg-type]
    except ValueError:
        raise Invalid(_("%(field)s must be a user id.", field="technician_id"),
                      fields={"technician_id": _("not a number")}) from None


@bp.get("/slips.pdf")
@allow(DESK, Role.TECHNICIAN)
@_writes
@api_view
def day_slips() -> Any:
    """A day's slips (?technician_id=&date=, default today) as one PDF, one page per visit."""
    technician_id = services.printable_technician(current_user, _technician_arg(request.args.get("technician_id")))
    raw_date = request.args.get("date")
    day = parse_date(raw_date, "date") if raw_date else local_today()
    if not 1900 <= day.year <= 9000:
        raise Invalid(_("%(field)s must be a real working day, like 2026-11-23.", field="date"),
                      fields={"date": _("out of range")})
    visits = visits_on(*day_window(day), technician_id)
    services.record_prints(current_user, visits)
    if technician_id is not None:
        empty = _("No visits booked for technician %(id)s on %(day)s.", id=technician_id, day=day.isoformat())
    else:
        empty = _("No visits booked for any technician on %(day)s.", day=day.isoformat())
    pdf = render_slips([slip_data(v) for v in visits], empty_message=empty)
    suffix = f"-t{technician_id}" if technician_id is not None else ""
    response = _pdf(pdf, f"slips-{day.isoformat()}{suffix}.pdf")
    response.headers["X-Slip-Count"] = str(len(visits))
    return response
