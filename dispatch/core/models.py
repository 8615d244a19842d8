"""The platform's own tables: people and their roles, API tokens, login failures, the audit trail,
number counters and idempotent request replies. The desk's nouns live in `dispatch.models`."""

from __future__ import annotations

import enum
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from flask_login import UserMixin
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from .extensions import Model
from .i18n import _l
from .types import UTCDateTime

if TYPE_CHECKING:
    from dispatch.models import WorkingHours


def utcnow() -> datetime:
    return datetime.now(UTC)


class Role(enum.StrEnum):
    ADMIN = "admin"
    MANAGER = "manager"
    DISPATCHER = "dispatcher"
    TECHNICIAN = "technician"
    FINANCE = "finance"


ROLE_LABELS = {Role.ADMIN: _l("Administrator"), Role.MANAGER: _l("Service manager"),
               Role.DISPATCHER: _l("Dispatcher"), Role.TECHNICIAN: _l("Technician"), Role.FINANCE: _l("Finance")}
# The enum labels this module defines, by kind (the factory collects every module's into one registry).
LABELS = {"role": ROLE_LABELS}


class User(UserMixin, Model):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    password_hash: Mapped[str] = mapped_column(String(256))
    # Bumped on every password change: sessions and tokens issued before it die.
    auth_version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Set by an admin's password reset: until the user picks their own, pages lead to the account page
    # and the API answers 403 password_change_required (dispatch/core/security.py).
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    phone: Mapped[str | None] = mapped_column(String(40))
    email: Mapped[str | None] = mapped_column(String(200))
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    base_latitude: Mapped[float | None] = mapped_column(Float)
    base_longitude: Mapped[float | None] = mapped_column(Float)
    # The user's own language (zh_CN, en); None: the browser's, else DEFAULT_LOCALE.
    locale: Mapped[str | None] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A technician: when they last acknowledged the changes to their day ("your day changed", OK).
    day_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    working_hours: Mapped[list[WorkingHours]] = relationship(
        back_populates="user", order_by="(WorkingHours.weekday, WorkingHours.start)", cascade="all, delete-orphan"
    )

    __table_args__ = (CheckConstraint("role in ('admin','manager','dispatcher','technician','finance')",
                                      name="role_known"),)

    def set_password(self, password: str, method: str | None = None) -> None:
        self.password_hash = generate_password_hash(password, method=method) if method else \
            generate_password_hash(password)
        self.auth_version = (self.auth_version or 0) + 1

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    def get_id(self) -> str:
        # The session remembers the password generation too, so a password change logs everyone out.
        return f"{self.id}:{self.auth_version}"

    @property
    def is_active(self) -> bool:  # type: ignore[override]
        return bool(self.active)

    def has_role(self, *roles: str) -> bool:
        return self.role in roles

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Model):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    auth_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Written at most once a minute per token (dispatch/core/sessions.py `touch`), shown on the account page.
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class LoginSession(Model):
    """One login from a browser, ended server-side (dispatch/core/sessions.py). The Flask session holds a
    random key whose SHA-256 is `session_sha256`; "keep me logged in" adds a random remember token in its
    own cookie (SHA-256 in `remember_sha256`) that opens a new session until `expires_at`. Logout, a
    password change and a disabled account set `revoked_at`: a saved copy of either cookie is then worth
    nothing."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    auth_version: Mapped[int] = mapped_column(Integer)
    session_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    # The logins a remember-me token resumed share its hash (and its end): one "keep me logged in".
    remember_sha256: Mapped[str | None] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A remembered login's end (REMEMBER_COOKIE_DAYS); None: it ends with the browser's session.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    user_agent: Mapped[str | None] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user: Mapped[User] = relationship()


class LoginFailure(Model):
    """A refused login (wrong password, unknown or disabled account), kept: its audit event points here.
    The throttle itself counts in Flask-Limiter's storage (dispatch/core/throttle.py)."""

    __tablename__ = "login_failures"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (Index("ix_login_failures_username_at", "username", "at"),)


class AuditEvent(Model):
    """Who changed what, when, from what to what. Written for every state change."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    entity_type: Mapped[str] = mapped_column(String(40))
    entity_id: Mapped[int] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(60))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    reason: Mapped[str | None] = mapped_column(Text)
    # The hash chain (dispatch/core/audit_chain.py): set at flush, under the chain's lock.
    prev_sha256: Mapped[str] = mapped_column(String(64))
    content_sha256: Mapped[str] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()

    __table_args__ = (Index("ix_audit_events_entity", "entity_type", "entity_id"),)


class Counter(Model):
    """Gapless numbering per series and year (SC-2026-000001). Taken under a row lock."""

    __tablename__ = "counters"

    series: Mapped[str] = mapped_column(String(20), primary_key=True)
    year: Mapped[int] = mapped_column(Integer, primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


class IdempotentRequest(Model):
    """The first answer to a write sent with an Idempotency-Key, replayed for repeats."""

    __tablename__ = "idempotent_requests"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(200))
    method: Mapped[str] = mapped_column(String(10))
    path: Mapped[str] = mapped_column(String(500))
    body_sha256: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("user_id", "key", name="uq_idempotent_requests_user_key"),)
