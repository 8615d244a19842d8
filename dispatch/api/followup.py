"""API: the follow-up queue, the updates due, the managers' attention list, an urgent visit phoned."""

from __future__ import annotations

from typing import Any

from flask_login import current_user

from ..core.apiutil import api_view
from ..core.security import DESK, MANAGERS, allow
from ..core.timeutil import iso
from ..scheduling.visits import get_visit_or_404
from ..services import calls, escalation, followup
from .blueprint import bp


def _call_ref(call: Any) -> dict[str, Any]:
    return {"call_id": call.id, "number": call.number, "customer_name": call.customer.name,
            "priority": call.priority, "status": call.status}


@bp.get("/followups")
@allow(DESK)
@api_view
def followups() -> Any:
    """Completed calls waiting for the follow-up call (回访), the oldest completion first."""
    items = [{**_call_ref(f.call), "completed_at": iso(f.call.completed_at), "due": iso(f.due),
              "overdue": f.overdue} for f in followup.followup_queue()]
    return {"items": items, "next": None}


@bp.get("/updates-due")
@allow(DESK)
@api_view
def updates_due() -> Any:
    """Open calls that owe their customer a progress update, the longest overdue first."""
    items = [{**_call_ref(u.call), "last_update": iso(u.last), "due": iso(u.due), "minutes_late": u.minutes}
             for u in followup.updates_due()]
    return {"items": items, "next": None}


def _attention_json(item: escalation.AttentionItem) -> dict[str, Any]:
    return {**_call_ref(item.call), "reasons": item.reasons, "since": iso(item.since), "details": item.details,
            "escalations": [{"id": e.id, "reason": e.reason, "detail": e.detail, "raised_at": iso(e.raised_at),
                             "raised_by": e.raised_by.name if e.raised_by else None} for e in item.escalations]}


@bp.get("/attention")
@allow(MANAGERS)
@api_view
def attention() -> Any:
    """The managers' attention list: reopened or unsatisfied calls, complaints escalated to a higher authority
    or a safety risk, calls open far past their target; the longest waiting first."""
    return {"items": [_attention_json(item) for item in escalation.attention_list()], "next": None}


@bp.post("/attention/calls/<int:call_id>/acknowledge")
@allow(MANAGERS)
@api_view
def acknowledge(call_id: int) -> Any:
    """A manager has seen the call: it leaves the list (409 not_on_attention_list if it was not there)."""
    call = calls.get_call_or_404(call_id)
    reasons = escalation.acknowledge(current_user, call)
    return {"call_id": call.id, "acknowledged": reasons}


acknowledge.openapi_status = "200"  # type: ignore[attr-defined]  # a POST that creates nothing (openapi.py)


@bp.post("/visits/<int:visit_id>/phoned")
@allow(DESK)
@api_view
def visit_phoned(visit_id: int) -> Any:
    """The dispatcher phoned the technician about an urgent visit (409 not_urgent for any other)."""
    visit = get_visit_or_404(visit_id, current_user)
    escalation.record_phoned(current_user, visit)
    return {"visit_id": visit.id, "phoned_at": iso(visit.phoned_at),
            "phoned_by": visit.phoned_by.name if visit.phoned_by else None}


visit_phoned.openapi_status = "200"  # type: ignore[attr-defined]
