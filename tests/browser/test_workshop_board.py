"""The workshop board at desktop width: a manager drags a carried-back item across the columns (and moves it
with the plain form), then the desk hands it back at a pick-up, signed on the desk's screen."""

from __future__ import annotations

from datetime import timedelta

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today
from technicians.models import CarryBack
from technicians.services import carry_back as carry_backs
from technicians.services import progress, work
from technicians.services import workshop as ws
from tests.billing.helpers import call_of
from tests.factories import make_user
from tests.technicians.helpers import today_visit


def _received_item(dispatcher, technician, *, item="Outdoor unit fan motor", days=5) -> CarryBack:
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    progress.arrive(technician, visit)
    work.complete(technician, visit, work_summary="Fan motor seizes when warm.", labor_minutes=30, parts=[],
                  outcome="carry_back")
    cb = carry_backs.take(technician, visit, carry_backs.ReceiptInput(
        item=item, model="Carrier 30XA", serial_number="FM-7781", accessories="bracket",
        condition="scratched casing", stated_fault="fan stops",
        promised_return_on=local_today() + timedelta(days=days)))
    ws.receive(dispatcher, cb)
    db.session.commit()
    return cb


def test_manager_moves_an_item_across_the_board_and_the_desk_hands_it_back(
        page, browser, live_server, browser_login, shot, dispatcher, technician, manager):
    cb = _received_item(dispatcher, technician)
    late = _received_item(dispatcher, make_user("technician", username="kai", name="Kai Tech"),
                          item="Control board")
    late.promised_return_on = local_today() - timedelta(days=2)  # promised two days ago: overdue
    db.session.commit()
    number = cb.number

    browser_login(page, manager)
    page.goto("/t/workshop")
    card = page.locator(f'.ws-card[data-receipt="{number}"]')
    assert card.is_visible()
    assert page.locator('.ws-column[data-status="received"]').locator(f'[data-receipt="{number}"]').count() == 1
    assert "overdue" in (page.locator(f'.ws-card[data-receipt="{late.number}"]').get_attribute("class") or "")
    shot(page, "workshop-1366-board-en")

    # Drag the card onto "Diagnosing": the page posts the move and comes back with the card there.
    with page.expect_navigation():
        card.drag_to(page.locator('.ws-column[data-status="diagnosing"]'))
    diagnosing = page.locator('.ws-column[data-status="diagnosing"]')
    assert diagnosing.locator(f'[data-receipt="{number}"]').count() == 1
    assert "is now: Diagnosing" in page.locator(".flash-success").inner_text()
    db.session.rollback()  # a fresh snapshot: the server committed in its own transaction
    assert db.session.get(CarryBack, cb.id).status == "diagnosing"

    # Without dragging: the card's own Move form.
    moved = page.locator(f'.ws-card[data-receipt="{number}"]')
    moved.locator("select[name=status]").select_option("repaired")
    with page.expect_navigation():
        moved.locator("button[type=submit]").click()
    assert page.locator('.ws-column[data-status="repaired"]').locator(f'[data-receipt="{number}"]').count() == 1
    shot(page, "workshop-1366-board-moved-en")

    # Search by serial or customer narrows the board.
    page.fill("#workshop-q", "Control board")
    with page.expect_navigation():
        page.press("#workshop-q", "Enter")
    assert page.locator(f'.ws-card[data-receipt="{number}"]').count() == 0
    assert page.locator(f'.ws-card[data-receipt="{late.number}"]').count() == 1

    # The item page, as the QR label opens it.
    page.goto(f"/t/workshop/{cb.id}")
    assert number in page.locator("h1").inner_text()
    assert "Repaired" in page.locator("#history").inner_text()
    shot(page, "workshop-1366-item-en")

    # The desk hands it back at a pick-up: the customer signs on the desk's screen.
    page.context.clear_cookies()
    browser_login(page, dispatcher)
    db.session.rollback()
    ws.move_promise(manager, db.session.get(CarryBack, cb.id), local_today() + timedelta(days=8),
                    "compressor part back-ordered")
    db.session.commit()
    page.goto(f"/calls/{cb.call_id}")
    panel = page.locator("#carry-back")
    assert number in panel.inner_text() and "Promised date moved: compressor part back-ordered" in panel.inner_text()
    shot(page, "workshop-1366-call-panel-en")
    page.goto(f"/t/workshop/{cb.id}/return")
    pad = page.locator("#signature-pad")
    box = pad.bounding_box()
    page.mouse.move(box["x"] + 30, box["y"] + 60)
    page.mouse.down()
    for i in range(1, 12):
        page.mouse.move(box["x"] + 30 + i * 25, box["y"] + 60 + (i % 3) * 25)
    page.mouse.up()
    page.fill("#signer-name", "Mr. Gao")
    shot(page, "workshop-1366-return-en")
    with page.expect_navigation():
        page.click("button.primary.wide")
    assert "returned to the customer" in page.locator(".flash-success").inner_text()
    db.session.rollback()  # a fresh snapshot: the server committed in its own transaction
    returned = db.session.get(CarryBack, cb.id)
    assert returned.status == "returned" and returned.return_method == "pickup" and returned.return_sha256
    assert returned.call.status == "completed"

    page.goto(f"/customers/{returned.call.customer_id}")
    service_file = page.locator("#service-file")
    service_file.locator(f'[data-receipt="{number}"] summary').click()  # a returned item's history is folded
    assert number in service_file.inner_text() and "Returned to the customer" in service_file.inner_text()
    shot(page, "workshop-1366-service-file-en")

    # The same board in Chinese.
    zh = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pg = zh.new_page()
    browser_login(pg, manager)
    pg.goto("/t/workshop")
    assert (pg.locator("html").get_attribute("lang") or "").startswith("zh")
    shot(pg, "workshop-1366-board-zh")
    pg.goto(f"/t/workshop/{cb.id}")
    shot(pg, "workshop-1366-item-zh")
    pg.context.clear_cookies()
    browser_login(pg, dispatcher)
    pg.goto(f"/calls/{late.call_id}")
    shot(pg, "workshop-1366-call-panel-zh")
    pg.goto(f"/customers/{returned.call.customer_id}")
    pg.locator(f'#service-file [data-receipt="{number}"] summary').click()
    shot(pg, "workshop-1366-service-file-zh")
    zh.close()
