"""Logging in: the login page, API tokens, password checks and the shared login throttle."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from sqlalchemy import delete, func, select

from .apiutil import api_view, body
from .errors import Invalid, TooManyRequests
from .extensions import db, login_manager
from .models import ApiToken, LoginFailure, User
from .security import ALL_ROLES, allow, public
from .timeutil import iso, utcnow

bp = Blueprint("auth", __name__)
api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


# ----------------------------------------------------------------------------- services


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
        raise TooManyRequests(f"Too many failed logins for this user. Wait {minutes} minutes and try again.")
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


@login_manager.user_loader
def _load_user(session_id: str) -> User | None:
    user_id, _, version = session_id.partition(":")
    if not user_id.isdigit() or not version.isdigit():
        return None
    user = db.session.get(User, int(user_id))
    if user is None or not user.active or user.auth_version != int(version):
        return None
    return user


def safe_next(target: str | None) -> str | None:
    """Only a path on this site: no scheme, no host, no //evil.example."""
    if not target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return None  # control characters: header injection, or "/\t/evil" that browsers read as //evil
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    if parts.path == url_for("auth.login"):
        return None  # a logged-in user sent back to the login page would bounce there for ever
    return target


def home_for(user: Any) -> str:
    if user.role == "technician":
        return url_for("technicians.today") if "technicians.today" in current_app.view_functions \
            else url_for("desk.home")
    if user.role == "finance" and "billing.home" in current_app.view_functions:
        return url_for("billing.home")
    return url_for("desk.home")


# ----------------------------------------------------------------------------- pages


@bp.route("/login", methods=["GET", "POST"])
@public
def login() -> Any:
    from .forms import LoginForm

    if current_user.is_authenticated:
        return redirect(safe_next(request.args.get("next")) or home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        try:
            user = authenticate(form.username.data or "", form.password.data or "", request.remote_addr)
        except TooManyRequests as exc:
            db.session.commit()
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 429
        db.session.commit()
        if user is not None:
            login_user(user, remember=bool(form.remember.data))
            return redirect(safe_next(request.args.get("next")) or home_for(user))
        form.password.errors.append("Wrong username or password, or the account is disabled.")
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@allow(ALL_ROLES)
def logout() -> Any:
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


# ----------------------------------------------------------------------------- API


@api_bp.route("/auth/token", methods=["POST"])
@public
@api_view
def token() -> Any:
    data = body()
    username, password = data.get("username"), data.get("password")
    missing = {f: "required" for f, v in (("username", username), ("password", password))
               if not isinstance(v, str) or not v}
    if missing:
        raise Invalid("Send username and password.", fields=missing)
    try:
        user = authenticate(str(username), str(password), request.remote_addr)
    except TooManyRequests:
        db.session.commit()
        raise
    if user is None:
        db.session.commit()  # the failure counts even though we answer 401
        from .errors import DomainError

        raise DomainError("Wrong username or password, or the account is disabled.",
                          code="invalid_credentials", status=401)
    raw, tok = issue_token(user)
    return {"token": raw, "role": user.role, "expires_at": iso(tok.expires_at), "user_id": user.id,
            "name": user.name}, 200
