"""Dispatch slips as PDF: one visit's slip, or a day's slips in one PDF (one page per visit).

Reading a PDF (GET) counts nothing, so no link, preview or crawler can add a print. A print is a POST
(the print buttons; the API's .../slip/prints and /slips/prints): the slip's or the signed voucher's own
counter goes up (audited), and from the second print of a document on it says "Reprint N", so a desk can
tell the copy in the technician's hand from a later one. The customer's first voucher is no reprint.
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, Response, request
from flask_login import current_user

from ..core.apiutil import api_view, optional_body
from ..core.errors import Invalid
from ..core.extensions import csrf
from ..core.i18n import _
from ..core.models import Role
from ..core.pdf import pdf_response
from ..core.security import DESK, allow
from ..core.timeutil import local_today, parse_date
from ..core.validate import Fields
from ..scheduling.visits import day_window, get_visit_or_404, visits_on
from . import services, store, warm
from .data import slip_data

bp = Blueprint("slips_api", __name__, url_prefix="/api/v1")
bp.record_once(lambda state: warm.init_app(state.app))  # slips rendered after a booking or change commits


def _pdf(data: bytes, filename: str) -> Response:
    return pdf_response(data, filename)  # never cached: every print is counted


@bp.get("/visits/<int:visit_id>/slip.pdf")
@allow(DESK, Role.TECHNICIAN)
@api_view
def visit_slip(visit_id: int) -> Any:
    """The visit's dispatch slip (the service voucher once signed), one A4 page; reading it counts no print.
    Served stored when its content was rendered before (X-Slip-Source: stored), else rendered and stored."""
    visit = get_visit_or_404(visit_id, current_user)
    pdf, was_stored = store.slip_pdf(slip_data(visit))
    response = _pdf(pdf, f"{visit.slip_number}.pdf")
    response.headers["X-Slip-Source"] = "stored" if was_stored else "rendered"
    return response


def print_json(visit_id: int, document: str, number: int) -> dict[str, Any]:
    return {"visit_id": visit_id, "document": document, "print_count": number, "reprint": number >= 2,
            "pdf": f"/api/v1/visits/{visit_id}/slip.pdf"}


@bp.post("/visits/<int:visit_id>/slip/prints")
@csrf.exempt  # checked in api_authenticate: a bearer token needs none, a browser session sends its token
@allow(DESK, Role.TECHNICIAN)
@api_view
def print_slip(visit_id: int) -> Any:
    """Count one print of the visit's slip (or of its voucher once signed); then GET slip.pdf prints it."""
    visit = get_visit_or_404(visit_id, current_user)
    (_visit, document, number), = services.record_prints(current_user, [visit])
    return print_json(visit.id, document, number), 201


def _technician_arg(raw: object) -> int | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    try:
        return int(str(raw))
    except ValueError:
        raise Invalid(_("%(field)s must be a user id.", field="technician_id"),
                      fields={"technician_id": _("not a number")}) from None


def day_query(day: Any, technician_id: int | None) -> str:
    query = f"date={day.isoformat()}"
    return query + (f"&technician_id={technician_id}" if technician_id is not None else "")


def _day_visits(technician_arg: object, raw_date: object) -> tuple[Any, int | None, list[Any]]:
    technician_id = services.printable_technician(current_user, _technician_arg(technician_arg))
    day = parse_date(raw_date, "date") if raw_date else local_today()
    return day, technician_id, visits_on(*day_window(day), technician_id)


@bp.get("/slips.pdf")
@allow(DESK, Role.TECHNICIAN)
@api_view
def day_slips() -> Any:
    """A day's slips (?technician_id=&date=, default today) as one PDF, one page per visit; counts no print."""
    day, technician_id, visits = _day_visits(request.args.get("technician_id"), request.args.get("date"))
    if technician_id is not None:
        empty = _("No visits booked for technician %(id)s on %(day)s.", id=technician_id, day=day.isoformat())
    else:
        empty = _("No visits booked for any technician on %(day)s.", day=day.isoformat())
    pdf, stored = store.day_pdf([slip_data(v) for v in visits], empty)
    suffix = f"-t{technician_id}" if technician_id is not None else ""
    response = _pdf(pdf, f"slips-{day.isoformat()}{suffix}.pdf")
    response.headers["X-Slip-Count"] = str(len(visits))
    response.headers["X-Slip-Stored"] = str(stored)  # served as stored; the others were laid out now
    return response


@bp.post("/slips/prints")
@csrf.exempt
@allow(DESK, Role.TECHNICIAN)
@api_view
def print_day_slips() -> Any:
    """Count one print of each slip of a day ({"date", "technician_id"?}: every technician's when none);
    then GET slips.pdf with the same query prints them as one PDF."""
    f = Fields(optional_body())
    f.date("date", required=False)
    technician_id = f.integer("technician_id", required=False, minimum=1)
    f.check(_("The slips cannot be printed."))
    day, technician_id, visits = _day_visits(technician_id, f.data.get("date"))
    printed = services.record_prints(current_user, visits)
    return {"date": day.isoformat(), "technician_id": technician_id, "count": len(printed),
            "prints": [print_json(v.id, document, number) for v, document, number in printed],
            "pdf": f"/api/v1/slips.pdf?{day_query(day, technician_id)}"}, 201


OPENAPI: dict[str, Any] = {"schemas": {
    "SlipPrint": {"type": "object", "properties": {
        "visit_id": {"type": "integer"}, "document": {"enum": ["slip", "voucher"]},
        "print_count": {"type": "integer"}, "reprint": {"type": "boolean"}, "pdf": {"type": "string"}}},
    "DaySlipsPrintIn": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date"}, "technician_id": {"type": "integer", "minimum": 1}}},
    "DaySlipsPrint": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date"}, "technician_id": {"type": ["integer", "null"]},
        "count": {"type": "integer"}, "prints": {"type": "array", "items": {"$ref": "#/components/schemas/SlipPrint"}},
        "pdf": {"type": "string"}}},
}, "bodies": {
    "slips_api.print_slip": (None, "SlipPrint"),
    "slips_api.print_day_slips": ("DaySlipsPrintIn", "DaySlipsPrint"),
}}
