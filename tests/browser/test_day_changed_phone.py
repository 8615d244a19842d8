"""'Your day changed' on a real phone screen (390 x 844, touch): the dispatcher moves one of the technician's
visits and gives another to a colleague; the technician sees both in the notice at the top of Today, with
the new time and the arrival window promised to the customer, taps OK, and the notice is gone for good.
A screenshot goes to /tmp/windows-phone.png (and test-artifacts/) for a person to look at."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.sync_api import expect

from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.timeutil import local_today
from dispatch.scheduling import booking
from dispatch.services.users import set_working_hours
from tests.browser.test_phone_visit import snap
from tests.factories import make_call, make_customer, make_site, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")


def tomorrow(hour: int, minute: int = 0) -> datetime:
    day = local_today() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def _visit(dispatcher: Any, tech: Any, hour: int, customer: str) -> Any:
    c = make_customer(dispatcher, name=customer, contact_name="Ms Lin")
    call = make_call(dispatcher, customer=c, site=make_site(c, address="88 Century Avenue, Pudong, Shanghai"))
    return booking.book_visit(dispatcher, call, tech, tomorrow(hour), tomorrow(hour + 1), override_reason="customer asked")


def test_the_technician_sees_their_day_changed_and_says_ok(phone: Any, technician: Any, dispatcher: Any,
                                                           browser_login: Any) -> None:
    colleague = make_user("technician", username="otto", name="Otto Other", skills=["hvac"])
    for t in (technician, colleague):
        set_working_hours(t, [(d, time(7), time(20)) for d in range(7)])
    moved = _visit(dispatcher, technician, 9, "Harbour View Hotel")
    handed = _visit(dispatcher, technician, 14, "Lotus Tea House")
    db.session.commit()
    booking.reschedule_visit(dispatcher, moved, start=tomorrow(10, 30), override_reason="customer asked",
                             reason="the customer is out until 10")
    booking.reschedule_visit(dispatcher, handed, technician=colleague, reason="Otto is nearer")
    db.session.commit()

    pg = phone
    browser_login(pg, technician)
    pg.goto("/t/")
    notice = pg.locator("#day-changed")
    expect(notice).to_be_visible()
    expect(notice.locator("h2")).to_have_text("Your day changed")
    rows = notice.locator("li.day-change")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Moved")
    expect(rows.nth(0)).to_contain_text("Harbour View Hotel")
    expect(rows.nth(0)).to_contain_text("10:30–11:30")
    expect(rows.nth(0)).to_contain_text("arrival window 10:00–12:00")  # promised again: outside 08:30-10:30
    expect(rows.nth(1)).to_contain_text("Taken off your day")
    expect(rows.nth(1)).to_contain_text("Lotus Tea House")
    ok = notice.locator("button#day-changed-ok")
    expect(ok).to_be_visible()
    box = ok.bounding_box()
    assert box is not None and box["width"] >= 300 and box["height"] >= 40  # a thumb's target on a phone
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390  # no sideways scrolling
    snap(pg, "windows-phone")
    pg.screenshot(path="/tmp/windows-phone.png", scale="css")

    ok.tap()
    pg.wait_for_load_state("networkidle")
    expect(pg.locator("#day-changed")).to_have_count(0)
    pg.goto("/t/?day=tomorrow")
    expect(pg.locator("#day-changed")).to_have_count(0)
    card = pg.locator(f'article[data-visit-id="{moved.id}"]')
    expect(card).to_contain_text("Arrival window 10:00–12:00")
    expect(pg.locator(f'article[data-visit-id="{handed.id}"]')).to_have_count(0)
    db.session.rollback()
    assert db.session.get(User, technician.id).day_seen_at is not None
