"""Issue 15, keyed evidence: each signed record says how its hashes were made (hash_scheme). Records signed
from now on are sealed by HMAC-SHA256 with the server's EVIDENCE_KEY ("hmac-sha256", the default); the ones
already signed keep their plain SHA-256 and are marked "sha256" here (technicians/evidence.py checks them
against the hash the audit trail recorded when they were signed).

Revision ID: 0019_evidence
Revises: 0018_perf
Create Date: 2026-12-07 23:30:00

"""

import sqlalchemy as sa
from alembic import op

revision = "0019_evidence"
down_revision = "0018_perf"
branch_labels = None
depends_on = None

COLUMNS = {"signatures": ("hash_scheme",), "carry_backs": ("receipt_hash_scheme", "return_hash_scheme")}


def upgrade():
    # Added with "sha256" so every row already there gets it; then the default becomes the keyed scheme.
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.add_column(sa.Column(column, sa.String(16), nullable=False, server_default="sha256"))
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.alter_column(column, existing_type=sa.String(16), existing_nullable=False,
                                   server_default="hmac-sha256")


def downgrade():
    for table, columns in COLUMNS.items():
        with op.batch_alter_table(table) as batch:
            for column in columns:
                batch.drop_column(column)
