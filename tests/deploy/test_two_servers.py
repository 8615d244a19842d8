"""More than one app server (issue 16): two gunicorn servers, as `gunicorn 'dispatch:create_app()'` runs
them in production, on different ports, sharing one PostgreSQL database and one Redis, behind a
round-robin reverse proxy started here. Migrations run once, before either server starts.

What must hold across them: a session opened through one works on the other (and ends on both at logout);
an Idempotency-Key sent to one and then the other gives one record; the login throttle counts failures on
both together; a photo uploaded through one is read through the other (files live in the database); and a
request held up on one server does not hold up the other.
"""

from __future__ import annotations

import base64
import os
import re
import secrets
import threading
import urllib.parse
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests import live

pytestmark = pytest.mark.concurrency  # real commits, on a database of its own

REDIS_URL = "redis://127.0.0.1:6379/0"


def _redis() -> Any:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3)
    try:
        client.ping()
    except redis.RedisError:
        return None
    return client


@dataclass
class Cluster:
    a: live.Gunicorn
    b: live.Gunicorn
    proxy: live.RoundRobinProxy
    database_url: str
    prefix: str
    redis: Any
    passwords: dict[str, str]

    def sql(self, query: str, *params: Any) -> list[tuple[Any, ...]]:
        import psycopg

        with psycopg.connect(self.database_url.replace("postgresql+psycopg://", "postgresql://")) as conn:
            return list(conn.execute(query, params).fetchall())

    def token(self, server: live.Gunicorn, role: str) -> str:
        return live.api_token(server.url, role, self.passwords[role])


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    if not live.postgres_available():
        pytest.skip("NO POSTGRESQL on 127.0.0.1:5432: two app servers need one shared database; "
                    "this test did not run (start PostgreSQL, or set TEST_PG_URL)")
    if os.environ.get("DISPATCH_TEST_DB", "sqlite") != "postgresql":
        pytest.skip("runs once, in the suite's PostgreSQL run (DISPATCH_TEST_DB=postgresql, which make test "
                    "starts beside this one): its servers share one PostgreSQL database whatever the suite's engine")
    redis_client = _redis()
    if redis_client is None:
        pytest.skip(f"NO REDIS at {REDIS_URL}: two app servers share the login throttle's counts there; "
                    "this test did not run")
    tmp = tmp_path_factory.mktemp("two-servers")
    prefix = f"two-servers-{uuid.uuid4().hex[:8]}"
    # The secrets every server must share (docs/DEPLOY.md): the session key and the evidence key.
    shared = {"SECRET_KEY": secrets.token_hex(32), "EVIDENCE_KEY": secrets.token_hex(32),
              "REDIS_URL": REDIS_URL, "LOGIN_MAX_FAILURES": "3"}
    with live.scratch_database("postgresql", tmp) as url:
        # Migrations once, before any server starts, as an operator runs them.
        live.flask_command(live.server_env(url, tmp / "migrate", **shared), "db", "upgrade")
        passwords = _seed(url, shared)
        # Each server its own instance folder, as on its own machine; the key prefix keeps this test's
        # throttle counts apart from anyone else's in the same Redis.
        servers = []
        for name in ("a", "b"):
            env = live.server_env(url, tmp / f"instance-{name}", **shared)
            servers.append(live.Gunicorn(env, workers=2, app=f"dispatch:create_app({{'RATELIMIT_KEY_PREFIX': '{prefix}'}})"))
        try:
            for server, name in zip(servers, "ab", strict=True):
                server.launch(tmp / f"gunicorn-{name}.log")  # both at once
            for server in servers:
                server.wait_ready()
            with live.RoundRobinProxy([("a", servers[0].url), ("b", servers[1].url)]) as proxy:
                yield Cluster(servers[0], servers[1], proxy, url, prefix, redis_client, passwords)
        finally:
            for server in servers:
                server.signal_stop()
            for server in servers:
                server.stop()
            for key in redis_client.scan_iter(f"{prefix}*"):
                redis_client.delete(key)


def _seed(database_url: str, shared: dict[str, str]) -> dict[str, str]:
    """The demo and a carry-back (tests/fuzzing.py), written by this process straight into the database."""
    from dispatch import create_app
    from dispatch.core.extensions import db
    from tests import fuzzing

    app = create_app({"DATABASE_URL": database_url, "SECRET_KEY": shared["SECRET_KEY"],
                      "EVIDENCE_KEY": shared["EVIDENCE_KEY"], "GEOCODER": "offline", "DEFAULT_LOCALE": "en"})
    with app.app_context():
        fuzzing.seed()
        db.session.remove()
        db.engine.dispose()
    from dispatch.demo import DEMO_PASSWORDS

    return dict(DEMO_PASSWORDS)


def _csrf(page: bytes) -> str:
    found = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', page) or \
        re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', page)
    assert found, page[:500]
    return found.group(1).decode()


def _form(data: dict[str, str]) -> dict[str, Any]:
    return {"data": urllib.parse.urlencode(data).encode(),
            "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


# ----------------------------------------------------------------------------- the checks


def test_a_session_opened_on_one_server_works_on_the_other_and_ends_on_both(cluster):
    browser = live.Http(cluster.proxy.url)
    login_page = browser.get("/login")
    assert login_page.status == 200
    first = login_page.headers["X-Upstream"]
    # The form came from one server; it is sent to the other (its CSRF token is in the signed session).
    signed_in = browser.request("POST", "/login", **_form({
        "csrf_token": _csrf(login_page.body), "username": "admin", "password": cluster.passwords["admin"]}))
    assert signed_in.headers["X-Upstream"] != first
    assert signed_in.status == 302 and "/login" not in signed_in.headers["Location"], signed_in.body[:300]
    pages = [browser.get("/account") for _ in range(2)]
    assert {p.headers["X-Upstream"] for p in pages} == {"a", "b"}
    assert all(p.status == 200 for p in pages), [p.status for p in pages]
    # Logging out through one server ends the session on both.
    out = browser.request("POST", "/logout", **_form({"csrf_token": _csrf(pages[-1].body)}))
    assert out.status == 302
    after = [browser.get("/account") for _ in range(2)]
    assert {p.headers["X-Upstream"] for p in after} == {"a", "b"}
    assert all(p.status == 302 and "/login" in p.headers["Location"] for p in after), [p.status for p in after]


def test_an_idempotency_key_holds_across_both_servers(cluster):
    token = cluster.token(cluster.a, "dispatcher")
    name = f"Two-server Bakery {uuid.uuid4().hex[:6]}"
    body = {"name": name, "phone": "021-5555 0101", "confirm_duplicate": True}
    key = {"Idempotency-Key": uuid.uuid4().hex}
    first = live.Http(cluster.a.url, token).post("/api/v1/customers", body, headers=key)
    again = live.Http(cluster.b.url, token).post("/api/v1/customers", body, headers=key)
    assert first.status == 201, first.body
    assert again.status == 201 and again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert cluster.sql("SELECT count(*) FROM customers WHERE name = %s", name) == [(1,)]


def test_login_failures_are_counted_across_both_servers(cluster):
    """LOGIN_MAX_FAILURES=3 on both servers (2 workers each): 3 failures spread over them lock the 4th
    attempt out, even with the right password; with counts kept in each process it would get through."""
    servers = [cluster.a, cluster.b, cluster.a]
    for server in servers:
        wrong = live.Http(server.url).post("/api/v1/auth/token", {"username": "finance", "password": "not it at all"})
        assert wrong.status == 401, wrong.body
    refused = live.Http(cluster.b.url).post("/api/v1/auth/token",
                                            {"username": "finance", "password": cluster.passwords["finance"]})
    assert refused.status == 429, refused.body
    assert int(refused.headers["Retry-After"]) > 0
    assert refused.json()["error"]["code"]
    # The counts are in Redis, under this deployment's prefix: every server reads the same ones.
    assert list(cluster.redis.scan_iter(f"{cluster.prefix}*"))


def test_a_photo_uploaded_through_one_server_is_read_through_the_other(cluster):
    from tests.technicians.helpers import png

    (carry_back_id,), = cluster.sql("SELECT id FROM carry_backs ORDER BY id LIMIT 1")
    picture = png(24, 12, 200)
    upload = live.Http(cluster.a.url, cluster.token(cluster.a, "technician")).post(
        f"/api/v1/carry-backs/{carry_back_id}/photos", {"photos": [base64.b64encode(picture).decode()]})
    assert upload.status == 201, upload.body
    url = upload.json()["photos"][-1]["url"]
    via_a = live.Http(cluster.a.url, cluster.token(cluster.a, "admin")).get(url)
    via_b = live.Http(cluster.b.url, cluster.token(cluster.b, "admin")).get(url)
    assert via_a.status == via_b.status == 200
    assert via_b.headers["Content-Type"] == "image/jpeg" and via_b.body == via_a.body and via_b.body[:2] == b"\xff\xd8"


def test_a_request_held_up_on_one_server_does_not_hold_up_the_other(cluster):
    """A's request is made long for certain: the test holds the row it writes. While it waits (PostgreSQL
    shows it waiting on the lock), B answers a read of that very call; then the row is let go and A
    finishes. Ordering by events, not by the clock."""
    import psycopg

    (call_id,), = cluster.sql("SELECT id FROM repair_calls WHERE status = 'new' ORDER BY id LIMIT 1")
    token = cluster.token(cluster.a, "dispatcher")
    database = cluster.database_url.rsplit("/", 1)[1]
    answers: dict[str, live.Answer] = {}
    a_done = threading.Event()

    def slow_on_a() -> None:
        answers["a"] = live.Http(cluster.a.url, token).request(
            "PATCH", f"/api/v1/calls/{call_id}", json_body={"description": "Water on the floor under the unit."})
        a_done.set()

    with psycopg.connect(cluster.database_url.replace("postgresql+psycopg://", "postgresql://")) as holder:
        holder.execute("SELECT id FROM repair_calls WHERE id = %s FOR UPDATE", (call_id,))
        worker = threading.Thread(target=slow_on_a)
        worker.start()
        try:
            _wait_until_blocked(cluster, database)
            assert not a_done.is_set()
            on_b = live.Http(cluster.b.url, token).get(f"/api/v1/calls/{call_id}")
            assert on_b.status == 200 and on_b.json()["id"] == call_id
            assert not a_done.is_set(), "A answered while its row was held: the check proved nothing"
        finally:
            holder.rollback()  # let A's write through
        worker.join(timeout=60)
    assert a_done.is_set() and answers["a"].status == 200, answers.get("a")
    assert answers["a"].json()["id"] == call_id


def _wait_until_blocked(cluster: Cluster, database: str) -> None:
    """Until PostgreSQL shows a backend of this database waiting for a lock (A's write)."""
    import time

    for _ in range(600):
        if cluster.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND wait_event_type = 'Lock'",
                       database)[0][0]:
            return
        time.sleep(0.05)
    raise AssertionError("A's request never reached the held row")


def test_migrations_ran_once_before_the_servers(cluster):
    """One Alembic head in the shared database; neither server tried to make the schema itself."""
    heads = cluster.sql("SELECT version_num FROM alembic_version")
    assert len(heads) == 1
    for server in (cluster.a, cluster.b):
        assert server.log is not None
        assert "Running upgrade" not in Path(server.log).read_text()
