"""Issue 10, "things that break": no schema change so far (kept so the revision chain stays whole).

Revision ID: 0009_fixes
Revises: 0008_geo
Create Date: 2026-12-10 01:00:00

"""


revision = "0009_fixes"
down_revision = "0008_geo"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
