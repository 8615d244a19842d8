"""User accounts and the technicians' working hours."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import time

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from ..core import audit, sessions
from ..core.errors import Conflict, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import Role, User
from ..core.passwords import check_new_password
from ..core.validate import is_id
from ..models import WorkingHours
from .customers import check_phone

DEFAULT_WORKING_HOURS = [(d, time(8, 0), time(17, 0)) for d in range(5)]


def get_user_or_404(user_id: object) -> User:
    user = db.session.get(User, user_id) if is_id(user_id) else None
    if user is None:
        raise NotFound(_("There is no user with id %(id)s.", id=user_id))
    return user


def _check_role(role: str) -> None:
    if role not in {r.value for r in Role}:
        raise Invalid(_("Unknown role."),
                      fields={"role": _("one of: %(values)s", values=", ".join(r.value for r in Role))})


def _duplicate_username(username: str) -> Conflict:
    return Conflict(_("The username %(name)s is taken.", name=repr(username)), code="duplicate_username",
                    fields={"username": _("already taken")})


def create_user(actor: User | None, *, username: str, password: str, name: str, role: str,
                phone: str | None = None, email: str | None = None, skills: Sequence[str] = (),
                base_latitude: float | None = None, base_longitude: float | None = None,
                working_hours: Sequence[tuple[int, time, time]] | None = None,
                password_method: str | None = None, active: bool = True) -> User:
    """A new account; `active=False` makes it disabled from the start (the admin's "Active" box unticked)."""
    _check_role(role)
    check_new_password(password)
    phone = check_phone(phone) if phone else None
    if db.session.scalar(select(User.id).where(User.username == username)) is not None:
        raise _duplicate_username(username)
    user = User(username=username, name=name or username, role=role, phone=phone, email=email,
                skills=sorted({s.strip().lower() for s in skills if s.strip()}), base_latitude=base_latitude,
                base_longitude=base_longitude, active=True)
    user.set_password(password, method=password_method)
    db.session.add(user)
    if role == Role.TECHNICIAN:
        set_working_hours(user, working_hours if working_hours is not None else DEFAULT_WORKING_HOURS)
    try:
        db.session.flush()
    except IntegrityError:
        raise _duplicate_username(username) from None
    audit.record(actor, user, "user.created", after=audit.snapshot(user, "username", "name", "role", "skills"))
    if not active:
        # Recorded as the edit it is, so the trail reads the same as disabling the account afterwards.
        if actor is None:
            raise Invalid(_("A disabled account is created by an admin."), fields={"active": _("admin only")})
        update_user(actor, user, active=False)
    return user


def update_user(actor: User | None, user: User, *, name: str | None = None, role: str | None = None,
                phone: str | None = None, email: str | None = None, active: bool | None = None,
                password: str | None = None, reason: str | None = None) -> User:
    """Admin edits of an account (actor None: from the command line, `reason` saying so). Disabling or a
    new password ends the user's sessions and tokens; a new password set here is a reset, which the user
    replaces with their own at their next login."""
    if role is not None:
        _check_role(role)
    if phone:
        phone = check_phone(phone)
    if actor is not None and user.id == actor.id and (active is False or (role is not None and role != Role.ADMIN)):
        raise Conflict(_("You cannot disable yourself or take away your own admin role."), code="self_lockout")
    fields = ("name", "role", "phone", "email", "active")
    before = audit.snapshot(user, *fields)
    for key, value in (("name", name), ("role", role), ("phone", phone), ("email", email), ("active", active)):
        if value is not None:
            setattr(user, key, value)
    if role == Role.TECHNICIAN and not user.working_hours:
        set_working_hours(user, DEFAULT_WORKING_HOURS)
    changed_password = False
    if password:
        check_new_password(password)
        user.set_password(password)
        user.must_change_password = actor is None or actor.id != user.id  # an admin's own stays theirs
        sessions.revoke_all(user)
        changed_password = True
    elif active is False and before["active"]:
        user.auth_version += 1  # sessions and tokens of a disabled user end now
        sessions.revoke_all(user)
    after = audit.snapshot(user, *fields)
    if before != after or changed_password:
        audit.record(actor, user, "user.updated", before=before,
                     after={**after, **({"password": "changed"} if changed_password else {})}, reason=reason)
    return user


def set_working_hours(user: User, spans: Sequence[tuple[int, time, time]]) -> None:
    for weekday, start, end in spans:
        if not 0 <= weekday <= 6:
            raise Invalid(_("The weekday runs from 0 (Monday) to 6 (Sunday)."),
                          fields={"working_hours": _("bad weekday")})
        if start == end:
            raise Invalid(_("A working span needs a start and a different end."),
                          fields={"working_hours": _("start equals end")})
    user.working_hours = [WorkingHours(weekday=w, start=s, end=e) for w, s, e in spans]


def accounts(role: str | None = None) -> list[User]:
    """The admin's list of accounts: active first, by role and name."""
    stmt = select(User).order_by(User.active.desc(), User.role, User.name)
    if role:
        stmt = stmt.where(User.role == role)
    return list(db.session.scalars(stmt))


def technicians(include_inactive: bool = False) -> list[User]:
    stmt = select(User).where(User.role == Role.TECHNICIAN).order_by(User.name)
    if not include_inactive:
        stmt = stmt.where(User.active.is_(True))
    return list(db.session.scalars(stmt))


def user_by_username(username: str) -> User | None:
    return db.session.scalar(select(User).where(User.username == username))


def change_password(actor: User | None, user: User, password: str, *, must_change: bool = True) -> None:
    """A new password (from the command line); the user's sessions and tokens end with it. A reset: the
    user chooses their own at the next login, unless `must_change` is False (the operator's own account)."""
    check_new_password(password)
    user.set_password(password)
    user.must_change_password = must_change
    sessions.revoke_all(user)
    audit.record(actor, user, "user.password_changed", after={"auth_version": user.auth_version,
                                                              "must_change_password": must_change})
