"""Finance in a real browser: issues one invoice from the "to invoice" list (ticking the calls of one
customer), downloads its PDF, reads it back and renders it to PNG for people to look at; the list in Chinese."""

from __future__ import annotations

import io
import shutil
import subprocess

from pypdf import PdfReader
from sqlalchemy import select

from billing.models import Invoice
from billing.services import charges as billing_charges
from billing.services import payments as billing_payments
from dispatch.core.extensions import db
from dispatch.models import CallStatus
from dispatch.services.calls import set_call_status
from tests.billing.helpers import book, call_of, catalogue, set_prices
from tests.browser.conftest import ARTIFACTS
from tests.factories import make_call


def _worked(dispatcher, technician, call, hours, minutes, parts):
    visit = book(dispatcher, call, technician, hours_from_now=hours)
    billing_charges.record_work(technician, call, visit, labor_minutes=minutes, parts=parts)
    set_call_status(technician, call, CallStatus.COMPLETED)
    db.session.commit()
    return visit


def test_finance_issues_an_invoice_from_the_list_and_downloads_its_pdf(page, browser, live_server, finance,
                                                                      dispatcher, technician, browser_login,
                                                                      shot):
    set_prices(finance)
    catalogue(finance)
    first = call_of("charged", dispatcher)
    customer = first.customer
    customer.tax_id = "91310000MA1K123456"
    _worked(dispatcher, technician, first, 1, 45, [("CAP-45-5", 2)])       # 80 + 90 + 70 = 240.00
    second = make_call(dispatcher, customer=customer, site=first.site)
    visit2 = _worked(dispatcher, technician, second, 2.5, 30, [])             # 80 + 60 = 140.00, paid on site
    billing_payments.record_onsite_payment(technician, second, visit2, amount="158.20", method="wechat")
    third = make_call(dispatcher, customer=customer, site=first.site)
    _worked(dispatcher, technician, third, 4, 15, [])                         # left for later
    db.session.commit()

    browser_login(page, finance)
    page.wait_for_url("**/billing/to-invoice")  # finance lands on "To invoice", the first tab
    group = page.locator(f"#customer-{customer.id}")
    assert first.number in group.inner_text() and "Paid on site: invoice to send afterwards" in \
        page.locator(f"#call-{second.id}").inner_text()
    shot(page, "invoicing-to-invoice-1366")
    page.locator(f"#call-{third.id} input[name=call_ids]").uncheck()
    group.get_by_role("button", name="Issue one invoice for the ticked calls").click()
    page.get_by_text("issued for").wait_for()
    db.session.commit()
    invoice = db.session.scalar(select(Invoice))
    assert invoice is not None and str(invoice.total) == "429.40" and page.url.endswith(f"/billing/invoices/{invoice.id}")
    text = page.locator("main").inner_text() if page.locator("main").count() else page.inner_text("body")
    assert invoice.number in text and "429.40" in text and "158.20" in text and "271.20" in text
    shot(page, "invoicing-invoice-1366")

    with page.expect_download() as info:
        page.get_by_role("link", name="Download PDF").click()
    download = info.value
    path = ARTIFACTS / f"{invoice.number}.pdf"
    ARTIFACTS.mkdir(exist_ok=True)
    download.save_as(path)
    data = path.read_bytes()
    pdf_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(data)).pages).replace("\u00a0", " ")
    assert invoice.number in pdf_text and customer.name in pdf_text and "91310000MA1K123456" in pdf_text
    for needle in (first.number, second.number, "Run capacitor 45+5 uF", "Call-out fee", "380.00", "49.40",
                   "429.40", "158.20", "271.20"):
        assert needle in pdf_text, needle
    assert third.number not in pdf_text
    if shutil.which("pdftoppm"):  # the PNG people look at (test-artifacts/INV-....-1.png)
        subprocess.run(["pdftoppm", "-png", "-r", "60", str(path), str(ARTIFACTS / invoice.number)], check=True)
        assert any(ARTIFACTS.glob(f"{invoice.number}*.png"))

    # The third call is still to invoice; in Chinese the list reads in the users' words.
    zh = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900}, locale="zh-CN")
    pg = zh.new_page()
    browser_login(pg, finance)
    pg.goto("/billing/to-invoice")
    assert third.number in pg.inner_text("body") and first.number not in pg.inner_text("body")
    shot(pg, "invoicing-to-invoice-zh-1366")
    pg.goto(f"/billing/invoices/{invoice.id}")
    shot(pg, "invoicing-invoice-zh-1366")
    zh.close()
