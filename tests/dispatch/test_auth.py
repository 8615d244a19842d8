"""Logging in: API tokens, the login page through the real form with CSRF, the shared throttle,
safe `next=`, logout, and sessions and tokens that end when the password changes."""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import User
from tests.factories import PASSWORD, make_user


def token_for(client: Any, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", json={"username": username, "password": password})


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.data[:300]
    assert response.mimetype == "application/json"
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}
    assert error["message"]
    if code:
        assert error["code"] == code
    return error


@pytest.fixture
def csrf_on(app: Any) -> Any:
    saved = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    yield
    app.config["WTF_CSRF_ENABLED"] = saved


def csrf_token(page: bytes) -> str:
    found = re.search(rb'name="csrf_token" type="hidden" value="([^"]+)"', page) or \
        re.search(rb'name="csrf-token" content="([^"]+)"', page) or \
        re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, "no CSRF token on the page"
    return found.group(1).decode()


# ----------------------------------------------------------------------------- API tokens


def test_token_for_right_password(client, dispatcher):
    r = token_for(client, "dan", PASSWORD)
    assert r.status_code == 200
    data = r.get_json()
    assert data["role"] == "dispatcher"
    assert len(data["token"]) >= 32
    expires = datetime.fromisoformat(data["expires_at"])
    assert expires.utcoffset() == timedelta(hours=8)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {data['token']}"})
    assert me.status_code == 200 and me.get_json()["username"] == "dan"


def test_wrong_password_unknown_user_and_disabled_user_are_401(client, dispatcher):
    assert_error(token_for(client, "dan", "wrong-password"), 401, "invalid_credentials")
    assert_error(token_for(client, "nobody", PASSWORD), 401, "invalid_credentials")
    dispatcher.active = False
    db.session.commit()
    assert_error(token_for(client, "dan", PASSWORD), 401, "invalid_credentials")


def test_token_request_needs_username_and_password(client):
    error = assert_error(client.post("/api/v1/auth/token", json={"username": 42}), 422)
    assert set(error["fields"]) == {"username", "password"}
    assert_error(client.post("/api/v1/auth/token", data="{nope", content_type="application/json"), 400,
                 "malformed_json")


def test_disabled_user_loses_existing_tokens_and_sessions(app, client, api, login, dispatcher):
    bearer = api(dispatcher)
    login(dispatcher)
    assert bearer.get("/api/v1/me").status_code == 200
    assert client.get("/").status_code == 200
    dispatcher.active = False
    db.session.commit()
    assert_error(bearer.get("/api/v1/me"), 401, "invalid_token")
    assert client.get("/").status_code == 302


def test_bad_authorization_headers_are_401(client, dispatcher):
    for header in ("Bearer", "Bearer ", "Basic ZGFuOnB3", "Bearer not-a-token", "Token abc"):
        assert_error(client.get("/api/v1/me", headers={"Authorization": header}), 401)
    assert_error(client.get("/api/v1/me"), 401, "unauthorized")


def test_expired_and_revoked_tokens_are_401(app, client, dispatcher):
    from dispatch.core.auth import issue_token
    from dispatch.core.timeutil import utcnow

    raw, tok = issue_token(dispatcher)
    tok.expires_at = utcnow() - timedelta(seconds=1)
    raw2, tok2 = issue_token(dispatcher)
    tok2.revoked_at = utcnow()
    db.session.commit()
    for token in (raw, raw2):
        assert_error(client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}), 401, "invalid_token")


# ----------------------------------------------------------------------------- throttle


# The throttle itself (per username and address, per address, Redis, concurrency): test_login_throttle.py


def test_refused_logins_speak_the_callers_language(client, dispatcher):
    """The token endpoint's 401 and 429 and the login page's messages follow Accept-Language; codes do not."""
    zh_header, en_header = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}
    zh = assert_error(client.post("/api/v1/auth/token", json={"username": "dan", "password": "nope"},
                                  headers=zh_header), 401, "invalid_credentials")
    en = assert_error(client.post("/api/v1/auth/token", json={"username": "dan", "password": "nope"},
                                  headers=en_header), 401, "invalid_credentials")
    assert zh["message"] == "用户名或密码错误，或账户已停用。"
    assert en["message"] == "Wrong username or password, or the account is disabled."
    missing = assert_error(client.post("/api/v1/auth/token", json={}, headers=zh_header), 422, "invalid")
    assert missing["message"] == "请填写用户名和密码。" and missing["fields"] == {"username": "必填", "password": "必填"}
    page = client.post("/login", data={"username": "dan", "password": "nope"}, headers=zh_header)
    assert page.status_code == 401 and "用户名或密码错误" in page.get_data(as_text=True)

    for _ in range(7):  # three failures above: ten in all
        assert token_for(client, "dan", "nope").status_code == 401
    zh = assert_error(token_for_in(client, zh_header), 429, "too_many_attempts")
    en = assert_error(token_for_in(client, en_header), 429, "too_many_attempts")
    assert zh["message"] == "该用户登录失败次数过多。请等待 15 分钟后再试。"
    assert en["message"] == "Too many failed logins for this user. Wait 15 minutes and try again."
    page = client.post("/login", data={"username": "dan", "password": PASSWORD}, headers=zh_header)
    assert page.status_code == 429 and "请等待 15 分钟后再试" in page.get_data(as_text=True)


def token_for_in(client: Any, headers: dict[str, str]) -> Any:
    return client.post("/api/v1/auth/token", json={"username": "dan", "password": PASSWORD}, headers=headers)


def test_throttle_counts_long_usernames_too(client):
    name = "x" * 300
    for _ in range(10):
        assert token_for(client, name, "whatever-pass").status_code == 401
    assert_error(token_for(client, name, "whatever-pass"), 429)


# ----------------------------------------------------------------------------- the login page


def test_login_through_the_real_form_with_csrf(app, client, csrf_on, dispatcher):
    page = client.get("/login?next=/api/v1/me")
    assert page.status_code == 200
    token = csrf_token(page.data)

    # Without the CSRF token the form is refused and nobody is logged in.
    refused = client.post("/login", data={"username": "dan", "password": PASSWORD})
    assert refused.status_code == 400
    assert client.get("/").status_code == 302

    wrong = client.post("/login", data={"username": "dan", "password": "nope", "csrf_token": token})
    assert wrong.status_code == 401
    assert b"Wrong username or password" in wrong.data

    ok = client.post("/login?next=/api/v1/me", data={"username": "dan", "password": PASSWORD, "csrf_token": token})
    assert ok.status_code == 302
    assert ok.headers["Location"] == "/api/v1/me"
    assert client.get("/").status_code == 200
    assert client.get("/api/v1/me").get_json()["username"] == "dan"

    # Logout is POST only, and needs the CSRF token.
    assert client.get("/logout").status_code == 405
    home = client.get("/")
    assert client.post("/logout").status_code == 400
    assert client.get("/").status_code == 200  # still logged in
    out = client.post("/logout", data={"csrf_token": csrf_token(home.data)})
    assert out.status_code == 302 and out.headers["Location"].endswith("/login")
    assert client.get("/").status_code == 302


def test_session_api_writes_need_the_csrf_header(app, client, csrf_on, login, dispatcher):
    """A browser session may use the API, but a write without X-CSRFToken is refused."""
    login(dispatcher)
    home = client.get("/")
    refused = client.post("/api/v1/customers", json={"name": "Cookie Co", "phone": "13800000000"})
    assert_error(refused, 400, "csrf_failed")
    ok = client.post("/api/v1/customers", json={"name": "Cookie Co", "phone": "13800000000"},
                     headers={"X-CSRFToken": csrf_token(home.data)})
    assert ok.status_code == 201, ok.get_json()


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example", "///evil.example",
                                    "/\\evil.example", "\\\\evil.example", "https:/evil.example",
                                    "javascript:alert(1)", " //evil.example", "/\t/evil.example",
                                    "/calls\r\nSet-Cookie: x=1", "/calls\nX: y", "/login", "/login?next=/login"])
def test_next_only_follows_local_paths(client, dispatcher, target):
    r = client.post("/login", query_string={"next": target}, data={"username": "dan", "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == "/"
    # Already logged in: the login page redirects, still never off-site.
    again = client.get("/login", query_string={"next": target})
    assert again.status_code == 302 and again.headers["Location"] == "/"


def test_next_follows_a_local_path_with_its_query(client, dispatcher):
    r = client.post("/login", query_string={"next": "/calls?status=new"},
                    data={"username": "dan", "password": PASSWORD})
    assert r.headers["Location"] == "/calls?status=new"


def test_anonymous_page_redirects_to_login_with_next(client):
    r = client.get("/")
    assert r.status_code == 302
    assert r.headers["Location"].startswith("/login")


def test_password_change_ends_sessions_and_tokens(app, client, api, login, runner, dispatcher):
    bearer = api(dispatcher)
    login(dispatcher)
    version = dispatcher.auth_version
    assert client.get("/").status_code == 200
    assert bearer.get("/api/v1/me").status_code == 200

    result = runner.invoke(args=["users", "set-password", "dan", "--password", "brand-new-pass"])
    assert result.exit_code == 0, result.output

    assert client.get("/").status_code == 302  # the session died
    assert_error(bearer.get("/api/v1/me"), 401, "invalid_token")
    assert_error(token_for(client, "dan", PASSWORD), 401)
    fresh = token_for(client, "dan", "brand-new-pass")
    assert fresh.status_code == 200
    db.session.expire_all()
    assert db.session.scalar(select(User.auth_version).where(User.username == "dan")) == version + 1
    from dispatch.core.models import AuditEvent

    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "user.password_changed"))
    assert event.entity_id == dispatcher.id


# ----------------------------------------------------------------------------- where a login lands

HOMES = {"admin": "/", "manager": "/", "dispatcher": "/", "technician": "/t/", "finance": "/billing/to-invoice"}


@pytest.mark.parametrize("role", sorted(HOMES))
def test_each_role_lands_on_its_own_home(client, role):
    """Logging in from `/` (the login page then carries next=/, the desk) used to land a technician on
    "Not for your role": now each role lands on its home, and the home page opens."""
    make_user(role, username=f"who-{role}")
    anonymous = client.get("/")
    assert anonymous.status_code == 302 and anonymous.headers["Location"] == "/login?next=/"
    r = client.post("/login?next=/", data={"username": f"who-{role}", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == HOMES[role], r.headers["Location"]
    assert client.get(HOMES[role]).status_code == 200
    # Without a next, and when already logged in, the same home; the site's root leads there too.
    assert client.get("/login").headers["Location"] == HOMES[role]
    root = client.get("/")
    assert root.status_code == (200 if HOMES[role] == "/" else 302)
    if root.status_code == 302:
        assert root.headers["Location"] == HOMES[role]


@pytest.mark.parametrize(("role", "target", "lands"), [
    ("technician", "/calls?status=new", "/t/"),       # the desk's list: not for a technician
    ("technician", "/billing/", "/t/"),
    ("technician", "/admin/users", "/t/"),
    ("technician", "/t/admin-time", "/t/admin-time"),  # their own page is kept
    ("technician", "/t", "/t"),                        # Flask's /t -> /t/ redirect: the page it leads to decides
    ("finance", "/board", "/billing/to-invoice"),  # "To invoice", the first tab of the finance home
    ("finance", "/billing/parts?q=filter", "/billing/parts?q=filter"),
    ("dispatcher", "/admin/users", "/"),
    ("dispatcher", "/t/", "/"),
    ("dispatcher", "/board?date=2026-12-01", "/board?date=2026-12-01"),
    ("manager", "/technicians", "/technicians"),
    ("admin", "/admin/users?role=technician", "/admin/users?role=technician"),
    ("dispatcher", "/no/such/page", "/"),
    ("dispatcher", "/logout", "/"),                    # POST only: not a page to open
    ("dispatcher", "/account", "/account"),
])
def test_a_next_the_role_may_not_open_is_replaced_by_its_home(client, role, target, lands):
    make_user(role, username="someone")
    r = client.post("/login", query_string={"next": target}, data={"username": "someone", "password": PASSWORD})
    assert r.status_code == 302 and r.headers["Location"] == lands
    again = client.get("/login", query_string={"next": target})  # already logged in
    assert again.status_code == 302 and again.headers["Location"] == lands
    assert client.get(lands, follow_redirects=True).status_code == 200
