"""Finance in a real browser: reconciles a technician's on-site payment, sets new prices, adds and
archives a part — at desk width and on a phone."""

from __future__ import annotations

from billing.models import Part
from billing.services import charges as billing_charges
from billing.services import payments as billing_payments
from dispatch.core.extensions import db
from tests.billing.helpers import book, call_of, catalogue, set_prices
from tests.browser.conftest import PHONE


def test_finance_reconciles_sets_prices_and_keeps_the_catalogue(page, phone, finance, dispatcher, technician,
                                                               browser_login, shot):
    set_prices(finance)
    catalogue(finance)
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=45, parts=[("CAP-45-5", 2)])
    payment = billing_payments.record_onsite_payment(technician, call, visit, amount="150.00", method="cash")
    db.session.commit()

    browser_login(page, finance)
    page.get_by_role("link", name="Billing").first.click()
    page.wait_for_url("**/billing/")
    row = page.locator(f"#payment-{payment.id}")
    assert payment.receipt_number in row.inner_text() and "Tom Technician" in row.inner_text()
    shot(page, "billing-payments-1366")
    row.get_by_role("link", name=call.number).click()
    page.get_by_text("Total due", exact=True).wait_for()
    assert "Run capacitor" in page.locator(".charges").inner_text()
    shot(page, "billing-call-charges-1366")
    page.go_back()
    row.get_by_role("button", name="Mark reconciled").click()
    page.get_by_text(f"Receipt {payment.receipt_number} reconciled.").wait_for()
    db.session.commit()  # a new transaction sees what the server committed
    assert billing_charges.call_payments(call)[0].reconciled_by_id == finance.id

    page.get_by_role("link", name="Prices").click()
    page.locator("#call_out_fee").fill("88.00")
    page.locator("#tax_percent").fill("9")
    page.get_by_role("button", name="Save new prices").click()
    page.get_by_text("New prices saved").wait_for()
    assert page.locator("dl.facts").inner_text().count("88.00") == 1
    shot(page, "billing-prices-1366")

    # on a phone: add a part, then archive it
    browser_login(phone, finance)
    phone.goto("/billing/parts/new")
    phone.locator("#sku").fill("UPS-BAT-12V9")
    phone.locator("#name").fill("UPS battery 12 V 9 Ah")
    phone.locator("#unit_price").fill("285")
    phone.locator("#unit_cost").fill("165")
    shot(phone, "billing-part-form-390")
    phone.get_by_role("button", name="Save").click()
    phone.get_by_text("Part UPS-BAT-12V9 added.").wait_for()
    db.session.commit()
    part = db.session.query(Part).filter_by(sku="UPS-BAT-12V9").one()
    phone.goto("/billing/parts")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")  # no sideways scrolling
    shot(phone, "billing-parts-390")
    phone.locator(f"#part-{part.id}").get_by_role("button", name="Archive").click()
    phone.get_by_text("no longer offered").wait_for()
    db.session.commit()  # a new transaction sees what the server committed
    assert db.session.get(Part, part.id).archived_at is not None
    phone.goto(f"/billing/calls/{call.id}")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "billing-call-charges-390")
    phone.goto("/billing/?show=all")
    assert phone.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    shot(phone, "billing-payments-390")


def _overflowing(pg) -> list[str]:
    """Boxes whose text runs out of them (CJK in buttons, badges, cells, tabs), and sideways scrolling."""
    return pg.evaluate("""() => {
        const out = [];
        if (document.documentElement.scrollWidth > window.innerWidth) out.push('page scrolls sideways');
        for (const el of document.querySelectorAll('main button, main .button, main .badge, main .tabs a, main th, main td, main dt, main dd, main label, main h1, main h2')) {
            if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflow !== 'visible') out.push(el.outerHTML.slice(0, 80));
            const r = el.getBoundingClientRect();
            if (r.right > window.innerWidth + 1) out.push('off screen: ' + el.outerHTML.slice(0, 80));
        }
        return out;
    }""")


def test_finance_pages_in_chinese_at_desk_and_phone_width(browser, live_server, finance, dispatcher, technician,
                                                          browser_login, shot):
    """The same pages with a Chinese browser: Chinese words, ¥ amounts, nothing overflowing at 1366 or 390."""
    set_prices(finance)
    catalogue(finance)
    call = call_of("contract", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=45, parts=[("CAP-45-5", 2)])
    charged = call_of("charged", dispatcher)
    other = book(dispatcher, charged, technician, hours_from_now=3)
    billing_charges.record_work(technician, charged, other, labor_minutes=30, parts=[("FLT-1620", 1)])
    payment = billing_payments.record_onsite_payment(technician, charged, other, amount="100.00", method="cash")
    db.session.commit()

    for name, options in (("1366", {"viewport": {"width": 1366, "height": 900}}), ("390", PHONE)):
        context = browser.new_context(base_url=live_server, locale="zh-CN", **options)
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        try:
            browser_login(pg, finance)
            pg.goto("/billing/")
            assert pg.locator("html").get_attribute("lang") == "zh-CN"
            row = pg.locator(f"#payment-{payment.id}")
            assert "现金" in row.inner_text() and "¥100.00" in row.inner_text()
            assert row.get_by_role("button", name="标记为已对账").is_visible()
            assert _overflowing(pg) == []
            shot(pg, f"billing-zh-payments-{name}")
            pg.goto(f"/billing/calls/{call.id}")
            charges = pg.locator(".charges").inner_text()
            assert "合同服务：合同 MC-0042 包含上门费和工时费，配件另行收费" in charges and "应付合计" in charges
            assert _overflowing(pg) == []
            shot(pg, f"billing-zh-call-charges-{name}")
            pg.goto(f"/billing/calls/{charged.id}")
            assert "收费服务" in pg.locator(".charges").inner_text() and _overflowing(pg) == []
            shot(pg, f"billing-zh-charged-call-{name}")
            pg.goto("/billing/prices")
            pg.locator("#tax_percent").fill("150")
            pg.get_by_role("button", name="保存新价格").click()
            pg.get_by_text("价格无法保存").wait_for()
            assert _overflowing(pg) == []
            shot(pg, f"billing-zh-prices-{name}")
            pg.goto("/billing/parts")
            assert "配件目录" in pg.locator("main").inner_text() and _overflowing(pg) == []
            shot(pg, f"billing-zh-parts-{name}")
            pg.goto("/billing/parts/new")
            pg.get_by_role("button", name="保存").click()
            assert _overflowing(pg) == []
            shot(pg, f"billing-zh-part-form-{name}")
        finally:
            context.close()
