"""Issue 16: the board and the desk home stay the same size whatever the history. The board's queue lists the
first QUEUE_LIMIT calls waiting to be booked (nearest deadline first) and says how many more; its lanes come a
page of technicians at a time; the desk home's figures count every call, not only the listed ones, and stop
counting at the cap ("1000+")."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import RepairCall
from dispatch.scheduling import booking, lanes, plans
from dispatch.services import calls as call_services
from dispatch.services import queues
from dispatch.services.customers import create_customer
from dispatch.services.sites import add_site
from tests.dispatch.test_statement_counts import counted
from tests.factories import make_user


def _waiting_calls(dispatcher: Any, n: int) -> list[RepairCall]:
    """n site calls waiting to be booked, received an hour apart (the oldest has the nearest deadline)."""
    customer = create_customer(dispatcher, name="Queue Customer", phone="13900001111")
    site = add_site(dispatcher, customer, address="1 Century Avenue, Pudong, Shanghai", latitude=31.23, longitude=121.47)
    now = utcnow()
    made = [call_services.create_call(dispatcher, customer=customer, site=site, equipment=None, channel="phone",
                                      problem_type="not cooling", priority="normal", description=f"Unit {i}.",
                                      received_at=now - timedelta(hours=n - i))
            for i in range(n)]
    db.session.commit()
    return made


def _queue_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="queue-call-(\d+)"', page)]


def test_the_board_queue_lists_the_nearest_deadlines_and_says_how_many_more(client, login, dispatcher):
    made = _waiting_calls(dispatcher, plans.QUEUE_LIMIT + 3)
    login(dispatcher)
    page = client.get("/board").get_data(as_text=True)
    shown = _queue_ids(page)
    expected = [c.id for c in sorted(made, key=lambda c: (c.booking_deadline, c.id))][:plans.QUEUE_LIMIT]
    assert shown == expected
    assert re.search(r'id="queue-count">\s*53\s*<', page)
    assert "and 3 more" in page and 'href="/calls?status=new"' in page


def test_a_short_queue_shows_every_call_and_no_more_line(client, login, dispatcher):
    made = _waiting_calls(dispatcher, 3)
    login(dispatcher)
    page = client.get("/board").get_data(as_text=True)
    assert sorted(_queue_ids(page)) == sorted(c.id for c in made)
    assert re.search(r'id="queue-count">\s*3\s*<', page)
    assert 'id="queue-more"' not in page


def test_count_up_to_stops_at_the_cap(dispatcher):
    _waiting_calls(dispatcher, 5)
    assert queues.count_up_to(select(RepairCall.id), 3) == 3
    assert queues.count_up_to(select(RepairCall.id), 50) == 5
    assert plans.waiting_count() == 5


def test_the_desk_home_counts_every_call_to_book_and_marks_the_cap(client, login, dispatcher, monkeypatch):
    _waiting_calls(dispatcher, 7)
    assert len(queues.desk_queues(limit=5).to_book) == 5
    assert queues.desk_queues(limit=5).to_book_count == 7
    login(dispatcher)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<strong>7</strong>\s*to book", page)
    assert re.search(r"<strong>7</strong>\s*open calls", page)
    monkeypatch.setattr(queues, "COUNT_CAP", 4)
    page = client.get("/").get_data(as_text=True)
    assert re.search(r"<strong>4\+</strong>\s*to book", page)
    assert re.search(r"<strong>4\+</strong>\s*open calls", page)


def _lane_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="lane-(\d+)"', page)]


def test_the_board_shows_the_technicians_a_page_at_a_time(client, login, dispatcher):
    techs = [make_user("technician", username=f"t{i:02d}", name=f"Tech {i:02d}", skills=["hvac"])
             for i in range(lanes.LANES_PER_PAGE + 2)]
    call = _waiting_calls(dispatcher, 1)[0]
    day = local_today() + timedelta(days=1)
    start = datetime.combine(day, time(10), tzinfo=local_tz())
    visit = booking.book_visit(dispatcher, call, techs[-1], start, start + timedelta(hours=1),
                               "the customer asked for that day")
    db.session.commit()
    login(dispatcher)
    first = client.get(f"/board?date={day.isoformat()}").get_data(as_text=True)
    assert _lane_ids(first) == [t.id for t in techs[:lanes.LANES_PER_PAGE]]
    assert f'id="visit-{visit.id}"' not in first
    assert f"Technicians 1–{lanes.LANES_PER_PAGE} of {len(techs)}" in first
    second = client.get(f"/board?date={day.isoformat()}&page=2").get_data(as_text=True)
    assert _lane_ids(second) == [t.id for t in techs[lanes.LANES_PER_PAGE:]]
    assert f'id="visit-{visit.id}"' in second
    assert f"Technicians {lanes.LANES_PER_PAGE + 1}–{len(techs)} of {len(techs)}" in second
    assert 'name="page" value="2"' in second  # the visit's forms come back to this page
    week = client.get(f"/board?date={day.isoformat()}&view=week&page=2").get_data(as_text=True)
    assert re.findall(r'id="week-(\d+)"', week) == [str(t.id) for t in techs[lanes.LANES_PER_PAGE:]]
    # a page out of range shows the nearest; a page that is no number, the first
    assert _lane_ids(client.get(f"/board?date={day.isoformat()}&page=99").get_data(as_text=True)) == \
        _lane_ids(second)
    response = client.get(f"/board?date={day.isoformat()}&page=abc")
    assert response.status_code == 200 and _lane_ids(response.get_data(as_text=True)) == _lane_ids(first)


def test_the_board_statements_do_not_grow_with_technicians_or_the_queue(client, login, dispatcher):
    login(dispatcher)
    make_user("technician", username="solo", name="Solo Tech")
    _waiting_calls(dispatcher, 2)
    with counted() as few:
        assert client.get("/board").status_code == 200
    for i in range(lanes.LANES_PER_PAGE + 5):
        make_user("technician", username=f"m{i:02d}", name=f"More {i:02d}")
    db.session.commit()
    with counted() as many:
        assert client.get("/board").status_code == 200
    assert len(many) == len(few), (len(few), len(many))
