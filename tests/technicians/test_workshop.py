"""The workshop side of carry-back repairs (issue 11): received at the desk, worked in the workshop with parts and
labor charged by the call's category, the promised date moved with a reason, the return booked as a visit of kind
"return" or picked up at the desk, signed and sealed, the call completed and closed by the follow-up call; the
customer's service file shows the item's whole history; who sees what."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_today
from dispatch.models import CallNote, Equipment, RepairCall, Visit
from technicians.evidence import seal
from technicians.models import CarryBack
from tests.billing.helpers import call_of, catalogue
from tests.factories import make_user
from tests.technicians.helpers import png_b64, today_visit

RECEIPT = {"item": "Outdoor unit fan motor", "model": "Carrier 30XA", "serial_number": "FM-7781",
           "accessories": "mounting bracket", "condition": "dusty, casing scratched",
           "stated_fault": "fan stops after ten minutes", "signer_name": "Mr. Gao"}


def _carried_back(api, dispatcher, technician, category="charged"):
    """A call of `category` whose visit ended in a carry-back: the item is taken, the receipt signed."""
    catalogue(dispatcher)
    call = call_of(category, dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={
        "work_summary": "Fan motor seizes when warm; taken to the workshop.", "labor_minutes": 30, "parts": [],
        "outcome": "carry_back"})
    assert r.status_code == 200, r.json
    serial = call.equipment.serial_number if call.equipment else RECEIPT["serial_number"]
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json={
        **RECEIPT, "serial_number": serial, "image_png_base64": png_b64(),
        "promised_return_on": (local_today() + timedelta(days=5)).isoformat()})
    assert r.status_code == 201, r.json
    assert r.json["status"] == "in_workshop"
    return tech, call, visit, r.json["id"]


def _lines(api_client, call_id):
    r = api_client.get(f"/api/v1/calls/{call_id}/charges")
    assert r.status_code == 200, r.json
    return r.json


def test_the_whole_chain_from_the_desk_to_the_closed_call(api, login, client, dispatcher, technician, manager):
    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician)
    desk, boss = api(dispatcher), api(manager)
    other_tech = make_user("technician", username="wu", name="Wu Workshop")
    wu = api(other_tech)

    # Not yet handed in: the workshop cannot start, the desk's panel says so.
    r = boss.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "diagnosing"})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_received"
    assert wu.get(f"/api/v1/carry-backs/{cb_id}").status_code == 404  # neither their visit nor assigned

    # At the desk: receipt confirmed (who and when), once.
    assert tech.post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 403
    r = desk.post(f"/api/v1/carry-backs/{cb_id}/receive", json={"note": "bracket and motor, as on the receipt"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "received" and r.json["received_by"]["name"] == "Dan Dispatcher"
    assert r.json["received_at"]
    r = desk.post(f"/api/v1/carry-backs/{cb_id}/receive")
    assert r.status_code == 409 and r.json["error"]["code"] == "already_received"

    # The board as JSON: the item in its column, found by receipt number, serial or customer.
    board = desk.get("/api/v1/carry-backs?status=received").json["items"]
    assert [i["id"] for i in board] == [cb_id] and board[0]["days_held"] == 0 and board[0]["overdue"] is False
    number = board[0]["receipt_number"]
    for q in (number, "FM-7781", "Charged Customer"):
        assert [i["id"] for i in desk.get("/api/v1/carry-backs", query_string={"q": q}).json["items"]] == [cb_id]
    assert desk.get("/api/v1/carry-backs", query_string={"q": "nothing-like-it"}).json["items"] == []
    assert desk.get("/api/v1/carry-backs?status=diagnosing").json["items"] == []
    assert desk.get("/api/v1/carry-backs?status=lost").status_code == 422

    # The workshop: a manager assigns it; the assigned technician now reaches it and works it.
    assert desk.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "diagnosing"}).status_code == 403
    r = boss.patch(f"/api/v1/carry-backs/{cb_id}", json={"assigned_to_id": other_tech.id})
    assert r.status_code == 200 and r.json["assigned_to"]["name"] == "Wu Workshop"
    assert [i["id"] for i in wu.get("/api/v1/carry-backs").json["items"]] == [cb_id]
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "diagnosing", "note": "bearing worn"})
    assert r.status_code == 200 and r.json["status"] == "diagnosing"
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "waiting_parts", "note": "capacitor ordered"})
    assert r.status_code == 200 and r.json["status"] == "waiting_parts"
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "returned"})
    assert r.status_code == 422 and "status" in r.json["error"]["fields"]

    # Parts and labor spent in the workshop, charged by the call's category (charged: all due), correctable.
    r = wu.post(f"/api/v1/carry-backs/{cb_id}/work", json={"labor_minutes": 45, "parts": [], "note": "first look"})
    assert r.status_code == 200, r.json
    r = wu.post(f"/api/v1/carry-backs/{cb_id}/work", json={
        "labor_minutes": 60, "parts": [{"sku": "CAP-45-5", "quantity": 1}], "note": "new capacitor, bearing greased"})
    assert r.status_code == 200, r.json
    work = r.json["workshop"]
    assert work["labor_minutes"] == 60
    assert [(ln["kind"], ln["amount"], ln["covered"], ln["source"]) for ln in work["lines"]] == [
        ("labor", "120.00", False, "workshop"), ("part", "35.00", False, "workshop")]
    sheet = _lines(desk, call.id)
    # on site: call-out 80.00 + 30 min labor 60.00; workshop: 60 min 120.00 + capacitor 35.00 = 295.00; 13 % tax
    assert (sheet["subtotal"], sheet["tax"], sheet["total_due"]) == ("295.00", "38.35", "333.35")
    assert sheet["explanation"].startswith("charged")
    assert sum(1 for ln in sheet["lines"] if ln["kind"] == "call_out") == 1  # no second call-out fee

    # The promised date moves only with a reason; the desk gets a progress call to make.
    later = (local_today() + timedelta(days=9)).isoformat()
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"promised_return_on": later})
    assert r.status_code == 422 and r.json["error"]["code"] == "reason_required"
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"promised_return_on": later,
                                                      "reason": "capacitor back-ordered by the supplier"})
    assert r.status_code == 200 and r.json["promised_return_on"] == later
    assert r.json["promise_moved"]["reason"] == "capacitor back-ordered by the supplier"
    note = db.session.scalar(select(CallNote).where(CallNote.call_id == call.id, CallNote.channel == "internal"))
    assert note is not None and note.next_follow_up is not None and "back-ordered" in note.text
    login(dispatcher)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert number in page and "Waiting for parts" in page
    assert "Promised date moved: capacitor back-ordered by the supplier" in page

    # Not repaired: the return is refused (409) unless a reason is given.
    r = desk.post(f"/api/v1/carry-backs/{cb_id}/return", json={"signer_name": "Mr. Gao",
                                                               "image_png_base64": png_b64()})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_repaired"
    r = wu.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "repaired", "note": "ran two hours on the bench"})
    assert r.status_code == 200 and r.json["status"] == "repaired"

    # Book the return: the usual suggestions, a visit of kind "return"; the call stays carried back.
    r = desk.get(f"/api/v1/calls/{call.id}/suggestions")
    assert r.status_code == 200, r.json
    assert r.json["items"], r.json
    slot = r.json["items"][0]
    r = desk.post(f"/api/v1/calls/{call.id}/visits", json={"technician_id": slot["technician_id"],
                                                          "start": slot["start"], "end": slot["end"]})
    assert r.status_code == 201, r.json
    assert r.json["kind"] == "return" and r.json["call_status"] == "carried_back"
    return_visit = db.session.get(Visit, r.json["id"])
    returner = api(return_visit.technician)
    assert returner.get(f"/api/v1/carry-backs/{cb_id}").status_code == 200  # their return visit's item

    # The customer signs on the phone at the return visit: returned, sealed, the call completes.
    r = returner.post(f"/api/v1/carry-backs/{cb_id}/return", json={"signer_name": "Mr. Gao",
                                                                   "image_png_base64": png_b64(shade=40)})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "returned" and r.json["return_method"] == "visit"
    assert r.json["return_visit_id"] == return_visit.id and r.json["call_status"] == "completed"
    cb = db.session.get(CarryBack, cb_id)
    db.session.refresh(cb)
    assert cb.return_sha256 == seal(cb.return_signed_content)
    sealed = json.loads(cb.return_signed_content)
    assert sealed["receipt_number"] == number and sealed["workshop_labor_minutes"] == 60
    assert sealed["call_total_due"] == "333.35" and sealed["signer_name"] == "Mr. Gao"
    assert [ln["sku"] for ln in sealed["workshop_lines"] if ln["kind"] == "part"] == ["CAP-45-5"]
    db.session.refresh(return_visit)
    assert return_visit.status == "completed"
    # Sealed: nothing changes any more, a different second signature is 409, the same one answers again.
    r = wu.post(f"/api/v1/carry-backs/{cb_id}/work", json={"labor_minutes": 5})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_returned"
    r = returner.post(f"/api/v1/carry-backs/{cb_id}/return", json={"signer_name": "Someone Else",
                                                                   "image_png_base64": png_b64()})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_returned"
    r = returner.post(f"/api/v1/carry-backs/{cb_id}/return", json={"signer_name": "Mr. Gao",
                                                                   "image_png_base64": png_b64(shade=40)})
    assert r.status_code == 200 and r.json["return_sha256"] == cb.return_sha256
    assert all(ln["locked"] for ln in _lines(desk, call.id)["lines"] if ln["source"] == "workshop")

    # The follow-up call (回访) closes the call.
    r = desk.post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 5, "comment": "works again"})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "closed"

    # Every step audited.
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "carry_backs",
                                                                     AuditEvent.entity_id == cb_id)))
    assert {"carry_back.taken", "carry_back.received", "carry_back.assigned", "carry_back.status",
            "carry_back.work", "carry_back.promise_moved", "carry_back.returned"} <= actions

    # The customer's service file: the item and its whole history.
    page = client.get(f"/customers/{call.customer_id}").get_data(as_text=True)
    assert "Service file" in page and number in page
    for step in ("Received at the desk", "Diagnosing", "Waiting for parts", "Workshop work recorded",
                 "Promised date moved", "capacitor back-ordered by the supplier", "Repaired",
                 "Returned to the customer", "Assigned"):
        assert step in page, step


def test_free_call_pickup_at_the_desk_with_a_replaced_unit(api, login, client, dispatcher, technician, manager):
    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician, category="free")
    desk, boss = api(dispatcher), api(manager)
    assert desk.post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    # The technician who took it works it in the workshop too (their own visit's item).
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/work", json={"labor_minutes": 90,
                                                              "parts": [{"sku": "FLT-1620", "quantity": 2}]})
    assert r.status_code == 200, r.json
    # Free (under warranty): nothing is due, the cost is still recorded, the same explanation as on site.
    assert all(ln["covered"] and ln["due"] == "0.00" for ln in r.json["workshop"]["lines"])
    sheet = _lines(desk, call.id)
    assert sheet["total_due"] == "0.00" and sheet["explanation"].startswith("free")

    # A replaced unit: the new serial beside the old one, and the equipment record follows.
    old_serial = call.equipment.serial_number
    r = boss.patch(f"/api/v1/carry-backs/{cb_id}", json={"new_serial_number": "NEW-0099",
                                                         "note": "compressor unit swapped under warranty"})
    assert r.status_code == 200, r.json
    assert r.json["serial_number"] == old_serial and r.json["new_serial_number"] == "NEW-0099"
    assert db.session.get(Equipment, call.equipment_id).serial_number == "NEW-0099"

    # Not repaired but going back on purpose: with a reason, a pick-up signed on the desk's screen.
    r = desk.post(f"/api/v1/carry-backs/{cb_id}/return", json={
        "signer_name": "Ms. Li", "image_png_base64": png_b64(), "reason": "customer collects it for a second opinion"})
    assert r.status_code == 200, r.json
    assert r.json["return_method"] == "pickup" and r.json["call_status"] == "completed"
    sealed = json.loads(db.session.get(CarryBack, cb_id).return_signed_content)
    assert sealed["return_reason"] == "customer collects it for a second opinion"
    assert sealed["new_serial_number"] == "NEW-0099" and sealed["call_total_due"] == "0.00"
    r = desk.post(f"/api/v1/calls/{call.id}/feedback", json={"rating": 4, "comment": ""})
    assert r.status_code == 200 and r.json["status"] == "closed"


def test_a_return_visit_needs_a_carried_back_call_and_a_technician_needs_the_return_visit(
        api, dispatcher, technician, manager):
    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician)
    desk = api(dispatcher)
    assert desk.post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    assert api(manager).patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "ready_to_return"}).status_code == 200
    # The technician who took it cannot hand it back without a return visit of theirs.
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/return", json={"signer_name": "Mr. Gao", "image_png_base64": png_b64()})
    assert r.status_code == 409 and r.json["error"]["code"] == "no_return_visit"
    assert db.session.get(RepairCall, call.id).status == "carried_back"
    # A return visit for a call with nothing carried back is refused.
    other = call_of("charged", dispatcher)
    slot = desk.get(f"/api/v1/calls/{other.id}/suggestions").json["items"][0]
    r = desk.post(f"/api/v1/calls/{other.id}/visits", json={"technician_id": slot["technician_id"],
                                                           "start": slot["start"], "end": slot["end"],
                                                           "kind": "return"})
    assert r.status_code == 409 and r.json["error"]["code"] == "nothing_to_return"


def test_who_sees_and_works_the_items(api, dispatcher, technician, manager, finance):
    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician)
    stranger = api(make_user("technician", username="li", name="Li Other"))
    assert stranger.get("/api/v1/carry-backs").json["items"] == []
    for method, path, body in (("get", "", None), ("patch", "", {"status": "diagnosing"}),
                               ("post", "/work", {"labor_minutes": 5}), ("post", "/notes", {"note": "x"}),
                               ("post", "/return", {"signer_name": "X", "image_png_base64": png_b64()})):
        r = getattr(stranger, method)(f"/api/v1/carry-backs/{cb_id}{path}", **({"json": body} if body else {}))
        assert r.status_code == 404, (method, path, r.status_code)
    assert api(finance).get("/api/v1/carry-backs").status_code == 403
    assert [i["id"] for i in tech.get("/api/v1/carry-backs").json["items"]] == [cb_id]
    # A technician takes an item themselves; assigning someone else is a manager's.
    helper = make_user("technician", username="zhao", name="Zhao Helper")
    r = tech.patch(f"/api/v1/carry-backs/{cb_id}", json={"assigned_to_id": helper.id})
    assert r.status_code == 403


def test_pages_board_item_receive_and_move(login, client, api, dispatcher, technician, manager):
    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician)
    number = db.session.get(CarryBack, cb_id).number
    login(dispatcher)
    page = client.get("/t/workshop").get_data(as_text=True)
    assert number in page and "Confirm receipt" in page
    r = client.post(f"/t/workshop/{cb_id}/receive", data={"next": "board"}, follow_redirects=True)
    assert r.status_code == 200 and "received at the desk" in r.get_data(as_text=True)
    login(manager)
    r = client.post(f"/t/workshop/{cb_id}/status", data={"status": "diagnosing", "note": "on the bench"},
                    follow_redirects=True)
    assert r.status_code == 200
    assert db.session.get(CarryBack, cb_id).status == "diagnosing"
    r = client.post(f"/t/workshop/{cb_id}/promise", data={"promised_return_on": local_today().isoformat(),
                                                          "reason": ""}, follow_redirects=True)
    assert "Say why" in r.get_data(as_text=True)
    page = client.get(f"/t/workshop/{cb_id}").get_data(as_text=True)
    assert number in page and "on the bench" in page and "Diagnosing" in page
    # In Chinese, in the users' words.
    page = client.get("/t/workshop", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert number in page


def test_the_return_visit_on_the_phone_links_to_the_signing_and_seals_it(api, login, client, dispatcher,
                                                                          technician, manager):
    from dispatch.scheduling import booking, plans

    tech, call, visit, cb_id = _carried_back(api, dispatcher, technician)
    assert api(dispatcher).post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    assert api(manager).patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "ready_to_return"}).status_code == 200
    call = db.session.get(RepairCall, call.id)
    slot = plans.suggestions_for_call(call, limit=1).items[0]  # the usual suggestions, no booking clock left
    back = booking.book_visit(dispatcher, call, technician, slot.start, slot.end, check_availability=True)
    db.session.commit()
    assert back.kind == "return" and call.status == "carried_back"

    login(technician)
    page = client.get(f"/t/visits/{back.id}").get_data(as_text=True)
    assert "Customer signs for the item" in page and f"/t/workshop/{cb_id}/return" in page
    assert client.get(f"/t/workshop/{cb_id}/return").status_code == 200
    r = client.post(f"/t/workshop/{cb_id}/return", data={"signer_name": ""})
    assert r.status_code == 422 and "required" in r.get_data(as_text=True)
    r = client.post(f"/t/workshop/{cb_id}/return", data={
        "signer_name": "Mr. Gao", "image_png_base64": "data:image/png;base64," + png_b64()})
    assert r.status_code == 302, r.get_data(as_text=True)
    cb = db.session.get(CarryBack, cb_id)
    assert cb.status == "returned" and cb.return_method == "visit" and cb.return_visit_id == back.id
    assert db.session.get(Visit, back.id).status == "completed"
    assert db.session.get(RepairCall, call.id).status == "completed"
