"""A dispatcher sees where a site's address was understood to be and corrects it in a real browser."""

from __future__ import annotations

from dispatch.core.extensions import db
from dispatch.models import Site
from dispatch.services import sites as service
from tests.factories import make_customer


def test_dispatcher_sees_the_place_and_picks_the_right_one(page, dispatcher, browser_login, shot):
    customer = make_customer(name="西湖茶业有限公司", phone="0571-8888 1234")
    site = service.add_site(dispatcher, customer, address="杭州市鼓楼区文三路90号")  # no 鼓楼区 in Hangzhou
    db.session.commit()

    browser_login(page, dispatcher)
    page.goto(f"/customers/{customer.id}")
    sites = page.locator("#sites")
    sites.get_by_text("Zhejiang Hangzhou · 163 km from the service centre").wait_for()
    assert "to within the city" in sites.inner_text()
    shot(page, "site-customer-1366")

    sites.get_by_role("link", name="edit or correct the position").click()
    page.wait_for_url(f"**/sites/{site.id}/edit")
    candidates = page.locator("#candidates li")
    assert candidates.first.inner_text().startswith("Zhejiang Hangzhou")
    shot(page, "site-place-1366")
    candidates.filter(has_text="Jiangsu Nanjing Gulou District").get_by_role("button", name="Use this place").click()
    page.locator("#understood").get_by_text("Jiangsu Nanjing Gulou District · 273 km from the service centre").wait_for()
    assert "remote area" in page.locator("#understood").inner_text()
    shot(page, "site-placed-1366")
    db.session.rollback()  # end this side's read, to see what the server committed
    assert db.session.get(Site, site.id).place == "江苏省 南京市 鼓楼区"
