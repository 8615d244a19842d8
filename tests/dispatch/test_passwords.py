"""Passwords (issue 15): at least 12 characters and not a common one, wherever a password is set (the
user's own change on the account page and the API, the admin's pages and API, the shell); an admin's
reset makes the user choose their own before anything else."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from dispatch.core import passwords
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from tests.factories import PASSWORD


def test_the_common_list_is_on_disk_and_large():
    words = passwords.common_passwords()
    assert len(words) > 10_000
    assert {"password", "qwerty123456", "1q2w3e4r5t6y"} <= words


@pytest.mark.parametrize("candidate", ["qwerty123456", "1q2w3e4r5t6y", "Password2026!", "!!sunshine!!2024",
                                       "aaaaaaaaaaaa", "abababababab", "QWERTY123456"])
def test_common_passwords_are_refused(candidate):
    assert passwords.is_common(candidate)


@pytest.mark.parametrize("candidate", [PASSWORD, "dispatcher-demo", "blue kettle on tuesday", "Tr0ub4dor&3-horse"])
def test_uncommon_passwords_pass(candidate):
    assert not passwords.is_common(candidate)
    passwords.check_new_password(candidate)


# ----------------------------------------------------------------------------- own password


def change(client: Any, current: str, new: str, confirm: str | None = None) -> Any:
    return client.post("/account/password", data={"pw-current_password": current, "pw-new_password": new,
                                                  "pw-confirm": confirm if confirm is not None else new})


def test_own_password_change_on_the_account_page_follows_the_rules(client, login, dispatcher):
    login(dispatcher)
    page = client.get("/account").get_data(as_text=True)
    assert "At least 12 characters, and not one of the common passwords." in page
    short = change(client, PASSWORD, "eleven-char")
    assert short.status_code == 422 and "at least 12 characters" in short.get_data(as_text=True)
    common = change(client, PASSWORD, "qwerty123456")
    assert common.status_code == 422 and "most common ones" in common.get_data(as_text=True)
    wrong = change(client, "not-my-password", "a-much-better-one")
    assert wrong.status_code == 422 and "The current password is not right." in wrong.get_data(as_text=True)
    db.session.refresh(dispatcher)
    assert dispatcher.check_password(PASSWORD)
    assert change(client, PASSWORD, "a-much-better-one").status_code == 302
    db.session.refresh(dispatcher)
    assert dispatcher.check_password("a-much-better-one")


def test_own_password_change_through_the_api(app, api, dispatcher):
    caller = api(dispatcher)
    refused = caller.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "short"})
    assert refused.status_code == 422 and refused.get_json()["error"]["fields"] == {
        "new_password": "at least 12 characters"}
    missing = caller.post("/api/v1/me/password", json={})
    assert missing.status_code == 422 and set(missing.get_json()["error"]["fields"]) == {
        "current_password", "new_password"}
    ok = caller.post("/api/v1/me/password", json={"current_password": PASSWORD, "new_password": "a-much-better-one"})
    assert ok.status_code == 204
    assert caller.get("/api/v1/me").status_code == 401  # every token ended, this one too
    again = app.test_client().post("/api/v1/auth/token", json={"username": "dan", "password": "a-much-better-one"})
    assert again.status_code == 200


# ----------------------------------------------------------------------------- set by an admin


def test_admin_and_shell_passwords_follow_the_same_rules(client, login, api, admin, runner):
    login(admin)
    page = client.post("/admin/users/new", data={"username": "li.na", "name": "Li Na", "role": "technician",
                                                 "password": "password2026", "active": "y"})
    assert page.status_code == 422 and "most common ones" in page.get_data(as_text=True)
    r = api(admin).post("/api/v1/users", json={"username": "li.na", "password": "eleven-char", "role": "finance"})
    assert r.status_code == 422 and r.get_json()["error"]["fields"]["password"] == "at least 12 characters"
    shell = runner.invoke(args=["users", "create", "li.na", "--role", "finance", "--password", "qwerty123456"])
    assert shell.exit_code != 0 and "most common ones" in shell.output
    assert db.session.scalar(select(User).where(User.username == "li.na")) is None


def test_admin_reset_forces_a_change_at_the_next_login(app, client, login, admin, dispatcher):
    desk = login(admin, app.test_client())
    saved = desk.post(f"/admin/users/{dispatcher.id}", data={"username": "dan", "name": "Dan Dispatcher",
                                                             "role": "dispatcher", "active": "y",
                                                             "password": "temporary-pass-1"})
    assert saved.status_code == 302
    db.session.refresh(dispatcher)
    assert dispatcher.must_change_password

    r = client.post("/login?next=/calls", data={"username": "dan", "password": "temporary-pass-1"})
    assert r.status_code == 302 and r.headers["Location"] == "/account"
    for url in ("/", "/calls", "/board"):
        sent = client.get(url)
        assert sent.status_code == 302 and sent.headers["Location"] == "/account", url
    account = client.get("/account")
    assert account.status_code == 200
    assert "Choose your own password before you go on." in account.get_data(as_text=True)

    raw = app.test_client().post("/api/v1/auth/token", json={"username": "dan", "password": "temporary-pass-1"})
    assert raw.status_code == 200 and raw.get_json()["must_change_password"] is True
    headers = {"Authorization": f"Bearer {raw.get_json()['token']}"}
    blocked = client.get("/api/v1/calls", headers=headers)
    assert blocked.status_code == 403 and blocked.get_json()["error"]["code"] == "password_change_required"
    assert client.get("/api/v1/me", headers=headers).status_code == 200

    assert change(client, "temporary-pass-1", "my-own-choice-now").status_code == 302
    db.session.refresh(dispatcher)
    assert not dispatcher.must_change_password
    assert client.get("/calls").status_code == 200
    changed = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.password_changed")).one()
    assert (changed.after or {})["by"] == "self"


def test_shell_reset_forces_a_change_unless_told_not_to(runner, dispatcher):
    assert runner.invoke(args=["users", "set-password", "dan", "--password", "temporary-pass-1"]).exit_code == 0
    db.session.refresh(dispatcher)
    assert dispatcher.must_change_password
    result = runner.invoke(args=["users", "set-password", "dan", "--password", "operator-own-pass",
                                 "--no-change-required"])
    assert result.exit_code == 0, result.output
    db.session.refresh(dispatcher)
    assert not dispatcher.must_change_password


def test_an_admin_setting_their_own_password_is_not_asked_to_change_it(client, login, admin):
    login(admin)
    client.post(f"/admin/users/{admin.id}", data={"username": "ada", "name": "Ada Admin", "role": "admin",
                                                  "active": "y", "password": "admins-own-pass"})
    db.session.refresh(admin)
    assert admin.check_password("admins-own-pass") and not admin.must_change_password
