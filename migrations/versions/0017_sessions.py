"""Issue 15: per-login remember-me tokens and server-side sessions, forced password change, login audit.

login_sessions holds one row per browser login (the SHA-256 of the session key kept in the signed Flask
session, and of the remember-me token when "keep me logged in" was ticked), ended at logout, password
change and disable. users.must_change_password is set by an admin's reset. api_tokens gain their last use
and where they were asked for, for the account page.

Revision ID: 0017_sessions
Revises: 0016_windows
Create Date: 2026-12-07 23:00:00

"""

import sqlalchemy as sa
from alembic import op

from dispatch.core.types import UTCDateTime

revision = "0017_sessions"
down_revision = "0016_windows"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("must_change_password", sa.Boolean(), nullable=False,
                                   server_default=sa.false()))
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("last_used_at", UTCDateTime(), nullable=True))
        batch.add_column(sa.Column("user_agent", sa.String(200), nullable=True))
        batch.add_column(sa.Column("remote_addr", sa.String(64), nullable=True))
    op.create_table(
        "login_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("auth_version", sa.Integer(), nullable=False),
        sa.Column("session_sha256", sa.String(64), nullable=False),
        sa.Column("remember_sha256", sa.String(64), nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.Column("last_used_at", UTCDateTime(), nullable=True),
        sa.Column("expires_at", UTCDateTime(), nullable=True),
        sa.Column("revoked_at", UTCDateTime(), nullable=True),
        sa.Column("user_agent", sa.String(200), nullable=True),
        sa.Column("remote_addr", sa.String(64), nullable=True),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name="fk_login_sessions_user_id_users"),
        sa.PrimaryKeyConstraint("id", name="pk_login_sessions"),
        sa.UniqueConstraint("session_sha256", name="uq_login_sessions_session_sha256"),
    )
    op.create_index("ix_login_sessions_user_id", "login_sessions", ["user_id"])
    op.create_index("ix_login_sessions_remember_sha256", "login_sessions", ["remember_sha256"])


def downgrade():
    op.drop_index("ix_login_sessions_remember_sha256", table_name="login_sessions")
    op.drop_index("ix_login_sessions_user_id", table_name="login_sessions")
    op.drop_table("login_sessions")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("remote_addr")
        batch.drop_column("user_agent")
        batch.drop_column("last_used_at")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("must_change_password")
