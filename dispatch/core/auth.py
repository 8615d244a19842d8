"""Who is logging in: password checks, the shared login throttle, API tokens, the session loader.
The login pages and the token endpoint are in `login.py`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import delete, func, select

from .errors import TooManyRequests
from .extensions import db
from .i18n import _
from .models import ApiToken, LoginFailure, User
from .timeutil import utcnow


def _throttled(username: str) -> bool:
    window = timedelta(minutes=current_app.config["LOGIN_WINDOW_MINUTES"])
    failures = db.session.scalar(select(func.count(LoginFailure.id)).where(
        LoginFailure.username == username, LoginFailure.at > utcnow() - window))
    return (failures or 0) >= current_app.config["LOGIN_MAX_FAILURES"]


def authenticate(username: str, password: str, remote_addr: str | None = None) -> User | None:
    """The active user with these credentials, or None (and the failure counted).
    Raises TooManyRequests once a username has failed too often in the window, whatever the password."""
    # NUL cannot be stored on PostgreSQL; such a name is no user's, but the failure still counts.
    username = (username or "").strip().replace("\x00", "\ufffd")
    # The count is keyed on what the table holds (80 characters), so a longer name is throttled too.
    if _throttled(username[:80]):
        minutes = current_app.config["LOGIN_WINDOW_MINUTES"]
        raise TooManyRequests(_("Too many failed logins for this user. Wait a minute and try again.") if minutes == 1
                              else _("Too many failed logins for this user. Wait %(minutes)d minutes and try again.",
                                     minutes=minutes))
    user = db.session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not user.check_password(password or ""):
        db.session.add(LoginFailure(username=username[:80], remote_addr=remote_addr))
        return None
    db.session.execute(delete(LoginFailure).where(LoginFailure.username == username[:80]))
    return user


def issue_token(user: User) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_sha256=hashlib.sha256(raw.encode()).hexdigest(),
                     auth_version=user.auth_version,
                     expires_at=utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]))
    db.session.add(token)
    db.session.flush()
    return raw, token


def user_for_token(raw: str) -> User | None:
    token = db.session.scalar(select(ApiToken).where(
        ApiToken.token_sha256 == hashlib.sha256(raw.encode()).hexdigest()))
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    user = token.user
    if not user.active or user.auth_version != token.auth_version:
        return None
    return user


def load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.auth_version != int(version):
        return None
    return user
