"""Billing: price list versions, parts catalogue, charge lines of calls, on-site payments.

Revision ID: 0002_billing
Revises: 6d04dd9d50c4
Create Date: 2026-11-23 09:05:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0002_billing"
down_revision = "6d04dd9d50c4"
branch_labels = None
depends_on = None


def money():
    return sa.Numeric(12, 2).with_variant(sa.String(20), "sqlite")


def rate():
    return sa.Numeric(10, 4).with_variant(sa.String(20), "sqlite")


def upgrade():
    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_out_fee", money(), nullable=False),
        sa.Column("labor_rate_per_hour", money(), nullable=False),
        sa.Column("tax_rate", rate(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("set_by_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["set_by_id"], ["users.id"], name=op.f("fk_prices_set_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_prices_effective_from"), ["effective_from"], unique=False)

    op.create_table(
        "parts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("unit", sa.String(length=20), nullable=False),
        sa.Column("unit_price", money(), nullable=False),
        sa.Column("unit_cost", money(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_parts")),
        sa.UniqueConstraint("sku", name=op.f("uq_parts_sku")),
    )
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parts_name"), ["name"], unique=False)

    op.create_table(
        "charge_lines",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("sku", sa.String(length=60), nullable=True),
        sa.Column("description", sa.String(length=300), nullable=False),
        sa.Column("quantity", rate(), nullable=False),
        sa.Column("labor_minutes", sa.Integer(), nullable=True),
        sa.Column("unit_price", money(), nullable=False),
        sa.Column("amount", money(), nullable=False),
        sa.Column("cost", money(), nullable=True),
        sa.Column("covered", sa.Boolean(), nullable=False),
        sa.Column("covered_by", sa.String(length=300), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("voided_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("kind in ('call_out','labor','part')", name=op.f("ck_charge_lines_kind_known")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"],
                                name=op.f("fk_charge_lines_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_charge_lines_visit_id_visits")),
        sa.ForeignKeyConstraint(["created_by_id"], ["users.id"],
                                name=op.f("fk_charge_lines_created_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_charge_lines")),
    )
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_charge_lines_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_charge_lines_visit_id"), ["visit_id"], unique=False)

    op.create_table(
        "payments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=True),
        sa.Column("amount", money(), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("receipt_number", sa.String(length=30), nullable=False),
        sa.Column("collected_by_id", sa.Integer(), nullable=True),
        sa.Column("collected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reconciled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reconciled_by_id", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=True),
        sa.CheckConstraint("method in ('cash','card','transfer')", name=op.f("ck_payments_method_known")),
        sa.ForeignKeyConstraint(["call_id"], ["repair_calls.id"], name=op.f("fk_payments_call_id_repair_calls")),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name=op.f("fk_payments_visit_id_visits")),
        sa.ForeignKeyConstraint(["collected_by_id"], ["users.id"],
                                name=op.f("fk_payments_collected_by_id_users")),
        sa.ForeignKeyConstraint(["reconciled_by_id"], ["users.id"],
                                name=op.f("fk_payments_reconciled_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
        sa.UniqueConstraint("receipt_number", name=op.f("uq_payments_receipt_number")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_payments_call_id"), ["call_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_payments_collected_at"), ["collected_at"], unique=False)
        batch_op.create_index("ix_payments_reconciled_at", ["reconciled_at"], unique=False)


def downgrade():
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_reconciled_at")
        batch_op.drop_index(batch_op.f("ix_payments_collected_at"))
        batch_op.drop_index(batch_op.f("ix_payments_call_id"))
    op.drop_table("payments")
    with op.batch_alter_table("charge_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_charge_lines_visit_id"))
        batch_op.drop_index(batch_op.f("ix_charge_lines_call_id"))
    op.drop_table("charge_lines")
    with op.batch_alter_table("parts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parts_name"))
    op.drop_table("parts")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prices_effective_from"))
    op.drop_table("prices")
