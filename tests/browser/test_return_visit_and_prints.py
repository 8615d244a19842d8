"""In a real browser: the technician at a return visit is led to the customer's signature for the item (no work
record to complete), and the call page's Visits table prints a slip through the counting POST."""

from __future__ import annotations

from dispatch.core.extensions import db
from dispatch.models import RepairCall, Visit
from dispatch.scheduling import booking, plans
from technicians.services import progress
from technicians.services import workshop as ws
from tests.billing.helpers import call_of
from tests.browser.conftest import PHONE
from tests.browser.test_workshop_board import _received_item
from tests.technicians.helpers import today_visit


def _return_visit_on_site(dispatcher, technician, manager) -> Visit:
    cb = _received_item(dispatcher, technician)
    ws.change_status(manager, cb, "ready_to_return")
    call = db.session.get(RepairCall, cb.call_id)
    slot = plans.suggestions_for_call(call, limit=1).items[0]
    back = booking.book_visit(dispatcher, call, technician, slot.start, slot.end, check_availability=True)
    progress.arrive(technician, back)
    db.session.commit()
    return back


def test_the_phone_leads_a_return_visit_to_the_signature(browser, live_server, browser_login, shot, dispatcher,
                                                         technician, manager):
    back = _return_visit_on_site(dispatcher, technician, manager)
    for locale, button in (("en", "Customer signs for the item"), ("zh-CN", "客户签收商品")):
        context = browser.new_context(base_url=live_server, locale=locale, **PHONE)
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        browser_login(pg, technician)
        pg.goto(f"/t/visits/{back.id}")
        assert pg.locator("form.complete-form").count() == 0
        step = pg.locator("section.progress a.step")
        assert step.inner_text().strip() == button and step.get_attribute("href") == "#return-items"
        shot(pg, f"return-visit-phone-{locale}")
        context.close()


def test_the_call_pages_visits_table_counts_a_print(browser, live_server, browser_login, shot, dispatcher,
                                                    technician):
    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    db.session.commit()
    for locale in ("en", "zh-CN"):
        context = browser.new_context(base_url=live_server, locale=locale, viewport={"width": 1366, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        browser_login(pg, dispatcher)
        pg.goto(f"/calls/{call.id}")
        shot(pg, f"call-visits-print-{locale}")
        with context.expect_page() as opened:
            pg.locator("#visits form button.link-button").click()
        opened.value.wait_for_load_state()
        assert opened.value.url.endswith(f"/api/v1/visits/{visit.id}/slip.pdf")
        context.close()
    db.session.commit()  # a new transaction sees what the server committed
    assert db.session.get(Visit, visit.id).print_count == 2
