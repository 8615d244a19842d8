"""The return voucher (送还凭证, issue 11): the PDF the customer keeps when a carried-back item comes home. It
prints what was sealed at the return (receipt number, item, serials, the workshop's work and lines, the call's
charges, the return method, the signature, signer and hash); 409 before the return; the same readers as the
receipt PDF; linked from the workshop item page and the customer's service file."""

from __future__ import annotations

import io
import json
import re

import pytest
from pypdf import PdfReader

from dispatch.core.extensions import db
from technicians.models import CarryBack
from tests.factories import make_user
from tests.technicians.helpers import png_b64
from tests.technicians.test_workshop import _carried_back


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _worked_and_replaced(api, dispatcher, technician, manager):
    """A carried-back item received at the desk, worked with labor and a part, its unit replaced, ready."""
    tech, call, _visit, cb_id = _carried_back(api, dispatcher, technician)
    desk, boss = api(dispatcher), api(manager)
    assert desk.post(f"/api/v1/carry-backs/{cb_id}/receive").status_code == 200
    r = boss.post(f"/api/v1/carry-backs/{cb_id}/work", json={
        "labor_minutes": 60, "parts": [{"sku": "CAP-45-5", "quantity": 1}], "note": "new capacitor, bearing greased"})
    assert r.status_code == 200, r.json
    r = boss.patch(f"/api/v1/carry-backs/{cb_id}", json={"new_serial_number": "NEW-4411",
                                                         "note": "indoor board swapped"})
    assert r.status_code == 200, r.json
    r = boss.patch(f"/api/v1/carry-backs/{cb_id}", json={"status": "ready_to_return", "note": "bench test passed"})
    assert r.status_code == 200, r.json
    return tech, call, cb_id


def _return_at_desk(api, dispatcher, cb_id):
    r = api(dispatcher).post(f"/api/v1/carry-backs/{cb_id}/return", json={
        "signer_name": "Mr. Gao", "image_png_base64": png_b64(shade=40)})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "returned" and r.json["return_method"] == "pickup"
    assert r.json["return_pdf_url"] == f"/api/v1/carry-backs/{cb_id}/return.pdf"
    cb = db.session.get(CarryBack, cb_id)
    db.session.refresh(cb)
    return cb


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_the_return_voucher_prints_what_was_signed(api, dispatcher, technician, manager, language):
    tech, call, cb_id = _worked_and_replaced(api, dispatcher, technician, manager)
    cb = _return_at_desk(api, dispatcher, cb_id)
    sealed = json.loads(cb.return_signed_content)

    # The technician who took it reads it, like the receipt; so do the desk and managers.
    r = tech.get(f"/api/v1/carry-backs/{cb_id}/return.pdf", headers={"Accept-Language": language})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    assert r.headers["Content-Disposition"] == f'inline; filename="{cb.number}-return.pdf"'
    text = _pdf_text(r.data)
    compact = _compact(text)
    for expected in (cb.number, call.number, sealed["customer"], sealed["item"], sealed["model"],
                     sealed["serial_number"], "NEW-4411", "Mr. Gao", cb.return_sha256,
                     "new capacitor, bearing greased", "CAP-45-5", sealed["call_total_due"]):
        assert _compact(expected) in compact, (expected, text)
    if language == "zh-CN":
        assert "送还凭证" in compact and "服务台自取" in compact and "车间维修内容" in compact, text
    else:
        assert "Return voucher" in text and "Pick-up at the desk" in text, text
    for reader in (dispatcher, manager):
        assert api(reader).get(f"/api/v1/carry-backs/{cb_id}/return.pdf").status_code == 200


def test_a_return_visit_prints_its_slip_number(api, dispatcher, technician, manager):
    from dispatch.models import RepairCall
    from dispatch.scheduling import booking, plans

    _tech, call, cb_id = _worked_and_replaced(api, dispatcher, technician, manager)
    call = db.session.get(RepairCall, call.id)
    slot = plans.suggestions_for_call(call, limit=1).items[0]
    back = booking.book_visit(dispatcher, call, technician, slot.start, slot.end, check_availability=True)
    db.session.commit()
    r = api(technician).post(f"/api/v1/carry-backs/{cb_id}/return", json={
        "signer_name": "Ms. Lin", "image_png_base64": png_b64()})
    assert r.status_code == 200 and r.json["return_method"] == "visit", r.json
    text = _pdf_text(api(technician).get(f"/api/v1/carry-backs/{cb_id}/return.pdf").data)
    assert "Return visit" in text and back.slip_number in _compact(text) and "Ms. Lin" in text, text


def test_before_the_return_409_and_others_404(api, dispatcher, technician, manager, finance):
    tech, _call, cb_id = _worked_and_replaced(api, dispatcher, technician, manager)
    url = f"/api/v1/carry-backs/{cb_id}/return.pdf"
    for who in (tech, api(dispatcher), api(manager)):
        r = who.get(url)
        assert r.status_code == 409 and r.json["error"]["code"] == "not_returned", r.json
        assert "not been returned" in r.json["error"]["message"]
    assert tech.get(f"/api/v1/carry-backs/{cb_id}").json["return_pdf_url"] is None
    _return_at_desk(api, dispatcher, cb_id)
    stranger = api(make_user("technician", username="rv-other", name="Other Tech"))
    assert stranger.get(url).status_code == 404
    assert api(finance).get(url).status_code == 403
    assert api(None).get(url).status_code == 401
    assert api(dispatcher).get("/api/v1/carry-backs/999999/return.pdf").status_code == 404


def test_links_on_the_item_page_and_the_service_file_once_returned(api, login, client, dispatcher, technician,
                                                                    manager):
    _tech, call, cb_id = _worked_and_replaced(api, dispatcher, technician, manager)
    link = f"/api/v1/carry-backs/{cb_id}/return.pdf"
    login(dispatcher)
    assert link not in client.get(f"/t/workshop/{cb_id}").get_data(as_text=True)
    assert link not in client.get(f"/customers/{call.customer_id}").get_data(as_text=True)
    _return_at_desk(api, dispatcher, cb_id)
    for page in (f"/t/workshop/{cb_id}", f"/customers/{call.customer_id}"):
        html = client.get(page).get_data(as_text=True)
        assert link in html and "Return voucher (PDF)" in html, page


def test_openapi_lists_the_return_voucher(client):
    paths = client.get("/api/v1/openapi.json").json["paths"]
    op = paths["/api/v1/carry-backs/{carry_back_id}/return.pdf"]["get"]
    assert "application/pdf" in op["responses"]["200"]["content"] and "409" in op["responses"]
