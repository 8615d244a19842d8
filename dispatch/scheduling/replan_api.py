"""JSON API v1 for re-planning a day (API.md, Booking visits): POST /api/v1/schedule/optimise."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask_login import current_user

from ..core.apiutil import api_view, body
from ..core.errors import Invalid
from ..core.i18n import _
from ..core.security import DESK, allow
from ..core.timeutil import iso
from ..core.validate import Fields
from . import replan
from .replan import MoveLine, Proposal

bp = Blueprint("replan_api", __name__, url_prefix="/api/v1")


def move_json(m: MoveLine) -> dict[str, Any]:
    return {"visit_id": m.visit_id, "slip_number": m.slip_number,
            "from": {"technician_id": m.from_technician_id, "technician_name": m.from_technician_name,
                     "start": iso(m.from_start)},
            "to": {"technician_id": m.to_technician_id, "technician_name": m.to_technician_name,
                   "start": iso(m.to_start), "end": iso(m.to_start + m.duration)}}


def proposal_json(p: Proposal) -> dict[str, Any]:
    """A re-plan; `proposal` (a dry run with moves) applies exactly these moves when sent back."""
    return {"date": p.day.isoformat(), "status": p.status, "km_before": p.km_before, "km_after": p.km_after,
            "late_before": p.late_before, "late_after": p.late_after, "moves": [move_json(m) for m in p.moves],
            "applied": p.applied, "proposal": replan.proposal_token(p) if p.moves and not p.applied else None,
            "violations": [{"code": v.code, "slip_number": v.visit_id, "technician_id": v.technician_id}
                           for v in p.violations]}


@bp.post("/schedule/optimise")
@allow(DESK)
@api_view
def optimise() -> Any:
    """Re-plan a day's visits not yet started: a dry run, or carried out with "apply": true."""
    f = Fields(body())
    day = f.date("date")
    apply_it = f.boolean("apply")
    token = f.text("proposal", required=False, max_length=100_000)
    f.check(_("The day cannot be re-planned."))
    assert day is not None
    if token is None:
        # computed now; applied if nothing changed meanwhile, else computed again once (409 schedule_changed)
        return proposal_json(replan.optimise_day(current_user, day, apply_it=apply_it))
    if not apply_it:
        raise Invalid(_("Send \"apply\": true with a proposal to carry it out."), fields={"apply": _("must be true")})
    proposal = replan.proposal_from_token(token)
    if proposal.day != day:
        raise Invalid(_("This proposal is for %(day)s.", day=proposal.day.isoformat()),
                      code="invalid_proposal", fields={"date": _("not the proposal's day")})
    # exactly the moves shown, or 409 schedule_changed when anything changed since
    return proposal_json(replan.apply(current_user, proposal))


optimise.openapi_status = "200"  # type: ignore[attr-defined]  # a POST that creates nothing (openapi.py)

_TECH_AT = {"type": "object", "properties": {"technician_id": {"type": "integer"},
                                             "technician_name": {"type": "string"},
                                             "start": {"type": "string", "format": "date-time"},
                                             "end": {"type": "string", "format": "date-time"}}}
OPENAPI: dict[str, Any] = {"schemas": {
    # "apply": false (the default) changes nothing. "apply": true without "proposal": computed and carried
    # out at once (computed again once when the schedule changed meanwhile, else 409 schedule_changed);
    # with the "proposal" of a dry run: exactly those moves, or 409 schedule_changed.
    "OptimiseIn": {"type": "object", "required": ["date"], "properties": {
        "date": {"type": "string", "format": "date"}, "apply": {"type": "boolean"},
        "proposal": {"type": "string", "maxLength": 100000}}},
    "Optimisation": {"type": "object", "properties": {
        "date": {"type": "string", "format": "date"},
        "status": {"enum": ["improved", "unchanged", "infeasible"]},
        "km_before": {"type": "number"}, "km_after": {"type": "number"},
        "late_before": {"type": "integer"}, "late_after": {"type": "integer"},
        "moves": {"type": "array", "items": {"type": "object", "properties": {
            "visit_id": {"type": "integer"}, "slip_number": {"type": "string"}, "from": _TECH_AT, "to": _TECH_AT}}},
        "applied": {"type": "boolean"},
        "proposal": {"type": ["string", "null"]},
        # the rules the day as booked already breaks (status "infeasible"): nothing is moved then
        "violations": {"type": "array", "items": {"type": "object", "properties": {
            "code": {"type": "string"}, "slip_number": {"type": "string"},
            "technician_id": {"type": "integer"}}}}}},
}, "bodies": {
    "replan_api.optimise": ("OptimiseIn", "Optimisation"),
}}
