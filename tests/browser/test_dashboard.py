"""The manager opens the dashboard in a real browser and sees the charts (server-drawn SVG), the alerts and
the technicians; the Reports menu item leads there. Screenshots in English and Chinese for people to look at."""

from __future__ import annotations

from tests.dispatch.test_reports import WEEK, week  # noqa: F401  (the seeded week, with its known answers)


def test_manager_sees_the_dashboard_with_charts(page, browser, live_server, browser_login, shot, manager, week):  # noqa: F811
    browser_login(page, manager)
    page.goto("/")
    page.get_by_role("link", name="Reports").first.click()
    page.wait_for_load_state("networkidle")
    assert page.url.split("?")[0].endswith("/reports/")

    page.goto(f"/reports/?from={WEEK['from']}&to={WEEK['to']}")
    charts = page.locator(".charts figure svg")
    assert charts.count() == 7
    assert all(charts.nth(i).bounding_box()["height"] > 100 for i in range(7))  # drawn, not empty boxes
    assert page.locator(".charts svg text", has_text="Calls per day by channel").count() == 1
    assert page.locator("[data-alert]").count() == 3
    assert page.locator('[data-kpi="closure_rate"] strong').inner_text() == "60%"
    assert "Alice" in page.locator("#technicians").inner_text()
    shot(page, "reports-1366-dashboard-en")

    zh = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pg = zh.new_page()
    browser_login(pg, manager)
    pg.goto(f"/reports/?from={WEEK['from']}&to={WEEK['to']}")
    assert pg.locator(".charts figure svg").count() == 7
    shot(pg, "reports-1366-dashboard-zh")
    zh.close()
