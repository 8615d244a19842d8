"""A whole visit on the technician's phone (390 x 844, touch), through the real pages and the outbox:
log in, Today, the visit, On my way, Arrived, parts from the catalogue, Complete, payment, the
customer's signature drawn on the pad, and the signed slip PDF read back.

Screenshots of each step go to test-artifacts/; with DISPATCH_DOCS_SCREENSHOTS=1 also to docs/ for the
README (kept out of ordinary runs so a test run does not rewrite tracked files).
"""

from __future__ import annotations

import io
import os
import re
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from billing.services import charges as billing_charges
from billing.services import parts as billing_parts
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, IdempotentRequest
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.models import Visit
from dispatch.scheduling.booking import book_visit
from technicians.models import Signature, WorkRecord
from tests.factories import make_call, make_customer, make_equipment, make_site

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
ARTIFACTS = ROOT / "test-artifacts"


def snap(pg: Any, name: str) -> None:
    """The phone's screen as the technician sees it (390 x 844 CSS pixels)."""
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), scale="css")
    if os.environ.get("DISPATCH_DOCS_SCREENSHOTS") == "1":
        DOCS.mkdir(exist_ok=True)
        pg.screenshot(path=str(DOCS / f"{name}.png"), scale="css")


def visit_today(dispatcher: Any, technician: Any, *, customer_name: str, contact: str,
                warranty: bool = False) -> int:
    """A charged (or free) call with a visit booked for the technician today; returns the visit id."""
    customer = make_customer(dispatcher, name=customer_name, contact_name=contact)
    site = make_site(customer, address="88 Century Avenue, Pudong, Shanghai")
    warranty_until = (utcnow() + timedelta(days=200)).date() if warranty else None
    equipment = make_equipment(customer, site, model="Daikin VRV IV", warranty_until=warranty_until)
    call = make_call(dispatcher, customer=customer, site=site, equipment=equipment, problem_type="not cooling")
    # Start a few minutes ago but never before today's local midnight, so it is on Today whenever the test runs.
    midnight = datetime.combine(utcnow().astimezone(local_tz()).date(), time.min, tzinfo=local_tz())
    start = max(utcnow() - timedelta(minutes=5), midnight + timedelta(minutes=1)).replace(second=0, microsecond=0)
    visit = book_visit(dispatcher, call, technician, start, start + timedelta(hours=1))
    db.session.commit()
    return visit.id


def draw_signature(pg: Any, selector: str) -> None:
    """A finger stroke over the pad (touch events through the DevTools protocol), then a second with the mouse.

    Chromium's emulated touch sometimes takes the next tap after such a drag as part of the gesture and
    fires no click, so the tests press the submit button after a signature with click(), not tap()."""
    box = pg.locator(selector).bounding_box()
    assert box and box["width"] > 200, f"the signature pad is too small to sign on: {box}"
    x0, y0, w, h = box["x"], box["y"], box["width"], box["height"]
    points = [(x0 + w * (0.1 + 0.8 * i / 20), y0 + h * (0.5 + 0.3 * ((-1) ** i) * (i % 5) / 5)) for i in range(21)]
    cdp = pg.context.new_cdp_session(pg)
    cdp.send("Input.dispatchTouchEvent", {"type": "touchStart", "touchPoints": [{"x": points[0][0], "y": points[0][1]}]})
    for x, y in points[1:]:
        cdp.send("Input.dispatchTouchEvent", {"type": "touchMove", "touchPoints": [{"x": x, "y": y}]})
    cdp.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
    cdp.detach()
    pg.mouse.move(x0 + w * 0.2, y0 + h * 0.8)
    pg.mouse.down()
    pg.mouse.move(x0 + w * 0.5, y0 + h * 0.25, steps=8)
    pg.mouse.move(x0 + w * 0.8, y0 + h * 0.75, steps=8)
    pg.mouse.up()


def tap_and_reload(pg: Any, locator: Any) -> None:
    """Tap a button of an outbox form: it is sent as JSON, then the page reloads with the fresh state."""
    with pg.expect_navigation():
        locator.tap()
    pg.wait_for_load_state("load")


def test_technician_walks_a_whole_visit_on_the_phone(phone, technician, dispatcher, finance, browser_login):
    pg = phone
    billing_parts.create_part(finance, sku="FLT-20", name="Air filter 20 inch", unit_price="45.00", unit_cost="20.00")
    billing_parts.create_part(finance, sku="CAP-35", name="Run capacitor 35 uF", unit_price="88.50")
    db.session.commit()
    visit_id = visit_today(dispatcher, technician, customer_name="Golden Dragon Restaurant", contact="Ms Zhou")

    # Log in through the form: a technician lands on Today, the visit on top with address and phone links.
    browser_login(pg, technician)
    assert pg.url.endswith("/t/")
    card = pg.locator(f'[data-visit-id="{visit_id}"]')
    assert card.locator("text=Golden Dragon Restaurant").is_visible()
    assert card.locator('a[href^="tel:"]').count() == 1
    assert "88 Century Avenue" in card.inner_text()
    assert pg.evaluate("document.documentElement.scrollWidth") <= 390, "Today scrolls sideways"
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)  # the service worker controls the page
    snap(pg, "phone-01-today")

    # The visit: On my way, then Arrived (each a form the outbox sends as JSON with an Idempotency-Key).
    with pg.expect_navigation():
        card.locator("a", has_text="Open visit").tap()
    assert pg.locator("h1").inner_text() == "Golden Dragon Restaurant"
    snap(pg, "phone-02-visit")
    tap_and_reload(pg, pg.locator("button", has_text="On my way"))
    assert pg.locator(".visit-head .badge").first.inner_text() == "On the way"
    tap_and_reload(pg, pg.locator("button", has_text="Arrived"))
    assert pg.locator(".visit-head .badge").first.inner_text() == "On site"
    snap(pg, "phone-03-arrived")

    # The work: summary, labor (prefilled from arrival), parts found in the catalogue, outcome.
    form = pg.locator("form.complete-form")
    labor = form.locator("input[name=labor_minutes]")
    assert labor.input_value().isdigit()
    labor.fill("50")
    search = pg.locator("#part-q")
    search.fill("capacitor")
    pg.locator(".part-results button", has_text="CAP-35").first.tap()
    assert form.locator("input[name='parts-0-sku']").input_value() == "CAP-35"
    search.fill("FLT")
    pg.locator(".part-results button", has_text="FLT-20").first.tap()
    assert form.locator("input[name='parts-1-sku']").input_value() == "FLT-20"
    form.locator("input[name='parts-1-quantity']").fill("2")
    form.locator("input[name=outcome][value=fixed]").check()

    # Sent without a summary: the server's 422 shows in the panel, and the page keeps what was typed.
    form.locator("button[type=submit]").tap()
    panel = pg.locator("#outbox-conflicts")
    expect(panel).to_contain_text("What was done: required")  # the field as the form names it, not its code
    expect(form.locator("button[type=submit]")).to_be_enabled()
    assert form.locator("input[name='parts-1-sku']").input_value() == "FLT-20" and labor.input_value() == "50"
    panel.locator("button", has_text="Dismiss").tap()
    expect(panel).to_have_count(0)
    form.locator("textarea[name=work_summary]").fill("Cleaned the condenser, replaced the filter and the capacitor.")
    form.locator("textarea[name=work_summary]").scroll_into_view_if_needed()
    snap(pg, "phone-04-work")
    tap_and_reload(pg, form.locator("button[type=submit]"))
    assert pg.locator(".visit-head .badge").first.inner_text() == "Completed"

    # Charged work: call-out + 50 min labor + parts; what is due shows, and the payment takes it.
    charges = pg.locator("#charges").inner_text()
    assert "CAP-35" in charges and "FLT-20" in charges
    db.session.rollback()  # a fresh snapshot: the server committed since this session last read
    due = billing_charges.charges_for_call(db.session.get(Visit, visit_id).call).total_due
    assert due > 0 and f"{due:,.2f}" in charges
    pay = pg.locator("form.payment-form")
    assert pay.locator("input[name=amount]").input_value() == f"{due:.2f}"
    pay.locator("input[name=method][value=card]").check()
    pay.scroll_into_view_if_needed()
    tap_and_reload(pg, pay.locator("button[type=submit]"))
    receipt = pg.locator(".receipt-number").first.inner_text()
    assert re.fullmatch(r"RC-\d{4}-\d{6}", receipt)
    assert f"receipt {receipt}" in pg.locator(".outbox-notice").inner_text()
    pg.locator("#payment").scroll_into_view_if_needed()
    snap(pg, "phone-05-payment")

    # The customer signs with a finger on the pad; the technician confirms; the record is sealed.
    with pg.expect_navigation():
        pg.locator("#sign-off a", has_text="Customer sign-off").tap()
    pg.locator("input[name=signer_name]").fill("Zhou Min")
    pad = "canvas.signature-pad"
    pg.locator(pad).scroll_into_view_if_needed()
    draw_signature(pg, pad)
    pg.locator("input[name=technician_confirmed]").check()
    snap(pg, "phone-06-sign")
    with pg.expect_navigation(url=re.compile(rf"/t/visits/{visit_id}$")):
        pg.locator("button", has_text="Sign and seal").click()  # see draw_signature
    pg.wait_for_load_state("load")
    assert pg.locator(".signer").inner_text() == "Zhou Min"
    shown_hash = pg.locator(".hash code").inner_text()
    assert "read-only" in pg.locator("#work").inner_text().lower()
    pg.locator("#sign-off").scroll_into_view_if_needed()
    snap(pg, "phone-07-signed")

    # The server holds exactly what happened: one record, one signature with a drawn (not blank) PNG.
    db.session.rollback()
    sig = db.session.scalars(select(Signature).where(Signature.visit_id == visit_id)).one()
    assert sig.signer_name == "Zhou Min" and sig.content_sha256 == shown_hash
    assert sig.image_png.startswith(b"\x89PNG")
    from PIL import Image

    image = Image.open(io.BytesIO(sig.image_png)).convert("RGBA")
    assert image.getbbox() is not None, "the signature image is blank"
    record = db.session.scalars(select(WorkRecord).where(WorkRecord.visit_id == visit_id)).one()
    assert record.labor_minutes == 50 and record.sealed_at is not None
    # Each of the five actions went through the API once, each with its own Idempotency-Key.
    keys = db.session.scalars(select(IdempotentRequest).where(IdempotentRequest.user_id == technician.id)).all()
    assert sorted(k.path.rsplit("/", 1)[1] for k in keys) == ["arrive", "complete", "on-my-way", "payments",
                                                                 "signature"]
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "visit.signed")) == 1

    # The signed slip PDF, fetched with the phone's session, shows the signer and the content hash.
    response = pg.request.get(f"/api/v1/visits/{visit_id}/slip.pdf")
    assert response.status == 200 and response.headers["content-type"].startswith("application/pdf")
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(response.body()))
    # The signature drawn on the phone is printed on it (an image of the same pixel size).
    assert image.size in [i.image.size for page in reader.pages for i in page.images]
    text = "".join(page.extract_text() or "" for page in reader.pages)
    flat = re.sub(r"\s+", "", text)
    assert "Zhou Min" in text or "ZhouMin" in flat
    assert sig.content_sha256 in flat


def test_technician_walks_a_visit_in_chinese_also_offline(browser, live_server, technician, dispatcher, finance,
                                                          browser_login):
    """The same phone in Chinese (the browser says zh-CN): labels, badges, the outbox and its panel, the
    sign-off drawn with no signal, in the users' words; no button wider than the screen."""
    from flask_babel import force_locale, gettext

    from dispatch.core.i18n import label
    from tests.browser.conftest import PHONE

    def zh(text: str, **values: Any) -> str:
        with force_locale("zh_CN"):
            return gettext(text, **values)

    def zh_status(value: str) -> str:
        with force_locale("zh_CN"):
            return label(value, "visit_status")

    def fits(pg: Any) -> None:
        assert pg.evaluate("document.documentElement.scrollWidth") <= 390, "the page scrolls sideways"
        wide = pg.evaluate("""Array.from(document.querySelectorAll('button, a.button'))
            .filter(b => b.offsetParent && (b.scrollWidth > b.clientWidth + 1 || b.getBoundingClientRect().right > 391))
            .map(b => b.textContent.trim())""")
        assert not wide, f"buttons overflow: {wide}"

    assert zh("Customer sign-off") == "客户签字"  # the catalogue speaks Chinese
    billing_parts.create_part(finance, sku="CAP-35", name="Run capacitor 35 uF", unit_price="88.50")
    db.session.commit()
    visit_id = visit_today(dispatcher, technician, customer_name="金龙酒家", contact="周女士")
    context = browser.new_context(base_url=live_server, locale="zh-CN", **PHONE)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    try:
        browser_login(pg, technician)
        assert pg.url.endswith("/t/")
        assert pg.locator("html").get_attribute("lang") == "zh-CN"
        card = pg.locator(f'[data-visit-id="{visit_id}"]')
        expect(card.locator("a.button", has_text=zh("Open visit"))).to_be_visible()
        expect(pg.locator(".tabs")).to_contain_text(zh("Tomorrow"))
        pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
        fits(pg)
        snap(pg, "phone-zh-01-today")

        with pg.expect_navigation():
            card.locator("a", has_text=zh("Open visit")).tap()
        expect(pg.locator("#slip-h")).to_have_text(zh("The job"))
        fits(pg)
        snap(pg, "phone-zh-02-visit")
        tap_and_reload(pg, pg.locator("button", has_text=zh("On my way")))
        assert pg.locator(".visit-head .badge").first.inner_text() == zh_status("on_the_way")
        tap_and_reload(pg, pg.locator("button", has_text=zh("Arrived")))
        assert pg.locator(".visit-head .badge").first.inner_text() == zh_status("on_site")

        # A refusal in the panel speaks Chinese and names the field as the form does.
        form = pg.locator("form.complete-form")
        expect(form.locator("legend").first).to_have_text(zh("Parts used"))
        form.locator("button[type=submit]").tap()
        panel = pg.locator("#outbox-conflicts")
        expect(panel.locator("h2")).to_have_text(zh("These changes were not saved"))
        expect(panel).to_contain_text(zh("%(field)s: %(problem)s", field=zh("What was done"), problem=zh("required")))
        fits(pg)
        snap(pg, "phone-zh-03-refused")
        panel.locator("button", has_text=zh("Dismiss")).tap()
        expect(panel).to_have_count(0)

        # No signal: the completion with a part waits in the outbox, said in Chinese.
        context.set_offline(True)
        form.locator("textarea[name=work_summary]").fill("更换了启动电容，试机正常。")
        form.locator("input[name=labor_minutes]").fill("35")
        form.locator("input[name='parts-0-sku']").fill("CAP-35")
        form.locator("input[name=outcome][value=fixed]").check()
        form.locator("button[type=submit]").tap()
        waiting = zh("%(n)s change waiting", n=1)
        assert "项更改待发送" in waiting
        expect(pg.locator("#outbox-banner .outbox-count")).to_have_text(waiting)
        expect(form.locator("button[type=submit]")).to_contain_text("待发送")
        expect(pg.locator(".visit-head .badge").first).to_have_text(zh_status("completed"))
        fits(pg)
        snap(pg, "phone-zh-04-offline")

        # The customer signs on the sign-off page saved before the work was recorded, still with no signal.
        with pg.expect_navigation():
            pg.locator("#sign-off a", has_text=zh("Customer sign-off")).tap()
        assert "更换了启动电容" in pg.locator(".pwa-offline-record").inner_text()
        assert zh("Work done") in pg.locator(".pwa-offline-record").inner_text()
        pg.locator("input[name=signer_name]").fill("周敏")
        draw_signature(pg, "#pwa-signature-pad")
        pg.locator("input[name=technician_confirmed]").check()
        fits(pg)
        pg.locator("button", has_text=zh("Sign and seal")).click()  # see draw_signature
        expect(pg.locator("#outbox-banner .outbox-count")).to_have_text(zh("%(n)s changes waiting", n=2))
        snap(pg, "phone-zh-05-offline-signed")

        # Back online: both are sent, and the fresh page is Chinese too.
        context.set_offline(False)
        pg.wait_for_selector("html[data-outbox-count='0'][data-offline-ready='1']")
        pg.wait_for_selector(".signer")
        assert pg.locator(".signer").inner_text() == "周敏"
        expect(pg.locator("#work .sealed-note")).to_have_text(zh("Signed off: read-only."))
        pg.locator("#sign-off").scroll_into_view_if_needed()
        fits(pg)
        snap(pg, "phone-zh-06-signed")
    finally:
        context.close()

    db.session.rollback()
    record = db.session.scalars(select(WorkRecord).where(WorkRecord.visit_id == visit_id)).one()
    assert record.labor_minutes == 35 and record.sealed_at is not None
    assert db.session.scalars(select(Signature).where(Signature.visit_id == visit_id)).one().signer_name == "周敏"
