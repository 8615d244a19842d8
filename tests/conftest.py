"""The test harness: a real database (SQLite file or PostgreSQL), migrated once per run by Alembic,
emptied between tests; named personas; a live server for the browser tests.

DISPATCH_TEST_DB=sqlite (default) or postgresql picks the engine; `make test` runs both.

Isolation is by emptying the tables after each test rather than a rolled-back outer transaction:
the code under test commits for real (several tests race threads against the same rows), and
emptying ~20 small tables costs a few milliseconds on either engine.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from dispatch import create_app
from dispatch.core.extensions import db

ENGINE = os.environ.get("DISPATCH_TEST_DB", "sqlite")
PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def pytest_report_header(config: Any) -> str:
    return f"dispatch test database: {ENGINE}"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    if ENGINE == "sqlite":
        yield "sqlite:///" + str(tmp_path_factory.mktemp("db") / "test.sqlite3")
        return
    import psycopg

    name = f"dispatch_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
        # A throw-away database: no need to wait for the disk on every commit.
        conn.execute(f'ALTER DATABASE "{name}" SET synchronous_commit TO off')
    yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="session")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    os.environ["DISPATCH_INSTANCE_PATH"] = str(tmp_path_factory.mktemp("instance"))
    application = create_app({
        "TESTING": True,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "test-secret-key",
        "WTF_CSRF_ENABLED": False,
        "GEOCODER": "offline",
        "TIMEZONE": "Asia/Shanghai",
    })
    from flask_migrate import upgrade

    with application.app_context():
        upgrade()  # the one way a schema is made, tests included
    yield application
    with application.app_context():
        db.engine.dispose()


def _empty_tables() -> None:
    # DELETE, children first, in one transaction: on small tables it is far cheaper than TRUNCATE,
    # whose fixed cost per table (new files, locks) dominated the PostgreSQL run.
    for table in reversed(db.metadata.sorted_tables):
        db.session.execute(table.delete())
    db.session.commit()


@pytest.fixture(autouse=True)
def _isolation(app: Any) -> Iterator[None]:
    with app.app_context():
        yield
        db.session.rollback()
        db.session.remove()
        _empty_tables()


@pytest.fixture
def client(app: Any) -> Any:
    return app.test_client()


@pytest.fixture
def runner(app: Any) -> Any:
    return app.test_cli_runner()


# ----------------------------------------------------------------------------- personas

from tests.factories import make_user  # noqa: E402


@pytest.fixture
def admin() -> Any:
    return make_user("admin", username="ada", name="Ada Admin")


@pytest.fixture
def manager() -> Any:
    return make_user("manager", username="mei", name="Mei Manager")


@pytest.fixture
def dispatcher() -> Any:
    return make_user("dispatcher", username="dan", name="Dan Dispatcher")


@pytest.fixture
def technician() -> Any:
    return make_user("technician", username="tom", name="Tom Technician", skills=["hvac", "electrical"],
                     base_latitude=31.2304, base_longitude=121.4737)


@pytest.fixture
def finance() -> Any:
    return make_user("finance", username="fay", name="Fay Finance")


@pytest.fixture
def login(client: Any) -> Any:
    """Log a user in through the session (the real form is tested once, in test_auth)."""

    def _login(user: Any, to: Any = None) -> Any:
        target = to or client
        with target.session_transaction() as session:
            session["_user_id"] = user.get_id()
            session["_fresh"] = True
        return target

    return _login


class ApiClient:
    """The test client speaking JSON with a bearer token."""

    def __init__(self, client: Any, token: str | None) -> None:
        self.client = client
        self.token = token

    def _headers(self, headers: dict[str, str] | None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(headers or {})
        return h

    def get(self, url: str, **kw: Any) -> Any:
        return self.client.get(url, headers=self._headers(kw.pop("headers", None)), **kw)

    def post(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def patch(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.patch(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def put(self, url: str, json: Any = None, **kw: Any) -> Any:
        return self.client.put(url, json=json, headers=self._headers(kw.pop("headers", None)), **kw)

    def delete(self, url: str, **kw: Any) -> Any:
        return self.client.delete(url, headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def api(app: Any) -> Any:
    """api(user) -> a JSON client holding a fresh token of that user; api(None) has no token."""
    from dispatch.core.auth import issue_token

    def _api(user: Any) -> ApiClient:
        token = None
        if user is not None:
            token, _ = issue_token(user)
            db.session.commit()
        return ApiClient(app.test_client(), token)

    return _api


# ----------------------------------------------------------------------------- live server


@pytest.fixture(scope="session")
def live_server(app: Any) -> Iterator[str]:
    """The app served on a free loopback port in a thread, for the browser tests."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=5)
