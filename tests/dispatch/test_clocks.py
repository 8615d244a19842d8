"""Issue 10, clocks that tell the truth: met at / missed by on the call page, and one "overdue" for the desk
home, the calls list's "Overdue only" and the API's ?overdue=1."""

from __future__ import annotations

import re
from datetime import timedelta

from dispatch.core.extensions import db
from dispatch.core.timeutil import utcnow
from dispatch.models import RepairCall
from dispatch.services import calls
from dispatch.services.clocks import call_clocks, is_overdue
from dispatch.services.queues import desk_queues
from tests.billing.helpers import book
from tests.factories import make_call


def _words(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def test_a_late_first_response_shows_red_with_how_late(client, login, dispatcher):
    call = make_call(dispatcher, priority="urgent", received_at=utcnow() - timedelta(hours=5))
    calls.add_note(dispatcher, call, channel="phone", text="Called back")
    call.responded_at = call.response_deadline + timedelta(hours=1, minutes=20)
    db.session.commit()
    login(dispatcher)
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    response = html[html.index('id="clock-response"'):]
    response = response[:response.index("</dd>")]
    assert "missed by 1 h 20 min" in _words(response) and "clock-missed" in response
    assert "deadline-ok" not in response and "responded" not in response
    clocks = {c.kind: c for c in call_clocks(call)}
    assert clocks["response"].state == "missed" and clocks["response"].minutes == 80


def test_every_clock_reads_due_and_met_or_missed(client, login, dispatcher, technician):
    call = make_call(dispatcher, priority="normal")
    book(dispatcher, call, technician, hours_from_now=2)
    login(dispatcher)
    html = client.get(f"/calls/{call.id}").get_data(as_text=True)
    for kind in ("booking", "response", "resolution"):
        assert f'id="clock-{kind}"' in html
    booking = _words(html[html.index('id="clock-booking"'):][:600])
    assert "due" in booking and "met" in booking
    resolution = _words(html[html.index('id="clock-resolution"'):][:600])
    assert "due" in resolution and "left" in resolution
    states = {c.kind: c.state for c in call_clocks(call)}
    # Dispatch: the visit was booked right away (issue 13 added the dispatch clock).
    assert states == {"dispatch": "met", "booking": "met", "response": "met", "resolution": "running"}


def test_one_definition_of_overdue_serves_home_list_and_api(client, login, api, dispatcher, technician):
    now = utcnow()
    # Booked in time, nobody answered before the 2 h mark: its first response is overdue (home showed it red,
    # "Overdue only" showed nothing).
    unanswered = make_call(dispatcher, priority="urgent", received_at=now - timedelta(hours=3))
    unbooked = make_call(dispatcher, received_at=now - timedelta(hours=30))
    fresh = make_call(dispatcher)
    booked_late = make_call(dispatcher, priority="urgent", received_at=now - timedelta(hours=1))
    book(dispatcher, booked_late, technician, hours_from_now=2)
    booked_late.resolution_deadline = now - timedelta(minutes=5)  # booked, answered, not resolved in time
    db.session.commit()
    expected = {unanswered.id, unbooked.id, booked_late.id}
    assert {c.id for c in db.session.scalars(calls.calls_query(overdue=True))} == expected
    for call in (unanswered, unbooked, fresh, booked_late):
        assert is_overdue(db.session.get(RepairCall, call.id)) == (call.id in expected)
    assert desk_queues().overdue_count == 3
    api_ids = {c["id"] for c in api(dispatcher).get("/api/v1/calls?overdue=1").get_json()["items"]}
    assert api_ids == expected
    login(dispatcher)
    listed = client.get("/calls?overdue=1").get_data(as_text=True)
    assert all(c.number in listed for c in (unanswered, unbooked, booked_late)) and fresh.number not in listed
    home = client.get("/").get_data(as_text=True)
    assert re.search(r"<strong>3</strong>\s*overdue", home)
