"""A return visit (Visit.kind "return") brings a carried-back item home: it completes when the customer signs for
the item (technicians/services/returns.py), never through the ordinary on-site completion, which would complete
the call before the item is handed back."""

from __future__ import annotations

from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.models import RepairCall, Visit
from technicians.models import CarryBack, WorkRecord
from tests.technicians.helpers import png_b64
from tests.technicians.test_workshop import _carried_back


def _return_visit_on_site(api, dispatcher, technician, manager):
    """A carried-back item, received and ready, its return visit booked and the technician on site."""
    from dispatch.scheduling import booking, plans

    _tech, call, _visit, cb_id = _carried_back(api, dispatcher, technician)
    assert api(dispatcher).post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    assert api(manager).patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "ready_to_return"}).status_code == 200
    call = db.session.get(RepairCall, call.id)
    slot = plans.suggestions_for_call(call, limit=1).items[0]
    back = booking.book_visit(dispatcher, call, technician, slot.start, slot.end, check_availability=True)
    db.session.commit()
    assert back.kind == "return"
    assert api(technician).post(f"/api/v1/visits/{back.id}/arrive").status_code == 200
    return call.id, back.id, cb_id


def _records(visit_id):
    return db.session.scalar(select(func.count(WorkRecord.id)).where(WorkRecord.visit_id == visit_id))


def test_the_api_refuses_to_complete_a_return_visit(api, dispatcher, technician, manager):
    call_id, visit_id, cb_id = _return_visit_on_site(api, dispatcher, technician, manager)
    r = api(technician).post(f"/api/v1/visits/{visit_id}/complete", json={
        "work_summary": "Brought it back.", "labor_minutes": 10, "parts": [], "outcome": "fixed"})
    assert r.status_code == 409, r.json
    assert r.json["error"]["code"] == "return_visit"
    assert "return visit" in r.json["error"]["message"] and "signs for the" in r.json["error"]["message"]
    # Nothing moved: the call waits for the item, the visit is still on site, no work record.
    assert db.session.get(RepairCall, call_id).status == "carried_back"
    assert db.session.get(Visit, visit_id).status == "on_site"
    assert _records(visit_id) == 0
    assert db.session.get(CarryBack, cb_id).status == "ready_to_return"

    # The return sign-off still completes the visit and the call.
    r = api(technician).post(f"/api/v1/carry-backs/{cb_id}/return", json={
        "signer_name": "Mr. Gao", "image_png_base64": png_b64()})
    assert r.status_code == 200, r.json
    assert db.session.get(Visit, visit_id).status == "completed"
    assert db.session.get(RepairCall, call_id).status == "completed"


def test_the_phone_offers_the_return_sign_off_not_the_work_record(api, login, client, dispatcher, technician,
                                                                   manager):
    call_id, visit_id, cb_id = _return_visit_on_site(api, dispatcher, technician, manager)
    login(technician)
    page = client.get(f"/t/visits/{visit_id}").get_data(as_text=True)
    assert 'class="complete-form"' not in page  # no work record form to submit
    assert 'href="#return-items"' in page and f"/t/workshop/{cb_id}/return" in page
    assert "it is complete when the customer signs for the item" in page

    # The form posted anyway (an old page, the outbox): 409 with the way to the sign-off, nothing saved.
    r = client.post(f"/t/visits/{visit_id}/complete", data={
        "work_summary": "Brought it back.", "labor_minutes": "10", "outcome": "fixed"})
    assert r.status_code == 409
    assert "is a return visit" in r.get_data(as_text=True)
    assert db.session.get(RepairCall, call_id).status == "carried_back" and _records(visit_id) == 0

    zh = client.get(f"/t/visits/{visit_id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert 'class="complete-form"' not in zh and 'href="#return-items"' in zh
