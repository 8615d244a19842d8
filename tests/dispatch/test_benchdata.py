"""The bench's data generator (`flask bench-data`, dispatch/benchdata.py): a small run is coherent, and the app
works on it and after it (issue 16)."""

from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import func, select, text

from dispatch.core.extensions import db
from dispatch.core.models import Counter, User
from dispatch.core.timeutil import local_today
from dispatch.models import CallStatus, RepairCall, Visit

CALLS = 200


@pytest.fixture
def bench(runner: Any) -> Any:
    result = runner.invoke(args=["bench-data", "--calls", str(CALLS), "--seed", "7"])
    assert result.exit_code == 0, result.output
    assert "Bench data:" in result.output
    return result


def user(username: str) -> User:
    found = db.session.scalar(select(User).where(User.username == username))
    assert found is not None, username
    return found


def gapless(numbers: list[str], series: str) -> None:
    """SC-2026-000001...: per year 1..n without a gap, and the counter at n (the next number follows on)."""
    by_year: dict[int, list[int]] = defaultdict(list)
    for number in numbers:
        match = re.fullmatch(r"[A-Z]+-(\d{4})-(\d{6})", number)
        assert match, number
        by_year[int(match.group(1))].append(int(match.group(2)))
    assert by_year
    for year, values in by_year.items():
        assert sorted(values) == list(range(1, len(values) + 1)), (series, year)
        assert db.session.get(Counter, (series, year)).value == len(values)


def test_a_small_run_is_coherent(bench, runner):
    calls = db.session.scalar(select(func.count()).select_from(RepairCall))
    assert calls >= CALLS  # and the follow-up calls some visits asked for
    statuses = set(db.session.scalars(select(RepairCall.status).distinct()))
    assert statuses == {s.value for s in CallStatus}
    # No technician holds two live visits at once (PostgreSQL's exclusion constraint says so too).
    overlaps = db.session.execute(text(
        'SELECT count(*) FROM visits a JOIN visits b ON a.technician_id = b.technician_id AND a.id < b.id '
        "AND a.status <> 'cancelled' AND b.status <> 'cancelled' AND a.start < b.\"end\" AND b.start < a.\"end\""
    )).scalar()
    assert overlaps == 0
    # Three years of calls, none from the future, each visit after its call came in.
    first, last = db.session.execute(select(func.min(RepairCall.received_at), func.max(RepairCall.received_at))).one()
    assert (last - first).days > 365 * 2
    late = db.session.scalar(select(func.count()).select_from(Visit).join(RepairCall, RepairCall.id == Visit.call_id)
                             .where(Visit.start < RepairCall.received_at))
    assert late == 0
    # Numbered as the app numbers: gapless per year, counters where the app goes on from.
    gapless(list(db.session.scalars(select(RepairCall.number))), "call")
    gapless(list(db.session.scalars(text("SELECT number FROM invoices"))), "invoice")
    gapless(list(db.session.scalars(select(Visit.slip_number))), "slip")
    # Money and work hang together: every completed visit has its work record and signature; invoiced lines
    # sit on issued invoices; every call that is closed after a visit was completed first.
    completed = db.session.scalar(select(func.count()).select_from(Visit).where(Visit.status == "completed"))
    assert completed == db.session.scalar(text("SELECT count(*) FROM work_records")) \
        == db.session.scalar(text("SELECT count(*) FROM signatures"))
    assert db.session.scalar(text(
        "SELECT count(*) FROM charge_lines c JOIN invoices i ON i.id = c.invoice_id WHERE i.status <> 'issued'")) == 0
    assert db.session.scalar(text("SELECT count(*) FROM invoices WHERE status = 'issued'")) > 0
    assert db.session.scalar(text("SELECT count(*) FROM carry_backs")) > 0
    assert db.session.scalar(select(func.count()).select_from(RepairCall)
                             .where(RepairCall.parent_call_id.is_not(None))) > 0
    # The signed vouchers, receipts and returns carry the app's own seals: the audit check accepts them.
    verified = runner.invoke(args=["audit", "verify"])
    assert verified.exit_code == 0, verified.output


def test_the_app_opens_every_daily_page_on_it(bench, client, login, api):
    desk = login(user("bench.dispatcher"))
    call = db.session.scalar(select(RepairCall).where(RepairCall.status == "closed").order_by(RepairCall.id.desc()))
    waiting = db.session.scalar(select(RepairCall).where(RepairCall.status == "new", RepairCall.on_site)
                                .order_by(RepairCall.id.desc()))
    number = call.number
    for url in ("/", "/calls", "/calls?status=closed&category=charged", f"/calls?q={number}",
                f"/calls?q={call.customer.name[:4]}", f"/calls/{call.id}", "/board", "/board?view=week",
                "/t/workshop", f"/board/calls/{waiting.id}/suggestions"):
        response = desk.get(url)
        assert response.status_code == 200, url
    assert number in desk.get(f"/calls?q={number}").get_data(as_text=True)
    tech_id = db.session.scalar(select(Visit.technician_id).where(Visit.status.in_(("scheduled", "on_site")))
                                .order_by(Visit.start.desc()))
    technician = db.session.get(User, tech_id)
    assert login(technician, to=client.application.test_client()).get("/t/").status_code == 200
    assert login(user("bench.finance"), to=client.application.test_client()).get(
        "/billing/to-invoice").status_code == 200
    month = local_today().replace(day=1).isoformat()
    assert login(user("bench.manager"), to=client.application.test_client()).get(
        f"/reports/?from={month}&to={local_today().isoformat()}").status_code == 200
    answer = api(user("bench.dispatcher")).get(f"/api/v1/calls/{waiting.id}/suggestions")
    assert answer.status_code == 200, answer.get_json()
    assert api(user("bench.dispatcher")).get("/api/v1/calls").status_code == 200


def test_the_app_numbers_on_after_it(bench, api):
    customer_id, site_id = db.session.execute(text("SELECT customer_id, id FROM sites ORDER BY id LIMIT 1")).one()
    before = db.session.scalar(select(func.max(RepairCall.id)))
    answer = api(user("bench.dispatcher")).post("/api/v1/calls", json={
        "customer_id": customer_id, "site_id": site_id, "channel": "phone", "problem_type": "noise",
        "priority": "normal", "description": "After the bench data."})
    assert answer.status_code == 201, answer.get_json()
    body = answer.get_json()
    assert body["id"] > before
    year = local_today().year
    assert body["number"] == f"SC-{year}-{db.session.get(Counter, ('call', year)).value:06d}"
    assert db.session.scalar(select(func.count()).select_from(RepairCall).where(
        RepairCall.number == body["number"])) == 1


def test_refuses_a_second_run_and_bad_sizes(bench, runner):
    again = runner.invoke(args=["bench-data", "--calls", "10"])
    assert again.exit_code != 0 and "already holds bench data" in again.output
    zero = runner.invoke(args=["bench-data", "--calls", "0"])
    assert zero.exit_code != 0 and "0" in zero.output


def test_refuses_a_weak_password(runner):
    weak = runner.invoke(args=["bench-data", "--calls", "10", "--password", "short"])
    assert weak.exit_code != 0 and "at least" in weak.output
    assert db.session.scalar(select(func.count()).select_from(RepairCall)) == 0
