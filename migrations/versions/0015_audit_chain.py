"""Issue 15, evidence that can't be quietly changed: audit events hash-chained (content_sha256 of each event's
canonical content including prev_sha256, the hash of the event before it); the events already written are
chained once here, in id order; then triggers refuse UPDATE and DELETE on audit_events (PostgreSQL: a
plpgsql trigger, TRUNCATE too; SQLite: RAISE(ABORT) triggers). Created after the batch alteration, which
rebuilds the table on SQLite and would drop them.

Revision ID: 0015_audit_chain
Revises: 0014_reports
Create Date: 2026-12-02 02:40:00

"""

import sqlalchemy as sa
from alembic import op

from dispatch.core.audit_chain import GENESIS, create_guard, drop_guard, event_hash
from dispatch.core.types import UTCDateTime

revision = "0015_audit_chain"
down_revision = "0014_reports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("audit_events") as batch:
        batch.add_column(sa.Column("prev_sha256", sa.String(64), nullable=True))
        batch.add_column(sa.Column("content_sha256", sa.String(64), nullable=True))
    events = sa.table("audit_events", sa.column("id", sa.Integer), sa.column("at", UTCDateTime()),
                      sa.column("actor_id", sa.Integer), sa.column("entity_type", sa.String),
                      sa.column("entity_id", sa.Integer), sa.column("action", sa.String),
                      sa.column("before", sa.JSON), sa.column("after", sa.JSON), sa.column("reason", sa.Text),
                      sa.column("prev_sha256", sa.String), sa.column("content_sha256", sa.String))
    bind = op.get_bind()
    prev = GENESIS
    rows = bind.execute(sa.select(events.c.id, events.c.at, events.c.actor_id, events.c.entity_type,
                                  events.c.entity_id, events.c.action, events.c.before, events.c.after,
                                  events.c.reason).order_by(events.c.id)).all()
    for row in rows:
        digest = event_hash(prev, at=row.at, actor_id=row.actor_id, entity_type=row.entity_type,
                            entity_id=row.entity_id, action=row.action, before=row.before, after=row.after,
                            reason=row.reason)
        bind.execute(events.update().where(events.c.id == row.id).values(prev_sha256=prev, content_sha256=digest))
        prev = digest
    with op.batch_alter_table("audit_events") as batch:
        batch.alter_column("prev_sha256", existing_type=sa.String(64), nullable=False)
        batch.alter_column("content_sha256", existing_type=sa.String(64), nullable=False)
    create_guard(bind)


def downgrade():
    bind = op.get_bind()
    drop_guard(bind, function=True)
    with op.batch_alter_table("audit_events") as batch:
        batch.drop_column("content_sha256")
        batch.drop_column("prev_sha256")
