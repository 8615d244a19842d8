"""The audit trail: every state change writes who, when, what, before and after."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from . import audit_chain  # noqa: F401  (registers the hash chain's before_flush hook)
from .extensions import db
from .models import AuditEvent, User


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def snapshot(obj: Any, *fields: str) -> dict[str, Any]:
    return {f: _plain(getattr(obj, f)) for f in fields}


def record(actor: User | None, entity: Any, action: str, before: dict[str, Any] | None = None,
           after: dict[str, Any] | None = None, reason: str | None = None) -> AuditEvent:
    """Add an audit event for `entity` (flushed so the entity has its id)."""
    if getattr(entity, "id", None) is None:
        db.session.flush()
    event = AuditEvent(actor_id=actor.id if actor is not None else None, entity_type=entity.__tablename__,
                       entity_id=entity.id, action=action, before=_plain(before), after=_plain(after),
                       reason=reason)
    db.session.add(event)
    return event
