"""API: user accounts, the technicians, and who is calling."""

from __future__ import annotations

from datetime import time
from typing import Any

from flask import Response
from flask_login import current_user
from sqlalchemy import select

from ..core.account import change_own_password
from ..core.apiutil import api_view, body, paginate
from ..core.errors import Invalid
from ..core.i18n import _
from ..core.models import Role, User
from ..core.security import ALL_ROLES, DESK, allow, password_change_exempt
from ..core.validate import Fields, parse_hours
from ..schemas import user_json
from ..services import users
from .blueprint import bp


def _hours(value: Any) -> list[tuple[int, time, time]] | None:
    return None if value is None else parse_hours(value)


@bp.post("/users")
@allow(Role.ADMIN)
@api_view
def create_user() -> Any:
    f = Fields(body())
    username = f.text("username", max_length=80)
    password = f.text("password", max_length=200)
    name = f.text("name", required=False)
    role = f.choice("role", [r.value for r in Role])
    phone = f.text("phone", required=False, max_length=40)
    skills = f.text_list("skills")
    lat = f.number("base_latitude", required=False, minimum=-90, maximum=90)
    lon = f.number("base_longitude", required=False, minimum=-180, maximum=180)
    f.check(_("The user cannot be created."))
    user = users.create_user(current_user, username=username or "", password=password or "",
                             name=name or username or "", role=role or "", phone=phone, skills=skills,
                             base_latitude=lat, base_longitude=lon, working_hours=_hours(f.data.get("working_hours")))
    return user_json(user), 201


@bp.get("/users")
@allow(Role.ADMIN)
@api_view
def list_users() -> Any:
    return paginate(select(User), User.id, user_json, descending=False)


@bp.get("/technicians")
@allow(DESK)
@api_view
def list_technicians() -> Any:
    return paginate(select(User).where(User.role == Role.TECHNICIAN, User.active.is_(True)), User.id, user_json,
                    descending=False)


@bp.get("/me")
@allow(ALL_ROLES)
@password_change_exempt
@api_view
def me() -> Any:
    return user_json(current_user)


@bp.post("/me/password")
@allow(ALL_ROLES)
@password_change_exempt
@api_view
def change_password() -> Any:
    """Change the caller's own password (204): at least 12 characters, not a common one. Every token and
    session of the caller ends, this token too: ask for a new one with the new password."""
    data = body()
    current, new = data.get("current_password"), data.get("new_password")  # as typed: spaces are characters
    missing = {name: _("required") for name, value in (("current_password", current), ("new_password", new))
               if not isinstance(value, str) or not value}
    if missing:
        raise Invalid(_("The password cannot be changed."), fields=missing)
    change_own_password(current_user._get_current_object(), str(current), str(new))
    return Response(status=204)


change_password.openapi_status = 204  # type: ignore[attr-defined]
