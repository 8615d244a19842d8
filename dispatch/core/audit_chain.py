"""The audit trail as a hash chain, and the database's refusal to change it.

Each AuditEvent carries `content_sha256`, the SHA-256 of its canonical content *including* the hash of the
event before it (`prev_sha256`), so rewriting an event breaks its own hash and removing one breaks the
next event's link. Hashes are taken in `before_flush`, under a lock held to the end of the transaction,
so two writers never chain onto the same predecessor: on SQLite the write lock (one writer at a time),
on PostgreSQL a transaction-level advisory lock. The chain's order is the id order: ids are drawn after
the lock is taken, so they follow the chain.

The database itself refuses UPDATE, DELETE (and on PostgreSQL TRUNCATE) on audit_events with triggers the
migration 0015_audit_chain creates. `append_only_lifted` drops them and puts them back inside one
transaction; only the test harness uses it (to empty tables between committing tests), and it needs the
right to drop triggers, which the application's database role should not have in production.

`verify` walks the chain and re-checks every signed record through the checks other packages register
(`register_evidence_check`): the technicians' vouchers and carry-back receipts.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Flask, current_app
from sqlalchemy import event, select, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

GENESIS = "0" * 64
# pg_advisory_xact_lock key: "audit" in ASCII, one lock for the whole chain.
_PG_LOCK_KEY = 0x6175646974

SQLITE_TRIGGERS = (
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_update BEFORE UPDATE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: UPDATE refused'); END",
    "CREATE TRIGGER IF NOT EXISTS audit_events_no_delete BEFORE DELETE ON audit_events "
    "BEGIN SELECT RAISE(ABORT, 'audit_events is append-only: DELETE refused'); END",
)
SQLITE_DROP = (
    "DROP TRIGGER IF EXISTS audit_events_no_update",
    "DROP TRIGGER IF EXISTS audit_events_no_delete",
)
PG_TRIGGERS = (
    """CREATE OR REPLACE FUNCTION audit_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'audit_events is append-only: ' || TG_OP || ' refused';
END $$""",
    "CREATE TRIGGER audit_events_append_only BEFORE UPDATE OR DELETE ON audit_events "
    "FOR EACH ROW EXECUTE FUNCTION audit_events_append_only()",
    "CREATE TRIGGER audit_events_no_truncate BEFORE TRUNCATE ON audit_events "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_events_append_only()",
)
PG_DROP = (
    "DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events",
    "DROP TRIGGER IF EXISTS audit_events_no_truncate ON audit_events",
)


def create_guard(connection: Connection) -> None:
    for sql in (PG_TRIGGERS if connection.dialect.name == "postgresql" else SQLITE_TRIGGERS):
        connection.exec_driver_sql(sql)


def drop_guard(connection: Connection, *, function: bool = False) -> None:
    for sql in (PG_DROP if connection.dialect.name == "postgresql" else SQLITE_DROP):
        connection.exec_driver_sql(sql)
    if function and connection.dialect.name == "postgresql":
        connection.exec_driver_sql("DROP FUNCTION IF EXISTS audit_events_append_only()")


@contextmanager
def append_only_lifted(connection: Connection) -> Iterator[None]:
    """FOR THE TEST HARNESS: drop the append-only triggers, run the block, put them back; all inside the
    caller's transaction, so no other connection ever sees the table unguarded."""
    drop_guard(connection)
    yield
    create_guard(connection)


# ----------------------------------------------------------------------------- hashing

def _at(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat()


def _json(value: Any) -> Any:
    # What the JSON column gives back, so the hash taken before the write is the one verify recomputes.
    return None if value is None else json.loads(json.dumps(value))


def canonical(*, at: datetime | None, actor_id: int | None, entity_type: str, entity_id: int, action: str,
              before: Any, after: Any, reason: str | None, prev_sha256: str) -> str:
    content = {"at": _at(at), "actor_id": actor_id, "entity_type": entity_type, "entity_id": entity_id,
               "action": action, "before": _json(before), "after": _json(after), "reason": reason,
               "prev_sha256": prev_sha256}
    return json.dumps(content, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def event_hash(prev_sha256: str, **content: Any) -> str:
    return hashlib.sha256(canonical(prev_sha256=prev_sha256, **content).encode("utf-8")).hexdigest()


def _content(ev: Any) -> dict[str, Any]:
    return {"at": ev.at, "actor_id": ev.actor_id, "entity_type": ev.entity_type, "entity_id": ev.entity_id,
            "action": ev.action, "before": ev.before, "after": ev.after, "reason": ev.reason}


def lock_chain(connection: Connection) -> None:
    """Hold the chain to the end of the transaction (SQLite: the write about to happen takes the write
    lock; a reader that can't upgrade fails with 'busy' rather than forking the chain)."""
    if connection.dialect.name == "postgresql":
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def chain_head(connection: Connection) -> str:
    from .models import AuditEvent

    head = connection.execute(select(AuditEvent.content_sha256).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    return head or GENESIS


@event.listens_for(Session, "before_flush")
def _chain_new_events(session: Session, _context: Any, _instances: Any) -> None:
    from sqlalchemy import inspect

    from .models import AuditEvent, utcnow

    new = [obj for obj in session.new if isinstance(obj, AuditEvent)]
    if not new:
        return
    new.sort(key=lambda obj: inspect(obj).insert_order)  # the unit of work inserts in this order
    connection = session.connection()
    lock_chain(connection)
    prev = chain_head(connection)
    for ev in new:
        if ev.at is None:
            ev.at = utcnow()
        ev.prev_sha256 = prev
        ev.content_sha256 = prev = event_hash(prev, **_content(ev))


# ----------------------------------------------------------------------------- verification

@dataclass(frozen=True)
class Problem:
    kind: str  # "audit_event" or a signed record's kind
    record_id: int
    message: str

    def __str__(self) -> str:
        return f"{self.kind} #{self.record_id}: {self.message}"


EvidenceCheck = Callable[[], Iterator[Problem]]


def register_evidence_check(app: Flask, check: EvidenceCheck) -> None:
    app.extensions.setdefault("evidence_checks", []).append(check)


def verify_chain(session: Any) -> tuple[int, Problem | None]:
    """Walk the chain in id order; the number of events and the first broken link (or None)."""
    from .models import AuditEvent

    prev = GENESIS
    count = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)
                              .execution_options(yield_per=1000, populate_existing=True)):
        count += 1
        if ev.prev_sha256 != prev:
            return count, Problem("audit_event", ev.id, "its link to the previous event is broken "
                                  "(an event before it was changed, removed or inserted)")
        if ev.content_sha256 != event_hash(prev, **_content(ev)):
            return count, Problem("audit_event", ev.id, "its content no longer matches its hash (it was changed)")
        prev = ev.content_sha256
    return count, None


def verify(session: Any) -> tuple[int, list[Problem]]:
    count, broken = verify_chain(session)
    problems = [broken] if broken else []
    for check in current_app.extensions.get("evidence_checks", []):
        problems.extend(check())
    return count, problems
