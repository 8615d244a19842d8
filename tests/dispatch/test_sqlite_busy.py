"""The database under load: eight desks writing while slips print and people log in.

8 writer threads x 50 writes (new calls and notes on calls, through the API) race slip prints (one slip and
the day's batch: POST to count, GET to render) and logins, on the real database file (SQLite) or the real
PostgreSQL. Every answer must be a success: no 5xx, no "database is locked" (on SQLite a write waits for
the lock within busy_timeout, and no PDF is rendered inside a write transaction), and every write landed.
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.core.auth import issue_token
from dispatch.core.extensions import db
from dispatch.models import CallNote, RepairCall, Visit
from tests.conftest import ApiClient
from tests.dispatch.test_slips import book
from tests.factories import PASSWORD, make_customer, make_site

pytestmark = pytest.mark.concurrency

WRITERS = 8
WRITES = 50
DAY = date(2026, 11, 20)


def _client(app: Any, user: Any) -> ApiClient:
    token, _ = issue_token(user)
    return ApiClient(app.test_client(), token)


def _problem(response: Any) -> str | None:
    """What is wrong with an answer under load (None when it is fine)."""
    text = response.get_data(as_text=True) if response.mimetype != "application/pdf" else ""
    if response.status_code >= 500:
        return f"{response.status_code} {text[:300]}"
    if "database is locked" in text or "database table is locked" in text:
        return f"{response.status_code} {text[:300]}"
    return None


def test_writers_printers_and_logins_at_once(app: Any, dispatcher: Any, technician: Any) -> None:
    visits = [book(dispatcher, technician, hour, customer_name=f"负载测试 {hour}") for hour in (9, 11, 13)]
    customer = make_customer(name="并发客户")
    site = make_site(customer, address="上海市徐汇区漕溪北路1号")
    db.session.commit()
    writers = [_client(app, dispatcher) for _ in range(WRITERS)]
    printers = [_client(app, dispatcher) for _ in range(2)] + [_client(app, technician)]
    db.session.commit()
    calls_before = db.session.scalar(select(func.count()).select_from(RepairCall))
    visit_ids = [v.id for v in visits]
    desk_name, tech_name = dispatcher.username, technician.username
    body = {"customer_id": customer.id, "site_id": site.id, "channel": "phone", "problem_type": "not cooling",
            "priority": "normal", "description": "Unit blows warm air.", "on_site": True}

    problems: list[str] = []
    made = {"calls": 0, "notes": 0, "prints": 0, "pdfs": 0, "logins": 0, "counted": 0}
    lock = threading.Lock()
    writing = threading.Event()
    writing.set()
    start = threading.Barrier(WRITERS + len(printers) + 1)

    def note(kind: str, response: Any, expected: int) -> None:
        with lock:
            wrong = _problem(response)
            if wrong is None and response.status_code != expected:
                wrong = f"{response.status_code} (expected {expected}) {response.get_data(as_text=True)[:300]}"
            if wrong:
                problems.append(f"{kind}: {wrong}")
            else:
                made[kind] += 1

    def guarded(work: Any) -> Any:
        def run(*args: Any) -> None:
            try:
                start.wait()
                work(*args)
            except Exception as exc:  # an exception in a thread is a problem, surfaced below
                with lock:
                    problems.append(f"{work.__name__}: {exc!r}")
        return run

    def counted(_response: Any, n: int) -> None:
        with lock:
            made["counted"] += n

    @guarded
    def write(i: int) -> None:
        client = writers[i]
        call_id = None
        for n in range(WRITES):
            if call_id is None or n % 5 == 0:
                r = client.post("/api/v1/calls", json=body)
                note("calls", r, 201)
                call_id = r.get_json()["id"] if r.status_code == 201 else call_id
            elif call_id is not None:
                r = client.post(f"/api/v1/calls/{call_id}/notes",
                                json={"channel": "phone", "text": f"writer {i} note {n} 已联系客户"})
                note("notes", r, 201)

    @guarded
    def print_slips(i: int) -> None:
        client = printers[i]
        n = 0
        while writing.is_set() or n < 2:
            visit_id = visit_ids[n % len(visit_ids)]
            if i < 2 and n % 4 == 3:  # the desk's day batch: count every slip, then the one PDF
                r = client.post("/api/v1/slips/prints", json={"date": DAY.isoformat()})
                note("prints", r, 201)
                counted(r, r.get_json()["count"] if r.status_code == 201 else 0)
                note("pdfs", client.get(f"/api/v1/slips.pdf?date={DAY.isoformat()}"), 200)
            else:
                r = client.post(f"/api/v1/visits/{visit_id}/slip/prints")
                note("prints", r, 201)
                counted(r, 1 if r.status_code == 201 else 0)
                note("pdfs", client.get(f"/api/v1/visits/{visit_id}/slip.pdf"), 200)
            n += 1

    @guarded
    def log_in() -> None:
        # People logging in meanwhile, each from an address of their own (the throttle counts per address).
        n = 0
        while (writing.is_set() and n < 40) or n < 2:
            address = {"REMOTE_ADDR": f"10.15.{n // 200}.{n % 200 + 1}"}
            if n % 2:
                r = app.test_client().post("/login", data={"username": desk_name, "password": PASSWORD},
                                           environ_base=address)
                note("logins", r, 302)
            else:
                r = app.test_client().post("/api/v1/auth/token", environ_base=address,
                                           json={"username": tech_name, "password": PASSWORD})
                note("logins", r, 200)
            n += 1
            if writing.is_set():
                time.sleep(0.2)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    threads += [threading.Thread(target=print_slips, args=(i,)) for i in range(len(printers))]
    helpers = threads[WRITERS:] + [threading.Thread(target=log_in)]
    for t in threads[:WRITERS] + helpers:
        t.start()
    for t in threads[:WRITERS]:
        t.join(timeout=600)
    writing.clear()
    for t in helpers:
        t.join(timeout=300)

    assert not problems, f"{len(problems)} failed answers, first: {problems[:5]}"
    assert made["calls"] + made["notes"] == WRITERS * WRITES
    db.session.rollback()  # a fresh snapshot: what the threads committed
    assert db.session.scalar(select(func.count()).select_from(RepairCall)) == calls_before + made["calls"]
    assert db.session.scalar(select(func.count()).select_from(CallNote)
                             .where(CallNote.text.like("writer %"))) == made["notes"]
    # every counted print is in the visits' counters (one POST, one more print: none lost to a lock)
    printed = db.session.scalar(select(func.sum(Visit.print_count)).where(Visit.id.in_(visit_ids)))
    assert printed == made["counted"]
    assert made["pdfs"] >= 2 and made["logins"] >= 2


def test_a_read_request_that_writes_waits_for_the_lock(app: Any, dispatcher: Any) -> None:
    """A GET that reads and then writes (a stamp, a note) while another connection holds the write lock:
    on SQLite a read transaction cannot be upgraded while another writes ("database is locked" at once,
    whatever the busy_timeout), so a read request begins no SQLite transaction until it writes. It waits
    for the lock and its write lands."""
    from dispatch.core.database import write_transaction
    from dispatch.core.models import User
    from dispatch.services.calls import add_note
    from tests.factories import make_call

    call_id = make_call(dispatcher).id
    user_id = dispatcher.id
    db.session.commit()
    holding, done = threading.Event(), threading.Event()
    errors: list[BaseException] = []

    def other_writer() -> None:
        try:
            with app.app_context(), write_transaction():
                call = db.session.get(RepairCall, call_id)
                add_note(db.session.get(User, user_id), call, channel="phone", text="held the lock")
                db.session.flush()  # the write lock is held from here to the commit
                holding.set()
                done.wait(timeout=0.5)  # the read request below is waiting meanwhile
                db.session.commit()
        except BaseException as exc:  # surfaced below
            errors.append(exc)
            holding.set()

    writer = threading.Thread(target=other_writer)
    writer.start()
    assert holding.wait(timeout=30)
    with app.test_request_context("/calls", method="GET"):
        session = db.session()
        try:
            call = session.get(RepairCall, call_id)  # a read first, as a page does
            assert call is not None
            add_note(session.get(User, user_id), call, channel="phone", text="written by a read request")
            session.commit()
        finally:
            done.set()
            session.close()
    writer.join(timeout=30)
    assert not errors, errors
    db.session.rollback()
    texts = set(db.session.scalars(select(CallNote.text).where(CallNote.call_id == call_id)))
    assert {"held the lock", "written by a read request"} <= texts
