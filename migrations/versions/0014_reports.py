"""Issue 13, the manager's numbers: the reports read existing tables only, so this revision changes no
schema; it keeps the chain whole (0012_calendar -> 0013_followup -> 0014_reports).

Revision ID: 0014_reports
Revises: 0013_followup
Create Date: 2026-12-13 01:00:00

"""


revision = "0014_reports"
down_revision = "0013_followup"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
