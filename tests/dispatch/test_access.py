"""Every page and endpoint refuses the anonymous user and every role it does not name.

The cases are generated at collection time from the app's own url_map, so an endpoint added later by any
package is covered without touching this file. A view declares its roles with @allow(...) (or @public);
for each (rule, method):
  - anonymous: 401 with the JSON error shape under /api, a redirect to /login for pages;
  - every role outside the view's `allowed_roles`: 403 (JSON under /api).
Path parameters get an id that may or may not exist: the guard must refuse before any lookup.

No request here gets past the guard, so nothing is written: the users are made once for the module and the
per-test table emptying of conftest is skipped (it costs about a second a test on PostgreSQL).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from typing import Any

import pytest

from dispatch.core.models import Role
from tests.conftest import _empty_tables, session_keys
from tests.factories import make_user

ROLES = [r.value for r in Role]
PARAM = re.compile(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>")


@cache
def _rules() -> list[tuple[str, str, str]]:
    """(method, rule, endpoint) of every non-public view, from an app that needs no database."""
    from dispatch import create_app

    app = create_app({"SECRET_KEY": "collect-only", "DATABASE_URL": "sqlite://", "TESTING": True})
    cases = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if rule.endpoint == "static" or rule.endpoint.endswith(".static") or getattr(view, "public", False):
            continue
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            cases.append((method, rule.rule, rule.endpoint))
    return sorted(cases, key=lambda c: (c[1], c[0]))


def pytest_generate_tests(metafunc: Any) -> None:
    if "access_case" in metafunc.fixturenames:
        cases = _rules()
        metafunc.parametrize("access_case", cases, ids=[f"{m} {r}" for m, r, _ in cases])


def concrete(rule: str) -> str:
    def value(match: re.Match[str]) -> str:
        converter = match.group(1) or "string"
        return {"path": "1/x", "uuid": "00000000-0000-0000-0000-000000000001"}.get(converter, "1")

    return PARAM.sub(value, rule)


@pytest.fixture(autouse=True)
def _isolation(app: Any) -> Iterator[None]:
    """Overrides conftest's: an app context without the per-test emptying (see the module docstring)."""
    with app.app_context():
        yield


@pytest.fixture(scope="module")
def people(app: Any) -> Iterator[dict[str, Any]]:
    from dispatch.core.auth import issue_token
    from dispatch.core.extensions import db

    with app.app_context():
        _empty_tables()
        users = {role: make_user(role, username=f"access-{role}") for role in ROLES}
        tokens = {role: issue_token(user)[0] for role, user in users.items()}
        db.session.commit()
        sessions = {role: session_keys(user) for role, user in users.items()}
        db.session.remove()
    yield {"tokens": tokens, "sessions": sessions}
    with app.app_context():
        db.session.remove()
        _empty_tables()


def send(client: Any, method: str, url: str, headers: dict[str, str] | None = None) -> Any:
    kwargs: dict[str, Any] = {"headers": headers or {}}
    if method in ("POST", "PUT", "PATCH", "DELETE"):
        kwargs["json"] = {}
    return client.open(url, method=method, **kwargs)


def assert_json_error(response: Any, status: int, what: str) -> None:
    assert response.status_code == status, f"{what}: {response.status_code} {response.data[:200]!r}"
    assert response.mimetype == "application/json", what
    error = response.get_json()["error"]
    assert set(error) == {"code", "message", "fields"}, what


def test_every_endpoint_refuses_anonymous_and_wrong_roles(app, people, access_case):
    method, rule, endpoint = access_case
    url = concrete(rule)
    api = url.startswith("/api/")
    allowed = getattr(app.view_functions[endpoint], "allowed_roles", frozenset())

    anonymous = send(app.test_client(), method, url)
    if api:
        assert_json_error(anonymous, 401, f"anonymous {method} {url}")
    else:
        assert anonymous.status_code in (302, 303), f"anonymous {method} {url}: {anonymous.status_code}"
        assert anonymous.headers["Location"].startswith("/login"), anonymous.headers["Location"]

    for role in ROLES:
        if role in allowed:
            continue
        client = app.test_client()
        if api:
            response = send(client, method, url, {"Authorization": f"Bearer {people['tokens'][role]}"})
            assert_json_error(response, 403, f"{role} {method} {url}")
        else:
            with client.session_transaction() as session:
                session.update(people["sessions"][role])
            response = send(client, method, url)
            if (method, url) == ("GET", "/"):  # the site's root sends every role to its own home
                assert response.status_code == 302 and response.headers["Location"] != "/", role
                continue
            assert response.status_code == 403, f"{role} {method} {url}: {response.status_code}"


def test_the_access_cases_cover_the_desk():
    """A guard against the generator quietly finding nothing."""
    rules = {(m, r) for m, r, _ in _rules()}
    for expected in [("GET", "/"), ("POST", "/logout"), ("POST", "/api/v1/calls"), ("GET", "/api/v1/calls"),
                     ("PATCH", "/api/v1/calls/<int:call_id>"), ("POST", "/api/v1/users")]:
        assert expected in rules
    assert ("POST", "/api/v1/auth/token") not in rules
    assert ("GET", "/api/v1/openapi.json") not in rules


def test_every_protected_endpoint_lets_someone_in(app):
    """A view with neither @allow nor @public is refused to everyone (fail closed): that is always a mistake."""
    nobody = sorted({e for _, _, e in _rules() if not getattr(app.view_functions[e], "allowed_roles", None)})
    assert nobody == []


def test_public_endpoints_only_read_except_logging_in(app):
    writers = set()
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "public", False) and (rule.methods or set()) - {"GET", "HEAD", "OPTIONS"}:
            writers.add(rule.endpoint)
    assert writers == {"auth.login", "auth_api.token"}


def test_public_endpoints_answer_anonymous(client, people):
    assert client.get("/login").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200
    assert client.post("/api/v1/auth/token", json={"username": "x", "password": "y"}).status_code == 401
    assert client.get("/static/css/app.css").status_code == 200


def test_error_pages_speak_the_users_language(app, people, monkeypatch):
    """403, 404 and 500 pages carry a message in the reader's language (here the browser's)."""
    client = app.test_client()
    with client.session_transaction() as session:
        session.update(people["sessions"]["technician"])
    zh, en = {"Accept-Language": "zh-CN"}, {"Accept-Language": "en"}

    def page(url: str, headers: dict[str, str], status: int) -> str:
        response = client.get(url, headers=headers)
        assert response.status_code == status, (url, response.status_code)
        return response.get_data(as_text=True)

    assert "您的角色无权使用此功能。" in page("/customers", zh, 403)
    assert "Your role may not use this." in page("/customers", en, 403)
    assert "此地址下没有内容。" in page("/no-such-page", zh, 404)
    assert "There is nothing at this address." in page("/no-such-page", en, 404)

    def boom() -> None:
        raise RuntimeError("a bug")

    boom.allowed_roles = frozenset(ROLES)  # type: ignore[attr-defined]
    monkeypatch.setitem(app.view_functions, "desk.home", boom)
    monkeypatch.setattr(app.logger, "disabled", True)  # the traceback is expected
    text = page("/", zh, 500)
    assert "系统出错了。" in text and "a bug" not in text
    assert "Something went wrong on our side." in page("/", en, 500)
