"""A dispatcher takes a call in a real browser: finds the customer as they type, picks site and equipment,
describes the problem, saves, and sees the call number, the category with its reason and the deadline."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today, localtime_text
from dispatch.models import RepairCall
from tests.factories import make_customer, make_equipment, make_site


def test_dispatcher_logs_a_call_with_category_and_deadline(page, phone, dispatcher, technician, browser_login, shot):
    hotel = make_customer(name="Pudong Grand Hotel", phone="021-5830 1234", contact_name="Ms. Zhou")
    lobby = make_site(hotel, "88 Century Avenue, Pudong, Shanghai", 31.2366, 121.5020)
    warranty_end = local_today() + timedelta(days=200)
    make_equipment(hotel, lobby, model="Carrier 30XA", serial="CH-7781", warranty_until=warranty_end)
    make_equipment(hotel, lobby, model="Daikin FXSQ", serial="FC-0102", warranty_until=local_today() - timedelta(days=3))
    make_customer(name="Grandview Dental", phone="13611112222")

    browser_login(page, dispatcher)
    page.get_by_role("link", name="New call").first.click()
    page.wait_for_url("**/calls/new")
    assert page.evaluate("document.activeElement.id") == "q"  # ready to type at once

    # Type part of the name: the matches appear as you type, without a page load.
    page.locator("#q").press_sequentially("grand", delay=30)
    results = page.locator("#customer-results button")
    results.filter(has_text="Grandview Dental").wait_for()
    assert results.count() == 2
    shot(page, "intake-search-1366")
    results.filter(has_text="Pudong Grand Hotel").click()

    picked = page.locator("#picked")
    picked.locator(".customer-name", has_text="Pudong Grand Hotel").wait_for()
    assert page.locator("#customer-results button").count() == 0
    assert picked.get_by_text(f"under warranty until {warranty_end.isoformat()}").is_visible()

    # A site that can't be found on the map: the message stands on the address, and what was typed stays.
    picked.locator("summary", has_text="Add a site").click()
    picked.locator("#ns-address").fill("Nowhere street 1, Atlantis")
    picked.locator("#ns-address").press("Enter")
    picked.get_by_text("could not be geocoded").wait_for()
    assert picked.locator("#ns-address").input_value() == "Nowhere street 1, Atlantis"
    assert page.url.endswith("/calls/new")

    picked.get_by_label(re.compile("88 Century Avenue")).check()
    picked.get_by_label(re.compile("CH-7781")).check()
    page.locator("#problem_type").fill("not cooling")
    page.locator("#priority").select_option("high")
    page.locator("#description").fill("Chiller trips after ten minutes; lobby is warm. 大堂很热。")
    page.locator("#required_skill").fill("hvac")
    shot(page, "intake-filled-1366")
    page.locator("#save-call").click()

    page.wait_for_url(re.compile(r"/calls/\d+$"))
    db.session.rollback()  # end this test's read snapshot: the server committed the call
    call = db.session.scalar(select(RepairCall))
    assert call is not None and call.priority == "high" and call.equipment.serial_number == "CH-7781"
    assert re.fullmatch(r"SC-\d{4}-\d{6}", call.number)
    assert page.locator(".call-number").inner_text() == call.number
    reason = page.locator(".category-reason").inner_text()
    assert reason == f"free: under warranty until {warranty_end.isoformat()}"
    booking = page.locator("#booking-deadline").inner_text()
    assert localtime_text(call.booking_deadline) in booking and re.search(r"\d+ h \d\d min left", booking)
    page.wait_for_load_state("networkidle")  # the booking suggestions, where the board is installed
    shot(page, "call-page-1366")
    page.goto("/")
    assert call.number in page.locator("main").inner_text()
    shot(page, "desk-home-1366")
    page.goto(f"/customers/{hotel.id}")
    shot(page, "customer-page-1366")
    page.goto("/calls?status=open")
    assert call.number in page.locator("main").inner_text()
    shot(page, "calls-1366")

    # The same pages on a phone.
    browser_login(phone, dispatcher)
    phone.goto("/calls/new")
    phone.locator("#q").press_sequentially("pudong", delay=20)
    phone.locator("#customer-results button", has_text="Pudong Grand Hotel").wait_for()
    phone.locator("#q").press("Enter")  # keyboard: Enter takes the first match (and does not save the call)
    phone.locator("#picked .customer-name", has_text="Pudong Grand Hotel").wait_for()
    assert phone.evaluate("document.activeElement.id") == "problem_type"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "intake-390")
    phone.goto(f"/calls/{call.id}")
    assert phone.locator(".category-reason").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "call-page-390")
    phone.goto("/calls")
    assert phone.evaluate("document.documentElement.scrollWidth") <= 390
    shot(phone, "calls-390")
