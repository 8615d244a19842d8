"""The test harness: a real database (SQLite file or PostgreSQL), migrated once per run by Alembic;
named personas; a live server for the browser tests.

DISPATCH_TEST_DB=sqlite (default) or postgresql picks the engine; `make test` runs both.

Isolation: each test runs inside one outer transaction on one connection, rolled back at the end.
Every session (the test's, and each request's own, as in production) joins it with
`join_transaction_mode="create_savepoint"`, so the code under test commits and rolls back for real
(a SAVEPOINT released or rolled back) and nothing survives the test. SQLite needs pysqlite's own
transaction handling turned off for SAVEPOINT to work; dispatch/core/database.py already does that.
Tests that race commits across threads or app instances (marked `concurrency`) and the browser
tests (a live server in another thread) cannot share one connection: they commit for real and the
tables are emptied after them.
"""

from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask import has_app_context
from flask.testing import FlaskClient
from flask_sqlalchemy.session import Session
from sqlalchemy import func, select
from sqlalchemy.orm import scoped_session, sessionmaker

from dispatch import create_app
from dispatch.core.extensions import db
from tests.factories import FAST_HASH

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


class IsolatedClient(FlaskClient):
    """The test client, each request in a fresh app context, as a real server runs it.

    The test holds an app context of its own (for the factories and its own queries); without this the
    request would reuse it, and with it the test's `g` and database session. The request gets its own
    session, so the test's is made to agree with it: what the test made is sent to the database before
    the request, and what the test holds is read afresh after it.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        test_session = db.session() if has_app_context() else None
        if isinstance(test_session, _ConnectionSession):
            # One connection, savepoints nested: the test's stays open around the request's, so a test
            # object the request touches (a provider comparing ids) loads inside it, not around it.
            test_session.flush()
            test_session.connection()
        elif test_session is not None:
            # Real commits on other connections: hold no transaction (SQLite's write lock) meanwhile.
            test_session.commit()
        try:
            with self.application.app_context():
                return super().open(*args, **kwargs)
        finally:
            if test_session is not None:
                test_session.expire_all()

    @contextmanager
    def session_transaction(self, *args: Any, **kwargs: Any) -> Iterator[Any]:
        with self.application.app_context(), super().session_transaction(*args, **kwargs) as session:
            yield session


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
        "DEFAULT_LOCALE": "en",  # the tests read English unless they ask for Chinese (Accept-Language)
        # Translations not merged yet can be tried: python -m dispatch.core.catalogues preview DIR FILE.json
        **({"BABEL_TRANSLATION_DIRECTORIES": os.environ["DISPATCH_TEST_TRANSLATIONS"]}
           if os.environ.get("DISPATCH_TEST_TRANSLATIONS") else {}),
    })
    application.test_client_class = IsolatedClient
    from flask_migrate import upgrade

    with application.app_context():
        upgrade()  # the one way a schema is made, tests included
    yield application
    with application.app_context():
        # Every test left the database as it found it: a row here escaped its rolled-back transaction.
        left = {t.name: n for t in db.metadata.sorted_tables
                if (n := db.session.scalar(select(func.count()).select_from(t)))}
        db.session.remove()
        db.engine.dispose()
    assert not left, f"rows outlived their test: {left}"


@pytest.fixture(scope="session", autouse=True)
def _cheap_password_hashing() -> Iterator[None]:
    """Every password hashed in a test (personas, API and CLI-created users, password changes) uses one
    PBKDF2 round: the production default (scrypt) costs ~0.1 s a hash, a tenth of the whole suite."""
    from werkzeug import security

    from dispatch.core import models

    def cheap(password: str, method: str = FAST_HASH, salt_length: int = 16) -> str:
        return security.generate_password_hash(password, method=method, salt_length=salt_length)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(models, "generate_password_hash", cheap)
        yield


def _empty_tables() -> None:
    # DELETE, children first, in one transaction: on small tables it is far cheaper than TRUNCATE,
    # whose fixed cost per table (new files, locks) dominated the PostgreSQL run.
    # The audit trail is append-only (triggers, migration 0015): the harness alone lifts that, dropping the
    # triggers and creating them again inside this one transaction (dispatch/core/audit_chain.py).
    from dispatch.core.audit_chain import append_only_lifted

    with append_only_lifted(db.session.connection()):
        for table in reversed(db.metadata.sorted_tables):
            db.session.execute(table.delete())
    db.session.commit()


class _ConnectionSession(Session):
    """Flask-SQLAlchemy's session picks an engine per bind key; in a rolled-back test every statement
    goes to the one connection that holds the outer transaction."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.bind


def racing(node: Any) -> bool:
    """Tests whose commits must be real: threads or other app instances on their own connections."""
    return any(node.get_closest_marker(name) for name in ("concurrency", "browser"))


@pytest.fixture(autouse=True)
def _isolation(request: pytest.FixtureRequest, app: Any) -> Iterator[None]:
    with app.app_context():
        if racing(request.node):
            try:
                yield
            finally:
                db.session.rollback()
                db.session.remove()
                _empty_tables()
            return
        connection = db.engine.connect()
        outer = connection.begin()
        real_session = db.session
        db.session = scoped_session(
            sessionmaker(class_=_ConnectionSession, db=db, bind=connection, query_cls=db.Query,
                         join_transaction_mode="create_savepoint"),
            scopefunc=real_session.registry.scopefunc)
        try:
            yield
        finally:
            db.session.remove()
            db.session = real_session
            outer.rollback()
            connection.close()


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


def session_keys(user: Any) -> dict[str, Any]:
    """What a logged-in browser's Flask session holds: the user, and the key of a live server-side login
    (dispatch/core/sessions.py), committed."""
    from dispatch.core import sessions

    _row, raw, _remember = sessions.create(user, remember=False)
    db.session.commit()
    return {"_user_id": user.get_id(), "_fresh": True, sessions.SESSION_KEY: raw}


@pytest.fixture
def login(client: Any) -> Any:
    """Log a user in through the session (the real form is tested once, in test_auth)."""

    def _login(user: Any, to: Any = None) -> Any:
        target = to or client
        keys = session_keys(user)
        with target.session_transaction() as session:
            session.update(keys)
        return target

    return _login


@pytest.fixture(autouse=True)
def _fresh_login_throttle(app: Any) -> None:
    """Each test starts with no failed logins counted (the app, and its throttle's memory, live all session)."""
    from dispatch.core import throttle

    with app.app_context():
        throttle.reset()


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
