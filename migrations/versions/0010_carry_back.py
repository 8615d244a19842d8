"""Issue 11, carry-back repairs (携回修护): the carried-back items, their photos and history; visits get a kind
("service" or "return").

Revision ID: 0010_carry_back
Revises: 0009_fixes
Create Date: 2026-12-11 01:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0010_carry_back"
down_revision = "0009_fixes"
branch_labels = None
depends_on = None

STATUSES = "'in_workshop','received','diagnosing','waiting_parts','repaired','ready_to_return','returned'"


def upgrade():
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=10), nullable=False, server_default="service"))

    op.create_table(
        "carry_backs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=30), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("item", sa.String(length=200), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("serial_number", sa.String(length=100), nullable=False),
        sa.Column("accessories", sa.Text(), nullable=False),
        sa.Column("condition", sa.Text(), nullable=False),
        sa.Column("stated_fault", sa.Text(), nullable=False),
        sa.Column("promised_return_on", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("taken_by_id", sa.Integer(), nullable=False),
        sa.Column("assigned_to_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_by_id", sa.Integer(), nullable=True),
        sa.Column("receipt_signer_name", sa.String(length=200), nullable=True),
        sa.Column("receipt_signature_png", sa.LargeBinary(), nullable=True),
        sa.Column("receipt_signed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("receipt_signed_content", sa.Text(), nullable=True),
        sa.Column("receipt_sha256", sa.String(length=64), nullable=True),
        sa.Column("new_serial_number", sa.String(length=100), nullable=True),
        sa.Column("return_method", sa.String(length=10), nullable=True),
        sa.Column("return_visit_id", sa.Integer(), nullable=True),
        sa.Column("returned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("return_signer_name", sa.String(length=200), nullable=True),
        sa.Column("return_signature_png", sa.LargeBinary(), nullable=True),
        sa.Column("return_signed_content", sa.Text(), nullable=True),
        sa.Column("return_sha256", sa.String(length=64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"status in ({STATUSES})", name=op.f("ck_carry_backs_status_known")),
        sa.CheckConstraint("return_method is null or return_method in ('visit','pickup')",
                           name=op.f("ck_carry_backs_return_method_known")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_carry_backs_visit_id_visits")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"], name=op.f("fk_carry_backs_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["taken_by_id"], ["users.id"], name=op.f("fk_carry_backs_taken_by_id_users")),
        sa.ForeignKeyConstraint(["assigned_to_id"], ["users.id"], name=op.f("fk_carry_backs_assigned_to_id_users")),
        sa.ForeignKeyConstraint(["received_by_id"], ["users.id"], name=op.f("fk_carry_backs_received_by_id_users")),
        sa.ForeignKeyConstraint(["return_visit_id"], ["visits.id"],
                                name=op.f("fk_carry_backs_return_visit_id_visits")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carry_backs")),
        sa.UniqueConstraint("number", name=op.f("uq_carry_backs_number")),
        sa.UniqueConstraint("visit_id", name=op.f("uq_carry_backs_visit_id")),
    )
    with op.batch_alter_table("carry_backs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carry_backs_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carry_backs_taken_by_id"), ["taken_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_carry_backs_assigned_to_id"), ["assigned_to_id"], unique=False)

    op.create_table(
        "carry_back_photos",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carry_back_id", sa.Integer(), nullable=False),
        sa.Column("image", sa.LargeBinary(), nullable=False),
        sa.Column("content_type", sa.String(length=40), nullable=False),
        sa.Column("width", sa.Integer(), nullable=False),
        sa.Column("height", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("uploaded_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["carry_back_id"], ["carry_backs.id"],
                                name=op.f("fk_carry_back_photos_carry_back_id_carry_backs")),
        sa.ForeignKeyConstraint(["uploaded_by_id"], ["users.id"],
                                name=op.f("fk_carry_back_photos_uploaded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carry_back_photos")),
    )
    with op.batch_alter_table("carry_back_photos", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carry_back_photos_carry_back_id"), ["carry_back_id"], unique=False)

    op.create_table(
        "carry_back_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("carry_back_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("old_promised_on", sa.Date(), nullable=True),
        sa.Column("new_promised_on", sa.Date(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind in ('status','note','promise_moved','received','returned','assigned','work',"
                           "'serial')",
                           name=op.f("ck_carry_back_events_kind_known")),
        sa.ForeignKeyConstraint(["carry_back_id"], ["carry_backs.id"],
                                name=op.f("fk_carry_back_events_carry_back_id_carry_backs")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_carry_back_events_actor_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carry_back_events")),
    )
    with op.batch_alter_table("carry_back_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_carry_back_events_carry_back_id"), ["carry_back_id"], unique=False)

    # Workshop work is charged on the call like on-site work (visit_id NULL); `source` tells the two apart
    # and `source_ref` names the carry-back (its receipt number) whose work it is.
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("source", sa.String(length=10), nullable=False, server_default="site"))
        batch_op.add_column(sa.Column("source_ref", sa.String(length=30), nullable=True))
        batch_op.create_check_constraint("source_known", "source in ('site','workshop')")


def downgrade():
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.drop_constraint("source_known", type_="check")
        batch_op.drop_column("source_ref")
        batch_op.drop_column("source")
    with op.batch_alter_table("carry_back_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carry_back_events_carry_back_id"))
    op.drop_table("carry_back_events")
    with op.batch_alter_table("carry_back_photos", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carry_back_photos_carry_back_id"))
    op.drop_table("carry_back_photos")
    with op.batch_alter_table("carry_backs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_carry_backs_assigned_to_id"))
        batch_op.drop_index(batch_op.f("ix_carry_backs_taken_by_id"))
        batch_op.drop_index(batch_op.f("ix_carry_backs_call_id"))
    op.drop_table("carry_backs")
    with op.batch_alter_table("visits", schema=None) as batch_op:
        batch_op.drop_column("kind")
