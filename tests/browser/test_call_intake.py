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
    booking = page.locator("#clock-booking").inner_text()
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


def test_dispatcher_takes_a_call_in_chinese(browser, live_server, dispatcher, technician, browser_login, shot):
    """The browser says zh-CN: the intake reads Chinese, with the users' own words (新建报修, 收费服务 / 免费服务),
    and the call page shows the category, its reason and the booking deadline in Chinese."""
    hotel = make_customer(name="浦东大酒店", phone="021-5830 1234", contact_name="周女士")
    lobby = make_site(hotel, "上海市浦东新区世纪大道88号", 31.2366, 121.5020)
    warranty_end = local_today() + timedelta(days=200)
    make_equipment(hotel, lobby, model="Carrier 30XA", serial="CH-7781", warranty_until=warranty_end)
    make_equipment(hotel, lobby, model="Daikin FXSQ", serial="FC-0102", warranty_until=local_today() - timedelta(days=3))

    for viewport, width in (({"width": 1366, "height": 900}, 1366), ({"width": 390, "height": 844}, 390)):
        context = browser.new_context(base_url=live_server, locale="zh-CN", viewport=viewport)
        page = context.new_page()
        page.set_default_timeout(10_000)
        browser_login(page, dispatcher)
        if width == 390:
            page.locator("label.nav-button").click()  # the menu, folded on a phone
        page.get_by_role("link", name="新建报修").first.click()
        page.wait_for_url("**/calls/new")
        assert page.locator("html").get_attribute("lang") == "zh-CN"
        assert page.locator("h1").inner_text() == "新建报修"
        main = page.locator("main")
        for words in ("客户", "按名称或电话查找", "故障类型", "优先级", "需要上门服务", "保存报修"):
            assert words in main.inner_text(), words

        page.locator("#q").press_sequentially("浦东", delay=30)
        page.locator("#customer-results button", has_text="浦东大酒店").click()
        picked = page.locator("#picked")
        picked.locator(".customer-name", has_text="浦东大酒店").wait_for()
        # Each equipment choice shows what the call would be: free under warranty, charged once it has ended.
        assert "免费服务" in picked.get_by_label(re.compile("CH-7781")).locator("xpath=..").inner_text()
        charged = picked.locator("label.choice", has_text="FC-0102").inner_text()
        assert "收费服务" in charged and "保修已于" in charged
        assert picked.get_by_text(f"保修期至 {warranty_end.isoformat()}").first.is_visible()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        shot(page, f"intake-zh-{width}")

        picked.get_by_label(re.compile("CH-7781")).check()
        page.locator("#problem_type").fill("不制冷")
        page.locator("#priority").select_option("urgent")
        assert page.locator("#priority option:checked").inner_text() == "紧急"
        page.locator("#description").fill("大堂空调不制冷，温度很高。")
        page.locator("#save-call").click()
        page.wait_for_url(re.compile(r"/calls/\d+$"))

        number = page.locator(".call-number").inner_text()
        assert f"报修 {number} 已登记" in page.locator(".flash, [role=status]").first.inner_text()
        assert page.locator("#category .badge").first.inner_text() == "免费服务"
        assert page.locator(".category-reason").inner_text() == f"免费服务：保修期至 {warranty_end.isoformat()}"
        booking = page.locator("#clock-booking").inner_text()
        assert re.search(r"周[一二三四五六日] \d{4}-\d\d-\d\d \d\d:\d\d · 剩余 \d+ 小时 \d\d 分钟", booking), booking
        facts = page.locator("main").inner_text()
        for words in ("预约上门时限", "首次响应时限", "解决时限", "紧急", "待派工", "沟通记录"):
            assert words in facts, words
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        page.wait_for_load_state("networkidle")
        shot(page, f"call-page-zh-{width}")
        context.close()


def test_equipment_choice_drives_the_category_line_and_the_call_can_be_corrected(
        browser, live_server, dispatcher, browser_login, shot):
    """Two pieces of equipment at the site: none is picked for the dispatcher, the category line follows the
    pick; the saved call reads every clock as due / met or left, and offers "Edit call" and "Cancel call"."""
    hotel = make_customer(name="浦东大酒店", phone="021-5830 1234", contact_name="周女士")
    lobby = make_site(hotel, "上海市浦东新区世纪大道88号", 31.2366, 121.5020)
    warranty_end = local_today() + timedelta(days=200)
    make_equipment(hotel, lobby, model="Carrier 30XA", serial="CH-7781", warranty_until=warranty_end)
    make_equipment(hotel, lobby, model="Daikin FXSQ", serial="FC-0102", warranty_until=local_today() - timedelta(days=3))
    for locale, words in (("zh-CN", ("免费服务", "收费服务")),
                          ("en", ("Free service", "Charged service", "Edit call", "Cancel call", "due"))):
        context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(10_000)
        browser_login(page, dispatcher)
        page.goto(f"/calls/new?customer_id={hotel.id}")
        assert page.locator("input[name=equipment_id]:checked").count() == 0
        preview = page.locator("#category-preview")
        page.locator("label.choice", has_text="CH-7781").click()
        assert words[0] in preview.inner_text()
        page.locator("label.choice", has_text="FC-0102").click()
        assert words[1] in preview.inner_text()
        shot(page, f"intake-equipment-{locale}-1366")
        page.locator("#problem_type").fill("noise")
        page.locator("#description").fill("Rattles")
        page.locator("#save-call").click()
        page.wait_for_url(re.compile(r"/calls/\d+$"))
        main = page.locator("main").inner_text()
        for word in words[2:]:
            assert word in main, word
        assert page.locator("#clock-booking .deadline").count() == 1
        assert page.locator("#edit-call").count() == 1 and page.locator("#cancel button").count() == 1
        shot(page, f"call-clocks-{locale}-1366")
        context.close()
