"""On site: visit events, work records, customer signatures (one per visit), internal admin work.

Revision ID: 0003_onsite
Revises: 0002_billing
Create Date: 2026-11-23 09:05:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0003_onsite"
down_revision = "0002_billing"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "visit_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind in ('on_my_way','arrived','completed','signed')",
                           name=op.f("ck_visit_events_kind_known")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_visit_events_actor_id_users")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_visit_events_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_visit_events")),
    )
    with op.batch_alter_table("visit_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_visit_events_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "work_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("work_summary", sa.Text(), nullable=False),
        sa.Column("labor_minutes", sa.Integer(), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("follow_up_call_id", sa.Integer(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_by_id", sa.Integer(), nullable=True),
        sa.Column("sealed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("outcome in ('fixed','carry_back','follow_up')",
                           name=op.f("ck_work_records_outcome_known")),
        sa.CheckConstraint("labor_minutes >= 0", name=op.f("ck_work_records_labor_not_negative")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"], name=op.f("fk_work_records_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["completed_by_id"], ["users.id"],
                                name=op.f("fk_work_records_completed_by_id_users")),
        sa.ForeignKeyConstraint(["follow_up_call_id"], ["repair_calls.id"],
                                name=op.f("fk_work_records_follow_up_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_work_records_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_records")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_work_records_visit_id")),
    )
    with op.batch_alter_table("work_records", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_work_records_call_id"), ["call_id"], unique=False)

    op.create_table(
        "signatures",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("signer_name", sa.String(length=200), nullable=False),
        sa.Column("image_png", sa.LargeBinary(), nullable=False),
        sa.Column("image_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_content", sa.Text(), nullable=False),
        sa.Column("content_sha256", sa.String(length=64), nullable=False),
        sa.Column("signed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=True),
        sa.Column("technician_confirmed_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["technician_id"], ["users.id"], name=op.f("fk_signatures_technician_id_users")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_signatures_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_signatures")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_signatures_visit_id")),
    )

    op.create_table(
        "admin_work",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("technician_id", sa.Integer(), nullable=False),
        sa.Column("date", sa.Date(), nullable=False),
        sa.Column("activity", sa.String(length=20), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("logged_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("activity in ('inspection','parts','tools','training','other')",
                           name=op.f("ck_admin_work_activity_known")),
        sa.CheckConstraint("minutes > 0 and minutes <= 1440", name=op.f("ck_admin_work_minutes_range")),
        sa.ForeignKeyConstraint(["logged_by_id"], ["users.id"], name=op.f("fk_admin_work_logged_by_id_users")),
        sa.ForeignKeyConstraint(["technician_id"], ["users.id"], name=op.f("fk_admin_work_technician_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_work")),
    )
    with op.batch_alter_table("admin_work", schema=None) as batch_op:
        batch_op.create_index("ix_admin_work_technician_date", ["technician_id", "date"], unique=False)


def downgrade():
    with op.batch_alter_table("admin_work", schema=None) as batch_op:
        batch_op.drop_index("ix_admin_work_technician_date")
    op.drop_table("admin_work")
    op.drop_table("signatures")
    with op.batch_alter_table("work_records", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_work_records_call_id"))
    op.drop_table("work_records")
    with op.batch_alter_table("visit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_visit_events_visit_id"))
    op.drop_table("visit_events")
