"""One truth on the phone's screen: a completion the server refused (here: no work summary) is "not saved"
at the top, and the sign-off card must not say at the same time that the work is saved on this phone and
the customer can sign. Online, and recorded with no signal then refused once the signal is back."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import expect
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.models import Visit
from technicians.models import WorkRecord
from technicians.services import progress as onsite
from tests.browser.test_phone_visit import snap, visit_today

SAVED_CLAIM = "saved on this phone"


def _arrived(pg: Any, technician: Any, dispatcher: Any, browser_login: Any, customer: str) -> int:
    visit_id = visit_today(dispatcher, technician, customer_name=customer, contact="Ms Lin")
    visit = db.session.get(Visit, visit_id)
    onsite.on_my_way(technician, visit)
    onsite.arrive(technician, visit)
    db.session.commit()
    browser_login(pg, technician)
    pg.goto(f"/t/visits/{visit_id}")
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
    return visit_id


def _fill_without_summary(pg: Any) -> Any:
    form = pg.locator("form.complete-form")
    form.locator("textarea[name=work_summary]").fill("   ")
    form.locator("input[name=labor_minutes]").fill("35")
    form.locator("input[name=outcome][value=fixed]").check()
    return form


def _one_truth(pg: Any, visit_id: int) -> None:
    """The refusal at the top; the sign-off card as the server wrote it, with nothing to sign."""
    panel = pg.locator("#outbox-conflicts")
    expect(panel).to_contain_text("Complete: not saved")
    expect(panel).to_contain_text("What was done: required")
    sign_off = pg.locator("#sign-off")
    expect(sign_off).not_to_contain_text(SAVED_CLAIM)
    expect(sign_off).not_to_contain_text("can sign now")
    expect(sign_off.locator('a[href$="/sign"]')).to_have_count(0)
    expect(sign_off).to_contain_text("The work record was not saved")
    expect(pg.locator(".visit-head .badge").first).to_have_text("On site")  # not "Completed"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(WorkRecord)
                             .where(WorkRecord.visit_id == visit_id)) == 0


def test_a_completion_refused_online_is_not_offered_for_signing(phone, technician, dispatcher, browser_login):
    pg = phone
    visit_id = _arrived(pg, technician, dispatcher, browser_login, "Riverside Bakery")
    form = _fill_without_summary(pg)
    form.locator("button[type=submit]").tap()
    _one_truth(pg, visit_id)
    pg.locator("#sign-off").scroll_into_view_if_needed()
    snap(pg, "phone-10-refused-online")

    # Corrected and sent again: saved, the refusal dismissed, and now the customer can sign.
    pg.locator("#outbox-conflicts button", has_text="Dismiss").tap()
    form.locator("textarea[name=work_summary]").fill("Descaled the boiler and replaced the gasket.")
    with pg.expect_navigation():
        form.locator("button[type=submit]").tap()
    pg.wait_for_load_state("load")
    expect(pg.locator(".visit-head .badge").first).to_have_text("Completed")
    expect(pg.locator("#sign-off a", has_text="Customer sign-off")).to_have_count(1)
    expect(pg.locator("#sign-off")).not_to_contain_text("The work record was not saved")


def test_a_completion_recorded_offline_then_refused_withdraws_the_sign_off(phone, technician, dispatcher,
                                                                          browser_login):
    pg, context = phone, phone.context
    visit_id = _arrived(pg, technician, dispatcher, browser_login, "Hilltop Laundry")

    # With no signal the completion waits on the phone: that much is true, and the customer may sign.
    context.set_offline(True)
    form = _fill_without_summary(pg)
    form.locator("button[type=submit]").tap()
    expect(pg.locator("#outbox-banner .outbox-count")).to_have_text("1 change waiting")
    expect(pg.locator("#sign-off")).to_contain_text(SAVED_CLAIM)
    pg.locator("#sign-off").scroll_into_view_if_needed()
    snap(pg, "phone-11-waiting-offline")

    # The signal returns and the server refuses it: the offer to sign is withdrawn.
    context.set_offline(False)
    pg.wait_for_selector("html[data-outbox-count='0']")
    _one_truth(pg, visit_id)
    # What was typed is still there to correct, and the button works again.
    expect(form.locator("button[type=submit]")).to_be_enabled()
    assert form.locator("input[name=labor_minutes]").input_value() == "35"
    pg.locator("#sign-off").scroll_into_view_if_needed()
    snap(pg, "phone-12-refused-after-offline")

    # A reload (the server's page) tells the same: refused at the top, nothing to sign.
    pg.reload()
    pg.wait_for_selector("html[data-offline-ready='1']", timeout=30_000)
    _one_truth(pg, visit_id)
