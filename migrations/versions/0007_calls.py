"""Calls can be corrected and cancelled (issue 10): a cancelled call keeps when and why.

Revision ID: 0007_calls
Revises: 0006_booking
Create Date: 2026-12-02 01:10:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0007_calls"
down_revision = "0006_booking"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("repair_calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("cancel_reason", sa.Text(), nullable=True))


def downgrade():
    with op.batch_alter_table("repair_calls", schema=None) as batch_op:
        batch_op.drop_column("cancel_reason")
        batch_op.drop_column("cancelled_at")
