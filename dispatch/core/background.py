"""Work done after a request, in a thread of the app server: one thread per kind of work, started when
first needed and ended after a quiet spell, with what is queued merged per app (the re-plan after a booking,
the slips rendered after a change). Tests wait for it with `wait_idle`."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from typing import Any, Generic, TypeVar

from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")


class BackgroundWorker(Generic[T]):
    def __init__(self, name: str, work: Callable[[Flask, set[T]], None], *, idle_seconds: float = 60) -> None:
        self._name = name
        self._work = work
        self._idle_seconds = idle_seconds
        self._cv = threading.Condition()
        self._queued: dict[Flask, set[T]] = {}
        self._busy = False
        self._thread: threading.Thread | None = None

    def submit(self, app: Flask, items: Iterable[T]) -> None:
        """Queue `items` for `app` (merged with what already waits) and make sure the thread runs."""
        with self._cv:
            self._queued.setdefault(app, set()).update(items)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
            self._cv.notify_all()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until nothing runs or waits; False if `timeout` seconds passed first."""
        with self._cv:
            return self._cv.wait_for(lambda: not self._queued and not self._busy, timeout)

    def _loop(self) -> None:
        while True:
            with self._cv:
                if not self._cv.wait_for(lambda: bool(self._queued), timeout=self._idle_seconds):
                    self._thread = None
                    return
                app, items = self._queued.popitem()
                self._busy = True
            try:
                self._work(app, items)
            finally:
                with self._cv:
                    self._busy = False
                    self._cv.notify_all()


_watched: set[str] = set()


def on_commit(name: str, collect: Callable[[Session], set[T]], committed: Callable[[set[T]], None]) -> None:
    """After each flush, what `collect` finds in the session is gathered under `name`; once the transaction
    itself commits (not a savepoint: a booking flushes in one) `committed` gets it all; a rollback of the
    transaction forgets it (a savepoint's rollback does not: what was flushed before it stays). Registered once
    per process: the events are the Session class's."""
    if name in _watched:
        return
    _watched.add(name)

    def _flushed(session: Session, _context: Any) -> None:
        found = collect(session)
        if found:
            session.info.setdefault(name, set()).update(found)

    def _committed(session: Session) -> None:
        if session.in_nested_transaction():
            return
        found = session.info.pop(name, None)
        if found:
            committed(found)

    def _rolled_back(session: Session) -> None:
        if not session.in_nested_transaction():
            session.info.pop(name, None)

    event.listen(Session, "after_flush", _flushed)
    event.listen(Session, "after_commit", _committed)
    event.listen(Session, "after_rollback", _rolled_back)
