"""Issue 16: the number of SQL statements a list page or list endpoint issues does not grow with the rows it
shows. Every list is read once at 5 rows and once at 50 (the default page), counting the statements the
request sends to the database (SQLAlchemy's `before_cursor_execute` on the engine); the two counts must be
equal. A per-row query (a lazy customer, site or contract read in a template, a panel asking per call) shows
up as 45 more statements."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import event

from billing.services import charges as billing_charges
from billing.services import invoices as billing_invoices
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import CallStatus, RepairCall, Visit
from dispatch.scheduling import booking
from dispatch.services import calls as call_services
from dispatch.services.contracts import create_contract
from dispatch.services.customers import add_equipment, create_customer
from dispatch.services.sites import add_site
from tests.billing.helpers import catalogue, set_prices
from tests.factories import PASSWORD, make_user
from tests.technicians.helpers import png_b64

SMALL, LARGE = 5, 50
# Lists that still ask per row, left for later (none now: the phone's visits API reads its visits' work records,
# bills, signatures and events at once, technicians/services/snapshot.py; the invoices list sums its invoices'
# payments in one statement, billing invoice_payments.listed_money).
STILL_PER_ROW: set[str] = set()


@contextmanager
def counted() -> Iterator[list[str]]:
    """The statements sent to the database meanwhile (savepoints of the test harness left out)."""
    statements: list[str] = []

    def count(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if not statement.lstrip().upper().startswith(("SAVEPOINT", "RELEASE", "ROLLBACK TO")):
            statements.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


class World:
    """n of everything a list shows, made by the real services: open calls waiting to be booked with a
    follow-up promised (desk home, calls, overruns, updates due), calls booked with the technician on
    `day` and completed with work recorded (board, technician's day, follow-up queue, to-invoice), half of
    them invoiced (invoices), and items carried back to the workshop."""

    def __init__(self, api: Any, dispatcher: User, technician: User, finance: User) -> None:
        self.api, self.dispatcher, self.technician, self.finance = api, dispatcher, technician, finance
        self.made = 0
        self.booked = 0
        self.day = local_today() + timedelta(days=1)
        set_prices(dispatcher)
        catalogue(dispatcher)
        self.helper = make_user("technician", username="wu", name="Wu Helper", skills=["hvac"])

    def _call(self, priority: str = "normal", received_at: datetime | None = None) -> RepairCall:
        i = self.made
        self.made += 1
        customer = create_customer(self.dispatcher, name=f"Statement Customer {i:03d}", phone=f"1390000{i:04d}",
                                   confirm_duplicate=True)
        site = add_site(self.dispatcher, customer, address=f"{i} Century Avenue, Pudong, Shanghai",
                        latitude=31.23 + i / 10000, longitude=121.47)
        equipment = None
        kind = i % 3
        if kind:  # 1: under warranty (free), 2: on a contract; 0: charged, no equipment listed
            equipment = add_equipment(self.dispatcher, customer, site, model="Carrier 30XA", serial_number=f"SC-{i:05d}",
                                      warranty_until=date(2030, 1, 1) if kind == 1 else None)
        if kind == 2:
            create_contract(self.dispatcher, customer, number=f"MC-S{i:04d}", starts_on=date(2020, 1, 1),
                            ends_on=date(2035, 12, 31))
        return call_services.create_call(self.dispatcher, customer=customer, site=site, equipment=equipment,
                                         channel="phone", problem_type="not cooling", priority=priority,
                                         description=f"Unit {i} blows warm air.", received_at=received_at)

    def _slot(self, minutes: int = 12) -> tuple[datetime, datetime]:
        start = datetime.combine(self.day, time(5), tzinfo=local_tz()) + timedelta(minutes=minutes * self.booked)
        self.booked += 1
        return start, start + timedelta(minutes=minutes - 2)

    def add(self, n: int) -> None:
        now = utcnow()
        for _ in range(n):
            # waiting to be booked, overdue, unanswered, a follow-up promised an hour ago
            call = self._call("urgent", received_at=now - timedelta(days=3))
            call_services.add_note(self.dispatcher, call, channel="internal", text="Customer to be called back.",
                                   next_follow_up=now - timedelta(hours=1))
        for i in range(n):
            # booked on `day`, worked and completed; every other one invoiced
            call = self._call(received_at=now - timedelta(days=2))
            visit = booking.book_visit(self.dispatcher, call, self.technician, *self._slot(), "the customer asked for that day")
            billing_charges.record_work(self.technician, call, visit, labor_minutes=30, parts=[])
            call_services.set_call_status(self.technician, call, CallStatus.COMPLETED)
            db.session.flush()
            if i % 2 and call.category == "charged":
                billing_invoices.issue_invoice(self.finance, [call.id])
        db.session.commit()
        tech = self.api(self.technician)
        for _ in range(n):
            # carried back to the workshop
            call = self._call(received_at=now - timedelta(days=1))
            visit = booking.book_visit(self.dispatcher, call, self.technician, *self._slot(), "the customer asked for that day")
            db.session.commit()
            assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
            r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={
                "work_summary": "Fan motor seizes; taken to the workshop.", "labor_minutes": 30, "parts": [],
                "outcome": "carry_back"})
            assert r.status_code == 200, r.json
            r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json={
                "item": "Fan motor", "model": "Carrier 30XA", "serial_number": f"FM-{visit.id}",
                "accessories": "bracket", "condition": "dusty", "stated_fault": "stops when warm",
                "signer_name": "Mr. Gao", "image_png_base64": png_b64(),
                "promised_return_on": (local_today() + timedelta(days=5)).isoformat()})
            assert r.status_code == 201, r.json
        # a second technician's lane on the board
        call = self._call()
        booking.book_visit(self.dispatcher, call, self.helper, *self._slot(), "the customer asked for that day")
        db.session.commit()


def _period() -> str:
    today = local_today()
    return f"from={(today - timedelta(days=30)).isoformat()}&to={today.isoformat()}"


def _pages(day: date) -> dict[str, tuple[str, str]]:
    """name -> (who, url): who is "desk" (a dispatcher's session), "boss" (a manager's), "tech", "finance",
    or the same with "api:" for a bearer token."""
    d = day.isoformat()
    return {
        "desk home": ("desk", "/"),
        "calls page": ("desk", "/calls"),
        "calls page, open": ("desk", "/calls?status=open"),
        "calls page, search": ("desk", "/calls?q=Statement"),
        "calls page, filters": ("desk", "/calls?category=charged&priority=urgent&overdue=1"),
        "calls API": ("api:desk", "/api/v1/calls"),
        "calls API, open": ("api:desk", "/api/v1/calls?status=open"),
        "calls API, search": ("api:desk", "/api/v1/calls?q=Statement"),
        "calls API, filters": ("api:desk", "/api/v1/calls?category=charged&overdue=1"),
        "customers page": ("desk", "/customers"),
        "customers API": ("api:desk", "/api/v1/customers"),
        "board, day": ("desk", f"/board?date={d}"),
        "board, week": ("desk", f"/board?date={d}&view=week"),
        "board, live part": ("desk", f"/board/live?date={d}"),
        "visits API, day": ("api:desk", f"/api/v1/visits?date={d}"),
        "follow-up queue": ("desk", "/followup"),
        "follow-ups API": ("api:desk", "/api/v1/followups"),
        "updates due API": ("api:desk", "/api/v1/updates-due"),
        "attention page": ("boss", "/attention"),
        "attention API": ("api:boss", "/api/v1/attention"),
        "overruns page": ("boss", f"/overruns?{_period()}"),
        "overruns API": ("api:boss", f"/api/v1/overruns?{_period()}"),
        "technician's tomorrow": ("tech", "/t/?day=tomorrow"),
        "technician's visits API": ("api:tech", "/api/v1/me/visits"),
        "workshop board": ("boss", "/t/workshop"),
        "carry-backs API": ("api:boss", "/api/v1/carry-backs"),
        "to-invoice page": ("finance", "/billing/to-invoice"),
        "to-invoice API": ("api:finance", "/api/v1/billing/pending"),
        "invoices page": ("finance", "/billing/invoices"),
        "invoices API": ("api:finance", "/api/v1/invoices"),
        "payments API": ("api:finance", "/api/v1/payments"),
    }


def _measure(clients: dict[str, Any], pages: dict[str, tuple[str, str]]) -> dict[str, int]:
    counts = {}
    for name, (who, url) in pages.items():
        client = clients[who]
        client.get(url)  # once to warm what is cached per process (prices, the calendar), not per request
        with counted() as statements:
            r = client.get(url)
        assert r.status_code == 200, (name, r.status_code, r.get_data(as_text=True)[:500])
        counts[name] = len(statements)
    return counts


def _logged_in(app: Any, user: User) -> Any:
    """A browser of its own, logged in through the login page."""
    client = app.test_client()
    r = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 302, r.get_data(as_text=True)[:300]
    return client


@pytest.fixture
def clients(app: Any, api: Any, dispatcher: User, technician: User, finance: User,
            manager: User) -> dict[str, Any]:
    return {"desk": _logged_in(app, dispatcher), "boss": _logged_in(app, manager),
            "tech": _logged_in(app, technician), "finance": _logged_in(app, finance),
            "api:desk": api(dispatcher), "api:boss": api(manager), "api:tech": api(technician),
            "api:finance": api(finance)}


def test_statements_per_list_do_not_grow_with_the_rows(clients, api, dispatcher, technician, finance) -> None:
    world = World(api, dispatcher, technician, finance)
    pages = _pages(world.day)
    world.add(SMALL)
    small = _measure(clients, pages)
    world.add(LARGE - SMALL)
    # the lists really hold the rows: 50 calls on a page, 50 visits in the technician's day
    assert db.session.query(Visit).filter(Visit.technician_id == technician.id).count() == 2 * LARGE
    body = clients["desk"].get("/calls").get_data(as_text=True)
    assert body.count('href="/calls/') >= LARGE
    large = _measure(clients, pages)
    grown = {name: (small[name], large[name]) for name in pages
             if large[name] != small[name] and name not in STILL_PER_ROW}
    assert not grown, f"statements at {SMALL} rows -> at {LARGE} rows: {grown}"
