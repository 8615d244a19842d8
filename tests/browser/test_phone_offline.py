"""The technician's phone with no signal: pages saved by the service worker stay readable, actions wait
in the outbox ("2 changes waiting") and are sent once, in order, when the connection returns; a change
the office made meanwhile is shown to the technician, not lost."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from dispatch.core.database import write_transaction
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, IdempotentRequest
from dispatch.models import Visit
from dispatch.scheduling.booking import cancel_visit
from technicians.models import Signature, WorkRecord
from technicians.services import progress as onsite
from tests.browser.test_phone_visit import draw_signature, snap, visit_today

# The outbox is empty (data-outbox-count) on a page whose start-up finished (data-offline-ready).
SETTLED = "html[data-outbox-count='0'][data-offline-ready='1']"


def _saved_pages(pg: Any) -> list[str]:
    """The pages saved on the phone, in every language's cache (dispatch-pages-en, dispatch-pages-zh-CN)."""
    return pg.evaluate("""caches.keys().then(names => Promise.all(names.filter(n => n.startsWith('dispatch-pages-'))
        .map(n => caches.open(n).then(c => c.keys())))).then(lists => lists.flat().map(k => new URL(k.url).pathname))""")


def _count(model: Any, *where: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where)) or 0


def test_offline_arrival_completion_and_signature_reach_the_server_once(phone, technician, dispatcher, browser_login):
    pg, context = phone, phone.context
    visit_id = visit_today(dispatcher, technician, customer_name="Lakeside Dental Clinic", contact="Dr Qian")
    onsite.on_my_way(technician, db.session.get(Visit, visit_id))
    db.session.commit()

    browser_login(pg, technician)
    pg.goto(f"/t/visits/{visit_id}")
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
    saved = _saved_pages(pg)
    assert f"/t/visits/{visit_id}" in saved and f"/t/visits/{visit_id}/sign" in saved and "/t/" in saved

    # No signal: the visit page and Today still open, from the copy saved on the phone.
    context.set_offline(True)
    pg.reload()
    assert pg.locator("h1").inner_text() == "Lakeside Dental Clinic"
    pg.goto("/t/")
    assert pg.locator(f'[data-visit-id="{visit_id}"]').locator("text=Lakeside Dental Clinic").is_visible()
    pg.goto(f"/t/visits/{visit_id}")

    # Arrived with no signal: kept in the outbox, shown at once, and the work form is there to fill.
    pg.locator("button", has_text="Arrived").tap()
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("1 change waiting")
    expect(pg.locator(".visit-head .badge").first).to_have_text("On site")

    # Complete with no signal.
    form = pg.locator("form.complete-form")
    form.locator("textarea[name=work_summary]").fill("Replaced the compressor relay; tested for 20 minutes.")
    assert form.locator("input[name=labor_minutes]").input_value().isdigit()  # runs from the Arrived tap
    form.locator("input[name=labor_minutes]").fill("40")
    form.locator("input[name='parts-0-sku']").fill("")
    form.locator("input[name=outcome][value=fixed]").check()
    form.locator("button[type=submit]").tap()
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("2 changes waiting")
    expect(pg.locator(".visit-head .badge").first).to_have_text("Completed")

    # The customer signs with no signal, on the sign-off page saved before the work was recorded.
    with pg.expect_navigation():
        pg.locator("#sign-off a", has_text="Customer sign-off").tap()
    assert "Replaced the compressor relay" in pg.locator(".pwa-offline-record").inner_text()
    pg.locator("input[name=signer_name]").fill("Qian Lu")
    draw_signature(pg, "#pwa-signature-pad")
    pg.locator("input[name=technician_confirmed]").check()
    pg.locator("button", has_text="Sign and seal").click()  # see draw_signature
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("3 changes waiting")
    snap(pg, "phone-08-offline")
    pg.goto("/t/")  # Today, still with no signal, shows what waits
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("3 changes waiting")
    expect(pg.locator(f'[data-visit-id="{visit_id}"] .badge').first).to_have_text("Completed")

    # Back online, the first answer to the signature is lost on the way (the server got it): the phone
    # must send it again with the same Idempotency-Key, and the server must not sign twice.
    seen: list[str] = []

    def lose_first_answer(route: Any) -> None:
        seen.append(route.request.headers.get("idempotency-key", ""))
        if len(seen) == 1:
            route.fetch()
            route.abort("internetdisconnected")
        else:
            route.continue_()

    context.route(re.compile(rf".*/api/v1/visits/{visit_id}/signature$"), lose_first_answer)
    context.set_offline(False)
    pg.wait_for_selector(SETTLED)  # the outbox is empty and the fresh visit page loaded
    pg.wait_for_selector(".signer")
    assert pg.url.endswith(f"/t/visits/{visit_id}") and pg.locator(".signer").inner_text() == "Qian Lu"
    assert len(seen) == 2 and seen[0] == seen[1] and seen[0]

    db.session.rollback()
    assert _count(WorkRecord, WorkRecord.visit_id == visit_id) == 1
    assert _count(Signature, Signature.visit_id == visit_id) == 1
    assert _count(AuditEvent, AuditEvent.action == "visit.arrived") == 1
    assert _count(AuditEvent, AuditEvent.action == "work.recorded") == 1
    assert _count(AuditEvent, AuditEvent.action == "work.corrected") == 0
    assert _count(AuditEvent, AuditEvent.action == "visit.signed") == 1
    stored = db.session.scalars(select(IdempotentRequest).where(IdempotentRequest.user_id == technician.id)).all()
    assert sorted(r.path for r in stored) == [f"/api/v1/visits/{visit_id}/{action}"
                                              for action in ("arrive", "complete", "signature")]
    assert {r.key for r in stored if r.path.endswith("/signature")} == {seen[0]}
    record = db.session.scalars(select(WorkRecord).where(WorkRecord.visit_id == visit_id)).one()
    assert record.labor_minutes == 40 and record.sealed_at is not None
    assert db.session.get(Visit, visit_id).status == "completed"


def test_a_visit_cancelled_while_the_phone_is_offline_is_shown_as_a_conflict(phone, technician, dispatcher,
                                                                              browser_login, client):
    pg, context = phone, phone.context
    visit_id = visit_today(dispatcher, technician, customer_name="Harbour View Hotel", contact="Mr Sun")

    browser_login(pg, technician)
    pg.goto(f"/t/visits/{visit_id}")
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
    context.set_offline(True)
    pg.locator("button", has_text="On my way").tap()
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("1 change waiting")
    expect(pg.locator(".visit-head .badge").first).to_have_text("On the way")

    # Meanwhile the dispatcher cancels the visit at the desk (a write taking SQLite's write lock first, as the
    # app's own writes do, while the live server may be writing a session's last use).
    db.session.rollback()
    with write_transaction():
        cancel_visit(dispatcher, db.session.get(Visit, visit_id), "Customer closed the kitchen today")
        db.session.commit()

    context.set_offline(False)
    pg.wait_for_selector(SETTLED)
    panel = pg.locator("#outbox-conflicts")
    text = panel.inner_text()
    assert "On my way: not saved" in text and "cancelled" in text and "Customer closed the kitchen today" in text
    snap(pg, "phone-09-conflict")

    # The refusal stays on the phone (across reloads) until the technician dismisses it.
    pg.reload()
    assert "Customer closed the kitchen today" in pg.locator("#outbox-conflicts").inner_text()
    expect(pg.locator(".visit-head .badge").first).to_have_text("Cancelled")
    pg.locator("#outbox-conflicts button", has_text="Dismiss").tap()
    pg.wait_for_selector("#outbox-conflicts", state="detached")
    pg.reload()
    assert pg.locator("#outbox-conflicts").count() == 0

    db.session.rollback()
    assert db.session.get(Visit, visit_id).status == "cancelled"
    assert _count(AuditEvent, AuditEvent.action == "visit.on_my_way") == 0
    assert _count(IdempotentRequest, IdempotentRequest.user_id == technician.id) == 0

    # Logging out empties the pages saved on the phone: the next person sees none of them.
    assert _saved_pages(pg)
    with pg.expect_navigation(url=re.compile(r"/login")):
        pg.locator("form.logout").evaluate("form => form.requestSubmit()")
    assert not [n for n in pg.evaluate("caches.keys()") if n.startswith("dispatch-pages")]

    # The worker and the manifest hold no data: served to anyone, the worker allowed the /t/ scope.
    worker = client.get("/t/sw.js")
    assert worker.status_code == 200 and worker.mimetype == "text/javascript"
    assert worker.headers["Service-Worker-Allowed"] == "/t/" and b"__VERSION__" not in worker.data
    manifest = client.get("/t/manifest.webmanifest").get_json(force=True)
    assert manifest["start_url"] == "/t/" and manifest["display"] == "standalone"
    assert {icon["sizes"] for icon in manifest["icons"]} == {"192x192", "512x512"}
    assert all(client.get(icon["src"]).status_code == 200 for icon in manifest["icons"])
