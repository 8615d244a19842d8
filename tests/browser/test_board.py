"""A dispatcher books a waiting call from the board without leaving the page."""

from __future__ import annotations

from datetime import time

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_tz
from dispatch.scheduling import plans
from dispatch.services.users import set_working_hours
from tests.factories import make_call, make_customer, make_site


def test_dispatcher_books_from_the_queue_without_reload(page, browser_login, shot, dispatcher, technician):
    # the technician works around the clock (two spans a day) and lives next door to the customer
    set_working_hours(technician, [(d, s, e) for d in range(7)
                                   for s, e in ((time(0), time(12)), (time(12), time(0)))])
    db.session.commit()
    customer = make_customer(name="上海测试设备有限公司")
    site = make_site(customer, address="上海市浦东新区世纪大道100号", latitude=31.2304, longitude=121.4737)
    call = make_call(dispatcher, customer=customer, site=site, priority="urgent", required_skill="hvac",
                     problem_type="not cooling")
    waiting = make_call(dispatcher, priority="low", problem_type="noise")
    top = plans.suggestions_for_call(call, limit=1).items[0]
    day = top.start.astimezone(local_tz()).date().isoformat()

    browser_login(page, dispatcher)
    page.goto(f"/board?date={day}")
    page.evaluate("window.__boardMarker = 'still the same page'")
    queued = page.locator(f"#queue-call-{call.id}")
    assert queued.is_visible()
    assert page.locator(f"#queue-call-{waiting.id}").is_visible()
    assert page.locator(f"#lane-{technician.id} .visit").count() == 0
    deadline = queued.locator(".deadline")
    assert "left" in deadline.inner_text()
    shot(page, "board-1366-queue")

    queued.locator("a").click()
    panel = page.locator("#suggest-panel .suggestions")
    panel.wait_for()
    first = panel.locator(".suggestion").first
    assert technician.name in first.inner_text()
    assert "km" in first.inner_text()
    shot(page, "board-1366-suggestions")

    first.locator("button.book-button").click()
    page.locator("[data-booked-visit]").wait_for()
    assert "Booked VS-" in page.locator("#suggest-panel").inner_text()
    # the live part refreshes: the visit in the technician's lane, the call out of the queue
    page.locator(f"#lane-{technician.id} .visit").first.wait_for()
    page.locator(f"#queue-call-{call.id}").wait_for(state="detached")
    lane_text = page.locator(f"#lane-{technician.id}").inner_text()
    assert call.number in lane_text and top.start.astimezone(local_tz()).strftime("%H:%M") in lane_text
    assert page.locator(f"#queue-call-{waiting.id}").is_visible()
    assert page.evaluate("window.__boardMarker") == "still the same page"  # no full reload
    shot(page, "board-1366-booked")

    page.set_viewport_size({"width": 800, "height": 1100})
    shot(page, "board-800-tablet")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.set_viewport_size({"width": 390, "height": 844})
    shot(page, "board-390-phone")
    page.goto(f"/board?date={day}&view=week")
    assert call.number in page.locator(f"#week-{technician.id}").inner_text()
    page.set_viewport_size({"width": 1366, "height": 900})
    shot(page, "board-1366-week")
