"""Issue 10: calls can be corrected (until booked) and cancelled with a reason, through the API and pages."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import RepairCall
from tests.billing.helpers import book
from tests.factories import make_call, make_customer, make_equipment, make_site, make_user


def _world(dispatcher: Any) -> dict[str, Any]:
    customer = make_customer(name="Pudong Grand Hotel", phone="13812345678")
    near = make_site(customer)
    far = make_site(customer, address="1 Remote Road, Kashgar", latitude=39.47, longitude=75.99)
    warranty = make_equipment(customer, near, serial="WA-1", warranty_until=date(2099, 1, 1))
    call = make_call(dispatcher, customer, near, None, problem_type="noise")
    return {"customer": customer, "near": near, "far": far, "warranty": warranty, "call": call}


def test_desk_corrects_equipment_site_and_priority_and_the_category_and_deadlines_follow(api, dispatcher):
    w = _world(dispatcher)
    call = w["call"]
    assert call.category == "charged"
    old_booking, received = call.booking_deadline, call.received_at
    r = api(dispatcher).patch(f"/api/v1/calls/{call.id}", json={
        "equipment_id": w["warranty"].id, "site_id": w["far"].id, "priority": "urgent",
        "description": "Chiller trips", "required_skill": "HVAC"})
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert data["category"] == "free" and data["category_reason"].startswith("free: under warranty")
    assert data["equipment_id"] == w["warranty"].id and data["site_id"] == w["far"].id
    assert data["required_skill"] == "hvac" and data["priority"] == "urgent"
    db.session.refresh(call)
    assert call.received_at == received  # the clock still starts when the customer called
    assert call.response_deadline == received + timedelta(hours=2)
    assert call.booking_deadline != old_booking and w["far"].remote
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.corrected"))
    assert event.before["category"] == "charged" and event.after["category"] == "free"
    assert "equipment_id" in event.reason and "priority" in event.reason

    # Back to "not listed": an explicit null.
    r = api(dispatcher).patch(f"/api/v1/calls/{call.id}", json={"equipment_id": None})
    assert r.status_code == 200 and r.get_json()["category"] == "charged"


def test_correction_is_refused_once_booked_and_for_bad_input(api, dispatcher, technician):
    w = _world(dispatcher)
    call = w["call"]
    desk = api(dispatcher)
    other = make_customer(name="Other Co", phone="13900001111")
    theirs = make_equipment(other, make_site(other), serial="OT-1")
    r = desk.patch(f"/api/v1/calls/{call.id}", json={"equipment_id": theirs.id})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"equipment_id"}
    r = desk.patch(f"/api/v1/calls/{call.id}", json={"priority": "asap", "site_id": "one"})
    assert r.status_code == 422 and set(r.get_json()["error"]["fields"]) == {"priority", "site_id"}
    assert db.session.get(RepairCall, call.id).priority == "normal"
    assert desk.patch(f"/api/v1/calls/{call.id}", json={"status": "closed"}).status_code == 422
    assert desk.patch(f"/api/v1/calls/{call.id}", json={}).status_code == 422
    # The category itself stays a manager's decision.
    assert desk.patch(f"/api/v1/calls/{call.id}", json={"category": "free", "reason": "x"}).status_code == 403
    assert api(technician).patch(f"/api/v1/calls/{call.id}", json={"priority": "low"}).status_code == 403

    book(dispatcher, call, technician, hours_from_now=2)
    r = desk.patch(f"/api/v1/calls/{call.id}", json={"priority": "low"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "call_not_editable"
    assert "booked" in r.get_json()["error"]["message"]


def test_cancel_needs_a_reason_and_cancels_its_visits(api, dispatcher, technician):
    w = _world(dispatcher)
    call = w["call"]
    visit = book(dispatcher, call, technician, hours_from_now=2)
    desk = api(dispatcher)
    r = desk.post(f"/api/v1/calls/{call.id}/cancel", json={"reason": " "})
    assert r.status_code == 422 and "reason" in r.get_json()["error"]["fields"]
    r = desk.post(f"/api/v1/calls/{call.id}/cancel", json={"reason": "Customer fixed it themselves"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["status"] == "cancelled" and r.get_json()["cancel_reason"] == "Customer fixed it themselves"
    db.session.refresh(visit)
    assert visit.status == "cancelled" and visit.cancel_reason == "Customer fixed it themselves"
    assert db.session.get(RepairCall, call.id) is not None  # nothing deleted
    again = desk.post(f"/api/v1/calls/{call.id}/cancel", json={"reason": "again"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "call_not_cancellable"
    assert api(technician).post(f"/api/v1/calls/{call.id}/cancel", json={"reason": "x"}).status_code == 403
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id.in_([call.id, visit.id]))))
    assert {"visit.cancelled", "call.status"} <= actions


def test_edit_call_page_and_cancel_form(client, login, dispatcher, technician):
    w = _world(dispatcher)
    call = w["call"]
    login(dispatcher)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'href="/calls/{call.id}/edit"' in page and f'action="/calls/{call.id}/cancel"' in page
    form = client.get(f"/calls/{call.id}/edit")
    assert form.status_code == 200 and "WA-1" in form.get_data(as_text=True)
    saved = client.post(f"/calls/{call.id}/edit", data={
        "site_id": w["near"].id, "equipment_id": w["warranty"].id, "problem_type": "not cooling",
        "priority": "high", "channel": "phone", "description": "Corrected", "required_skill": ""})
    assert saved.status_code == 302
    db.session.refresh(call)
    assert call.category == "free" and call.priority == "high" and call.problem_type == "not cooling"
    shown = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Call corrected" in shown

    book(dispatcher, call, technician, hours_from_now=2)
    refused = client.post(f"/calls/{call.id}/edit", data={
        "site_id": w["near"].id, "equipment_id": 0, "problem_type": "x", "priority": "low", "channel": "phone",
        "description": "y"})
    assert refused.status_code == 409 and "can no longer be corrected" in refused.get_data(as_text=True)
    assert f'href="/calls/{call.id}/edit"' not in client.get(f"/calls/{call.id}").get_data(as_text=True)

    empty = client.post(f"/calls/{call.id}/cancel", data={"reason": ""})
    assert empty.status_code == 422 and db.session.get(RepairCall, call.id).status == "booked"
    done = client.post(f"/calls/{call.id}/cancel", data={"reason": "Duplicate of another call"})
    assert done.status_code == 302
    db.session.refresh(call)
    assert call.status == "cancelled" and all(v.status == "cancelled" for v in call.visits)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Duplicate of another call" in page and f'action="/calls/{call.id}/cancel"' not in page


def test_edit_and_cancel_pages_are_for_the_desk(client, login, dispatcher):
    call = _world(dispatcher)["call"]
    for role in ("technician", "finance"):
        login(make_user(role))
        assert client.get(f"/calls/{call.id}/edit").status_code == 403
        assert client.post(f"/calls/{call.id}/cancel", data={"reason": "x"}).status_code == 403
