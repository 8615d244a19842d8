"""User accounts, for the admin: list, create, edit, disable, reset a password."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import select

from . import services
from .core.errors import DomainError
from .core.extensions import db
from .core.models import Role, User
from .core.security import allow
from .forms import UserForm

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users")
@allow(Role.ADMIN)
def users() -> Any:
    role = request.args.get("role") or None
    stmt = select(User).order_by(User.active.desc(), User.role, User.name)
    if role:
        stmt = stmt.where(User.role == role)
    return render_template("dispatch/users.html", users=list(db.session.scalars(stmt)), role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
def new_user() -> Any:
    form = UserForm()
    status = 200
    if form.validate_on_submit():
        if not form.password.data:
            form.password.errors.append("A new account needs a password (at least 8 characters).")
            status = 422
        else:
            try:
                user = services.create_user(current_user, username=form.username.data or "",
                                            password=form.password.data, name=form.name.data or "",
                                            role=form.role.data or "", phone=form.phone.data or None,
                                            email=form.email.data or None)
                if not form.active.data:
                    services.update_user(current_user, user, active=False)
                db.session.commit()
            except DomainError as exc:
                db.session.rollback()
                _form_errors(form, exc)
                status = exc.status
            else:
                flash(f"Account {user.username} created.", "success")
                return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 422
    return render_template("dispatch/user_form.html", form=form, user=None), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
def edit_user(user_id: int) -> Any:
    user = services.get_or_404(User, user_id, "user")
    form = UserForm(obj=user)
    form.username.render_kw = {"readonly": True}
    status = 200
    if request.method == "POST":
        form.username.data = user.username  # usernames do not change: tokens and logs refer to them
    if form.validate_on_submit():
        try:
            services.update_user(current_user, user, name=form.name.data, role=form.role.data,
                                 phone=form.phone.data or None, email=form.email.data or None,
                                 active=bool(form.active.data), password=form.password.data or None)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            _form_errors(form, exc)
            status = exc.status
        else:
            flash(f"Account {user.username} saved.", "success")
            return redirect(url_for("admin.users"))
    elif request.method == "POST":
        status = 422
    return render_template("dispatch/user_form.html", form=form, user=user), status


def _form_errors(form: Any, exc: DomainError) -> None:
    placed = False
    for name, message in exc.fields.items():
        field = getattr(form, name, None)
        if field is not None:
            field.errors = [*field.errors, message]
            placed = True
    if not placed:
        flash(exc.message, "error")
