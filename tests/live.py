"""Live servers for the tests that speak real HTTP: the app in a thread (werkzeug), gunicorn processes,
a throw-away database for them, and a tiny JSON client on the standard library.

Used by tests/dispatch/test_schemathesis.py (the app in a thread, on the suite's own database),
tests/deploy/test_two_servers.py (two gunicorn servers on one PostgreSQL and one Redis) and `make fuzz`
(`python -m tests.fuzzing`: the same fuzzing, deeper, with a summary).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PG_ADMIN_URL = os.environ.get("TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")


def free_port() -> int:
    """A loopback port nobody listens on now (the kernel's pick)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def serve_in_thread(app: Any) -> Iterator[str]:
    """The app on a free loopback port, served by werkzeug's threaded server in a daemon thread."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


# ----------------------------------------------------------------------------- databases


def postgres_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=3).close()
        return True
    except Exception:
        return False


@contextmanager
def scratch_database(engine: str, directory: Path) -> Iterator[str]:
    """An empty database of its own (a SQLite file in `directory`, or a PostgreSQL database created for
    it and dropped after): its DATABASE_URL."""
    if engine == "sqlite":
        yield "sqlite:///" + str(directory / f"live-{uuid.uuid4().hex[:8]}.sqlite3")
        return
    import psycopg

    name = f"dispatch_live_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = PG_ADMIN_URL.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        yield PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flask_command(env: dict[str, str], *args: str, timeout: float = 120) -> str:
    """`flask --app dispatch ARGS` in a process of its own, as an operator types it; its output."""
    done = subprocess.run([str(BIN / "flask"), "--app", "dispatch", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=timeout)
    if done.returncode != 0:
        raise RuntimeError(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return done.stdout


def server_env(database_url: str, instance: Path, **extra: str) -> dict[str, str]:
    """The environment an app server runs with: the operator's settings, nothing from the test run."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DISPATCH_", "FLASK_", "DATABASE_", "REDIS_"))}
    env.update({"DATABASE_URL": database_url, "DISPATCH_INSTANCE_PATH": str(instance), "GEOCODER": "offline",
                "DEFAULT_LOCALE": "en", "PYTHONUNBUFFERED": "1"})
    env.update(extra)
    return env


# ----------------------------------------------------------------------------- gunicorn


@dataclass
class Gunicorn:
    """One gunicorn app server (`gunicorn 'dispatch:create_app()'`, API.md) on a loopback port."""

    env: dict[str, str]
    workers: int = 2
    app: str = "dispatch:create_app()"
    threads: int = 1
    port: int = field(default_factory=free_port)
    process: subprocess.Popen[bytes] | None = None
    log: Path | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, log: Path, timeout: float = 90) -> None:
        self.launch(log)
        self.wait_ready(timeout)

    def launch(self, log: Path) -> None:
        """Start the process (its master, then the workers import the app); wait_ready waits for it."""
        self.log = log
        out = log.open("wb")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "--bind", f"127.0.0.1:{self.port}", "--workers", str(self.workers),
             "--threads", str(self.threads), "--timeout", "120", "--graceful-timeout", "2",
             # gunicorn 23+ opens a control socket at one fixed path per user: two servers would share it.
             "--no-control-socket", self.app],
            cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        out.close()

    def wait_ready(self, timeout: float = 90) -> None:
        assert self.process is not None and self.log is not None
        log = self.log
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn on {self.port} exited:\n{log.read_text()[-4000:]}")
            try:
                with urllib.request.urlopen(self.url + "/api/v1/openapi.json", timeout=5) as r:
                    if r.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"gunicorn on {self.port} did not answer in {timeout} s:\n{log.read_text()[-4000:]}")
            time.sleep(0.2)

    def stop(self) -> None:
        """A quick shutdown (SIGQUIT) to this server's own process group, its master and workers; SIGKILL if
        it lingers."""
        self.signal_stop()
        if self.process is None:
            return
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)

    def signal_stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGQUIT)


# ----------------------------------------------------------------------------- a reverse proxy


HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailers",
              "transfer-encoding", "upgrade"}


class RoundRobinProxy:
    """A tiny reverse proxy on the standard library, in front of several app servers: each request goes to
    the next one in turn (as nginx's default upstream balancing does), with X-Forwarded-For/-Proto/-Host;
    the answer says which server gave it (X-Upstream: the server's name)."""

    def __init__(self, upstreams: list[tuple[str, str]]) -> None:
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        self.upstreams = upstreams
        self._turn = 0
        self._lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def _forward(self) -> None:
                import http.client
                from urllib.parse import urlsplit

                name, base = proxy.next_upstream()
                target = urlsplit(base)
                length = int(self.headers.get("Content-Length") or 0)
                data = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
                headers["X-Forwarded-For"] = self.client_address[0]
                headers["X-Forwarded-Proto"] = "http"
                headers["X-Forwarded-Host"] = self.headers.get("Host", "")
                conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port, timeout=120)
                try:
                    conn.request(self.command, self.path, body=data, headers=headers)
                    answer = conn.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status, answer.reason)
                    for key, value in answer.getheaders():
                        if key.lower() not in HOP_BY_HOP and key.lower() != "content-length":
                            self.send_header(key, value)
                finally:
                    conn.close()
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("X-Upstream", name)
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _forward

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def next_upstream(self) -> tuple[str, str]:
        with self._lock:
            upstream = self.upstreams[self._turn % len(self.upstreams)]
            self._turn += 1
            return upstream

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_port}"

    def __enter__(self) -> RoundRobinProxy:
        self.thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


# ----------------------------------------------------------------------------- a small JSON client


@dataclass
class Answer:
    status: int
    headers: Any
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8"))


class Http:
    """urllib with a cookie jar: a browser's session or an API client's token, against one base URL."""

    def __init__(self, base_url: str, token: str | None = None) -> None:
        self.base_url = base_url
        self.token = token
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  _NoRedirect())

    def request(self, method: str, path: str, json_body: Any = None, data: bytes | None = None,
                headers: dict[str, str] | None = None, timeout: float = 60) -> Answer:
        h = {"Accept-Language": "en", **(headers or {})}
        if self.token:
            h.setdefault("Authorization", f"Bearer {self.token}")
        if json_body is not None:
            data = json.dumps(json_body).encode()
            h.setdefault("Content-Type", "application/json")
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=h)
        try:
            with self.opener.open(req, timeout=timeout) as r:
                return Answer(r.status, r.headers, r.read())
        except urllib.error.HTTPError as e:
            return Answer(e.code, e.headers, e.read())

    def get(self, path: str, **kw: Any) -> Answer:
        return self.request("GET", path, **kw)

    def post(self, path: str, json_body: Any = None, **kw: Any) -> Answer:
        return self.request("POST", path, json_body=json_body, **kw)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None  # a redirect is an answer to look at (login pages), not to follow


def api_token(base_url: str, username: str, password: str) -> str:
    """A bearer token, asked for as any API client does (POST /api/v1/auth/token)."""
    answer = Http(base_url).post("/api/v1/auth/token", {"username": username, "password": password})
    if answer.status != 200:
        raise RuntimeError(f"no token for {username}: {answer.status} {answer.body[:300]!r}")
    return str(answer.json()["token"])
