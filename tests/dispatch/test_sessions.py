"""Sessions that end (issue 15): a per-login remember-me token stored hashed, a server-side session record
checked on every request, logout that makes saved cookies worthless, API tokens revocable and listed with
their last use, and everything of a user ended by a password change or a disabled account."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from sqlalchemy import select

from dispatch.core.config import from_environment
from dispatch.core.extensions import db
from dispatch.core.models import ApiToken, AuditEvent, LoginSession
from dispatch.core.sessions import REMEMBER_COOKIE
from dispatch.core.timeutil import utcnow
from tests.factories import PASSWORD

A_DAY = 24 * 3600


def form_login(client: Any, username: str, password: str = PASSWORD, remember: bool = False) -> Any:
    data = {"username": username, "password": password, **({"remember": "y"} if remember else {})}
    response = client.post("/login", data=data)
    assert response.status_code == 302, response.data[:300]
    return response


def set_cookies(response: Any, name: str) -> list[str]:
    return [h for h in response.headers.getlist("Set-Cookie") if h.startswith(name + "=")]


def cookie(client: Any, name: str) -> str:
    found = client.get_cookie(name)
    assert found is not None, f"no {name} cookie"
    return str(found.value)


def audit_actions(user: Any) -> list[str]:
    db.session.expire_all()
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "users", AuditEvent.entity_id == user.id).order_by(AuditEvent.id)))


# ----------------------------------------------------------------------------- remember-me


def test_remember_me_is_a_new_random_token_per_login_stored_hashed(app, client, dispatcher):
    first = form_login(client, "dan", remember=True)
    header = set_cookies(first, REMEMBER_COOKIE)[0]
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/" in header
    assert f"Max-Age={30 * A_DAY}" in header
    assert not set_cookies(first, "remember_token")  # Flask-Login's own, the same at every login: never set
    token_one = cookie(client, REMEMBER_COOKIE)
    client.post("/logout")

    form_login(client, "dan", remember=True)
    token_two = cookie(client, REMEMBER_COOKIE)
    assert token_one != token_two and len(token_two) >= 40

    rows = list(db.session.scalars(select(LoginSession).where(LoginSession.user_id == dispatcher.id)
                                   .order_by(LoginSession.id)))
    assert [r.remember_sha256 for r in rows] == [hashlib.sha256(t.encode()).hexdigest()
                                                 for t in (token_one, token_two)]
    assert rows[0].revoked_at is not None and rows[1].revoked_at is None  # the first ended at logout
    assert rows[1].expires_at is not None
    assert timedelta(days=29, hours=23) < rows[1].expires_at - rows[1].created_at <= timedelta(days=30)
    assert rows[1].user_agent and rows[1].remote_addr == "127.0.0.1"


def test_without_remember_me_no_token_is_kept(client, dispatcher):
    form_login(client, "dan")
    assert client.get_cookie(REMEMBER_COOKIE) is None
    row = db.session.scalars(select(LoginSession)).one()
    assert row.remember_sha256 is None and row.expires_at is None


def test_remember_me_lifetime_is_configurable(app, client, dispatcher, monkeypatch):
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_DAYS", 7)
    header = set_cookies(form_login(client, "dan", remember=True), REMEMBER_COOKIE)[0]
    assert f"Max-Age={7 * A_DAY}" in header


def test_remember_cookie_is_secure_in_production(app, client, dispatcher, monkeypatch, tmp_path):
    monkeypatch.setenv("DISPATCH_ENV", "production")
    production = from_environment(str(tmp_path), {"SECRET_KEY": "k" * 32})
    assert production["REMEMBER_COOKIE_SECURE"] is True and production["SESSION_COOKIE_SECURE"] is True
    monkeypatch.delenv("DISPATCH_ENV")
    assert from_environment(str(tmp_path), {"SECRET_KEY": "k"})["REMEMBER_COOKIE_SECURE"] is False
    monkeypatch.setitem(app.config, "REMEMBER_COOKIE_SECURE", True)
    header = set_cookies(form_login(client, "dan", remember=True), REMEMBER_COOKIE)[0]
    assert "Secure" in header


def test_remember_me_opens_a_new_session_when_the_browser_session_is_gone(app, client, dispatcher):
    form_login(client, "dan", remember=True)
    token = cookie(client, REMEMBER_COOKIE)
    # A browser restarted: the session cookie is gone, the remember-me cookie is not.
    later = app.test_client()
    later.set_cookie(REMEMBER_COOKIE, token)
    assert later.get("/").status_code == 200
    assert later.get("/").status_code == 200  # now on a session of its own
    rows = list(db.session.scalars(select(LoginSession).order_by(LoginSession.id)))
    assert len(rows) == 2 and rows[1].remember_sha256 == rows[0].remember_sha256
    assert audit_actions(dispatcher).count("user.logged_in") == 2


def test_logout_revokes_the_remember_me_token(app, client, dispatcher):
    form_login(client, "dan", remember=True)
    token = cookie(client, REMEMBER_COOKIE)
    out = client.post("/logout")
    assert out.status_code == 302
    assert any("Expires=Thu, 01 Jan 1970" in h or "Max-Age=0" in h for h in set_cookies(out, REMEMBER_COOKIE))
    stolen = app.test_client()
    stolen.set_cookie(REMEMBER_COOKIE, token)
    refused = stolen.get("/")
    assert refused.status_code == 302 and refused.headers["Location"].startswith("/login")
    assert stolen.get("/api/v1/me").status_code == 401


def test_logout_of_a_resumed_session_ends_the_remember_me_token_too(app, client, dispatcher):
    form_login(client, "dan", remember=True)
    token = cookie(client, REMEMBER_COOKIE)
    resumed = app.test_client()
    resumed.set_cookie(REMEMBER_COOKIE, token)
    assert resumed.get("/").status_code == 200
    assert resumed.post("/logout").status_code == 302
    # The first browser's session and the token are one remembered login: both ended.
    assert client.get("/").status_code == 302
    again = app.test_client()
    again.set_cookie(REMEMBER_COOKIE, token)
    assert again.get("/").status_code == 302


def test_password_change_and_disable_revoke_remember_me_tokens(app, client, login, admin, dispatcher, runner):
    form_login(client, "dan", remember=True)
    token = cookie(client, REMEMBER_COOKIE)
    result = runner.invoke(args=["users", "set-password", "dan", "--password", "another-good-pass"])
    assert result.exit_code == 0, result.output
    after_reset = app.test_client()
    after_reset.set_cookie(REMEMBER_COOKIE, token)
    assert after_reset.get("/").status_code == 302

    form_login(client, "dan", "another-good-pass", remember=True)
    token = cookie(client, REMEMBER_COOKIE)
    desk = login(admin, app.test_client())
    saved = desk.post(f"/admin/users/{dispatcher.id}", data={"username": "dan", "name": "Dan Dispatcher",
                                                             "role": "dispatcher"})  # "Active" unticked
    assert saved.status_code == 302
    after_disable = app.test_client()
    after_disable.set_cookie(REMEMBER_COOKIE, token)
    assert after_disable.get("/").status_code == 302
    assert all(r.revoked_at is not None for r in db.session.scalars(
        select(LoginSession).where(LoginSession.user_id == dispatcher.id)))


# ----------------------------------------------------------------------------- logout ends the session


def test_a_saved_session_cookie_is_refused_after_logout(app, client, dispatcher):
    form_login(client, "dan")
    saved = cookie(client, "session")
    assert client.get("/").status_code == 200
    assert client.post("/logout").status_code == 302

    replay = app.test_client()
    replay.set_cookie("session", saved)
    page = replay.get("/calls")
    assert page.status_code == 302 and page.headers["Location"].startswith("/login")
    api = replay.get("/api/v1/me")
    assert api.status_code == 401 and api.get_json()["error"]["code"] == "unauthorized"
    assert audit_actions(dispatcher) == ["user.created", "user.logged_in", "user.logged_out"]


def test_a_session_key_the_server_never_issued_is_refused(app, client, dispatcher):
    """The signed cookie alone (user id and password generation, as before) no longer logs anyone in."""
    with client.session_transaction() as session:
        session["_user_id"] = dispatcher.get_id()
        session["_fresh"] = True
        session["_sid"] = "made-up"
    assert client.get("/").status_code == 302


def test_ending_a_login_from_the_account_page(app, client, login, dispatcher):
    phone = app.test_client()
    form_login(phone, "dan")
    login(dispatcher)
    page = client.get("/account").get_data(as_text=True)
    assert "Where I am logged in" in page and "this browser" in page
    other = db.session.scalars(select(LoginSession).order_by(LoginSession.id)).first()
    assert other is not None
    assert client.post(f"/account/logins/{other.id}/end").status_code == 302
    assert phone.get("/").status_code == 302
    assert client.get("/").status_code == 200
    assert "user.session_ended" in audit_actions(dispatcher)


def test_someone_elses_login_cannot_be_ended(app, client, login, dispatcher, technician):
    phone = app.test_client()
    form_login(phone, "tom")
    login(dispatcher)
    row = db.session.scalars(select(LoginSession).where(LoginSession.user_id == technician.id)).one()
    assert client.post(f"/account/logins/{row.id}/end").status_code == 404
    assert phone.get("/t/").status_code == 200


# ----------------------------------------------------------------------------- API tokens


def bearer(raw: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {raw}"}


def new_token(client: Any, username: str = "dan", password: str = PASSWORD) -> str:
    r = client.post("/api/v1/auth/token", json={"username": username, "password": password},
                    headers={"User-Agent": "call-centre/2.1"})
    assert r.status_code == 200, r.get_json()
    return str(r.get_json()["token"])


def test_delete_auth_token_revokes_the_token_it_is_sent_with(client, dispatcher):
    one, two = new_token(client), new_token(client)
    assert client.get("/api/v1/me", headers=bearer(one)).status_code == 200
    gone = client.delete("/api/v1/auth/token", headers=bearer(one))
    assert gone.status_code == 204 and gone.data == b""
    refused = client.get("/api/v1/me", headers=bearer(one))
    assert refused.status_code == 401 and refused.get_json()["error"]["code"] == "invalid_token"
    assert client.delete("/api/v1/auth/token", headers=bearer(one)).status_code == 401
    assert client.get("/api/v1/me", headers=bearer(two)).status_code == 200  # the other one lives on
    assert "user.token_revoked" in audit_actions(dispatcher)


def test_delete_auth_token_without_a_token_is_refused(client, login, dispatcher):
    assert client.delete("/api/v1/auth/token").status_code == 401
    login(dispatcher)
    r = client.delete("/api/v1/auth/token")
    assert r.status_code == 400 and r.get_json()["error"]["code"] == "no_token"


def test_token_last_use_is_recorded_at_most_once_a_minute(client, dispatcher):
    raw = new_token(client)
    token = db.session.scalars(select(ApiToken)).one()
    assert token.last_used_at is None
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    db.session.refresh(token)
    first = token.last_used_at
    assert first is not None
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at == first  # within the minute: no second write
    token.last_used_at = first - timedelta(minutes=2)
    db.session.commit()
    assert client.get("/api/v1/customers", headers=bearer(raw)).status_code == 200
    db.session.refresh(token)
    assert token.last_used_at > first - timedelta(minutes=2)


def test_tokens_are_listed_on_the_account_page_and_revocable_there(app, client, login, dispatcher):
    api_client = app.test_client()
    raw = new_token(api_client)
    api_client.get("/api/v1/me", headers=bearer(raw))
    login(dispatcher)
    page = client.get("/account").get_data(as_text=True)
    assert "API tokens" in page and "call-centre/2.1" in page and "never" not in page
    token = db.session.scalars(select(ApiToken)).one()
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 302
    assert api_client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    assert "No API token of yours is in use." in client.get("/account").get_data(as_text=True)


def test_someone_elses_token_cannot_be_revoked(app, client, login, dispatcher, technician):
    raw = new_token(app.test_client(), "tom")
    token = db.session.scalars(select(ApiToken)).one()
    login(dispatcher)
    assert client.post(f"/account/tokens/{token.id}/revoke").status_code == 404
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 200


def test_own_password_change_ends_every_other_session_and_token(app, client, login, dispatcher):
    phone = app.test_client()
    form_login(phone, "dan", remember=True)
    raw = new_token(app.test_client())
    login(dispatcher)
    r = client.post("/account/password", data={"pw-current_password": PASSWORD, "pw-new_password": "a-much-better-one",
                                               "pw-confirm": "a-much-better-one"})
    assert r.status_code == 302
    assert client.get("/account").status_code == 200  # this browser goes on
    assert phone.get("/").status_code == 302
    assert client.get("/api/v1/me", headers=bearer(raw)).status_code == 401
    db.session.expire_all()
    assert db.session.scalars(select(ApiToken)).one().revoked_at is not None
    live = [s for s in db.session.scalars(select(LoginSession)) if s.revoked_at is None]
    assert len(live) == 1


def test_last_use_of_a_session_is_kept_without_a_write_per_request(client, dispatcher):
    form_login(client, "dan")
    row = db.session.scalars(select(LoginSession)).one()
    first = row.last_used_at
    client.get("/")
    db.session.refresh(row)
    assert row.last_used_at == first
    row.last_used_at = utcnow() - timedelta(minutes=5)
    db.session.commit()
    client.get("/")
    db.session.refresh(row)
    assert row.last_used_at > utcnow() - timedelta(minutes=1)
