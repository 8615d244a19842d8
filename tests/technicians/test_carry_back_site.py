"""Carry-back at the customer's site (issue 11, API.md "Carry-back repairs"): taking the item with its
photos and the customer's signature, the receipt number, the receipt PDF, who may see it, and the phone's
receipt pages."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import re
import struct
import threading
import zlib
from datetime import timedelta

import pytest
from PIL import Image
from pypdf import PdfReader
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_today
from dispatch.models import RepairCall
from technicians.evidence import seal
from technicians.models import CarryBack, CarryBackEvent, CarryBackPhoto
from tests.billing.helpers import call_of
from tests.factories import make_user
from tests.technicians.helpers import png_b64, today_visit

PROMISED = (local_today() + timedelta(days=10)).isoformat()
RECEIPT = {"item": "Split air conditioner indoor unit", "model": "KFR-35GW", "serial_number": "SN-CB-7781",
           "accessories": "remote control, drain hose", "condition": "scratch on the left panel",
           "stated_fault": "blows warm air", "promised_return_on": PROMISED}
NUMBER = re.compile(r"^CB-\d{4}-\d{6}$")


def jpeg_with_exif(size: tuple[int, int] = (2400, 1200)) -> bytes:
    """A camera-like JPEG: larger than the kept size, with EXIF (a GPS tag and a camera make)."""
    image = Image.new("RGB", size, (200, 40, 40))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    exif[0x8825] = {2: (31.0, 14.0, 0.0)}  # GPSInfo: latitude
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    return out.getvalue()


def png_photo() -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", (64, 48), (10, 120, 200, 128)).save(out, "PNG")
    return out.getvalue()


def png_bomb() -> bytes:
    """A tiny file whose header claims 20000 x 20000 pixels (a "decompression bomb")."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 20000, 20000, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"\x00" * 1000)) + chunk(b"IEND", b""))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _on_site(api, dispatcher, technician, category="charged"):
    call = call_of(category, dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    return tech, visit, call


def _complete_carry_back(tech, visit):
    r = tech.post(f"/api/v1/visits/{visit.id}/complete",
                  json={"work_summary": "Compressor does not start; taken to the workshop.", "labor_minutes": 30,
                        "outcome": "carry_back"})
    assert r.status_code == 200, r.json
    return r


# ----------------------------------------------------------------------------- the API walk


def test_carry_back_at_the_site_photos_signature_and_second_is_409(api, dispatcher, technician):
    tech, visit, call = _on_site(api, dispatcher, technician)
    _complete_carry_back(tech, visit)

    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "in_workshop" and NUMBER.match(r.json["receipt_number"])
    assert r.json["receipt_number"].endswith("-000001")
    assert r.json["call_status"] == "carried_back" and r.json["receipt"] is None
    cb_id = r.json["id"]
    assert db.session.get(RepairCall, call.id).status == "carried_back"

    # Photos, as multipart files: a camera JPEG (shrunk, EXIF gone) and a PNG with transparency.
    r = tech.client.post(f"/api/v1/carry-backs/{cb_id}/photos",
                         data={"photos": [(io.BytesIO(jpeg_with_exif()), "IMG_0001.jpg"),
                                          (io.BytesIO(png_photo()), "screen.png")]},
                         headers={"Authorization": f"Bearer {tech.token}"}, content_type="multipart/form-data")
    assert r.status_code == 201, r.json
    assert [(p["width"], p["height"]) for p in r.json["photos"]] == [(1600, 800), (64, 48)]
    stored = db.session.scalars(select(CarryBackPhoto).order_by(CarryBackPhoto.id)).all()
    for photo in stored:
        image = Image.open(io.BytesIO(photo.image))
        assert image.format == "JPEG" and not image.getexif() and "exif" not in image.info
        assert photo.sha256 == hashlib.sha256(photo.image).hexdigest()
    r = tech.get(r.json["photos"][0]["url"])
    assert r.status_code == 200 and r.mimetype == "image/jpeg" and r.data == stored[0].image

    # Not an image, and too large: 422, nothing kept.
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/photos", json={"photos": [b64(b"%PDF-1.4 not a photo")]})
    assert r.status_code == 422 and r.json["error"]["code"] == "not_an_image" and "photos" in r.json["error"]["fields"]
    big = b"\xff\xd8\xff" + b"0" * (5 * 1024 * 1024)
    r = tech.client.post(f"/api/v1/carry-backs/{cb_id}/photos", data={"photos": [(io.BytesIO(big), "huge.jpg")]},
                         headers={"Authorization": f"Bearer {tech.token}"}, content_type="multipart/form-data")
    assert r.status_code == 422 and r.json["error"]["code"] == "photo_too_large"
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/photos", json={"photos": [b64(png_photo())] * 5})
    assert r.status_code == 422 and r.json["error"]["code"] == "too_many_photos"
    assert db.session.scalar(select(func.count(CarryBackPhoto.id))) == 2

    # The customer signs the receipt: sealed by the hash of what was signed.
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature", json={"signer_name": "Mr. Gao"})
    assert r.status_code == 422 and "image_png_base64" in r.json["error"]["fields"]
    sign = {"signer_name": "Mr. Gao", "image_png_base64": png_b64()}
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature", json=sign)
    assert r.status_code == 201, r.json
    cb = db.session.get(CarryBack, cb_id)
    assert r.json["receipt_sha256"] == cb.receipt_sha256 == seal(cb.receipt_signed_content)
    signed = json.loads(cb.receipt_signed_content)
    assert signed["serial_number"] == "SN-CB-7781" and signed["promised_return_on"] == PROMISED
    assert signed["photos"] == [p.sha256 for p in stored] and signed["customer"] == call.customer.name
    assert tech.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature", json=sign).status_code == 200  # a resend
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature", json={**sign, "signer_name": "Someone else"})
    assert r.status_code == 409 and r.json["error"]["code"] == "already_signed"
    r = tech.post(f"/api/v1/carry-backs/{cb_id}/photos", json={"photos": [b64(png_photo())]})
    assert r.status_code == 409 and r.json["error"]["code"] == "receipt_signed"

    # One carry-back per visit.
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT)
    assert r.status_code == 409 and r.json["error"]["code"] == "already_carried_back"
    assert cb.number in r.json["error"]["message"]

    r = tech.get(f"/api/v1/carry-backs/{cb_id}")
    assert r.status_code == 200
    assert r.json["receipt"]["signer_name"] == "Mr. Gao" and len(r.json["photos"]) == 2
    assert r.json["workshop_url"] == f"/t/workshop/{cb_id}" and r.json["events"][0]["to_status"] == "in_workshop"
    actions = set(db.session.scalars(select(AuditEvent.action).where(AuditEvent.action.like("carry_back.%"))))
    assert actions == {"carry_back.taken", "carry_back.photos", "carry_back.receipt_signed"}


def test_one_request_with_photos_and_signature_offline_replay(api, dispatcher, technician):
    """What the phone's outbox sends: the whole receipt in one request with its Idempotency-Key; a resend
    answers the first response (the same number), nothing is taken twice."""
    tech, visit, _ = _on_site(api, dispatcher, technician)
    _complete_carry_back(tech, visit)
    body = {**RECEIPT, "photos": [{"image_base64": "data:image/jpeg;base64," + b64(jpeg_with_exif((800, 600)))}],
            "signer_name": "Ms. Lin", "image_png_base64": png_b64()}
    headers = {"Idempotency-Key": "outbox-7f1c"}
    first = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=body, headers=headers)
    assert first.status_code == 201, first.json
    assert first.json["receipt"]["signer_name"] == "Ms. Lin" and len(first.json["photos"]) == 1
    again = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=body, headers=headers)
    assert again.status_code == 201 and again.headers.get("Idempotent-Replayed") == "true"
    assert again.json["receipt_number"] == first.json["receipt_number"]
    assert db.session.scalar(select(func.count(CarryBack.id))) == 1


def test_bad_input_is_422_and_takes_no_number(api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    url = f"/api/v1/visits/{visit.id}/carry-back"
    yesterday = (local_today() - timedelta(days=1)).isoformat()
    r = tech.post(url, json={**RECEIPT, "item": " ", "promised_return_on": yesterday})
    assert r.status_code == 422 and set(r.json["error"]["fields"]) == {"item", "promised_return_on"}
    assert "Item" in r.json["error"]["message"] and "Promised return date" in r.json["error"]["message"]
    far = (local_today() + timedelta(days=400)).isoformat()
    r = tech.post(url, json={**RECEIPT, "promised_return_on": far})
    assert r.status_code == 422 and "promised_return_on" in r.json["error"]["fields"]
    r = tech.post(url, json={**RECEIPT, "promised_return_on": "next week"})
    assert r.status_code == 422 and "promised_return_on" in r.json["error"]["fields"]
    r = tech.post(url, json={**RECEIPT, "photos": [b64(b"GIF89a broken")]})
    assert r.status_code == 422 and r.json["error"]["code"] == "not_an_image"
    r = tech.post(url, json={**RECEIPT, "photos": [b64(png_bomb())]})
    assert r.status_code == 422 and r.json["error"]["code"] == "not_an_image"
    r = tech.post(url, json={**RECEIPT, "signer_name": "Mr. Gao", "image_png_base64": b64(b"not a png")})
    assert r.status_code == 422
    assert tech.post(url, data="{", content_type="application/json").status_code == 400
    assert db.session.scalar(select(func.count(CarryBack.id))) == 0
    # Every refusal rolled back: the first real receipt still gets number 1.
    r = tech.post(url, json=RECEIPT)
    assert r.status_code == 201 and r.json["receipt_number"].endswith("-000001")


def test_state_rules(api, dispatcher, technician):
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT)
    assert r.status_code == 409 and r.json["error"]["code"] == "not_on_site"
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/complete",
                  json={"work_summary": "Fixed it.", "labor_minutes": 20, "outcome": "fixed"})
    assert r.status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT)
    assert r.status_code == 409 and r.json["error"]["code"] == "outcome_not_carry_back"
    assert api(dispatcher).post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT).status_code == 403


def test_receipt_numbers_run_on_without_gaps(api, dispatcher, technician):
    numbers = []
    for i in range(3):
        tech_user = technician if i == 0 else make_user("technician", username=f"cb-seq-{i}")
        tech, visit, _call = _on_site(api, dispatcher, tech_user)
        r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT)
        assert r.status_code == 201, r.json
        numbers.append(r.json["receipt_number"])
    year = numbers[0][3:7]
    assert numbers == [f"CB-{year}-{n:06d}" for n in (1, 2, 3)]


@pytest.mark.concurrency
def test_concurrent_carry_backs_gapless_and_one_per_visit(app, api, dispatcher, technician):
    """Several phones at once: different visits get consecutive numbers, the same visit only one."""
    visits, tokens = [], []
    for i in range(4):
        tech_user = technician if i == 0 else make_user("technician", username=f"cb-tech-{i}")
        tech, visit, _ = _on_site(api, dispatcher, tech_user)
        visits.append(visit.id)
        tokens.append(tech.token)
    db.session.commit()  # the threads need the write lock: hold no transaction while they run
    # Four different visits and three more tries at the first one, all at the same moment.
    jobs = [(visits[i], tokens[i]) for i in range(4)] + [(visits[0], tokens[0])] * 3
    barrier = threading.Barrier(len(jobs))
    answers: list[object] = []

    def post(visit_id: int, token: str) -> None:
        client = app.test_client()
        barrier.wait()
        try:
            r = client.post(f"/api/v1/visits/{visit_id}/carry-back", json=RECEIPT,
                            headers={"Authorization": f"Bearer {token}"})
            answers.append((r.status_code, (r.json or {}).get("receipt_number") or r.json["error"]["code"]))
        except Exception as exc:  # shown by the assertion below
            answers.append(repr(exc))

    threads = [threading.Thread(target=post, args=job) for job in jobs]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    created = sorted(number for status, number in answers if status == 201)
    refused = [code for status, code in answers if status != 201]
    assert len(created) == 4 and refused == ["already_carried_back"] * 3, answers
    year = created[0][3:7]
    assert created == [f"CB-{year}-{n:06d}" for n in (1, 2, 3, 4)]
    db.session.expire_all()
    assert db.session.scalar(select(func.count(CarryBack.id))) == 4


# ----------------------------------------------------------------------------- the receipt PDF


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
def test_receipt_pdf_reads_back(api, dispatcher, technician, language):
    tech, visit, call = _on_site(api, dispatcher, technician)
    body = {**RECEIPT, "photos": [b64(png_photo())], "signer_name": "Mr. Gao", "image_png_base64": png_b64()}
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=body)
    assert r.status_code == 201
    cb_id, number = r.json["id"], r.json["receipt_number"]
    r = tech.get(f"/api/v1/carry-backs/{cb_id}/receipt.pdf", headers={"Accept-Language": language})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(r.data)
    compact = re.sub(r"\s+", "", text)
    for expected in (number, "SN-CB-7781", call.customer.name, PROMISED, "KFR-35GW"):
        assert re.sub(r"\s+", "", expected) in compact, (expected, text)
    title = "客户商品领取收据" if language == "zh-CN" else "Customer product receipt"
    assert title in compact.replace(" ", "") or title in text
    cb = db.session.get(CarryBack, cb_id)
    assert cb.receipt_sha256 in compact


def test_receipt_pdf_before_signing_and_dispatcher_reads_it(api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    cb_id = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT).json["id"]
    r = api(dispatcher).get(f"/api/v1/carry-backs/{cb_id}/receipt.pdf")
    assert r.status_code == 200 and "SN-CB-7781" in _pdf_text(r.data)


# ----------------------------------------------------------------------------- who sees what


def test_access_own_visits_only_desk_reads_all(api, dispatcher, technician, manager, admin, finance):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    cb_id = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT).json["id"]
    other = api(make_user("technician", username="cb-other-tech"))
    for url in (f"/api/v1/carry-backs/{cb_id}", f"/api/v1/carry-backs/{cb_id}/receipt.pdf"):
        assert other.get(url).status_code == 404
        for reader in (dispatcher, manager, admin):
            assert api(reader).get(url).status_code == 200, (reader.role, url)
        assert api(finance).get(url).status_code == 403
    assert other.post(f"/api/v1/carry-backs/{cb_id}/receipt-signature",
                      json={"signer_name": "X", "image_png_base64": png_b64()}).status_code == 404
    assert other.post(f"/api/v1/carry-backs/{cb_id}/photos", json={"photos": [b64(png_photo())]}).status_code == 404
    assert other.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT).status_code == 404
    assert api(dispatcher).post(f"/api/v1/carry-backs/{cb_id}/receipt-signature",
                                json={"signer_name": "X", "image_png_base64": png_b64()}).status_code == 403
    assert api(None).get(f"/api/v1/carry-backs/{cb_id}").status_code == 401


def test_openapi_lists_the_carry_back_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    paths = spec["paths"]
    assert paths["/api/v1/visits/{visit_id}/carry-back"]["post"]["requestBody"]
    assert "/api/v1/carry-backs/{carry_back_id}/photos" in paths
    assert "/api/v1/carry-backs/{carry_back_id}/receipt-signature" in paths
    assert "application/pdf" in paths["/api/v1/carry-backs/{carry_back_id}/receipt.pdf"]["get"]["responses"]["200"]["content"]


# ----------------------------------------------------------------------------- the phone's pages


def test_phone_pages_complete_with_carry_back_opens_the_receipt_form(app, login, client, dispatcher, technician):
    csrf_before = app.config.get("WTF_CSRF_ENABLED", True)
    app.config["WTF_CSRF_ENABLED"] = False
    try:
        call = call_of("free", dispatcher)  # under warranty: the call names its equipment
        visit = today_visit(dispatcher, call, technician)
        login(technician)
        assert client.post(f"/t/visits/{visit.id}/arrive").status_code == 302
        r = client.post(f"/t/visits/{visit.id}/complete", data={
            "work_summary": "Compressor dead, taken back.", "labor_minutes": "25", "outcome": "carry_back"})
        assert r.status_code == 302 and r.headers["Location"].endswith(f"/t/visits/{visit.id}/carry-back")
        page = client.get(f"/t/visits/{visit.id}/carry-back")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert 'capture="environment"' in html and 'accept="image/*"' in html and "multiple" in html
        assert call.equipment.serial_number in html  # prefilled from the call's equipment

        yesterday = (local_today() - timedelta(days=1)).isoformat()
        r = client.post(f"/t/visits/{visit.id}/carry-back", data={**RECEIPT, "promised_return_on": yesterday},
                        content_type="multipart/form-data")
        assert r.status_code == 422 and "today or later" in r.get_data(as_text=True)

        r = client.post(f"/t/visits/{visit.id}/carry-back", content_type="multipart/form-data", data={
            **RECEIPT, "photos": [(io.BytesIO(jpeg_with_exif((640, 480))), "p.jpg")],
            "signer_name": "Mr. Gao", "image_png_base64": "data:image/png;base64," + png_b64()})
        assert r.status_code == 302, r.get_data(as_text=True)
        cb = db.session.scalar(select(CarryBack))
        assert r.headers["Location"].endswith(f"/t/carry-backs/{cb.id}")
        page = client.get(r.headers["Location"])
        html = page.get_data(as_text=True)
        assert cb.number in html and "Mr. Gao" in html and cb.receipt_sha256 in html
        assert len(cb.photos) == 1
        # The visit page shows the receipt; the form now leads to it.
        assert cb.number in client.get(f"/t/visits/{visit.id}").get_data(as_text=True)
        assert client.get(f"/t/visits/{visit.id}/carry-back").headers["Location"].endswith(f"/t/carry-backs/{cb.id}")
        kinds = db.session.scalars(select(CarryBackEvent.kind)).all()
        assert kinds == ["status", "note"]
    finally:
        app.config["WTF_CSRF_ENABLED"] = csrf_before


def test_receipt_page_in_chinese_and_other_technician_404(login, client, api, dispatcher, technician):
    tech, visit, _ = _on_site(api, dispatcher, technician)
    cb_id = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json=RECEIPT).json["id"]
    login(make_user("technician", username="cb-page-other"))
    assert client.get(f"/t/carry-backs/{cb_id}").status_code == 404
    login(technician)
    html = client.get(f"/t/carry-backs/{cb_id}", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "客户商品领取收据" in html
