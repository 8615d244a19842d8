"""Browser logins that end on the server: one `LoginSession` row per login, checked on every request.

The Flask session (a signed cookie) carries the user id with its password generation (`_user_id`, for
Flask-Login) and a random session key (`_sid`) whose SHA-256 names the row. Logout, a password change and
a disabled account set the row's `revoked_at`, so a saved copy of the cookie is refused afterwards.

"Keep me logged in" is a random remember-me token per login, in a cookie of its own (HttpOnly,
SameSite=Lax, Secure in production), stored as its SHA-256 and lasting REMEMBER_COOKIE_DAYS. When the
browser's session cookie is gone, the token opens a new session row that shares its hash; ending any of
them ends the token (the rows with that hash are one remembered login). Flask-Login's own remember
cookie, the same at every login, is never set: a leftover one is deleted.

Last use (of a session, and of an API token) is written at most once a minute, in a short write
transaction of its own before the request's work.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from flask import Flask, current_app, g, request, session
from flask_login import login_user, logout_user
from sqlalchemy import func, or_, select, update
from sqlalchemy.sql import Executable

from . import audit
from .database import write_transaction
from .extensions import db, login_manager
from .models import ApiToken, LoginSession, User
from .timeutil import utcnow

SESSION_KEY = "_sid"
REMEMBER_COOKIE = "dispatch_remember"
LEGACY_REMEMBER_COOKIE = "remember_token"  # Flask-Login's, from before: the same value at every login
TOUCH_EVERY = timedelta(minutes=1)


def digest(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()


def _client() -> dict[str, str | None]:
    agent = (request.user_agent.string or "")[:200] or None
    return {"user_agent": agent, "remote_addr": (request.remote_addr or "")[:64] or None}


# ----------------------------------------------------------------------------- writes apart


def _write_apart(*statements: Executable) -> None:
    """Bookkeeping (last use) in a short write transaction of its own, so that a GET that writes it takes
    the write lock from the start (SQLite) and the write survives whatever the request does next. When the
    request has work of its own pending, the statements join it instead."""
    if db.session.new or db.session.dirty or db.session.deleted:
        for statement in statements:
            db.session.execute(statement)
        return
    db.session.commit()
    with write_transaction():
        for statement in statements:
            db.session.execute(statement)
        db.session.commit()


def touch(record: LoginSession | ApiToken) -> None:
    """Record a use of a session or token, at most once a minute (a racing request writes nothing)."""
    now = utcnow()
    if record.last_used_at is not None and now - record.last_used_at < TOUCH_EVERY:
        return
    model = type(record)
    _write_apart(update(model).where(
        model.id == record.id, or_(model.last_used_at.is_(None), model.last_used_at < now - TOUCH_EVERY))
        .values(last_used_at=now).execution_options(synchronize_session=False))


# ----------------------------------------------------------------------------- logging in and out


def create(user: User, *, remember: bool, user_agent: str | None = None,
           remote_addr: str | None = None) -> tuple[LoginSession, str, str | None]:
    """A new login row: (row, session key, remember-me token or None); only the hashes are stored."""
    raw_session = secrets.token_urlsafe(32)
    raw_remember = secrets.token_urlsafe(32) if remember else None
    now = utcnow()
    row = LoginSession(user_id=user.id, auth_version=user.auth_version, session_sha256=digest(raw_session),
                       remember_sha256=digest(raw_remember) if raw_remember else None, created_at=now,
                       last_used_at=now, expires_at=now + timedelta(days=current_app.config["REMEMBER_COOKIE_DAYS"])
                       if remember else None, user_agent=user_agent, remote_addr=remote_addr)
    db.session.add(row)
    db.session.flush()
    return row, raw_session, raw_remember


def begin(user: User, *, remember: bool, via: str = "form") -> LoginSession:
    """Log this browser in: a new session row (and remember-me token), the Flask session, the audit event."""
    client = _client()
    row, raw_session, raw_remember = create(user, remember=remember, **client)
    login_user(user, remember=False, fresh=True)
    session[SESSION_KEY] = raw_session
    g.login_session = row
    g.remember_cookie = raw_remember or ""  # "" deletes a leftover one
    audit.record(user, user, "user.logged_in", after={"session_id": row.id, "via": via, "remember": remember,
                                                      **client})
    return row


def current() -> LoginSession | None:
    """This request's session row when it is live, else None."""
    if "login_session" in g:
        row: LoginSession | None = g.login_session
        return row
    raw = session.get(SESSION_KEY)
    row = db.session.scalar(select(LoginSession).where(LoginSession.session_sha256 == digest(raw))) \
        if isinstance(raw, str) and raw else None
    if row is not None and not _live(row):
        row = None
    g.login_session = row
    return row


def _live(row: LoginSession) -> bool:
    user = row.user
    return (row.revoked_at is None and (row.expires_at is None or row.expires_at > utcnow())
            and user.active and row.auth_version == user.auth_version)


def is_current(user: User) -> bool:
    """The Flask session's key names a live login of this user (the user loader asks, every request)."""
    row = current()
    if row is None or row.user_id != user.id:
        return False
    touch(row)
    return True


def _end(rows_of: Any, now: Any) -> None:
    db.session.execute(update(LoginSession).where(rows_of, LoginSession.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))


def end(user: User) -> None:
    """Log this browser out: its session row ends, and with it its remember-me token; audited."""
    row = current()
    if row is not None:
        now = utcnow()
        _end(LoginSession.remember_sha256 == row.remember_sha256 if row.remember_sha256
             else LoginSession.id == row.id, now)
        audit.record(user, user, "user.logged_out", after={"session_id": row.id, **_client()})
    logout_user()
    session.pop(SESSION_KEY, None)
    g.login_session = None
    g.remember_cookie = ""


def end_session(actor: User, row: LoginSession) -> None:
    """End one of `actor`'s logins from the account page (a phone left somewhere)."""
    _end(LoginSession.remember_sha256 == row.remember_sha256 if row.remember_sha256
         else LoginSession.id == row.id, utcnow())
    audit.record(actor, actor, "user.session_ended", after={"session_id": row.id})


def revoke_all(user: User) -> None:
    """Every login and API token of the user ends (a password change, a disabled account)."""
    now = utcnow()
    _end(LoginSession.user_id == user.id, now)
    db.session.execute(update(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
                       .values(revoked_at=now).execution_options(synchronize_session=False))


def open_sessions(user: User) -> list[LoginSession]:
    """The user's live logins, the latest used first (those not used in REMEMBER_COOKIE_DAYS left out:
    a browser closed long ago)."""
    now = utcnow()
    recent = now - timedelta(days=current_app.config["REMEMBER_COOKIE_DAYS"])
    return list(db.session.scalars(select(LoginSession).where(
        LoginSession.user_id == user.id, LoginSession.revoked_at.is_(None),
        LoginSession.auth_version == user.auth_version,
        or_(LoginSession.expires_at.is_(None), LoginSession.expires_at > now),
        func.coalesce(LoginSession.last_used_at, LoginSession.created_at) > recent)
        .order_by(func.coalesce(LoginSession.last_used_at, LoginSession.created_at).desc(), LoginSession.id.desc())))


# ----------------------------------------------------------------------------- remember-me


def resume(raw: str) -> User | None:
    """A new session from a live remember-me token (its rows: none ended, not expired, same password)."""
    hashed = digest(raw)
    rows = list(db.session.scalars(select(LoginSession).where(LoginSession.remember_sha256 == hashed)
                                   .order_by(LoginSession.id)))
    if not rows or any(not _live(row) for row in rows):
        return None
    first = rows[0]
    user = first.user
    raw_session = secrets.token_urlsafe(32)
    now = utcnow()
    client = _client()
    row = LoginSession(user_id=user.id, auth_version=user.auth_version, session_sha256=digest(raw_session),
                       remember_sha256=hashed, created_at=now, last_used_at=now, expires_at=first.expires_at,
                       **client)

    def write() -> None:
        db.session.add(row)
        db.session.flush()
        audit.record(user, user, "user.logged_in", after={"session_id": row.id, "via": "remember",
                                                          "remember": True, **client})

    if db.session.new or db.session.dirty or db.session.deleted:
        write()
    else:
        db.session.commit()
        with write_transaction():
            write()
            db.session.commit()
    session["_user_id"] = user.get_id()
    session["_fresh"] = False
    session[SESSION_KEY] = raw_session
    g.login_session = row
    return user


def _from_remember_cookie(_request: Any) -> User | None:
    """Flask-Login's request loader: no live session in the Flask session, so try the remember-me cookie."""
    raw = request.cookies.get(REMEMBER_COOKIE)
    if not raw:
        return None
    user = resume(raw)
    if user is None:
        g.remember_cookie = ""  # ended or expired: the browser may forget it
    return user


def _set_remember_cookie(response: Any) -> Any:
    value = g.pop("remember_cookie", None)
    config = current_app.config
    if value:
        response.set_cookie(REMEMBER_COOKIE, value, max_age=int(timedelta(days=config["REMEMBER_COOKIE_DAYS"])
                                                                 .total_seconds()),
                            secure=bool(config.get("REMEMBER_COOKIE_SECURE")), httponly=True, samesite="Lax",
                            path="/")
    elif value == "" and REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(REMEMBER_COOKIE, path="/", secure=bool(config.get("REMEMBER_COOKIE_SECURE")),
                               httponly=True, samesite="Lax")
    if LEGACY_REMEMBER_COOKIE in request.cookies:
        response.delete_cookie(LEGACY_REMEMBER_COOKIE, path="/")
    return response


def init_app(app: Flask) -> None:
    login_manager.request_loader(_from_remember_cookie)
    # Flask-Login reads its own remember cookie under this name instead of asking the request loader; a
    # name no response ever sets keeps it out of the way (a leftover `remember_token` is deleted above).
    app.config["REMEMBER_COOKIE_NAME"] = "flask_login_remember_unused"
    app.after_request(_set_remember_cookie)
