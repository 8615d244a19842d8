"""Issue 14: arrival windows promised to the customer, pinned visits, the technician's 'your day changed' notice.

- visits.window_start / window_end: the arrival window promised to the customer (API.md, Booking visits).
  Visits booked before get the default window around their start (dispatch.scheduling.windows), then the
  columns are NOT NULL and a CHECK holds window_start <= start < window_end on both engines.
- visits.pinned: a dispatcher pinned the visit; re-planning never moves it.
- visits.changed_at: when its technician or start last changed after booking (a dispatcher or a re-plan);
  visits.reassigned_at: when it last changed technician. Carried over from the audit trail's reschedules.
- visits.slip_printed_at: when its slip was last printed (the audit trail's last slip print), so the board can
  say "slip to reprint" when the visit changed after it.
- users.day_seen_at: when the technician last acknowledged the changes to their day.

Revision ID: 0016_windows
Revises: 0015_audit_chain
Create Date: 2026-12-07 23:00:00

"""

import json
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from alembic import op

from dispatch.core.types import UTCDateTime
from dispatch.scheduling.windows import arrival_window

revision = "0016_windows"
down_revision = "0015_audit_chain"
branch_labels = None
depends_on = None

IN_WINDOW = 'window_start <= start AND start < window_end'


def _visits() -> sa.TableClause:
    return sa.table("visits", sa.column("id", sa.Integer), sa.column("start", UTCDateTime()),
                    sa.column("window_start", UTCDateTime()), sa.column("window_end", UTCDateTime()),
                    sa.column("print_count", sa.Integer), sa.column("updated_at", UTCDateTime()),
                    sa.column("changed_at", UTCDateTime()), sa.column("reassigned_at", UTCDateTime()),
                    sa.column("slip_printed_at", UTCDateTime()))


def _audit() -> sa.TableClause:
    return sa.table("audit_events", sa.column("entity_type", sa.String), sa.column("entity_id", sa.Integer),
                    sa.column("action", sa.String), sa.column("at", UTCDateTime()),
                    sa.column("before", sa.JSON), sa.column("after", sa.JSON))


def _backfill(conn: sa.Connection) -> None:
    visits, audit = _visits(), _audit()
    rows = conn.execute(sa.select(visits.c.id, visits.c.start)).all()
    windows = [{"vid": vid, "ws": ws, "we": we} for vid, start in rows for ws, we in [arrival_window(start)]]
    if windows:
        conn.execute(visits.update().where(visits.c.id == sa.bindparam("vid"))
                     .values(window_start=sa.bindparam("ws"), window_end=sa.bindparam("we")), windows)

    # The last slip print, from the audit trail (else the last change of the row, the best we know).
    last_print = (sa.select(sa.func.max(audit.c.at)).where(
        audit.c.entity_type == "visits", audit.c.entity_id == visits.c.id, audit.c.action == "visit.slip_printed")
        .scalar_subquery())
    conn.execute(visits.update().where(visits.c.print_count > 0)
                 .values(slip_printed_at=sa.func.coalesce(last_print, visits.c.updated_at)))

    # The reschedules so far: the last change, and the last change of technician.
    changed: dict[int, tuple] = {}
    moves = conn.execute(sa.select(audit.c.entity_id, audit.c.at, audit.c.before, audit.c.after).where(
        audit.c.entity_type == "visits", audit.c.action == "visit.rescheduled").order_by(audit.c.at))
    for vid, at, before, after in moves:
        before = json.loads(before) if isinstance(before, str) else (before or {})
        after = json.loads(after) if isinstance(after, str) else (after or {})
        moved = {k: before.get(k) for k in ("technician_id", "start")} != {k: after.get(k) for k in
                                                                          ("technician_id", "start")}
        if not moved:
            continue
        reassigned = before.get("technician_id") != after.get("technician_id")
        changed[vid] = (at, at if reassigned else changed.get(vid, (None, None))[1])
    for vid, (at, reassigned_at) in changed.items():
        conn.execute(visits.update().where(visits.c.id == vid).values(changed_at=at, reassigned_at=reassigned_at))


@contextmanager
def _foreign_keys_off() -> Iterator[None]:
    """SQLite alters a table by building a new one and dropping the old: with foreign keys on, dropping
    visits or users fails while rows refer to them (visit events, signatures, calls...). SQLite's own recipe
    (https://sqlite.org/lang_altertable.html#otheralter): foreign keys off, which only takes effect outside a
    transaction, then a foreign_key_check before the commit. Other engines alter in place."""
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        yield
        return
    raw = bind.connection.dbapi_connection
    if not raw.execute("PRAGMA foreign_keys").fetchone()[0]:
        yield  # already off for the whole upgrade (migrations/env.py)
        return

    def switch(foreign_keys: str) -> None:
        # SQLAlchemy keeps its own idea of the open transaction: end SQLite's, switch, and open it again
        if raw.in_transaction:
            raw.execute("COMMIT")
        raw.execute(f"PRAGMA foreign_keys = {foreign_keys}")
        if bind.in_transaction():
            raw.execute("BEGIN")

    switch("OFF")
    try:
        yield
        broken = raw.execute("PRAGMA foreign_key_check").fetchall()
        if broken:
            raise RuntimeError(f"foreign keys broken by the table rebuild: {broken[:5]}")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    finally:
        switch("ON")


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("window_start", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("window_end", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("changed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reassigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("slip_printed_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("day_seen_at", sa.DateTime(timezone=True), nullable=True))

    _backfill(op.get_bind())

    # On SQLite the nullable columns above were added in place; what follows rebuilds the table.
    with _foreign_keys_off(), op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pinned", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.alter_column("window_start", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.alter_column("window_end", existing_type=sa.DateTime(timezone=True), nullable=False)
        batch_op.create_check_constraint(op.f("ck_visits_visit_in_window"), sa.text(IN_WINDOW))


def downgrade():
    with _foreign_keys_off():
        with op.batch_alter_table("users", schema=None) as batch_op:
            batch_op.drop_column("day_seen_at")
        _downgrade_visits()


def _downgrade_visits() -> None:
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_visits_visit_in_window"), type_="check")
        batch_op.drop_column("slip_printed_at")
        batch_op.drop_column("reassigned_at")
        batch_op.drop_column("changed_at")
        batch_op.drop_column("pinned")
        batch_op.drop_column("window_end")
        batch_op.drop_column("window_start")
