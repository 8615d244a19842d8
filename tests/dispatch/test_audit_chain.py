"""Issue 15, evidence that can't be quietly changed: the audit trail is hash-chained, the database refuses to
change it, and `flask audit verify` names the first event changed behind the app's back."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from dispatch.core.audit_chain import GENESIS, append_only_lifted, event_hash
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from tests.factories import make_call


def _events() -> list[AuditEvent]:
    db.session.flush()
    return list(db.session.scalars(select(AuditEvent).order_by(AuditEvent.id)))


def _some_events(dispatcher) -> list[AuditEvent]:
    for _ in range(3):
        make_call(dispatcher)
    events = _events()
    assert len(events) >= 3
    return events


def test_each_event_carries_its_hash_and_the_previous_ones(dispatcher):
    events = _some_events(dispatcher)
    first_prev = events[0].prev_sha256
    assert len(first_prev) == 64
    for before, ev in zip(events, events[1:], strict=False):
        assert ev.prev_sha256 == before.content_sha256
    for ev in events:
        assert ev.content_sha256 == event_hash(ev.prev_sha256, at=ev.at, actor_id=ev.actor_id,
                                               entity_type=ev.entity_type, entity_id=ev.entity_id,
                                               action=ev.action, before=ev.before, after=ev.after,
                                               reason=ev.reason)
    assert len({ev.content_sha256 for ev in events}) == len(events)
    assert events[0].prev_sha256 == GENESIS or db.session.scalar(
        select(AuditEvent.id).where(AuditEvent.content_sha256 == events[0].prev_sha256)) is not None


def test_verify_passes_on_an_untouched_trail(runner, dispatcher):
    _some_events(dispatcher)
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 0, result.output
    assert "Audit trail intact" in result.output


@pytest.mark.parametrize("statement", ["UPDATE audit_events SET reason = 'nothing happened' WHERE id = :id",
                                       "DELETE FROM audit_events WHERE id = :id"])
def test_the_database_refuses_to_change_or_remove_an_event(dispatcher, statement):
    target = _some_events(dispatcher)[-1]
    savepoint = db.session.begin_nested()
    with pytest.raises(DBAPIError, match="append-only"):
        db.session.execute(text(statement), {"id": target.id})
    savepoint.rollback()
    assert db.session.get(AuditEvent, target.id) is not None


def test_verify_names_an_event_rewritten_behind_the_apps_back(runner, dispatcher):
    events = _some_events(dispatcher)
    victim = events[-2]
    with append_only_lifted(db.session.connection()):
        db.session.execute(text("UPDATE audit_events SET reason = 'quietly changed' WHERE id = :id"),
                           {"id": victim.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit_event #{victim.id}: its content no longer matches its hash" in result.output


def test_verify_names_the_event_after_a_removed_one(runner, dispatcher):
    events = _some_events(dispatcher)
    removed, following = events[-2], events[-1]
    with append_only_lifted(db.session.connection()):
        db.session.execute(text("DELETE FROM audit_events WHERE id = :id"), {"id": removed.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit_event #{following.id}: its link to the previous event is broken" in result.output


def test_a_rewrite_that_recomputes_the_events_own_hash_still_breaks_the_next_link(runner, dispatcher):
    events = _some_events(dispatcher)
    victim, following = events[-2], events[-1]
    forged = event_hash(victim.prev_sha256, at=victim.at, actor_id=victim.actor_id,
                        entity_type=victim.entity_type, entity_id=victim.entity_id, action=victim.action,
                        before=victim.before, after=victim.after, reason="forged")
    with append_only_lifted(db.session.connection()):
        db.session.execute(text("UPDATE audit_events SET reason = 'forged', content_sha256 = :h WHERE id = :id"),
                           {"h": forged, "id": victim.id})
    result = runner.invoke(args=["audit", "verify"])
    assert result.exit_code == 1
    assert f"audit_event #{following.id}" in result.output
