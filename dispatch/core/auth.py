"""Who is logging in: password checks behind the login throttle, API tokens, the session loader.
The login pages and the token endpoints are in `login.py`; browser sessions in `sessions.py`."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import select

from . import audit, passwords, sessions, throttle
from .errors import NotFound
from .extensions import db
from .i18n import _
from .models import ApiToken, LoginFailure, User
from .timeutil import utcnow


def authenticate(username: str, password: str, remote_addr: str | None = None) -> User | None:
    """The active user with these credentials, or None (the failure kept and audited).

    Raises throttle.LoginThrottled, without checking the password, once this (username, address) pair or
    this address has used up its count (dispatch/core/throttle.py). Every answer that checks costs one
    password hash, whether the username exists, is disabled or is right."""
    # NUL cannot be stored on PostgreSQL; such a name is no user's, but the failure still counts.
    username = (username or "").strip().replace("\x00", "\ufffd")
    address = (remote_addr or "unknown")[:64]
    attempt = throttle.Attempt(username, address)
    throttle.admit(attempt)
    user = db.session.scalar(select(User).where(User.username == username))
    right = passwords.verify(user, password or "")
    if user is None or not user.active or not right:
        failure = LoginFailure(username=username[:80], remote_addr=address)
        db.session.add(failure)
        audit.record(None, failure, "login.failed", after={
            "username": username[:80], "remote_addr": address, "user_id": user.id if user else None,
            "reason": "unknown_user" if user is None else "disabled" if not user.active else "wrong_password"})
        for scope in throttle.exhausted(attempt):
            # The attempt that used up a count: from now on this pair (or address) is refused unchecked.
            audit.record(None, failure, "login.locked_out", after={
                "username": username[:80], "remote_addr": address, "scope": scope,
                "minutes": current_app.config["LOGIN_WINDOW_MINUTES"]})
        return None
    throttle.forgive(attempt)
    return user


# ----------------------------------------------------------------------------- API tokens


def token_digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def issue_token(user: User, *, user_agent: str | None = None, remote_addr: str | None = None) -> tuple[str, ApiToken]:
    raw = secrets.token_urlsafe(32)
    token = ApiToken(user_id=user.id, token_sha256=token_digest(raw), auth_version=user.auth_version,
                     expires_at=utcnow() + timedelta(hours=current_app.config["API_TOKEN_HOURS"]),
                     user_agent=(user_agent or "")[:200] or None, remote_addr=(remote_addr or "")[:64] or None)
    db.session.add(token)
    db.session.flush()
    return raw, token


def _live_token(raw: str) -> ApiToken | None:
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_sha256 == token_digest(raw)))
    if token is None or token.revoked_at is not None or token.expires_at <= utcnow():
        return None
    user = token.user
    if not user.active or user.auth_version != token.auth_version:
        return None
    return token


def user_for_token(raw: str) -> User | None:
    token = _live_token(raw)
    if token is None:
        return None
    user = token.user
    sessions.touch(token)
    return user


def open_tokens(user: User) -> list[ApiToken]:
    """The user's tokens that still work, the latest asked for first."""
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None), ApiToken.expires_at > utcnow(),
        ApiToken.auth_version == user.auth_version).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def revoke_token(actor: User, token: ApiToken) -> None:
    if token.revoked_at is None:
        token.revoked_at = utcnow()
        audit.record(actor, actor, "user.token_revoked", after={"token_id": token.id})


def revoke_raw_token(actor: User, raw: str) -> None:
    """DELETE /api/v1/auth/token: the token the request was sent with."""
    token = _live_token(raw)
    if token is None or token.user_id != actor.id:
        raise NotFound(_("This token is unknown, expired or already revoked."), code="invalid_token")
    revoke_token(actor, token)


def own_token_or_404(user: User, token_id: int) -> ApiToken:
    token = db.session.get(ApiToken, token_id)
    if token is None or token.user_id != user.id:
        raise NotFound(_("There is no such token of yours."))
    return token


# ----------------------------------------------------------------------------- the session loader


def load_user(session_id: str) -> User | None:
    """Flask-Login's user loader: the user of the Flask session, while their password generation is the
    same and the session's server-side row is live (not logged out, not ended by a password change)."""
    user_id, _sep, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.auth_version != int(version):
        return None
    return user if sessions.is_current(user) else None
