"""The login page, logout, and the API's token endpoints: the request edges of `auth` and `sessions`.

Registering the blueprint also wires what logging in needs per app (`_init`): the login throttle's
Flask-Limiter storage and the remember-me cookie's loader and writer."""

from __future__ import annotations

from typing import Any, cast
from urllib.parse import urlsplit

from flask import Blueprint, Flask, Response, current_app, flash, redirect, render_template, request, url_for
from flask.blueprints import BlueprintSetupState
from flask_login import current_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect
from wtforms import BooleanField, PasswordField, StringField
from wtforms.validators import DataRequired, Length

from . import audit, sessions, throttle
from .apiutil import api_view, body, error_payload, json_error
from .auth import authenticate, issue_token, revoke_raw_token
from .errors import BadRequest, DomainError, Invalid
from .i18n import _, _l
from .pages import page_view
from .security import ALL_ROLES, allow, allowed_roles, home_for, is_public, password_change_exempt, public
from .throttle import LoginThrottled
from .timeutil import iso

bp = Blueprint("auth", __name__)
api_bp = Blueprint("auth_api", __name__, url_prefix="/api/v1")


@bp.record_once
def _init(state: BlueprintSetupState) -> None:
    app = cast(Flask, state.app)
    throttle.init_app(app)
    sessions.init_app(app)


class LoginForm(FlaskForm):
    username = StringField(_l("Username"), validators=[DataRequired(), Length(max=80)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)])
    remember = BooleanField(_l("Keep me logged in on this device"))


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


def next_for(user: Any, target: str | None) -> str | None:
    """`next` when it is a page of this site the user's role may open (the view's `allow` roles), else
    None, and the login sends them to their own home: a technician who opened `/` (the desk) lands on
    their day, not on "Not for your role"."""
    target = safe_next(target)
    if target is None:
        return None
    adapter = current_app.create_url_adapter(request)
    path = urlsplit(target).path
    if request.script_root and path.startswith(request.script_root + "/"):
        path = path[len(request.script_root):]
    if adapter is None:
        return None
    try:
        try:
            endpoint, _values = adapter.match(path, method="GET")
        except RequestRedirect as moved:  # /t -> /t/: the page it leads to decides
            endpoint, _values = adapter.match(urlsplit(moved.new_url).path, method="GET")
    except HTTPException:
        return None  # no such page, or not one to open: home is better than an error
    if is_public(current_app, endpoint) or user.role in (allowed_roles(endpoint) or ()):
        return target
    return None


# ----------------------------------------------------------------------------- pages


@bp.route("/login", methods=["GET", "POST"])
@public
@page_view
def login() -> Any:
    if current_user.is_authenticated:
        return redirect(next_for(current_user, request.args.get("next")) or home_for(current_user))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        # A refused login is answered, not raised: the failure it records must be committed by the edge.
        try:
            user = authenticate(form.username.data or "", form.password.data or "", request.remote_addr)
        except LoginThrottled as exc:
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(exc.retry_after)}
        except DomainError as exc:
            form.password.errors.append(exc.message)
            return render_template("auth/login.html", form=form), exc.status
        if user is not None:
            sessions.begin(user, remember=bool(form.remember.data))
            if user.must_change_password:
                return redirect(url_for("account.account"))
            return redirect(next_for(user, request.args.get("next")) or home_for(user))
        form.password.errors.append(_("Wrong username or password, or the account is disabled."))
        status = 401
    elif request.method == "POST":
        status = 400
    return render_template("auth/login.html", form=form), status


@bp.route("/logout", methods=["POST"])
@allow(ALL_ROLES)
@password_change_exempt
@page_view
def logout() -> Any:
    sessions.end(current_user._get_current_object())
    flash(_("You are logged out."), "info")
    return redirect(url_for("auth.login"))


# ----------------------------------------------------------------------------- API


@api_bp.route("/auth/token", methods=["POST"])
@public
@api_view
def token() -> Any:
    data = body()
    username, password = data.get("username"), data.get("password")
    missing = {f: _("required") for f, v in (("username", username), ("password", password))
               if not isinstance(v, str) or not v}
    if missing:
        raise Invalid(_("Send username and password."), fields=missing)
    # A refused login is answered, not raised, so that api_view commits the failure it records.
    try:
        user = authenticate(str(username), str(password), request.remote_addr)
    except LoginThrottled as exc:
        refusal = json_error(exc.status, exc.code, exc.message)
        refusal.headers["Retry-After"] = str(exc.retry_after)
        return refusal
    if user is None:
        refused = DomainError(_("Wrong username or password, or the account is disabled."),
                              code="invalid_credentials", status=401)
        return error_payload(refused), refused.status
    raw, tok = issue_token(user, user_agent=request.user_agent.string, remote_addr=request.remote_addr)
    audit.record(user, user, "user.logged_in", after={"token_id": tok.id, "via": "api",
                                                      "user_agent": tok.user_agent, "remote_addr": tok.remote_addr})
    return {"token": raw, "role": user.role, "expires_at": iso(tok.expires_at), "user_id": user.id,
            "name": user.name, "must_change_password": user.must_change_password}, 200


@api_bp.route("/auth/token", methods=["DELETE"])
@allow(ALL_ROLES)
@password_change_exempt
@api_view
def revoke_token() -> Any:
    """Revoke the token this request is sent with (204); the others of the user keep working."""
    scheme, _space, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        raise BadRequest(_("Send the token to revoke as Authorization: Bearer <token>."), code="no_token")
    revoke_raw_token(current_user._get_current_object(), raw.strip())
    return Response(status=204)


revoke_token.openapi_status = 204  # type: ignore[attr-defined]
