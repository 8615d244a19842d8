"""The follow-up call (回访): the queue of completed calls, the two questions and what they do, the progress
updates open calls owe their customers, and the communication log's record-sheet fields."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.calendar import add_working_time
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import CallNote, RepairCall
from dispatch.services import followup
from dispatch.services.calls import add_note, set_call_status
from dispatch.sla_models import Escalation
from tests.factories import make_call, make_customer, make_site


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def complete(call: RepairCall, actor: Any, at: datetime | None = None) -> RepairCall:
    for status in ("booked", "in_progress", "completed"):
        set_call_status(actor, call, status)
    if at is not None:
        call.completed_at = at
    db.session.commit()
    return call


@pytest.fixture
def world(dispatcher: Any) -> dict[str, Any]:
    customer = make_customer(dispatcher, name="Harbour Hotel")
    site = make_site(customer)
    return {"customer": customer, "site": site}


def now() -> datetime:
    return datetime.now(UTC)


# ----------------------------------------------------------------------------- the follow-up queue


def test_completed_calls_wait_in_the_follow_up_queue_oldest_first_due_within_an_hour(client, login, dispatcher,
                                                                                      world):
    # A Wednesday, a working day: due one working hour after completion (the call's confirmation clock).
    shanghai = timezone(timedelta(hours=8))
    t = datetime(2026, 11, 25, 11, 0, tzinfo=shanghai)
    later = complete(make_call(dispatcher, world["customer"], world["site"], problem_type="noise"), dispatcher,
                     datetime(2026, 11, 25, 10, 50, tzinfo=shanghai))
    older = complete(make_call(dispatcher, world["customer"], world["site"], problem_type="water leak"),
                     dispatcher, datetime(2026, 11, 25, 9, 0, tzinfo=shanghai))
    still_open = make_call(dispatcher, world["customer"], world["site"])
    queue = followup.followup_queue(t)
    assert [f.call.id for f in queue] == [older.id, later.id]
    assert queue[0].due == datetime(2026, 11, 25, 10, 0, tzinfo=shanghai) and queue[0].overdue
    assert queue[1].due == datetime(2026, 11, 25, 11, 50, tzinfo=shanghai) and not queue[1].overdue
    # Completed on a Friday at 17:30: the hour runs out on Monday at 09:30, not on Friday evening.
    friday = datetime(2026, 11, 27, 17, 30, tzinfo=shanghai)
    assert followup.confirmation_due(friday) == datetime(2026, 11, 30, 9, 30, tzinfo=shanghai)
    assert still_open.id not in {f.call.id for f in queue}

    login(dispatcher)
    page = text_of(client.get("/followup"))
    assert older.number in page and later.number in page and still_open.number not in page
    assert page.index(older.number) < page.index(later.number)
    call_page = client.get(f"/followup/{older.id}")
    assert call_page.status_code == 200
    assert "water leak" in text_of(call_page) and 'name="solved"' in text_of(call_page)
    # The desk home counts them and links to the queue.
    home = text_of(client.get("/"))
    assert 'id="stat-followup"' in home and "/followup" in home


def test_the_queue_over_the_api(api, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    r = api(dispatcher).get("/api/v1/followups")
    assert r.status_code == 200
    item = r.get_json()["items"][0]
    assert item["call_id"] == call.id and item["overdue"] is False
    # one working hour on the company calendar (completed before opening time: an hour after it opens)
    assert datetime.fromisoformat(item["due"]) == add_working_time(call.completed_at, minutes=60)


# ----------------------------------------------------------------------------- the two questions


def test_solved_and_satisfied_closes_resolved_customer_confirmed(api, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 3, "comment": "ok", "solved": True})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    assert body["status"] == "closed" and body["solved"] is True and body["rating"] == 3
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.status",
                                                       AuditEvent.entity_id == call.id).order_by(AuditEvent.id.desc()))
    assert event.reason == "resolved - customer confirmed"
    assert db.session.scalar(select(Escalation).where(Escalation.call_id == call.id)) is None


def test_a_customer_who_will_not_rate_closes_unrated(api, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"rating": None, "comment": "busy"})
    assert r.status_code == 200 and r.get_json()["status"] == "closed" and r.get_json()["rating"] is None
    assert r.get_json()["solved"] is True


def test_the_rating_must_be_given_or_declined(api, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"comment": "forgot the rating"})
    assert r.status_code == 422 and "rating" in r.get_json()["error"]["fields"]
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 5, "solved": "no"})
    assert r.status_code == 422 and "solved" in r.get_json()["error"]["fields"]


def test_not_solved_reopens_escalates_and_restarts_the_clocks(api, dispatcher, world):
    received = now() - timedelta(days=3)
    call = make_call(dispatcher, world["customer"], world["site"], received_at=received)
    complete(call, dispatcher)
    old_resolution = call.resolution_deadline
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback",
                             json={"rating": 5, "comment": "friendly, but it still leaks", "solved": False})
    assert r.status_code == 200
    body = r.get_json()
    assert body["status"] == "reopened" and body["solved"] is False and body["completed_at"] is None
    t = now()
    # Booking and resolution count again from the reopening.
    booking = datetime.fromisoformat(body["booking_deadline"])
    assert timedelta(hours=23, minutes=55) < booking - t <= timedelta(hours=24)
    resolution = datetime.fromisoformat(body["resolution_deadline"])
    assert resolution > t and resolution > old_resolution
    assert datetime.fromisoformat(body["reopened_at"]) <= t
    # The progress-update clock restarts too: a reopened call owes no update yet.
    assert call.id not in {u.call.id for u in followup.updates_due()}
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.status",
                                                       AuditEvent.entity_id == call.id).order_by(AuditEvent.id.desc()))
    assert event.after == {"status": "reopened"}
    assert event.reason == "customer says the problem is not solved"
    escalation = db.session.scalar(select(Escalation).where(Escalation.call_id == call.id))
    assert escalation.reason == "reopened" and escalation.detail == "friendly, but it still leaks"
    assert escalation.acknowledged_at is None


def test_solved_but_unsatisfied_reopens_and_escalates_as_unsatisfied(api, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 1, "comment": "rude"})
    assert r.get_json()["status"] == "reopened"
    reasons = list(db.session.scalars(select(Escalation.reason).where(Escalation.call_id == call.id)))
    assert reasons == ["unsatisfied"]
    # Reopened: no second feedback until the work is complete again.
    again = api(dispatcher).post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 5})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_completed"


def test_the_follow_up_page_asks_both_questions(client, login, dispatcher, world):
    closes = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    reopens = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    login(dispatcher)
    r = client.post(f"/followup/{closes.id}", data={"solved": "yes", "rating": "", "comment": "did not want to rate"})
    assert r.status_code == 302 and r.headers["Location"].endswith("/followup")
    r = client.post(f"/followup/{reopens.id}", data={"solved": "no", "rating": "4", "comment": "still noisy"})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(RepairCall, closes.id).status == "closed"
    assert db.session.get(RepairCall, closes.id).rating is None
    reopened = db.session.get(RepairCall, reopens.id)
    assert reopened.status == "reopened" and reopened.solved is False and reopened.rating == 4
    # Nonsense is the form again, never a 500.
    other = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    assert client.post(f"/followup/{other.id}", data={"solved": "maybe", "rating": "9"}).status_code == 422
    # On the call page the answers show, and a call not completed has no form.
    page = text_of(client.get(f"/calls/{reopens.id}"))
    assert "not solved" in page and "still noisy" in page
    assert "This call is not waiting for a follow-up call." in text_of(client.get(f"/followup/{reopens.id}"))


def test_the_call_pages_feedback_form_takes_the_first_question_too(client, login, dispatcher, world):
    call = complete(make_call(dispatcher, world["customer"], world["site"]), dispatcher)
    login(dispatcher)
    assert 'name="solved"' in text_of(client.get(f"/calls/{call.id}"))
    assert client.post(f"/calls/{call.id}/feedback", data={"solved": "no", "rating": "5"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RepairCall, call.id).status == "reopened"


# ----------------------------------------------------------------------------- progress updates


def test_updates_are_due_by_priority(dispatcher, world):
    t = now()

    def call(priority: str, hours_ago: float) -> RepairCall:
        return make_call(dispatcher, world["customer"], world["site"], priority=priority,
                         received_at=t - timedelta(hours=hours_ago))

    urgent_due, urgent_fresh = call("urgent", 2.5), call("urgent", 1.5)
    high_due, high_fresh = call("high", 4.5), call("high", 3.5)
    normal_due, normal_fresh = call("normal", 49), call("normal", 47)
    low_due = call("low", 49)
    db.session.commit()
    due = {u.call.id: u for u in followup.updates_due(t)}
    assert set(due) == {urgent_due.id, high_due.id, normal_due.id, low_due.id}
    assert urgent_fresh.id not in due and high_fresh.id not in due and normal_fresh.id not in due
    assert due[urgent_due.id].due == urgent_due.received_at + timedelta(hours=2)
    assert due[urgent_due.id].minutes == 30
    # The longest overdue first.
    assert [u.call.id for u in followup.updates_due(t)][0] == normal_due.id


def test_a_word_to_the_customer_resets_the_update_clock_an_internal_note_does_not(dispatcher, world):
    t = now()
    call = make_call(dispatcher, world["customer"], world["site"], priority="urgent", received_at=t - timedelta(hours=5))
    db.session.commit()
    assert call.id in {u.call.id for u in followup.updates_due()}
    add_note(dispatcher, call, channel="internal", text="Parts ordered")
    db.session.commit()
    assert call.id in {u.call.id for u in followup.updates_due()}
    add_note(dispatcher, call, channel="phone", text="Told the customer: parts arrive tomorrow")
    db.session.commit()
    assert call.id not in {u.call.id for u in followup.updates_due()}
    # Two hours after that word, the next is due.
    assert call.id in {u.call.id for u in followup.updates_due(now() + timedelta(hours=2, minutes=1))}
    # A completed or closed call owes no updates.
    complete(call, dispatcher)
    assert call.id not in {u.call.id for u in followup.updates_due(now() + timedelta(hours=3))}


def test_the_cadence_is_configurable(app, dispatcher, world):
    t = now()
    call = make_call(dispatcher, world["customer"], world["site"], priority="high", received_at=t - timedelta(hours=3))
    db.session.commit()
    assert call.id not in {u.call.id for u in followup.updates_due(t)}
    app.config["UPDATE_INTERVAL_HOURS"] = {"high": 2}
    try:
        assert call.id in {u.call.id for u in followup.updates_due(t)}
        assert followup.update_hours()["urgent"] == 2  # the others keep their defaults
    finally:
        app.config.pop("UPDATE_INTERVAL_HOURS")


def test_updates_due_page_and_api(client, login, api, dispatcher, world):
    call = make_call(dispatcher, world["customer"], world["site"], priority="urgent",
                     received_at=now() - timedelta(hours=3))
    db.session.commit()
    r = api(dispatcher).get("/api/v1/updates-due")
    assert r.status_code == 200 and [i["call_id"] for i in r.get_json()["items"]] == [call.id]
    login(dispatcher)
    page = text_of(client.get("/followup"))
    assert call.number in page and "Progress updates due" in page


# ----------------------------------------------------------------------------- the log's record-sheet fields


def test_a_log_entry_keeps_type_promise_and_by_when(client, login, api, dispatcher, world):
    call = make_call(dispatcher, world["customer"], world["site"])
    db.session.commit()
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/notes", json={
        "channel": "phone", "text": "Customer asked about the part", "kind": "consultation",
        "promise": "call back with the delivery date", "promised_by": "2026-12-20T10:00:00+08:00"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["kind"] == "consultation" and body["promise"] == "call back with the delivery date"
    assert datetime.fromisoformat(body["promised_by"]) == datetime(2026, 12, 20, 2, 0, tzinfo=UTC)
    bad = api(dispatcher).post(f"/api/v1/calls/{call.id}/notes", json={"channel": "phone", "text": "x",
                                                                       "kind": "gossip"})
    assert bad.status_code == 422 and "kind" in bad.get_json()["error"]["fields"]
    no_promise = api(dispatcher).post(f"/api/v1/calls/{call.id}/notes", json={
        "channel": "phone", "text": "x", "promised_by": "2026-12-20T10:00:00+08:00"})
    assert no_promise.status_code == 422 and "promise" in no_promise.get_json()["error"]["fields"]

    login(dispatcher)
    ok = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "text": "Complaint about the delay",
                                                      "kind": "complaint", "promise": "technician by Friday",
                                                      "promised_by": "2026-12-18T17:00"})
    assert ok.status_code == 302
    note = db.session.scalar(select(CallNote).where(CallNote.kind == "complaint"))
    assert note.promise == "technician by Friday" and note.promised_by is not None
    page = text_of(client.get(f"/calls/{call.id}"))
    assert "technician by Friday" in page and "Complaint" in page
    zh = text_of(client.get(f"/calls/{call.id}", headers={"Accept-Language": "zh-CN"}))
    assert 'name="promise"' in zh
