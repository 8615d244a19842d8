"""Slips rendered in the background after a booking or a change commits (issue 16), so that the print
that follows is served stored (dispatch/slips/store.py) instead of laid out while the desk waits.

The session's own events see what a transaction changed: a visit booked, moved, reassigned or signed off;
a call, a customer, a site or a piece of equipment edited; anything else of a visit or a call (a work
record, a signature: whatever has a visit_id or a call_id). Once it commits, the visits concerned are
handed to one daemon worker thread per process (dispatch/core/background.py, as the re-plan after a booking), and
the request goes on at once. The worker, in its own app context and session, builds each visit's slip data
in the languages it is likely printed in (DEFAULT_LOCALE, and the technician's own), renders what is not
stored yet — in the render pool (dispatch/slips/pool.py) when there is one, so the app's own threads do not
wait on the GIL — and stores it in one short write transaction. For a visit reached through its call,
customer, site or equipment, only the visits not cancelled and not over for more than a day.

On by default; off under TESTING unless a test sets SLIP_WARM (and SLIP_WARM=False turns it off). Commits
made by CLI commands (the demo's seed, bench-data) start nothing; those of a background thread (a re-plan
moving visits) do, for the address the last request came to (the QR code's), or PUBLIC_BASE_URL.
`wait_idle(timeout)` waits for the worker (tests, the bench).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from itertools import chain
from typing import Any

import click
from flask import Flask, current_app, has_app_context, has_request_context, request
from sqlalchemy import ColumnElement, and_, inspect, or_, select
from sqlalchemy.orm import Session

from ..core.background import BackgroundWorker, on_commit
from ..core.database import retry_busy
from ..core.extensions import db
from ..core.i18n import LOCALES, force_locale, locale_name
from ..core.timeutil import utcnow
from ..models import Customer, Equipment, RepairCall, Site, Visit, VisitStatus
from . import pool, store
from .data import slip_data
from .documents import SLIP, slips_html

_KEYS = "slips_warm_keys"  # Session.info: ("visit" | "call" | "customer" | "site" | "equipment", id)
_KINDS: tuple[tuple[type, str], ...] = ((Visit, "visit"), (RepairCall, "call"), (Customer, "customer"),
                                        (Site, "site"), (Equipment, "equipment"))
MAX_VISITS = 200  # one commit warms at most this many slips (a customer with many visits: the next ones)
STORE_EVERY = 10  # slips stored per write transaction
IDLE_SECONDS = 600  # the worker ends after this long with nothing to do (its fonts are set up again after)


def enabled(app: Flask) -> bool:
    configured = app.config.get("SLIP_WARM")
    return (not app.testing) if configured is None else bool(configured)


_hosts: dict[Flask, str] = {}  # the address each app was last reached at (the slip's QR code points there)


def _warm_queued(app: Flask, keys: set[tuple[str, int]]) -> None:
    _warm(app, _hosts.get(app), keys)


_worker: BackgroundWorker[tuple[str, int]] = BackgroundWorker("slips-warm", _warm_queued,
                                                               idle_seconds=IDLE_SECONDS)


def wait_idle(timeout: float = 60.0) -> bool:
    """Wait until no warming runs or waits; False if `timeout` seconds passed first."""
    return _worker.wait_idle(timeout)


# ----------------------------------------------------------------------------- in the worker


def _visits(keys: set[tuple[str, int]]) -> list[Visit]:
    ids: dict[str, set[int]] = {}
    for kind, id_ in keys:
        ids.setdefault(kind, set()).add(id_)
    reached: list[ColumnElement[bool]] = []
    if ids.get("call"):
        reached.append(Visit.call_id.in_(ids["call"]))
    of_call = [column.in_(ids[kind]) for kind, column in (
        ("customer", RepairCall.customer_id), ("site", RepairCall.site_id), ("equipment", RepairCall.equipment_id))
        if ids.get(kind)]
    if of_call:
        reached.append(Visit.call_id.in_(select(RepairCall.id).where(or_(*of_call))))
    which: list[ColumnElement[bool]] = [Visit.id.in_(ids["visit"])] if ids.get("visit") else []
    if reached:
        which.append(and_(or_(*reached), Visit.end >= utcnow() - timedelta(days=1)))
    if not which:
        return []
    return list(db.session.scalars(select(Visit).where(or_(*which), Visit.status != VisitStatus.CANCELLED)
                                   .order_by(Visit.start).limit(MAX_VISITS)))


def _languages(visit: Visit) -> list[str]:
    default = str(current_app.config.get("DEFAULT_LOCALE") or "zh_CN")
    own = getattr(visit.technician, "locale", None)
    return sorted({default} | ({own} if own in LOCALES else set()))


def _to_render(visits: list[Visit]) -> list[tuple[int, str, str, str]]:
    """(visit id, language, fingerprint, HTML) of each slip not stored yet."""
    todo = []
    for visit in visits:
        for language in _languages(visit):
            with force_locale(language):
                data = slip_data(visit)
                locale = locale_name()
                fp = store.fingerprint(data, locale)
                if not store.stored([(visit.id, fp)]):
                    todo.append((visit.id, locale, fp, slips_html([data])))
    return todo


def _warm(app: Flask, host: str | None, keys: set[tuple[str, int]]) -> None:
    base = host or app.config.get("PUBLIC_BASE_URL") or "http://localhost/"
    with app.test_request_context(base_url=base):  # the QR code's address is the request's host
        try:
            todo = _to_render(_visits(keys))
            db.session.commit()  # nothing held while the slips are laid out
            for start in range(0, len(todo), STORE_EVERY):
                batch = todo[start:start + STORE_EVERY]
                pdfs = pool.render([html for *_key, html in batch], SLIP.stylesheets,
                                   in_process=pool.size() == 0)

                def save(batch: Any = batch, pdfs: list[bytes] = pdfs) -> None:
                    for (visit_id, locale, fp, _html), pdf in zip(batch, pdfs, strict=True):
                        store.save(visit_id, locale, fp, pdf)
                    db.session.commit()

                retry_busy(save, db.session)
            if todo:
                app.logger.info("slips warmed: %d", len(todo))
        except Exception:
            db.session.rollback()
            app.logger.exception("warming slips failed")
        finally:
            db.session.remove()


# ----------------------------------------------------------------------------- seeing a change commit


def _keys_of(obj: Any) -> Iterable[tuple[str, int]]:
    state = vars(obj)  # what the flush wrote: nothing loaded from here
    for cls, kind in _KINDS:
        if isinstance(obj, cls):
            identity = inspect(obj).identity or (state.get("id"),)
            return [(kind, identity[0])] if isinstance(identity[0], int) else []
    if isinstance(obj, store.SlipPdf):
        return []
    return [(kind, state[name]) for kind, name in (("visit", "visit_id"), ("call", "call_id"))
            if isinstance(state.get(name), int)]


def _watching() -> bool:
    """Whether this commit may warm slips: warming on for this app, and no CLI command running (the seed,
    bench-data: nobody is about to print)."""
    return has_app_context() and enabled(current_app) and click.get_current_context(silent=True) is None


def _changed(session: Session) -> set[tuple[str, int]]:
    if not _watching():
        return set()
    changed = chain(session.new, (obj for obj in session.dirty if session.is_modified(obj)))
    return {key for obj in changed for key in _keys_of(obj)}


def _committed(keys: set[tuple[str, int]]) -> None:
    if not _watching():
        return
    host = request.host_url if has_request_context() else None
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if host:
        _hosts[app] = host
    _worker.submit(app, keys)


def init_app(_app: Any) -> None:
    """Warm the slips a commit changed."""
    on_commit(_KEYS, _changed, _committed)
