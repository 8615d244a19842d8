"""User accounts, for the admin: list, create, edit, disable, reset a password.

Each handler parses the form and calls one service; `page_view` commits. A DomainError goes back onto
the form's fields (`form_errors`) with its own status (409 for a taken username, 422 otherwise).
"""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user

from .core.i18n import _
from .core.models import Role
from .core.pages import FormMessages, form_errors, page_view
from .core.security import allow
from .forms import UserForm
from .services import users

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/users", endpoint="users")
@allow(Role.ADMIN)
def user_list() -> Any:
    role = request.args.get("role") or None
    return render_template("dispatch/users.html", users=users.accounts(role), role=role)


@bp.route("/users/new", methods=["GET", "POST"])
@allow(Role.ADMIN)
@page_view
def new_user() -> Any:
    form = UserForm()
    messages = FormMessages()
    status = 422 if request.method == "POST" else 200
    if form.validate_on_submit():
        with form_errors(form) as messages:
            user = users.create_user(current_user, username=form.username.data or "",
                                     password=form.password.data or "", name=form.name.data or "",
                                     role=form.role.data or "", phone=form.phone.data or None,
                                     email=form.email.data or None, active=bool(form.active.data))
            flash(_("Account %(username)s created.", username=user.username), "success")
            return redirect(url_for("admin.users"))
        status = messages.status
    return render_template("dispatch/user_form.html", form=form, user=None, messages=messages), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"])
@allow(Role.ADMIN)
@page_view
def edit_user(user_id: int) -> Any:
    user = users.get_user_or_404(user_id)
    form = UserForm(obj=user)
    form.username.render_kw = {"readonly": True}
    messages = FormMessages()
    status = 422 if request.method == "POST" else 200
    if request.method == "POST":
        form.username.data = user.username  # usernames do not change: tokens and logs refer to them
    if form.validate_on_submit():
        with form_errors(form) as messages:
            users.update_user(current_user, user, name=form.name.data, role=form.role.data,
                              phone=form.phone.data or None, email=form.email.data or None,
                              active=bool(form.active.data), password=form.password.data or None)
            flash(_("Account %(username)s saved.", username=user.username), "success")
            return redirect(url_for("admin.users"))
        status = messages.status
    return render_template("dispatch/user_form.html", form=form, user=user, messages=messages), status
