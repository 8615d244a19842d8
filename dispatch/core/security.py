"""Who may do what. Every view declares its roles; a view that declares none is refused to everyone.

`allow(...)` marks a view with the roles that may use it, `public` marks the few open ones. The guard
in `protect()` runs before every request, so a forgotten decorator fails closed, not open.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Flask, abort, current_app, g, redirect, request, url_for
from flask_login import current_user

from .apiutil import api_authenticate, json_error
from .errors import Forbidden
from .i18n import _
from .models import Role
from .requests import is_api_request

F = TypeVar("F", bound=Callable[..., Any])

ALL_ROLES = frozenset(r.value for r in Role)
DESK = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER})
MANAGERS = frozenset({Role.ADMIN, Role.MANAGER})
FINANCE = frozenset({Role.ADMIN, Role.FINANCE})
# Roles that need a customer's full phone number; everyone else sees it masked (138****5678).
SEES_FULL_PHONE = frozenset({Role.ADMIN, Role.MANAGER, Role.DISPATCHER, Role.TECHNICIAN})


def allow(*roles: str | frozenset[str]) -> Callable[[F], F]:
    allowed: set[str] = set()
    for r in roles:
        allowed |= set(r) if isinstance(r, frozenset) else {r}

    def mark(view: F) -> F:
        view.allowed_roles = frozenset(allowed)  # type: ignore[attr-defined]
        return view

    return mark


def public(view: F) -> F:
    view.public = True  # type: ignore[attr-defined]
    return view


def password_change_exempt(view: F) -> F:
    """A view a user whose password an admin reset may still use: the ones that lead to a new password
    (the account page, `POST /api/v1/me/password`, `GET /api/v1/me`) and the ways out (logout, revoking the
    token). Every other one sends them to the account page (403 password_change_required in the API)."""
    view.password_change_exempt = True  # type: ignore[attr-defined]
    return view


def allowed_roles(endpoint: str) -> frozenset[str] | None:
    view = current_app.view_functions.get(endpoint)
    return getattr(view, "allowed_roles", None)


def is_public(app: Flask, endpoint: str | None) -> bool:
    if endpoint is None:
        return True  # 404s and 405s: let Flask answer them
    if endpoint == "static" or endpoint.endswith(".static"):
        return True
    return bool(getattr(app.view_functions.get(endpoint), "public", False))


def require(user: Any, roles: frozenset[str] | set[str], message: str | None = None) -> None:
    """Refuse (403) a user whose role is not among `roles`, with `message` (already translated) or the
    general "Your role may not do this."."""
    if not user.is_authenticated or user.role not in roles:
        raise Forbidden(message or _("Your role may not do this."), code="forbidden")


def protect(app: Flask) -> None:
    @app.before_request
    def _guard() -> Any:
        endpoint = request.endpoint
        if is_public(app, endpoint):
            return None
        api = is_api_request()
        if api:
            failure = api_authenticate()
            if failure is not None:
                return failure
        if not current_user.is_authenticated:
            if api:
                return json_error(401, "unauthorized", _("Log in first: send Authorization: Bearer <token>."))
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        view = app.view_functions.get(endpoint or "")
        # The translated strings of the scripts (/i18n.js) load with the account page itself.
        exempt = getattr(view, "password_change_exempt", False) or endpoint == "i18n.script"
        if current_user.must_change_password and not exempt:
            if api:
                return json_error(403, "password_change_required",
                                  _("Choose a new password first: POST /api/v1/me/password."))
            return redirect(url_for("account.account"))
        roles: frozenset[str] = getattr(view, "allowed_roles", frozenset())
        if current_user.role not in roles:
            if api:
                return json_error(403, "forbidden", _("Your role may not use this."))
            if request.method == "GET" and request.path == "/":
                return redirect(home_for(current_user))  # the site's root is everyone's way in: their own home
            g.forbidden = True
            abort(403)
        return None


def mask_phone(phone: str | None, user: Any = None) -> str:
    """138****5678 for those who don't need the number."""
    if not phone:
        return ""
    if user is None:
        user = current_user
    if getattr(user, "is_authenticated", False) and user.role in SEES_FULL_PHONE:
        return phone
    digits = [i for i, ch in enumerate(phone) if ch.isdigit()]
    if len(digits) < 7:
        return "*" * len(phone)
    hide = set(digits[3:-4])
    return "".join("*" if i in hide else ch for i, ch in enumerate(phone))


def home_for(user: Any) -> str:
    if user.role == "technician":
        return url_for("technicians.today") if "technicians.today" in current_app.view_functions \
            else url_for("desk.home")
    if user.role == "finance" and "invoicing.pending" in current_app.view_functions:
        return url_for("invoicing.pending")  # "To invoice": the first tab of the finance home
    if user.role == "finance" and "billing.home" in current_app.view_functions:
        return url_for("billing.home")
    return url_for("desk.home")
