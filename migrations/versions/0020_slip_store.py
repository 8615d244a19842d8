"""Issue 16, the stored slip: a visit's slip PDF rendered once per content and served from here.

slip_pdfs holds one rendered PDF per (visit, fingerprint): the SHA-256 of everything the slip prints (the
slip's data, the printing language, the templates' version). A derived cache: a row whose visit changed is
replaced by the next render in the same language (dispatch/slips/store.py), nothing of record is lost.

Revision ID: 0020_slip_store
Revises: 0019_evidence
Create Date: 2026-12-08 00:00:00

"""

import sqlalchemy as sa
from alembic import op

from dispatch.core.types import UTCDateTime

revision = "0020_slip_store"
down_revision = "0019_evidence"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "slip_pdfs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("visit_id", sa.Integer(), nullable=False),
        sa.Column("locale", sa.String(16), nullable=False),
        sa.Column("fingerprint", sa.String(64), nullable=False),
        sa.Column("pdf", sa.LargeBinary(), nullable=False),
        sa.Column("rendered_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(["visit_id"], ["visits.id"], name="fk_slip_pdfs_visit_id_visits"),
        sa.PrimaryKeyConstraint("id", name="pk_slip_pdfs"),
        sa.UniqueConstraint("visit_id", "fingerprint", name="uq_slip_pdfs_visit_id"),
    )
    op.create_index("ix_slip_pdfs_rendered_at", "slip_pdfs", ["rendered_at"])


def downgrade():
    op.drop_index("ix_slip_pdfs_rendered_at", table_name="slip_pdfs")
    op.drop_table("slip_pdfs")
