"""My account: every user's own language and password. Services first, then the page that calls them."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from . import audit
from .errors import Invalid
from .i18n import LOCALES, _, _l
from .models import User
from .pages import form_errors, page_view
from .security import ALL_ROLES, allow

bp = Blueprint("account", __name__)

MIN_PASSWORD_LENGTH = 8


# ----------------------------------------------------------------------------- services


def set_locale(user: User, locale: str | None) -> None:
    """The user's language; empty or None: follow the browser."""
    locale = locale or None
    if locale is not None and locale not in LOCALES:
        raise Invalid(_("Choose one of the offered languages."), fields={"locale": _("not offered")})
    if user.locale == locale:
        return
    before = {"locale": user.locale}
    user.locale = locale
    audit.record(user, user, "user.locale_changed", before=before, after={"locale": locale})


def change_own_password(user: User, current: str, new: str) -> None:
    """A user's own new password; the sessions and tokens issued before it end (elsewhere too)."""
    if not user.check_password(current or ""):
        raise Invalid(_("The current password is not right."), fields={"current_password": _("not right")})
    if len(new or "") < MIN_PASSWORD_LENGTH:
        raise Invalid(_("The new password must have at least %(n)d characters.", n=MIN_PASSWORD_LENGTH),
                      fields={"new_password": _("too short")})
    if new == current:
        raise Invalid(_("The new password must differ from the current one."),
                      fields={"new_password": _("same as the current one")})
    user.set_password(new)
    audit.record(user, user, "user.password_changed", after={"auth_version": user.auth_version, "by": "self"})


# ----------------------------------------------------------------------------- page


def _language_choices() -> list[tuple[str, str]]:
    return [("", _("As my browser says")), *LOCALES.items()]


class LanguageForm(FlaskForm):
    locale = SelectField(_l("Language"), choices=[], validate_choice=True)


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)])
    confirm = PasswordField(_l("New password again"), validators=[
        DataRequired(), EqualTo("new_password", message=_l("The two new passwords differ."))])


def _page(language: LanguageForm | None = None, password: PasswordForm | None = None, status: int = 200,
          messages: list[str] | None = None) -> Any:
    if language is None:
        language = LanguageForm(prefix="lang", formdata=None, locale=current_user.locale or "")
    language.locale.choices = _language_choices()
    return render_template("auth/account.html", language=language,
                           password=password or PasswordForm(prefix="pw", formdata=None),
                           messages=messages or []), status


@bp.get("/account")
@allow(ALL_ROLES)
def account() -> Any:
    return _page()


@bp.post("/account/language")
@allow(ALL_ROLES)
@page_view
def language() -> Any:
    form = LanguageForm(prefix="lang")
    form.locale.choices = _language_choices()
    if form.validate_on_submit():
        with form_errors(form) as messages:
            set_locale(current_user, form.locale.data)
            flash(_("Language saved."), "success")
            return redirect(url_for("account.account"))
        return _page(language=form, status=422, messages=messages)
    return _page(language=form, status=422)


@bp.post("/account/password")
@allow(ALL_ROLES)
@page_view
def password() -> Any:
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        with form_errors(form) as messages:
            change_own_password(current_user, form.current_password.data or "", form.new_password.data or "")
            # This session stays logged in with the new password generation; every other one ends.
            login_user(current_user._get_current_object(), fresh=True)
            flash(_("Password changed. Other sessions and API tokens of yours have ended."), "success")
            return redirect(url_for("account.account"))
        return _page(password=form, status=422, messages=messages)
    return _page(password=form, status=422)
