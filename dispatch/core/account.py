"""My account: every user's own language and password, where they are logged in and their API tokens.
Services first, then the page that calls them. After an admin's password reset this page is the only
one open to the user until they choose their own password (dispatch/core/security.py)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField
from wtforms.validators import DataRequired, EqualTo, Length

from . import audit, passwords, sessions
from .auth import open_tokens, own_token_or_404, revoke_token
from .errors import Invalid, NotFound
from .extensions import db
from .i18n import LOCALES, _, _l
from .models import LoginSession, User
from .pages import form_errors, page_view
from .security import ALL_ROLES, allow, password_change_exempt

bp = Blueprint("account", __name__)


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
    """A user's own new password; every session and token issued before it ends (this one too: the
    request edge starts a new one for the browser that asked)."""
    if not passwords.verify(user, current or ""):
        raise Invalid(_("The current password is not right."), fields={"current_password": _("not right")})
    passwords.check_new_password(new or "", field="new_password")
    if new == current:
        raise Invalid(_("The new password must differ from the current one."),
                      fields={"new_password": _("same as the current one")})
    user.set_password(new)
    user.must_change_password = False
    sessions.revoke_all(user)
    audit.record(user, user, "user.password_changed", after={"auth_version": user.auth_version, "by": "self"})


def own_session_or_404(user: User, session_id: int) -> LoginSession:
    row = db.session.get(LoginSession, session_id)
    if row is None or row.user_id != user.id:
        raise NotFound(_("There is no such login of yours."))
    return row


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
    here = sessions.current()
    return render_template("auth/account.html", language=language,
                           password=password or PasswordForm(prefix="pw", formdata=None),
                           messages=messages or [], min_length=passwords.MIN_LENGTH,
                           logins=sessions.open_sessions(current_user), this_login=here.id if here else None,
                           tokens=open_tokens(current_user)), status


@bp.get("/account")
@allow(ALL_ROLES)
@password_change_exempt
def account() -> Any:
    return _page()


@bp.post("/account/language")
@allow(ALL_ROLES)
@password_change_exempt
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
@password_change_exempt
@page_view
def password() -> Any:
    form = PasswordForm(prefix="pw")
    if form.validate_on_submit():
        with form_errors(form) as messages:
            user = current_user._get_current_object()
            here = sessions.current()
            change_own_password(user, form.current_password.data or "", form.new_password.data or "")
            # This browser goes on with a new login of the new password (kept, if it was); every other ends.
            sessions.begin(user, remember=bool(here and here.remember_sha256), via="password_change")
            flash(_("Password changed. Other sessions and API tokens of yours have ended."), "success")
            return redirect(url_for("account.account"))
        return _page(password=form, status=422, messages=messages)
    return _page(password=form, status=422)


@bp.post("/account/logins/<int:session_id>/end")
@allow(ALL_ROLES)
@password_change_exempt
@page_view
def end_login(session_id: int) -> Any:
    user = current_user._get_current_object()
    sessions.end_session(user, own_session_or_404(user, session_id))
    flash(_("That login has ended."), "success")
    return redirect(url_for("account.account"))


@bp.post("/account/tokens/<int:token_id>/revoke")
@allow(ALL_ROLES)
@password_change_exempt
@page_view
def revoke(token_id: int) -> Any:
    user = current_user._get_current_object()
    revoke_token(user, own_token_or_404(user, token_id))
    flash(_("The token is revoked."), "success")
    return redirect(url_for("account.account"))
