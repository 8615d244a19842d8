"""Issue 13, the loop: the follow-up call's answers (solved?, when), the communication log's record-sheet
fields (type, promise, by when, complaint flags), the urgent visit's phone call to the technician, and the
managers' attention list (escalations).

Revision ID: 0013_followup
Revises: 0012_calendar
Create Date: 2026-12-13 02:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0013_followup"
down_revision = "0012_calendar"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("solved", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("feedback_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reopened_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("call_notes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("promise", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("promised_by", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_authority", sa.Boolean(), server_default=sa.false(),
                                      nullable=False))
        batch_op.add_column(sa.Column("safety_risk", sa.Boolean(), server_default=sa.false(), nullable=False))

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phoned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("phoned_by_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(batch_op.f("fk_visits_phoned_by_id_users"), "users", ["phoned_by_id"], ["id"])

    op.create_table(
        "escalations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("note_id", sa.Integer(), nullable=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("raised_by_id", sa.Integer(), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("acknowledged_by_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("reason in ('reopened','unsatisfied','authority','safety','overdue')",
                           name=op.f("ck_escalations_reason_known")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"], name=op.f("fk_escalations_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["note_id"], ["call_notes.id"], name=op.f("fk_escalations_note_id_call_notes")),
        sa.ForeignKeyConstraint(["raised_by_id"], ["users.id"], name=op.f("fk_escalations_raised_by_id_users")),
        sa.ForeignKeyConstraint(["acknowledged_by_id"], ["users.id"],
                                name=op.f("fk_escalations_acknowledged_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_escalations")),
    )
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_escalations_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_escalations_acknowledged_at"), ["acknowledged_at"], unique=False)


def downgrade():
    with op.batch_alter_table("escalations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_escalations_acknowledged_at"))
        batch_op.drop_index(batch_op.f("ix_escalations_call_id"))
    op.drop_table("escalations")

    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_visits_phoned_by_id_users"), type_="foreignkey")
        batch_op.drop_column("phoned_by_id")
        batch_op.drop_column("phoned_at")

    with op.batch_alter_table("call_notes", schema=None) as batch_op:
        batch_op.drop_column("safety_risk")
        batch_op.drop_column("escalated_authority")
        batch_op.drop_column("promised_by")
        batch_op.drop_column("promise")
        batch_op.drop_column("kind")

    with op.batch_alter_table("repair_calls", schema=None) as batch_op:
        batch_op.drop_column("reopened_at")
        batch_op.drop_column("feedback_at")
        batch_op.drop_column("solved")
