"""Each user's own language (zh_CN or en; empty: the browser's, else the company default).

Revision ID: 0004_user_locale
Revises: 0003_onsite
Create Date: 2026-12-02 00:30:00

"""
from alembic import op
import sqlalchemy as sa


revision = "0004_user_locale"
down_revision = "0003_onsite"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("locale", sa.String(length=10), nullable=True))


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("locale")
