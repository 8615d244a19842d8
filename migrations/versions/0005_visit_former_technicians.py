"""Visits remember the technicians they were taken from (a reassignment), so the first one's phone can
say "given to another technician" instead of "not found".

Revision ID: 0005_former_technicians
Revises: 0004_user_locale
Create Date: 2026-12-02 01:00:00

"""
import json

from alembic import op
import sqlalchemy as sa


revision = "0005_former_technicians"
down_revision = "0004_user_locale"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("former_technician_ids", sa.JSON(), nullable=False, server_default="[]"))
    # Reassignments made before this column existed are in the audit trail: carry them over once.
    conn = op.get_bind()
    moves = conn.execute(sa.text(
        "SELECT entity_id, before FROM audit_events WHERE entity_type = 'visits' AND action = 'visit.rescheduled'"))
    formers: dict[int, list[int]] = {}
    for visit_id, before in moves:
        data = json.loads(before) if isinstance(before, str) else before
        tech = (data or {}).get("technician_id")
        if tech is not None and tech not in formers.setdefault(visit_id, []):
            formers[visit_id].append(tech)
    visits = sa.table("visits", sa.column("id", sa.Integer), sa.column("former_technician_ids", sa.JSON))
    for visit_id, ids in formers.items():
        conn.execute(visits.update().where(visits.c.id == visit_id).values(former_technician_ids=ids))


def downgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("former_technician_ids")
