"""Escalation: the managers' attention list (page, API, the bell on every page), acknowledging it, calls open
far past their target, and the urgent visit phoned to the technician."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import RepairCall, Visit
from dispatch.scheduling.booking import book_visit
from dispatch.services import escalation
from dispatch.services.calls import add_note, record_feedback, set_call_status
from dispatch.sla_models import Escalation
from tests.factories import make_call, make_customer, make_site


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def now() -> datetime:
    return datetime.now(UTC)


@pytest.fixture
def world(dispatcher: Any) -> dict[str, Any]:
    customer = make_customer(dispatcher, name="Harbour Hotel")
    return {"customer": customer, "site": make_site(customer)}


def on_list(call: RepairCall) -> list[str]:
    return next((item.reasons for item in escalation.attention_list() if item.call.id == call.id), [])


def test_complaint_flags_put_the_call_on_the_list_at_once(client, login, api, dispatcher, manager, world):
    call = make_call(dispatcher, world["customer"], world["site"])
    db.session.commit()
    login(dispatcher)
    r = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "kind": "complaint",
                                                     "text": "Will report us to the consumer association",
                                                     "escalated_authority": "y"})
    assert r.status_code == 302
    assert on_list(call) == ["authority"]
    r = api(dispatcher).post(f"/api/v1/calls/{call.id}/notes", json={
        "channel": "phone", "kind": "complaint", "text": "Sparks from the outdoor unit", "safety_risk": True})
    assert r.status_code == 201 and r.get_json()["safety_risk"] is True
    assert on_list(call) == ["authority", "safety"]
    # A second flag of the same kind while it waits adds to it, not a second row.
    add_note(dispatcher, call, channel="phone", text="Called again, still sparking", safety_risk=True)
    db.session.commit()
    assert db.session.query(Escalation).filter_by(call_id=call.id, reason="safety").count() == 1
    # A plain note escalates nothing.
    other = make_call(dispatcher, world["customer"], world["site"])
    add_note(dispatcher, other, channel="phone", text="Asked for an update", kind="consultation")
    db.session.commit()
    assert on_list(other) == []

    items = api(manager).get("/api/v1/attention").get_json()["items"]
    assert [(i["call_id"], i["reasons"]) for i in items] == [(call.id, ["authority", "safety"])]
    assert items[0]["details"] == ["Will report us to the consumer association",
                                   "Sparks from the outdoor unit\nCalled again, still sparking"]
    assert api(dispatcher).get("/api/v1/attention").status_code == 403


def test_the_bell_counts_for_managers_and_acknowledging_clears_it(client, login, api, dispatcher, manager, world):
    call = make_call(dispatcher, world["customer"], world["site"])
    for status in ("booked", "in_progress", "completed"):
        set_call_status(dispatcher, call, status)
    record_feedback(dispatcher, call, rating=2, comment="late and messy")
    db.session.commit()

    login(manager)
    home = text_of(client.get("/calls"))
    assert 'id="attention-bell"' in home and '<span class="bell-count">1</span>' in home
    page = text_of(client.get("/attention"))
    assert call.number in page and "Customer unsatisfied" in page and "late and messy" in page
    zh = text_of(client.get("/attention", headers={"Accept-Language": "zh-CN"}))
    assert call.number in zh

    r = client.post(f"/attention/calls/{call.id}/acknowledge")
    assert r.status_code == 302
    assert on_list(call) == []
    assert 'class="bell-count"' not in text_of(client.get("/calls"))
    ack = db.session.scalar(select(Escalation).where(Escalation.call_id == call.id))
    assert ack.acknowledged_by_id == manager.id and ack.acknowledged_at is not None
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.escalation_acknowledged",
                                                      AuditEvent.entity_id == call.id)) is not None
    # Acknowledging what is not on the list is a conflict, said in words.
    again = api(manager).post(f"/api/v1/attention/calls/{call.id}/acknowledge")
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "not_on_attention_list"

    # A dispatcher gets no bell, and may not acknowledge.
    client.get("/logout")
    login(dispatcher)
    assert 'id="attention-bell"' not in text_of(client.get("/calls"))
    assert api(dispatcher).post(f"/api/v1/attention/calls/{call.id}/acknowledge").status_code == 403


def test_a_call_open_far_past_its_target_goes_to_the_managers(app, api, dispatcher, manager, world):
    t = now()
    # Urgent: 24 h to resolve. Open 30 h: late, but not twice its time; open 50 h: far past it.
    late = make_call(dispatcher, world["customer"], world["site"], priority="urgent",
                     received_at=t - timedelta(hours=30))
    far = make_call(dispatcher, world["customer"], world["site"], priority="urgent",
                    received_at=t - timedelta(hours=50))
    closed = make_call(dispatcher, world["customer"], world["site"], priority="urgent",
                       received_at=t - timedelta(hours=80))
    set_call_status(dispatcher, closed, "cancelled")
    db.session.commit()
    assert on_list(far) == ["overdue"] and on_list(late) == [] and on_list(closed) == []
    assert escalation.attention_count() == 1
    app.config["ESCALATE_OVERDUE_FACTOR"] = 1.2
    try:
        assert on_list(late) == ["overdue"]
    finally:
        app.config.pop("ESCALATE_OVERDUE_FACTOR")

    r = api(manager).post(f"/api/v1/attention/calls/{far.id}/acknowledge")
    assert r.status_code == 200 and r.get_json()["acknowledged"] == ["overdue"]
    assert on_list(far) == []  # it stays acknowledged while it runs on
    # Reopened later and far past its new target again: back on the list.
    for status in ("booked", "in_progress", "completed"):
        set_call_status(dispatcher, far, status)
    record_feedback(dispatcher, far, rating=5, solved=False)
    db.session.commit()
    api(manager).post(f"/api/v1/attention/calls/{far.id}/acknowledge")
    assert on_list(far) == []
    # As if the lateness was acknowledged 70 h ago, the call reopened 60 h ago and given 24 h again.
    for row in db.session.scalars(select(Escalation).where(Escalation.call_id == far.id)):
        row.raised_at = t - timedelta(hours=70)
    far.reopened_at = t - timedelta(hours=60)
    far.resolution_deadline = far.reopened_at + timedelta(hours=24)
    db.session.commit()
    assert on_list(far) == ["overdue"]


# ----------------------------------------------------------------------------- urgent: phone the technician


def _tomorrow_at(hour: int) -> datetime:
    from dispatch.core.timeutil import local_tz

    day = (datetime.now(local_tz()) + timedelta(days=1)).date()
    return datetime(day.year, day.month, day.day, hour, tzinfo=local_tz())


def test_an_urgent_booking_prompts_a_phone_call_that_is_recorded(client, login, api, dispatcher, technician, world):
    technician.phone = "139 0000 1234"
    call = make_call(dispatcher, world["customer"], world["site"], priority="urgent")
    start = _tomorrow_at(9)
    visit = book_visit(dispatcher, call, technician, start, start + timedelta(hours=1), override_reason="test")
    db.session.commit()
    login(dispatcher)
    page = text_of(client.get(f"/calls/{call.id}"))
    assert f'id="phone-visit-{visit.id}"' in page and 'href="tel:13900001234"' in page
    r = client.post(f"/visits/{visit.id}/phoned")
    assert r.status_code == 302
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert visit.phoned_at is not None and visit.phoned_by_id == dispatcher.id
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.phoned"))
    assert event.entity_id == visit.id and event.actor_id == dispatcher.id
    page = text_of(client.get(f"/calls/{call.id}"))
    assert f'id="phone-visit-{visit.id}"' not in page and "phoned" in page

    # The technician's phone shows the new urgent visit with a badge.
    client.get("/logout")
    login(technician)
    today = text_of(client.get("/t/?day=tomorrow"))
    assert f'id="new-urgent-{visit.id}"' in today and "New urgent visit" in today


def test_only_an_urgent_visit_is_phoned(api, dispatcher, technician, world):
    call = make_call(dispatcher, world["customer"], world["site"], priority="normal")
    start = _tomorrow_at(11)
    visit = book_visit(dispatcher, call, technician, start, start + timedelta(hours=1), override_reason="test")
    db.session.commit()
    r = api(dispatcher).post(f"/api/v1/visits/{visit.id}/phoned")
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "not_urgent"
    assert api(dispatcher).post("/api/v1/visits/999999/phoned").status_code == 404
    assert escalation.visits_to_phone(call) == []
