"""A carry-back on the technician's phone (390 x 844, touch): the outcome Carry-back opens the customer
product receipt form, a photo is taken (a PNG set on the camera input), the customer signs on the pad,
and the receipt number comes back; then the same with no signal, numbered when the phone is back online."""

from __future__ import annotations

import io
import re
from datetime import timedelta
from typing import Any

from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import IdempotentRequest
from dispatch.core.timeutil import local_today
from dispatch.models import RepairCall, Visit
from technicians.models import CarryBack
from technicians.services import progress as onsite
from tests.browser.test_phone_visit import draw_signature, snap, tap_and_reload, visit_today

SETTLED = "html[data-outbox-count='0'][data-offline-ready='1']"


def small_png(path: Any) -> Any:
    Image.new("RGB", (320, 240), (30, 140, 90)).save(path, "PNG")
    return path


def _fill_receipt(pg: Any, tmp_path: Any) -> None:
    form = pg.locator("form.carry-back-form")
    assert form.locator("input[name=serial_number]").input_value()  # prefilled from the call's equipment
    photo = form.locator("input[type=file][name=photos]")
    assert photo.get_attribute("capture") == "environment" and photo.get_attribute("accept") == "image/*"
    photo.set_input_files(str(small_png(tmp_path / "item.png")))
    expect(form.locator(".cb-thumbs img")).to_have_count(1)
    form.locator("textarea[name=accessories]").fill("remote control")
    form.locator("textarea[name=condition]").fill("front panel cracked at the corner")
    promised = (local_today() + timedelta(days=5)).isoformat()
    form.locator("input[name=promised_return_on]").fill(promised)
    pad = "form.carry-back-form canvas.signature-pad"
    pg.locator(pad).scroll_into_view_if_needed()
    draw_signature(pg, pad)
    form.locator("input[name=signer_name]").fill("Zhou Min")


def test_carry_back_with_photo_and_signature_on_the_phone(phone, technician, dispatcher, browser_login, tmp_path):
    pg = phone
    visit_id = visit_today(dispatcher, technician, customer_name="Golden Dragon Restaurant", contact="Ms Zhou")
    browser_login(pg, technician)
    pg.goto(f"/t/visits/{visit_id}")
    tap_and_reload(pg, pg.locator("button", has_text="Arrived"))

    # Completing with the outcome Carry-back goes on to the receipt form.
    form = pg.locator("form.complete-form")
    form.locator("textarea[name=work_summary]").fill("Compressor does not start; taking the unit to the workshop.")
    form.locator("input[name=labor_minutes]").fill("20")
    form.locator("input[name=outcome][value=carry_back]").check()
    with pg.expect_navigation(url=re.compile(rf"/t/visits/{visit_id}/carry-back$")):
        form.locator("button[type=submit]").tap()
    pg.wait_for_load_state("load")
    assert pg.locator("h1").inner_text() == "Customer product receipt"
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390, "the receipt form scrolls sideways"

    _fill_receipt(pg, tmp_path)
    snap(pg, "phone-carry-back-form")
    with pg.expect_navigation(url=re.compile(r"/t/carry-backs/\d+$")):
        pg.locator("button", has_text="Sign and issue the receipt").click()  # see draw_signature
    pg.wait_for_load_state("load")
    number = pg.locator("[data-receipt-number]").inner_text()
    assert re.fullmatch(r"CB-\d{4}-\d{6}", number)
    assert pg.locator(".signer").inner_text() == "Zhou Min"
    expect(pg.locator(".cb-thumbs img")).to_have_count(1)
    snap(pg, "phone-carry-back-receipt")

    db.session.rollback()
    cb = db.session.scalars(select(CarryBack).where(CarryBack.visit_id == visit_id)).one()
    assert cb.number == number and cb.condition == "front panel cracked at the corner"
    assert len(cb.photos) == 1 and (cb.photos[0].width, cb.photos[0].height) == (320, 240)
    signature = Image.open(io.BytesIO(cb.receipt_signature_png)).convert("RGBA")
    assert signature.getbbox() is not None, "the signature image is blank"
    assert db.session.get(RepairCall, cb.call_id).status == "carried_back"
    # The receipt went through the API in one request with its own Idempotency-Key.
    paths = db.session.scalars(select(IdempotentRequest.path).where(IdempotentRequest.user_id == technician.id)).all()
    assert f"/api/v1/visits/{visit_id}/carry-back" in paths

    # The receipt PDF opens with the phone's session.
    response = pg.request.get(f"/api/v1/carry-backs/{cb.id}/receipt.pdf")
    assert response.status == 200 and response.headers["content-type"] == "application/pdf"


def test_carry_back_with_no_signal_is_numbered_when_sent(phone, technician, dispatcher, browser_login, tmp_path):
    pg, context = phone, phone.context
    visit_id = visit_today(dispatcher, technician, customer_name="Lakeside Dental Clinic", contact="Dr Qian")
    onsite.arrive(technician, db.session.get(Visit, visit_id))
    db.session.commit()
    browser_login(pg, technician)
    pg.goto(f"/t/visits/{visit_id}")
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
    pg.goto(f"/t/visits/{visit_id}/carry-back")  # saved on the phone as it loads
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)

    context.set_offline(True)
    pg.reload()
    _fill_receipt(pg, tmp_path)
    pg.locator("button", has_text="Sign and issue the receipt").click()
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("1 change waiting")
    expect(pg.locator("[data-pending-number]")).to_be_visible()
    expect(pg.locator("[data-pending-number]")).to_contain_text("given when sent")
    snap(pg, "phone-carry-back-offline")
    db.session.rollback()
    assert db.session.scalars(select(CarryBack).where(CarryBack.visit_id == visit_id)).first() is None

    context.set_offline(False)
    pg.wait_for_url(re.compile(r"/t/carry-backs/\d+$"))
    pg.wait_for_selector(SETTLED)
    number = pg.locator("[data-receipt-number]").inner_text()
    assert re.fullmatch(r"CB-\d{4}-\d{6}", number)
    db.session.rollback()
    cb = db.session.scalars(select(CarryBack).where(CarryBack.visit_id == visit_id)).one()
    assert cb.number == number and cb.receipt_signer_name == "Zhou Min" and len(cb.photos) == 1
