"""The desk API of API.md: users, customers, sites, equipment, contracts, calls, notes, feedback, paging,
idempotent writes, masked phones, and the error shape for every kind of bad input."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from dispatch.core.timeutil import local_today
from dispatch.models import Contract, Customer, Equipment, RepairCall, Site
from dispatch.services.calls import create_call, set_call_status
from tests.factories import make_call, make_customer, make_equipment, make_site

UNICODE_NAMES = ["上海测试设备有限公司", "Café Zürich 🛠️🔥", "شركة الخليج للتبريد", "Ελληνική Ψύξη", "👩‍🔧"]


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.data[:400]
    assert response.mimetype == "application/json", response.data[:200]
    payload = response.get_json()
    assert set(payload) == {"error"}
    error = payload["error"]
    assert set(error) == {"code", "message", "fields"}
    assert isinstance(error["message"], str) and error["message"]
    assert isinstance(error["fields"], dict)
    if code:
        assert error["code"] == code, error
    return error


def count(model: Any) -> int:
    db.session.commit()  # end this session's read snapshot (SQLite WAL) and see what requests committed
    return db.session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def desk(api: Any, dispatcher: Any) -> Any:
    return api(dispatcher)


@pytest.fixture
def world(dispatcher: Any) -> dict[str, Any]:
    customer = make_customer(name="Pudong Grand Hotel", phone="13812345678")
    site = make_site(customer)
    unit = make_equipment(customer, site, model="Carrier 30XA", serial="CA-1")
    call = make_call(dispatcher, customer, site, unit)
    return {"customer": customer, "site": site, "equipment": unit, "call": call}


def call_body(world: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"customer_id": world["customer"].id, "site_id": world["site"].id, "equipment_id": world["equipment"].id,
            "channel": "phone", "problem_type": "not cooling", "priority": "normal",
            "description": "Unit blows warm air.", "on_site": True, **extra}


# ----------------------------------------------------------------------------- users


def test_admin_creates_users_and_technicians(api, admin):
    client = api(admin)
    r = client.post("/api/v1/users", json={"username": "li.wei", "password": "long-enough-1", "name": "Li Wei 李伟",
                                           "role": "technician", "skills": ["HVAC", "electrical"],
                                           "base_latitude": 31.24, "base_longitude": 121.5, "phone": "13900001111"})
    assert r.status_code == 201, r.get_json()
    tech = r.get_json()
    assert tech["skills"] == ["electrical", "hvac"]
    assert tech["working_hours"] == [{"weekday": d, "start": "08:00", "end": "17:00"} for d in range(5)]
    r = client.post("/api/v1/users", json={"username": "night", "password": "long-enough-1", "role": "technician",
                                           "working_hours": [{"weekday": 5, "start": "22:00", "end": "06:00"}]})
    assert r.get_json()["working_hours"] == [{"weekday": 5, "start": "22:00", "end": "06:00"}]
    assert [u["username"] for u in client.get("/api/v1/technicians").get_json()["items"]] == ["li.wei", "night"]

    error = assert_error(client.post("/api/v1/users", json={"username": "li.wei", "password": "long-enough-2",
                                                            "role": "dispatcher"}), 409, "duplicate_username")
    assert error["fields"] == {"username": "already taken"}
    assert_error(client.post("/api/v1/users", json={"username": "x", "password": "short", "role": "finance"}), 422)
    error = assert_error(client.post("/api/v1/users", json={"username": "y", "password": "long-enough-1",
                                                            "role": "king"}), 422)
    assert "role" in error["fields"]
    for skills in ("hvac", ["a\x00b"], [""], ["x" * 61], [1]):
        assert_error(client.post("/api/v1/users", json={"username": "s", "password": "long-enough-1",
                                                        "role": "technician", "skills": skills}), 422)
    for hours in ("9-5", [{"weekday": 9, "start": "08:00", "end": "17:00"}], [{"weekday": 1}],
                  [{"weekday": 1, "start": "25:00", "end": "17:00"}], ["mon"],
                  [{"weekday": 1, "start": "08:00", "end": "08:00"}]):
        assert_error(client.post("/api/v1/users", json={"username": "z", "password": "long-enough-1",
                                                        "role": "technician", "working_hours": hours}), 422)
    assert count(User) == 3


# ----------------------------------------------------------------------------- customers


@pytest.mark.parametrize("name", UNICODE_NAMES)
def test_unicode_customer_names_round_trip(desk, name):
    r = desk.post("/api/v1/customers", json={"name": name, "phone": "13812345678", "contact_name": name})
    assert r.status_code == 201, r.get_json()
    created = r.get_json()
    assert created["name"] == name
    again = desk.get(f"/api/v1/customers/{created['id']}").get_json()
    assert again["name"] == name and again["contact_name"] == name
    found = desk.get("/api/v1/customers", query_string={"q": name[:3]}).get_json()["items"]
    assert [c["id"] for c in found] == [created["id"]]


def test_customer_search_by_name_and_phone_digits(desk):
    a = desk.post("/api/v1/customers", json={"name": "Jing'an Dental Clinic", "phone": "136-1111 2222"}).get_json()
    b = desk.post("/api/v1/customers", json={"name": "Xuhui Cold Storage", "phone": "13733334444"}).get_json()
    assert [c["id"] for c in desk.get("/api/v1/customers?q=dental").get_json()["items"]] == [a["id"]]
    assert [c["id"] for c in desk.get("/api/v1/customers?q=11112222").get_json()["items"]] == [a["id"]]
    assert [c["id"] for c in desk.get("/api/v1/customers?q=3333").get_json()["items"]] == [b["id"]]
    assert {c["id"] for c in desk.get("/api/v1/customers").get_json()["items"]} == {a["id"], b["id"]}


def test_update_customer_is_audited(desk, world):
    customer = world["customer"]
    r = desk.patch(f"/api/v1/customers/{customer.id}", json={"phone": "13700000000", "contact_name": "Ms. Zhou"})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["phone"] == "13700000000"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "customer.updated"))
    assert event.before == {"phone": "13812345678", "contact_name": None}
    assert event.after == {"phone": "13700000000", "contact_name": "Ms. Zhou"}
    error = assert_error(desk.patch(f"/api/v1/customers/{customer.id}", json={"name": ""}), 422)
    assert error["fields"] == {"name": "required"}


def test_phone_is_masked_for_finance_and_full_for_the_desk(app, world, dispatcher, finance, technician):
    from flask_login import login_user

    from dispatch.schemas import customer_json

    for user, shown in ((finance, "138****5678"), (dispatcher, "13812345678"), (technician, "13812345678")):
        with app.test_request_context("/api/v1/customers"):
            login_user(user)
            assert customer_json(world["customer"])["phone"] == shown
    from dispatch.core.security import mask_phone

    assert mask_phone("021-5830 1234", finance) == "021-**** 1234"
    assert mask_phone("12345", finance) == "*****"
    assert mask_phone(None, finance) == ""


# ----------------------------------------------------------------------------- equipment and contracts


def test_serial_numbers_are_unique_per_model(desk, world):
    customer, site = world["customer"], world["site"]
    body = {"customer_id": customer.id, "site_id": site.id, "model": "Daikin VRV-X", "serial_number": "DK-0001",
            "warranty_until": "2027-03-01"}
    r = desk.post("/api/v1/equipment", json=body)
    assert r.status_code == 201, r.get_json()
    assert r.get_json()["warranty_until"] == "2027-03-01"
    error = assert_error(desk.post("/api/v1/equipment", json=body), 409, "duplicate_serial")
    assert "serial_number" in error["fields"]
    other_model = desk.post("/api/v1/equipment", json={**body, "model": "Daikin VRV-IV"})
    assert other_model.status_code == 201
    assert count(Equipment) == 3


def test_equipment_needs_the_customers_own_site_and_real_ids(desk, world):
    neighbour = make_customer(name="Neighbour")
    their_site = make_site(neighbour)
    base = {"customer_id": world["customer"].id, "model": "M", "serial_number": "S-1"}
    error = assert_error(desk.post("/api/v1/equipment", json={**base, "site_id": their_site.id}), 422)
    assert "site_id" in error["fields"]
    assert_error(desk.post("/api/v1/equipment", json={**base, "site_id": 999999}), 422, "unknown_id")
    assert_error(desk.post("/api/v1/equipment", json={**base, "site_id": "1"}), 422)
    assert_error(desk.post("/api/v1/equipment", json={**base, "site_id": world["site"].id,
                                                      "warranty_until": "31/12/2027"}), 422)
    assert count(Equipment) == 1


def test_contracts(desk, world):
    customer = world["customer"]
    body = {"customer_id": customer.id, "number": "MC-0042", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
            "equipment_ids": [], "covers_parts": True}
    r = desk.post("/api/v1/contracts", json=body)
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["covers_all_equipment"] is True and data["covers_parts"] is True and data["equipment_ids"] == []
    assert_error(desk.post("/api/v1/contracts", json=body), 409, "duplicate_contract")
    error = assert_error(desk.post("/api/v1/contracts", json={**body, "number": "MC-1", "starts_on": "2026-12-31",
                                                              "ends_on": "2026-01-01"}), 422, "invalid_period")
    assert "ends_on" in error["fields"]
    listed = desk.post("/api/v1/contracts", json={**body, "number": "MC-2", "equipment_ids": [world["equipment"].id]})
    assert listed.get_json()["equipment_ids"] == [world["equipment"].id]
    for bad in ([0], [-1], ["1"], [True], "all", [2**40]):
        assert_error(desk.post("/api/v1/contracts", json={**body, "number": "MC-3", "equipment_ids": bad}), 422)
    assert_error(desk.post("/api/v1/contracts", json={**body, "number": "MC-3", "equipment_ids": [999999]}), 422)
    assert count(Contract) == 2
    shown = desk.get(f"/api/v1/customers/{customer.id}").get_json()
    assert [c["number"] for c in shown["contracts"]] == ["MC-0042", "MC-2"]
    assert [e["serial_number"] for e in shown["equipment"]] == ["CA-1"]


# ----------------------------------------------------------------------------- calls


def test_create_and_read_a_call(desk, world):
    r = desk.post("/api/v1/calls", json=call_body(world, required_skill="HVAC", priority="urgent"))
    assert r.status_code == 201, r.get_json()
    call = r.get_json()
    year = local_today().year
    assert call["number"] == f"SC-{year}-000002"
    assert call["status"] == "new" and call["category"] == "charged"
    assert call["category_reason"] == "charged: no warranty, no contract"
    assert call["required_skill"] == "hvac"
    for key in ("received_at", "booking_deadline", "response_deadline", "resolution_deadline"):
        assert call[key].endswith("+08:00")
    shown = desk.get(f"/api/v1/calls/{call['id']}").get_json()
    assert shown["number"] == call["number"] and shown["notes"] == []
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.created",
                                                       AuditEvent.entity_id == call["id"]))
    assert event.after["number"] == call["number"]


def test_call_intake_refuses_bad_input_and_saves_nothing(desk, world):
    neighbour = make_customer(name="Neighbour")
    their_site = make_site(neighbour)
    before = count(RepairCall)
    cases = [
        ({"site_id": their_site.id}, "site_id"),
        ({"channel": "fax"}, "channel"),
        ({"priority": "whenever"}, "priority"),
        ({"description": "x" * 5001}, "description"),
        ({"problem_type": ""}, "problem_type"),
        ({"on_site": "yes"}, "on_site"),
        ({"received_at": "yesterday"}, "received_at"),
        ({"received_at": "2999-01-01T00:00:00+08:00"}, "received_at"),
        ({"received_at": "0001-01-01T00:00:00+14:00"}, "received_at"),
        ({"received_at": 1700000000}, "received_at"),
        ({"customer_id": None}, "customer_id"),
        ({"equipment_id": 2**31}, "equipment_id"),
    ]
    for change, field in cases:
        error = assert_error(desk.post("/api/v1/calls", json=call_body(world, **change)), 422)
        assert field in error["fields"], (change, error)
    assert count(RepairCall) == before


def test_override_category_is_for_managers_with_a_reason(api, world, dispatcher, manager):
    call = world["call"]
    url = f"/api/v1/calls/{call.id}"
    assert_error(api(dispatcher).patch(url, json={"category": "free", "reason": "goodwill"}), 403, "forbidden")
    boss = api(manager)
    error = assert_error(boss.patch(url, json={"category": "free"}), 422)
    assert error["fields"] == {"reason": "required"}
    assert_error(boss.patch(url, json={"category": "free", "reason": "   "}), 422)
    assert_error(boss.patch(url, json={"category": "gratis", "reason": "goodwill"}), 422)
    r = boss.patch(url, json={"category": "free", "reason": "goodwill after a late visit"})
    assert r.status_code == 200, r.get_json()
    data = r.get_json()
    assert data["category"] == "free" and data["category_overridden"] is True
    assert "goodwill after a late visit" in data["category_reason"]
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.category_override"))
    assert event.actor_id == manager.id and event.entity_id == call.id
    assert event.before["category"] == "charged"
    assert event.after["category"] == "free"
    assert event.reason == "goodwill after a late visit"


def test_notes_are_the_communication_log(desk, world):
    call = world["call"]
    r = desk.post(f"/api/v1/calls/{call.id}/notes", json={"channel": "phone", "text": "Promised a visit tomorrow.",
                                                          "next_follow_up": "2026-11-24T09:00:00+08:00"})
    assert r.status_code == 201, r.get_json()
    note = r.get_json()
    assert note["next_follow_up"] == "2026-11-24T09:00:00+08:00"
    assert note["author"] == "Dan Dispatcher"
    shown = desk.get(f"/api/v1/calls/{call.id}").get_json()
    assert [n["text"] for n in shown["notes"]] == ["Promised a visit tomorrow."]
    assert shown["responded_at"] is not None
    assert_error(desk.post(f"/api/v1/calls/{call.id}/notes", json={"channel": "pigeon", "text": "x"}), 422)
    assert_error(desk.post(f"/api/v1/calls/{call.id}/notes", json={"channel": "phone", "text": ""}), 422)
    assert_error(desk.post("/api/v1/calls/999999/notes", json={"channel": "phone", "text": "x"}), 404)


def complete(call: Any, actor: Any) -> None:
    for status in ("booked", "in_progress", "completed"):
        set_call_status(actor, call, status)
    db.session.commit()


def test_feedback_only_after_completion_closes_or_reopens(desk, world, dispatcher):
    call = world["call"]
    url = f"/api/v1/calls/{call.id}/feedback"
    assert_error(desk.post(url, json={"rating": 5}), 409, "not_completed")
    complete(call, dispatcher)
    for bad in (0, 6, "5", 4.5, True):  # null is the customer declining to rate (test_followup.py)
        assert_error(desk.post(url, json={"rating": bad}), 422)
    r = desk.post(url, json={"rating": 3, "comment": "OK"})
    assert r.status_code == 200 and r.get_json()["status"] == "closed"
    assert r.get_json()["closed_at"] is not None
    assert_error(desk.post(url, json={"rating": 5}), 409)  # closed: no second feedback

    other = make_call(dispatcher, world["customer"], world["site"])
    complete(other, dispatcher)
    r = desk.post(f"/api/v1/calls/{other.id}/feedback", json={"rating": 2, "comment": "Still icing up."})
    assert r.get_json()["status"] == "reopened" and r.get_json()["rating"] == 2
    reopened = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.status",
                                                          AuditEvent.entity_id == other.id).order_by(AuditEvent.id.desc()))
    assert reopened.after == {"status": "reopened"} and reopened.reason == "customer unsatisfied"
    ratings = db.session.scalars(select(AuditEvent.after).where(AuditEvent.action == "call.feedback")
                                 .order_by(AuditEvent.id))
    assert list(ratings) == [{"rating": 3, "comment": "OK", "solved": True},
                             {"rating": 2, "comment": "Still icing up.", "solved": True}]
    # A reopened call is owed a new visit within the booking window, counted from the reopening.
    deadline = datetime.fromisoformat(r.get_json()["booking_deadline"])
    assert timedelta(hours=23, minutes=55) < deadline - datetime.now(UTC) <= timedelta(hours=24)


def test_calls_list_filters_and_search(desk, world, dispatcher, manager):
    customer, site = world["customer"], world["site"]
    free_unit = make_equipment(customer, site, warranty_until=local_today() + timedelta(days=30))
    urgent = make_call(dispatcher, customer, site, priority="urgent", problem_type="water leak")
    free = make_call(dispatcher, customer, site, free_unit, description="Compressor rattles at start-up.")
    other = make_call(dispatcher, make_customer(name="Minhang Office Tower", phone="13955556666"))
    set_call_status(dispatcher, other, "cancelled", reason="duplicate")
    db.session.commit()

    def ids(**query: Any) -> list[int]:
        r = desk.get("/api/v1/calls", query_string=query)
        assert r.status_code == 200, r.get_json()
        return [c["id"] for c in r.get_json()["items"]]

    everything = ids()
    assert everything == sorted(everything, reverse=True)  # newest first
    assert set(everything) == {world["call"].id, urgent.id, free.id, other.id}
    assert ids(priority="urgent") == [urgent.id]
    assert ids(category="free") == [free.id]
    assert ids(status="cancelled") == [other.id]
    assert set(ids(status="open")) == {world["call"].id, urgent.id, free.id}
    assert ids(q="rattles") == [free.id]
    assert ids(q="Minhang") == [other.id]
    assert ids(q=urgent.number) == [urgent.id]
    assert ids(q="55556666") == [other.id]
    assert ids(q="上海") == []
    assert ids(overdue="1") == []
    for bad in ({"status": "lost"}, {"category": "A"}, {"priority": "asap"}, {"limit": "0"}, {"limit": "many"},
                {"cursor": "not-a-cursor"}):
        assert_error(desk.get("/api/v1/calls", query_string=bad), 422)


def test_overdue_lists_unbooked_calls_past_their_booking_deadline(desk, world, dispatcher):
    late = make_call(dispatcher, world["customer"], world["site"],
                     received_at=world["call"].received_at - timedelta(hours=30))
    ids = [c["id"] for c in desk.get("/api/v1/calls?overdue=1").get_json()["items"]]
    assert ids == [late.id]


def test_paging_limits_and_cursor_walk(desk, world, dispatcher):
    customer, site = world["customer"], world["site"]
    for i in range(200):
        create_call(dispatcher, customer=customer, site=site, equipment=None, channel="phone",
                    problem_type="noise", priority="low", description=f"call {i}")
    db.session.commit()
    total = count(RepairCall)
    assert total == 201
    first = desk.get("/api/v1/calls").get_json()
    assert len(first["items"]) == 50 and first["next"]
    assert len(desk.get("/api/v1/calls?limit=200").get_json()["items"]) == 200
    error = assert_error(desk.get("/api/v1/calls?limit=201"), 422)
    assert "limit" in error["fields"]

    seen: list[int] = []
    cursor = None
    pages = 0
    while True:
        query = {"limit": 60, **({"cursor": cursor} if cursor else {})}
        page = desk.get("/api/v1/calls", query_string=query).get_json()
        seen += [c["id"] for c in page["items"]]
        pages += 1
        cursor = page["next"]
        if cursor is None:
            break
    assert pages == 4
    assert len(seen) == len(set(seen)) == total
    assert seen == sorted(seen, reverse=True)
    # Filters hold across pages too.
    low = desk.get("/api/v1/calls", query_string={"priority": "low", "limit": 150}).get_json()
    more = desk.get("/api/v1/calls", query_string={"priority": "low", "limit": 150, "cursor": low["next"]}).get_json()
    assert len(low["items"]) == 150 and len(more["items"]) == 50 and more["next"] is None
    assert {c["priority"] for c in low["items"] + more["items"]} == {"low"}


# ----------------------------------------------------------------------------- idempotency


def test_idempotency_key_replays_the_first_answer(desk):
    body = {"name": "Phone Resend Ltd", "phone": "13800001111"}
    headers = {"Idempotency-Key": "abc-123"}
    first = desk.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == 201
    again = desk.post("/api/v1/customers", json=body, headers=headers)
    assert again.status_code == 201
    assert again.get_json() == first.get_json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert count(Customer) == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "customer.created")) == 1
    error = assert_error(desk.post("/api/v1/customers", json={**body, "name": "Other"}, headers=headers), 422,
                         "idempotency_key_reused")
    assert error["message"]
    assert count(Customer) == 1
    # A different key is a different request: the same customer again is a possible duplicate, until confirmed.
    refused = desk.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "abc-124"})
    assert refused.status_code == 409 and refused.get_json()["error"]["code"] == "possible_duplicate"
    assert desk.post("/api/v1/customers", json={**body, "confirm_duplicate": True},
                     headers={"Idempotency-Key": "abc-125"}).status_code == 201
    assert count(Customer) == 2


def test_idempotency_keys_belong_to_their_user(api, dispatcher, manager):
    body = {"name": "Shared Key Co", "phone": "13800001111", "confirm_duplicate": True}
    a = api(dispatcher).post("/api/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    b = api(manager).post("/api/v1/customers", json=body, headers={"Idempotency-Key": "k1"})
    assert a.status_code == b.status_code == 201
    assert a.get_json()["id"] != b.get_json()["id"]


def test_failed_write_with_a_key_can_be_retried(desk):
    bad = desk.post("/api/v1/customers", json={"name": "No Phone"}, headers={"Idempotency-Key": "retry-1"})
    assert_error(bad, 422)
    good = desk.post("/api/v1/customers", json={"name": "No Phone"}, headers={"Idempotency-Key": "retry-1"})
    assert_error(good, 422)  # same body, still invalid: nothing was stored for the key
    assert count(Customer) == 0


def test_idempotency_key_on_the_public_token_endpoint_is_harmless(client, dispatcher):
    from tests.factories import PASSWORD

    r = client.post("/api/v1/auth/token", json={"username": "dan", "password": PASSWORD},
                    headers={"Idempotency-Key": "login-1"})
    assert r.status_code == 200


# ----------------------------------------------------------------------------- the error shape everywhere


def desk_writes(world: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    c, s, e, call = world["customer"], world["site"], world["equipment"], world["call"]
    return [
        # "ada" is the admin's own name: a well-formed body answers 409 before any (slow) password hashing.
        ("post", "/api/v1/users", {"username": "ada", "password": "long-enough-1", "role": "technician",
                                   "name": "N", "skills": ["hvac"], "base_latitude": 31.2, "base_longitude": 121.4,
                                   "phone": "1", "working_hours": [{"weekday": 0, "start": "08:00", "end": "17:00"}]}),
        ("post", "/api/v1/customers", {"name": "N", "phone": "1", "contact_name": "C", "email": "e@x", "notes": "n"}),
        ("patch", f"/api/v1/customers/{c.id}", {"name": "N", "phone": "1", "contact_name": "C", "email": "e"}),
        ("post", f"/api/v1/customers/{c.id}/sites", {"address": "Pudong, Shanghai", "latitude": 31.2,
                                                     "longitude": 121.5}),
        ("post", "/api/v1/equipment", {"customer_id": c.id, "site_id": s.id, "model": "M", "serial_number": "S",
                                       "warranty_until": "2027-01-01"}),
        ("post", "/api/v1/contracts", {"customer_id": c.id, "number": "MC-9", "starts_on": "2026-01-01",
                                       "ends_on": "2026-12-31", "equipment_ids": [e.id], "covers_parts": False}),
        ("post", "/api/v1/calls", call_body(world, required_skill="hvac", received_at="2026-11-01T09:00:00+08:00")),
        ("patch", f"/api/v1/calls/{call.id}", {"category": "free", "reason": "goodwill"}),
        ("post", f"/api/v1/calls/{call.id}/notes", {"channel": "phone", "text": "t",
                                                    "next_follow_up": "2026-12-01T09:00:00+08:00"}),
        ("post", f"/api/v1/calls/{call.id}/feedback", {"rating": 4, "comment": "c"}),
    ]


GARBAGE_BODIES = [b"", b"{not json", b"[]", b'"a string"', b"null", b"42", b"\xff\xfe\x00", b'{"a": 1',
                  b'{"latitude": NaN}', b'{"rating": Infinity}', b"[" * 100_000, b'{"a":' * 50_000]

WRONG_VALUES = [None, "", [], {}, True, -1, 2**31, 2**70, 1.5, "x" * 20_000, "a\x00b", "上海测试设备有限公司",
                "🛠️" * 300, "شركة الخليج للتبريد", "2026-13-45"]


def test_malformed_bodies_are_400_on_every_desk_write(api, admin, world):
    client = api(admin)
    for method, url, _ in desk_writes(world):
        for raw in GARBAGE_BODIES:
            r = getattr(client.client, method)(url, data=raw, headers={
                "Authorization": f"Bearer {client.token}", "Content-Type": "application/json"})
            assert_error(r, 400, "malformed_json")
        # A form post or no content type is not JSON either.
        r = getattr(client.client, method)(url, data={"name": "x"}, headers={"Authorization": f"Bearer {client.token}"})
        assert_error(r, 400)


def test_wrong_values_in_every_field_never_cause_a_500(api, admin, world):
    """Each field of each desk write gets every kind of wrong value: the answer is a 2xx or a 4xx with the
    error shape, never a 500 or HTML, and an invalid answer names the field."""
    client = api(admin)
    answers: dict[int, int] = {}
    for method, url, valid in desk_writes(world):
        for field in valid:
            for value in WRONG_VALUES:
                r = getattr(client, method)(url, json={**valid, field: value})
                answers[r.status_code] = answers.get(r.status_code, 0) + 1
                assert r.mimetype == "application/json", (url, field, value, r.data[:200])
                if r.status_code >= 400:
                    error = assert_error(r, r.status_code)
                    assert r.status_code in (404, 409, 422), (url, field, value, error)
                    if r.status_code == 422:
                        assert error["fields"], (url, field, value, error)
                else:
                    assert r.status_code in (200, 201), (url, field, value)
                db.session.rollback()
    assert 500 not in answers
    assert answers.get(422, 0) > 150


def test_unknown_ids_in_paths_are_404(api, admin):
    client = api(admin)
    for url in ("/api/v1/calls/999999", "/api/v1/calls/0", "/api/v1/calls/2147483648",
                "/api/v1/calls/99999999999999999999999", "/api/v1/customers/999999",
                "/api/v1/customers/9223372036854775808", "/api/v1/equipment/999999", "/api/v1/calls/-1",
                "/api/v1/calls/abc", "/api/v1/no-such-thing"):
        assert_error(client.get(url), 404)
    for method, url in (("patch", "/api/v1/calls/999999"), ("post", "/api/v1/calls/999999/notes"),
                        ("post", "/api/v1/calls/999999/feedback"), ("post", "/api/v1/customers/999999/sites"),
                        ("patch", "/api/v1/customers/2147483648")):
        assert_error(getattr(client, method)(url, json={"category": "free", "reason": "r", "channel": "phone",
                                                        "text": "t", "rating": 3, "address": "Shanghai"}), 404)


def test_wrong_method_is_405_json(api, admin):
    client = api(admin)
    assert_error(client.delete("/api/v1/calls"), 405, "method_not_allowed")
    assert_error(client.put("/api/v1/customers", json={}), 405)
    assert_error(client.client.get("/api/v1/auth/token"), 405)


def test_forged_cursors_are_422(desk, world):
    import base64

    for raw in (b"99999999999999999999999", b"-5", b"abc", "上海".encode()):
        cursor = base64.urlsafe_b64encode(raw).decode().rstrip("=")
        assert_error(desk.get(f"/api/v1/calls?cursor={cursor}"), 422)


def test_search_terms_with_odd_characters(desk, world):
    for url in ("/api/v1/calls", "/api/v1/customers"):
        assert_error(desk.get(url, query_string={"q": "a\x00b"}), 400)  # NUL is refused at the door
    for q in ("%", "_", "\\", "'", "上海测试", "🛠️", "x" * 5000):
        for url in ("/api/v1/calls", "/api/v1/customers"):
            r = desk.get(url, query_string={"q": q})
            assert r.status_code == 200, (url, q, r.data[:200])
            assert r.get_json()["items"] == []


def test_huge_body_is_refused_cleanly(desk):
    r = desk.post("/api/v1/customers", json={"name": "n" * 2_000_000, "phone": "1"})
    assert_error(r, 422)
    assert count(Customer) == 0


def test_nothing_half_saved_when_a_later_step_fails(desk, world):
    """The contract checks its equipment after reading the customer: a bad id leaves no contract and no audit."""
    before = count(AuditEvent)
    assert_error(desk.post("/api/v1/contracts", json={
        "customer_id": world["customer"].id, "number": "MC-77", "starts_on": "2026-01-01", "ends_on": "2026-12-31",
        "equipment_ids": [world["equipment"].id, 999999]}), 422)
    assert count(Contract) == 0
    assert count(AuditEvent) == before


def test_error_bodies_are_utf8_json(desk):
    r = desk.post("/api/v1/customers", data=json.dumps({"name": "上海测试设备有限公司"}),
                  headers={"Content-Type": "application/json; charset=utf-8"})
    error = assert_error(r, 422)
    assert error["fields"] == {"phone": "required"}
    assert r.headers["Content-Type"].startswith("application/json")


def test_dates_in_any_reasonable_form_are_checked(desk, world):
    body = {"customer_id": world["customer"].id, "site_id": world["site"].id, "model": "M", "serial_number": "S-9"}
    for value in ("2027-02-30", "tomorrow", 20270101, "2027-1-1"):
        error = assert_error(desk.post("/api/v1/equipment", json={**body, "warranty_until": value}), 422)
        assert "warranty_until" in error["fields"]
    ok = desk.post("/api/v1/equipment", json={**body, "warranty_until": str(date(2027, 1, 1))})
    assert ok.status_code == 201
    assert count(Site) == 1


# ----------------------------------------------------------------------------- races, sessions, reach


@pytest.mark.concurrency
def test_simultaneous_duplicates_get_one_201_and_409s(app, api, dispatcher, world):
    """Eight desks save the same contract number at once: one wins, the others hear 409, never a 500."""
    import threading

    clients = [api(dispatcher) for _ in range(8)]
    barrier = threading.Barrier(len(clients))
    answers: list[int] = []
    body = {"customer_id": world["customer"].id, "number": "MC-RACE", "starts_on": "2026-01-01",
            "ends_on": "2026-12-31"}

    def post(client: Any) -> None:
        barrier.wait()
        answers.append(client.post("/api/v1/contracts", json=body).status_code)

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(answers) == [201] + [409] * 7
    assert count(Contract) == 1


def test_browser_session_may_use_the_api(client, login, dispatcher):
    """A logged-in page (htmx) calls the API with its session cookie; CSRF is off in this test config."""
    login(dispatcher)
    assert client.get("/api/v1/me").get_json()["username"] == "dan"
    r = client.post("/api/v1/customers", json={"name": "Session Co", "phone": "13800000000"})
    assert r.status_code == 201, r.get_json()


def test_technician_reads_only_calls_of_their_own_visits(api, world, dispatcher, manager, technician):
    from datetime import datetime

    from dispatch.scheduling import booking

    mine = make_call(dispatcher, world["customer"], world["site"])
    start = datetime.fromisoformat("2026-11-20T10:00:00+08:00")
    booking.book_visit(manager, mine, technician, start, start + timedelta(hours=1), override_reason="test")
    db.session.commit()
    tech = api(technician)
    assert tech.get(f"/api/v1/calls/{mine.id}").status_code == 200
    assert_error(tech.get(f"/api/v1/calls/{world['call'].id}"), 404)
    assert [c["id"] for c in tech.get("/api/v1/calls").get_json()["items"]] == [mine.id]
    assert_error(tech.post("/api/v1/calls", json=call_body(world)), 403)


@pytest.mark.concurrency
def test_simultaneous_resends_with_one_idempotency_key_create_one_customer(api, dispatcher):
    """A flaky phone fires the same write several times at once: one customer, the same answer to all."""
    import threading

    clients = [api(dispatcher) for _ in range(6)]
    for c in clients[1:]:
        c.token = clients[0].token  # the same user on every connection: keys are per user
    barrier = threading.Barrier(len(clients))
    answers: list[Any] = []
    body = {"name": "Resent Ltd 重发", "phone": "13800002222"}

    def post(client: Any) -> None:
        barrier.wait()
        r = client.post("/api/v1/customers", json=body, headers={"Idempotency-Key": "same-key"})
        answers.append((r.status_code, r.get_json()))

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {status for status, _ in answers} == {201}
    assert len({payload["id"] for _, payload in answers}) == 1
    assert count(Customer) == 1


# ----------------------------------------------------------------------------- the error shape in two languages


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def in_both_languages(send: Any, status: int, code: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The same refused request with Accept-Language zh-CN and en: the message (and the field messages)
    follow the language; status, code and field names do not."""
    zh = assert_error(send({"Accept-Language": "zh-CN,zh;q=0.9"}), status, code)
    en = assert_error(send({"Accept-Language": "en"}), status, code)
    assert has_chinese(zh["message"]) and not has_chinese(en["message"]), (zh, en)
    assert set(zh["fields"]) == set(en["fields"])
    for name in zh["fields"]:
        assert has_chinese(zh["fields"][name]) and not has_chinese(en["fields"][name]), (name, zh, en)
    return zh, en


def test_refused_requests_speak_the_callers_language(api, desk, technician, world):
    zh, en = in_both_languages(lambda h: desk.post("/api/v1/customers", data="{nope", headers=h,
                                                   content_type="application/json"), 400, "malformed_json")
    assert zh["message"].startswith("请求正文不是有效的 JSON") and en["message"].startswith("The body is not valid JSON")

    zh, en = in_both_languages(lambda h: desk.post("/api/v1/customers", json={"phone": "13800000000"}, headers=h),
                               422, "invalid")
    assert zh["message"] == "客户无法保存。name：必填。" and zh["fields"] == {"name": "必填"}
    assert en["message"] == "The customer cannot be saved. name: required." and en["fields"] == {"name": "required"}

    zh, en = in_both_languages(lambda h: desk.post("/api/v1/calls", json=call_body(world, customer_id=999999),
                                                   headers=h), 422, "unknown_id")
    assert zh["message"] == "不存在 id 为 999999 的客户。" and en["message"] == "There is no customer with id 999999."

    zh, en = in_both_languages(lambda h: desk.get("/api/v1/calls", query_string={"limit": "lots"}, headers=h),
                               422, "invalid")
    assert zh["fields"] == {"limit": "不是数字"} and en["fields"] == {"limit": "not a number"}
    assert "limit" in zh["message"] and "1" in zh["message"] and "200" in zh["message"]

    zh, en = in_both_languages(lambda h: api(technician).post("/api/v1/customers", json={}, headers=h),
                               403, "forbidden")
    assert zh["message"] == "您的角色无权使用此功能。" and en["message"] == "Your role may not use this."

    in_both_languages(lambda h: desk.get("/api/v1/calls/999999", headers=h), 404, "not_found")
    zh, en = in_both_languages(lambda h: desk.get("/api/v1/nowhere", headers=h), 404, "not_found")
    assert zh["message"] == "此地址下没有内容。" and en["message"] == "There is nothing at this address."
    zh, en = in_both_languages(lambda h: desk.delete("/api/v1/customers", headers=h), 405, "method_not_allowed")
    assert "DELETE" in zh["message"] and "DELETE" in en["message"]

    zh, en = in_both_languages(lambda h: api(None).get("/api/v1/me", headers=h), 401, "unauthorized")
    assert "Authorization: Bearer" in zh["message"]  # what to send stays as the protocol spells it

    key = {"Idempotency-Key": "bilingual-1"}
    assert desk.post("/api/v1/customers", json={"name": "Once Co", "phone": "13800000000"}, headers=key).status_code \
        == 201
    in_both_languages(lambda h: desk.post("/api/v1/customers", json={"name": "Twice Co", "phone": "13800000000"},
                                          headers={**key, **h}), 422, "idempotency_key_reused")


def test_a_browser_setting_does_not_change_the_api_language(client, login, dispatcher):
    """The API follows Accept-Language alone, even for a logged-in browser whose user chose Chinese."""
    dispatcher.locale = "zh_CN"
    db.session.commit()
    login(dispatcher)
    r = client.post("/api/v1/customers", json={"phone": "13800000000"}, headers={"Accept-Language": "en"})
    assert assert_error(r, 422, "invalid")["fields"] == {"name": "required"}
