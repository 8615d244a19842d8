"""Engine set-up: SQLite pragmas, and transactions that never fail on a busy database.

On SQLite one connection writes at a time. A writer that has to wait is fine (PRAGMA busy_timeout: SQLite
retries the lock for up to BUSY_TIMEOUT_MS), but one case never waits: a transaction that began as a read
(BEGIN) and then writes. Upgrading its read lock fails at once with "database is locked" when another
connection writes, whatever the busy_timeout, because its snapshot may already be stale. So:

- A write request (POST, PUT, PATCH, DELETE, or a view marked `writes = True`), a CLI command inside
  `write_transaction()` and a thread inside it begin with BEGIN IMMEDIATE: the write lock is taken, with
  SQLite's busy retries, before the first read. That also makes check-then-insert (is the slot free? is the
  number taken?) safe: the transaction holds the write lock before it reads.
- A read request (GET, HEAD, OPTIONS) begins no SQLite transaction at all: each SELECT runs on its own,
  as PostgreSQL's READ COMMITTED would run it. Reads never wait for writers (WAL) and hold no snapshot
  while a page or a PDF is being built. Should such a request write after all (a stamp, a counter), its
  first write or flush begins BEGIN IMMEDIATE right then — no snapshot is held, so the busy retries apply
  — and what it writes is one transaction as usual. A GET that writes holds the lock until its request
  commits, so it should write last or be marked `writes = True` and kept short.
- Anything else (a script, the test harness) keeps a plain deferred BEGIN.

PostgreSQL needs none of this: row locks wait, and the services take them (SELECT ... FOR UPDATE).

`is_busy` tells a busy-database error from others; `retry_busy` runs a unit of work again (fresh
transaction, write lock first) while the database stays busy, up to the same timeout, for work outside a
request (CLI, threads).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from flask import has_request_context
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

T = TypeVar("T")

# How long a writer waits for SQLite's write lock before the request fails (SQLite retries meanwhile).
BUSY_TIMEOUT_MS = 10_000

_write_intent: ContextVar[bool] = ContextVar("write_intent", default=False)


def set_write_intent(value: bool) -> None:
    _write_intent.set(value)


@contextmanager
def write_transaction() -> Iterator[None]:
    """For CLI commands and threads: transactions begun inside take the write lock at once."""
    token = _write_intent.set(True)
    try:
        yield
    finally:
        _write_intent.reset(token)


def _reads_only(statement: str) -> bool:
    head = statement.lstrip()[:7].upper()
    return head.startswith(("SELECT", "PRAGMA", "EXPLAIN"))


def _take_write_lock(dbapi_connection: Any) -> None:
    """In a read request's transaction that has not begun in SQLite yet: begin it now, holding the write
    lock (no snapshot is held, so SQLite's busy retries apply)."""
    if not dbapi_connection.in_transaction:
        dbapi_connection.execute("BEGIN IMMEDIATE")


def configure_engine(engine: Engine) -> None:
    if engine.dialect.name == "postgresql":
        @event.listens_for(engine, "connect")
        def _no_jit(dbapi_connection: Any, _record: Any) -> None:
            # JIT compilation costs ~1.6 s on the monthly report's aggregates at a million calls and pays off
            # only for queries far longer than a page's (docs/PERFORMANCE.md).
            with dbapi_connection.cursor() as cursor:
                cursor.execute("SET jit = off")
            dbapi_connection.commit()
        return
    if engine.dialect.name != "sqlite":
        return

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy (not pysqlite) decide when transactions begin.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Any) -> None:
        if _write_intent.get():
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        elif has_request_context():
            pass  # a read request: statements run on their own until one writes (see _before_execute)
        else:
            connection.exec_driver_sql("BEGIN")

    @event.listens_for(engine, "before_cursor_execute")
    def _before_execute(connection: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        # Only acts in a read request's transaction not yet begun in SQLite (BEGIN statements pass
        # through here too, but then SQLite is already in a transaction or the statement begins one).
        if not connection.in_transaction() or statement.lstrip()[:5].upper() == "BEGIN":
            return
        if _write_intent.get() or not _reads_only(statement):
            _take_write_lock(connection.connection.dbapi_connection)


@event.listens_for(Session, "before_flush", insert=True)
def _lock_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """A flush in a read request takes SQLite's write lock before anything it reads (the audit chain's
    head, say), so what it reads and writes is one locked transaction."""
    if not (session.new or session.dirty or session.deleted) or not has_request_context() or _write_intent.get():
        return
    connection = session.connection()
    if connection.dialect.name == "sqlite":
        _take_write_lock(connection.connection.dbapi_connection)


# ----------------------------------------------------------------------------- busy databases

# SQLite: SQLITE_BUSY / SQLITE_LOCKED; PostgreSQL: serialization failure, deadlock, lock not available.
_PG_RETRY = {"40001", "40P01", "55P03"}


def is_busy(exc: BaseException) -> bool:
    """Whether `exc` says the database was busy (worth running the same work again), not that the work is
    wrong."""
    if not isinstance(exc, DBAPIError):
        return False
    orig = exc.orig
    code = getattr(orig, "sqlstate", None) or getattr(orig, "pgcode", None)
    if code in _PG_RETRY:
        return True
    text = str(orig).lower()
    return "database is locked" in text or "database table is locked" in text or "database is busy" in text


def retry_busy(work: Callable[[], T], session: Any, *, timeout_ms: int = BUSY_TIMEOUT_MS) -> T:
    """Run `work` (which commits) in a write transaction; while the database is busy, roll back and run it
    again, backing off, until `timeout_ms` has passed (then the last error is raised)."""
    deadline = time.monotonic() + timeout_ms / 1000
    delay = 0.02
    while True:
        try:
            with write_transaction():
                return work()
        except DBAPIError as exc:
            session.rollback()
            if not is_busy(exc) or time.monotonic() + delay > deadline:
                raise
        time.sleep(delay * (0.5 + random.random()))
        delay = min(delay * 2, 0.5)
