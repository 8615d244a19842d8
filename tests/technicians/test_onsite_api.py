"""The on-site API (API.md "On site"): on my way, arrive, complete, payment, customer sign-off."""

from __future__ import annotations

import base64
import io
import json
import threading

import pytest
from pypdf import PdfReader
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import RepairCall, Visit
from dispatch.slips.data import slip_data
from technicians.evidence import seal
from technicians.models import Signature, VisitEvent, WorkRecord
from tests.billing.helpers import call_of, catalogue
from tests.factories import make_user
from tests.technicians.helpers import png, png_b64, today_visit

WORK = {"work_summary": "Replaced the run capacitor, cleaned the filter.", "labor_minutes": 45,
        "parts": [{"sku": "CAP-45-5", "quantity": 1}, {"sku": "FLT-1620", "quantity": 2}], "outcome": "fixed"}


def _on_site(api, dispatcher, technician, category="charged"):
    catalogue(dispatcher)
    call = call_of(category, dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    return tech, visit, call


def test_a_whole_visit_charges_payment_signature_and_voucher(api, dispatcher, technician):
    catalogue(dispatcher)
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)

    r = tech.post(f"/api/v1/visits/{visit.id}/on-my-way")
    assert r.status_code == 200 and r.json["status"] == "on_the_way"
    r = tech.post(f"/api/v1/visits/{visit.id}/arrive")
    assert r.status_code == 200 and r.json["status"] == "on_site" and r.json["call_status"] == "in_progress"

    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json=WORK)
    assert r.status_code == 200, r.json
    assert r.json["status"] == "completed" and r.json["call_status"] == "completed"
    charges = r.json["charges"]
    # call-out 80.00 + labor 45 min at 120/h = 90.00 + 35.00 + 2 x 18.50 = 242.00; tax 13 % = 31.46
    assert [(ln["kind"], ln["amount"]) for ln in charges["lines"]] == [
        ("call_out", "80.00"), ("labor", "90.00"), ("part", "35.00"), ("part", "37.00")]
    assert (charges["subtotal"], charges["tax"], charges["total_due"]) == ("242.00", "31.46", "273.46")
    assert charges["explanation"].startswith("charged")

    r = tech.post(f"/api/v1/visits/{visit.id}/payments", json={"amount": "100.00", "method": "cash"})
    assert r.status_code == 201, r.json
    assert r.json["receipt_number"].startswith("RC-") and r.json["receipt_number"].endswith("-000001")
    assert r.json["balance"] == "173.46"

    r = tech.post(f"/api/v1/visits/{visit.id}/signature",
                  json={"signer_name": "Mr. Gao", "image_png_base64": png_b64(), "technician_confirmed": True})
    assert r.status_code == 201, r.json
    sig = db.session.scalar(select(Signature))
    assert r.json["content_sha256"] == sig.content_sha256 == seal(sig.signed_content)
    signed = json.loads(sig.signed_content)
    assert signed["work_summary"] == WORK["work_summary"] and signed["labor_minutes"] == 45
    assert signed["total_due"] == "273.46" and signed["signer_name"] == "Mr. Gao"
    assert [(p["sku"], p["quantity"]) for p in signed["parts"]] == [("CAP-45-5", "1"), ("FLT-1620", "2")]
    assert sig.image_png == png()
    assert db.session.scalar(select(WorkRecord)).sealed_at is not None
    kinds = db.session.scalars(select(VisitEvent.kind).order_by(VisitEvent.id)).all()
    assert kinds == ["on_my_way", "arrived", "completed", "signed"]

    # After sign-off the record and its charges are read-only.
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={**WORK, "labor_minutes": 10})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_signed"
    assert db.session.scalar(select(WorkRecord.labor_minutes)) == 45

    # The slip of the signed visit carries the voucher: work, amounts, signature, hash.
    db.session.expire_all()
    voucher = slip_data(db.session.get(Visit, visit.id)).voucher
    assert voucher is not None and voucher.content_sha256 == sig.content_sha256
    assert voucher.signer_name == "Mr. Gao" and voucher.signature_png == png()
    assert str(voucher.total) == "273.46" and len(voucher.parts) == 2

    # The signed slip PDF shows the signature image, the signer and the hash.
    r = tech.get(f"/api/v1/visits/{visit.id}/slip.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    pdf = PdfReader(io.BytesIO(r.data))
    text = "".join(page.extract_text() for page in pdf.pages)
    assert sig.content_sha256 in "".join(text.split()) and "Mr. Gao" in text
    assert sum(len(page.images) for page in pdf.pages) >= 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "visit.signed")) == 1


def test_signature_checks(api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    url = f"/api/v1/visits/{visit.id}/signature"
    # Nothing to sign before the work is recorded.
    r = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": png_b64()})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_completed"
    assert tech.post(f"/api/v1/visits/{visit.id}/complete", json=WORK).status_code == 200

    r = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": base64.b64encode(b"GIF89a...").decode()})
    assert r.status_code == 422 and r.json["error"]["fields"]["image_png_base64"] == "not a PNG"
    r = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": "%%% not base64 %%%"})
    assert r.status_code == 422
    big = base64.b64encode(png() + b"\0" * (512 * 1024)).decode()
    r = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": big})
    assert r.status_code == 422 and r.json["error"]["code"] == "signature_too_large"
    r = tech.post(url, json={"signer_name": "", "image_png_base64": png_b64()})
    assert r.status_code == 422 and "signer_name" in r.json["error"]["fields"]
    r = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": png_b64(), "technician_confirmed": False})
    assert r.status_code == 422 and "technician_confirmed" in r.json["error"]["fields"]
    assert db.session.scalar(select(func.count(Signature.id))) == 0

    # A data: URL as signature_pad makes it is fine; the same key answers the first response again.
    first = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": "data:image/png;base64," + png_b64()},
                      headers={"Idempotency-Key": "sig-1"})
    assert first.status_code == 201
    again = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": "data:image/png;base64," + png_b64()},
                      headers={"Idempotency-Key": "sig-1"})
    assert again.status_code == 201 and again.json == first.json
    assert again.headers.get("Idempotent-Replayed") == "true"
    # The same signature under another key changes nothing; a different one is 409.
    same = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": "data:image/png;base64," + png_b64()},
                     headers={"Idempotency-Key": "sig-2"})
    assert same.status_code == 200 and same.json["content_sha256"] == first.json["content_sha256"]
    other = tech.post(url, json={"signer_name": "Ms. Zhou", "image_png_base64": png_b64(shade=200)})
    assert other.status_code == 409 and other.json["error"]["code"] == "already_signed"
    other = tech.post(url, json={"signer_name": "Somebody Else", "image_png_base64": png_b64()})
    assert other.status_code == 409
    assert db.session.scalar(select(func.count(Signature.id))) == 1


@pytest.mark.concurrency
def test_two_devices_sign_at_once_one_signature(app, api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/complete", json=WORK).status_code == 200
    token, url = tech.token, f"/api/v1/visits/{visit.id}/signature"
    db.session.commit()  # the threads need the write lock: hold no transaction while they run
    body = {"signer_name": "Mr. Wu", "image_png_base64": png_b64()}
    barrier = threading.Barrier(4)
    answers: list[object] = []

    def post(i: int) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            r = client.post(url, json=body,
                            headers={"Authorization": f"Bearer {token}", "Idempotency-Key": f"device-{i}"})
            answers.append(r.status_code)
        except Exception as exc:  # shown by the assertion below
            answers.append(repr(exc))

    threads = [threading.Thread(target=post, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(answers, key=str) == [200, 200, 200, 201], answers
    assert db.session.scalar(select(func.count(Signature.id))) == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "visit.signed")) == 1


def test_complete_checks_and_corrections(api, dispatcher, technician):
    catalogue(dispatcher)
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    url = f"/api/v1/visits/{visit.id}/complete"
    r = tech.post(url, json=WORK)
    assert r.status_code == 409 and r.json["error"]["code"] == "not_on_site"
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200  # a resend changes nothing
    assert tech.post(f"/api/v1/visits/{visit.id}/on-my-way").status_code == 409

    r = tech.post(url, json={"labor_minutes": "ten", "outcome": "maybe"})
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) == {"work_summary", "labor_minutes", "outcome"}
    r = tech.post(url, json={**WORK, "parts": [{"sku": "NOPE-1", "quantity": 1}]})
    assert r.status_code == 422 and "NOPE-1" in r.json["error"]["fields"]["parts"]
    r = tech.post(url, json={**WORK, "parts": [{"sku": "CAP-45-5", "quantity": 0}]})
    assert r.status_code == 422 and "parts" in r.json["error"]["fields"]
    assert tech.post(url, data="{", content_type="application/json").status_code == 400
    assert db.session.scalar(select(func.count(WorkRecord.id))) == 0

    # Labor as a form string, blank part rows skipped, the same sku merged.
    r = tech.post(url, json={**WORK, "labor_minutes": "30", "parts": [
        {"sku": "FLT-1620", "quantity": "1"}, {"sku": "", "quantity": ""}, {"sku": "FLT-1620", "quantity": 2}]})
    assert r.status_code == 200, r.json
    assert [(ln["sku"], ln["quantity"]) for ln in r.json["charges"]["lines"] if ln["kind"] == "part"] == \
        [("FLT-1620", "3")]
    # Refrigerant goes by the kg.
    r = tech.post(url, json={**WORK, "parts": [{"sku": "r410a-kg", "quantity": "2.5"}]})
    assert r.status_code == 200, r.json
    assert [(ln["sku"], ln["amount"]) for ln in r.json["charges"]["lines"] if ln["kind"] == "part"] == \
        [("R410A-KG", "237.50")]
    # Before sign-off a correction replaces the record and its charge lines.
    r = tech.post(url, json=WORK)
    assert r.status_code == 200 and r.json["charges"]["total_due"] == "273.46"
    assert db.session.scalar(select(func.count(WorkRecord.id))) == 1
    assert db.session.scalar(select(WorkRecord.labor_minutes)) == 45


def test_outcomes_follow_up_links_a_new_call_carry_back(api, dispatcher, technician):
    catalogue(dispatcher)
    call = call_of("contract", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    tech.post(f"/api/v1/visits/{visit.id}/arrive")
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={**WORK, "outcome": "follow_up"})
    assert r.status_code == 200, r.json
    follow_id = r.json["work_record"]["follow_up_call_id"]
    follow = db.session.get(RepairCall, follow_id)
    assert follow.parent_call_id == call.id and follow.status == "new"
    assert follow.customer_id == call.customer_id and follow.equipment_id == call.equipment_id
    assert call.number in follow.description
    assert r.json["call_status"] == "completed"
    # Contract MC-0042 covers call-out and labor; parts are charged.
    assert r.json["charges"]["explanation"].startswith("contract MC-0042 covers labor and call-out")
    assert r.json["charges"]["subtotal"] == "72.00"
    # A correction keeps the one follow-up call.
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={**WORK, "outcome": "follow_up"})
    assert r.json["work_record"]["follow_up_call_id"] == follow_id
    assert db.session.scalar(select(func.count(RepairCall.id)).where(RepairCall.parent_call_id == call.id)) == 1

    other_call = call_of("free", dispatcher)
    second = make_user("technician", username="ann")
    v2 = today_visit(dispatcher, other_call, second)
    ann = api(second)
    ann.post(f"/api/v1/visits/{v2.id}/arrive")
    r = ann.post(f"/api/v1/visits/{v2.id}/complete", json={**WORK, "outcome": "carry_back"})
    assert r.status_code == 200 and r.json["call_status"] == "carried_back"
    assert r.json["charges"]["total_due"] == "0.00"
    r = ann.post(f"/api/v1/visits/{v2.id}/payments", json={"amount": "10.00", "method": "cash"})
    assert r.status_code == 409  # free work: nothing to pay


def test_payment_checks(api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    url = f"/api/v1/visits/{visit.id}/payments"
    r = tech.post(url, json={"amount": "10.00", "method": "cash"})
    assert r.status_code == 409 and r.json["error"]["code"] == "not_completed"
    tech.post(f"/api/v1/visits/{visit.id}/complete", json=WORK)
    assert tech.post(url, json={"amount": "-1", "method": "cash"}).status_code == 422
    assert tech.post(url, json={"amount": "10.00", "method": "bitcoin"}).status_code == 422
    assert tech.post(url, json={"amount": "999.00", "method": "card"}).status_code == 422
    first = tech.post(url, json={"amount": "273.46", "method": "card"}, headers={"Idempotency-Key": "pay-1"})
    assert first.status_code == 201 and first.json["balance"] == "0.00"
    again = tech.post(url, json={"amount": "273.46", "method": "card"}, headers={"Idempotency-Key": "pay-1"})
    assert again.json["receipt_number"] == first.json["receipt_number"]
    assert tech.post(url, json={"amount": "1.00", "method": "cash"}).status_code == 409  # paid in full


def test_only_own_visits_and_no_billing(api, client, login, dispatcher, technician, manager):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    stranger = make_user("technician", username="sam")
    other = api(stranger)
    for path in ("on-my-way", "arrive", "complete", "signature", "payments"):
        r = other.post(f"/api/v1/visits/{visit.id}/{path}", json=WORK)
        assert r.status_code == 404, path
        assert r.json["error"]["code"] == "not_found"
    assert other.get(f"/api/v1/visits/{visit.id}/work").status_code == 404
    assert other.get("/api/v1/me/visits").json["items"] == []
    assert api(dispatcher).post(f"/api/v1/visits/{visit.id}/arrive").status_code == 403
    assert api(None).post(f"/api/v1/visits/{visit.id}/arrive").status_code == 401
    # A manager may act on any visit.
    assert api(manager).get(f"/api/v1/visits/{visit.id}/work").status_code == 200
    # The technician reaches neither billing pages nor the price list.
    assert tech.put("/api/v1/prices", json={"call_out_fee": "1.00", "labor_rate_per_hour": "1.00",
                                            "tax_rate": "0"}).status_code == 403
    login(technician)
    assert client.get("/billing/").status_code == 403
    assert client.get(f"/t/visits/{visit.id}").status_code == 200
    login(stranger)
    assert client.get(f"/t/visits/{visit.id}").status_code == 404


def test_cancelled_visit_is_a_conflict(api, dispatcher, technician):
    from dispatch.scheduling.booking import cancel_visit

    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    cancel_visit(dispatcher, visit, "customer fixed it")
    db.session.commit()
    r = api(technician).post(f"/api/v1/visits/{visit.id}/on-my-way")
    assert r.status_code == 409 and r.json["error"]["code"] == "visit_cancelled"
    assert "customer fixed it" in r.json["error"]["message"]


def test_visit_given_to_another_technician_is_a_conflict_for_the_first(api, dispatcher, technician):
    from dispatch.scheduling.booking import reschedule_visit

    visit = today_visit(dispatcher, call_of("charged", dispatcher), technician)
    ann = make_user("technician", username="ann")
    reschedule_visit(dispatcher, visit, technician=ann, reason="Tom is ill")
    db.session.commit()
    r = api(technician).post(f"/api/v1/visits/{visit.id}/arrive")
    assert r.status_code == 409 and r.json["error"]["code"] == "visit_reassigned"
    assert api(make_user("technician", username="sam")).post(f"/api/v1/visits/{visit.id}/arrive").status_code == 404
    assert api(ann).post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200


def test_offline_snapshot_has_what_the_visit_page_shows(api, dispatcher, technician):
    tech, visit, call = _on_site(api, dispatcher, technician)
    r = tech.get("/api/v1/me/visits?days=2")
    assert r.status_code == 200
    (item,) = r.json["items"]
    assert item["id"] == visit.id and item["slip_number"] == visit.slip_number and item["status"] == "on_site"
    assert item["customer"]["name"] == call.customer.name and item["customer"]["tel"].startswith("tel:")
    assert item["site"]["map"]["geo"].startswith("geo:") and item["site"]["map"]["web"].startswith("https://")
    assert item["charges"]["explanation"] == "no work recorded yet"
    assert set(item["actions"]) == {"on_my_way", "arrive", "complete", "signature", "payments"}
    assert tech.get("/api/v1/me/visits?days=99").status_code == 422


def test_openapi_documents_the_on_site_calls(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    arrive = spec["paths"]["/api/v1/visits/{visit_id}/arrive"]["post"]
    assert "200" in arrive["responses"] and "201" not in arrive["responses"]
    assert arrive["x-roles"] == ["admin", "manager", "technician"]
    sign = spec["paths"]["/api/v1/visits/{visit_id}/signature"]["post"]
    assert "201" in sign["responses"]
    assert sign["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/SignatureIn"}
    assert spec["components"]["schemas"]["CompleteIn"]["properties"]["outcome"]["enum"] == \
        ["fixed", "carry_back", "follow_up"]
