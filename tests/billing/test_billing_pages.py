"""Finance pages: payments to reconcile, the price form, the parts catalogue; who may see and change them."""

from __future__ import annotations

from decimal import Decimal

from billing.models import Part, Prices
from billing.services import charges as billing_charges
from billing.services import parts as billing_parts
from billing.services import payments as billing_payments
from billing.services import prices as billing_prices
from dispatch.core.extensions import db
from tests.billing.helpers import book, call_of, catalogue, set_prices


def _payment(dispatcher, technician, finance):
    set_prices(finance)
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=30, parts=[])
    payment = billing_payments.record_onsite_payment(technician, call, visit, amount="100.00", method="cash")
    db.session.commit()
    return call, payment


def test_finance_reconciles_onsite_payments(client, login, dispatcher, technician, finance, manager) -> None:
    call, payment = _payment(dispatcher, technician, finance)
    login(finance)
    page = client.get("/billing/").get_data(as_text=True)
    for text in (payment.receipt_number, "Tom Technician", call.number, "CN¥100.00", "Cash", "Mark reconciled",
                 "1 to reconcile"):
        assert text in page
    sheet = client.get(f"/billing/calls/{call.id}").get_data(as_text=True)
    for text in ("charged: call-out, labor and parts are due", "Labor 30 min at 120.00/h", "CN¥158.20",
                 payment.receipt_number, "to reconcile", "CN¥58.20"):  # balance 158.20 - 100.00
        assert text in sheet
    assert client.get("/billing/calls/999999").status_code == 404
    r = client.post(f"/billing/payments/{payment.id}/reconcile", follow_redirects=True)
    assert r.status_code == 200 and f"Receipt {payment.receipt_number} reconciled." in r.get_data(as_text=True)
    assert "No payments waiting to be reconciled." in r.get_data(as_text=True)
    db.session.refresh(payment)
    assert payment.reconciled_by_id == finance.id
    done = client.get("/billing/?show=reconciled").get_data(as_text=True)
    assert payment.receipt_number in done and "reconciled" in done
    # a manager reads, without the button, and may not reconcile
    login(manager)
    page = client.get("/billing/?show=all").get_data(as_text=True)
    assert payment.receipt_number in page and "Mark reconciled" not in page
    assert client.post(f"/billing/payments/{payment.id}/reconcile").status_code == 403


def test_billing_pages_are_closed_to_desk_and_technicians(client, login, dispatcher, technician) -> None:
    assert client.get("/billing/").status_code == 302  # to the login page
    for user in (dispatcher, technician):
        login(user)
        for url in ("/billing/", "/billing/prices", "/billing/parts", "/billing/parts/new", "/billing/calls/1"):
            assert client.get(url).status_code == 403, (user.role, url)


def test_price_form(client, login, finance, manager) -> None:
    login(finance)
    page = client.get("/billing/prices").get_data(as_text=True)
    assert "default values, not set yet" in page and 'value="80.00"' in page and 'value="13"' in page
    r = client.post("/billing/prices", data={"call_out_fee": "-5", "labor_rate_per_hour": "120",
                                             "tax_percent": "150", "currency": "CNY"})
    assert r.status_code == 422
    text = r.get_data(as_text=True)
    assert "must be at least" in text and "must be from 0 to 1" in text
    assert db.session.query(Prices).count() == 0
    r = client.post("/billing/prices", data={"call_out_fee": "85", "labor_rate_per_hour": "130.5",
                                             "tax_percent": "6.5", "currency": "cny"}, follow_redirects=True)
    assert "New prices saved" in r.get_data(as_text=True)
    prices = billing_prices.current_prices()
    assert (prices.call_out_fee, prices.labor_rate_per_hour, prices.tax_rate, prices.currency) == \
        (Decimal("85.00"), Decimal("130.50"), Decimal("0.065"), "CNY")
    assert "6.5 %" in r.get_data(as_text=True)
    login(manager)
    page = client.get("/billing/prices").get_data(as_text=True)
    assert "130.50" in page and "Save new prices" not in page
    assert client.post("/billing/prices", data={"call_out_fee": "1", "labor_rate_per_hour": "1",
                                                "tax_percent": "1", "currency": "CNY"}).status_code == 403


def test_parts_catalogue_pages(client, login, finance, manager) -> None:
    catalogue(finance)
    login(finance)
    page = client.get("/billing/parts?q=capacitor").get_data(as_text=True)
    assert "CAP-45-5" in page and "FLT-1620" not in page and "35.00" in page
    r = client.post("/billing/parts/new", data={"sku": "UPS-BAT-12V9", "name": "UPS battery 12 V 9 Ah",
                                                "unit": "pcs", "unit_price": "285", "unit_cost": "165"},
                    follow_redirects=True)
    assert "Part UPS-BAT-12V9 added." in r.get_data(as_text=True)
    r = client.post("/billing/parts/new", data={"sku": "ups-bat-12v9", "name": "Again", "unit": "pcs",
                                                "unit_price": "1"})
    assert r.status_code == 409 and "already in the catalogue" in r.get_data(as_text=True)
    r = client.post("/billing/parts/new", data={"sku": "X-2", "name": "Bad", "unit": "pcs", "unit_price": "1.234"})
    assert r.status_code == 422 and "at most 2 decimal places" in r.get_data(as_text=True)
    part = db.session.query(Part).filter_by(sku="UPS-BAT-12V9").one()
    r = client.post(f"/billing/parts/{part.id}/edit", data={"sku": "IGNORED", "name": "UPS battery 12V 9Ah",
                                                             "unit": "pcs", "unit_price": "299.00",
                                                             "unit_cost": ""}, follow_redirects=True)
    assert "Part UPS-BAT-12V9 saved." in r.get_data(as_text=True)
    db.session.refresh(part)
    assert (part.sku, part.unit_price, part.unit_cost) == ("UPS-BAT-12V9", Decimal("299.00"), None)
    r = client.post(f"/billing/parts/{part.id}/archive", follow_redirects=True)
    assert "no longer offered" in r.get_data(as_text=True)
    assert "UPS-BAT-12V9" not in client.get("/billing/parts?q=ups").get_data(as_text=True)
    assert "archived" in client.get("/billing/parts?q=ups&archived=1").get_data(as_text=True)
    client.post(f"/billing/parts/{part.id}/archive")
    assert "UPS-BAT-12V9" in client.get("/billing/parts?q=ups").get_data(as_text=True)
    login(manager)
    page = client.get("/billing/parts").get_data(as_text=True)
    assert "CAP-45-5" in page and "Add a part" not in page
    assert client.get("/billing/parts/new").status_code == 403


def test_demo_prices_parts_and_finished_calls_charges(finance, dispatcher, technician) -> None:
    """billing/demo.py, which seed-demo runs (the whole seed-demo is run in test_cli)."""
    from billing import demo
    from billing.models import Payment
    from dispatch.models import CallStatus, VisitStatus
    from dispatch.services.calls import set_call_status

    call = call_of("charged", dispatcher)
    call.problem_type = "calibration"
    visit = book(dispatcher, call, technician)
    visit.status = VisitStatus.COMPLETED
    set_call_status(technician, call, CallStatus.IN_PROGRESS)
    set_call_status(technician, call, CallStatus.COMPLETED)
    db.session.commit()
    demo.seed()
    db.session.commit()
    prices = billing_prices.current_prices()
    assert (prices.call_out_fee, prices.labor_rate_per_hour, prices.tax_rate, prices.currency) == \
        (Decimal("80.00"), Decimal("120.00"), Decimal("0.13"), "CNY")
    parts = billing_parts.search_parts(None, 100)
    assert {"FLT-1620", "CAP-45-5", "R410A-KG", "UPS-BAT-12V9", "FUSE-10A-RK", "CMP-ZR61"} <= {p.sku for p in parts}
    assert len(parts) >= 10 and all(p.unit_cost is not None and p.unit_cost < p.unit_price for p in parts)
    sheet = billing_charges.charges_for_call(call)
    # 80.00 + 75 min at 120/h (150.00) + 2 fuses at 6.50 = 243.00; + 13 % = 274.59, paid by card on site
    assert (sheet.subtotal, sheet.total_due, sheet.paid, sheet.locked) == \
        (Decimal("243.00"), Decimal("274.59"), Decimal("274.59"), True)
    assert db.session.query(Payment).one().method == "card"


def test_charges_partial_shows_what_is_owed_and_why(app, finance, dispatcher, technician) -> None:
    """templates/billing/_charges.html, which the technician's visit page includes."""
    from flask import render_template_string

    set_prices(finance)
    catalogue(finance)
    call = call_of("contract", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=45, parts=[("R410A-KG", "1.5")])
    db.session.commit()
    with app.test_request_context():
        html = render_template_string('{% include "billing/_charges.html" %}', sheet=billing_charges.charges_for_call(call))
    assert "contract MC-0042 covers labor and call-out; parts are charged" in html
    assert html.count("covered: contract MC-0042") == 2
    assert "1.5 × 95.00" in html and "142.50" in html
    assert "Tax 13 %" in html and "CN¥161.03" in html  # 142.50 + 18.525 -> 18.53


ZH = {"Accept-Language": "zh-CN"}


def test_finance_pages_read_chinese(client, login, dispatcher, technician, finance) -> None:
    """With Accept-Language zh-CN the finance home, a call's charges, flashes and form errors are Chinese,
    money as ¥, codes (cash, charged) never shown."""
    call, payment = _payment(dispatcher, technician, finance)
    login(finance)
    page = client.get("/billing/", headers=ZH).get_data(as_text=True)
    assert 'lang="zh-CN"' in page
    for text in ("现场收款", "1 笔待对账", "收据", "现金", "¥100.00", "标记为已对账", call.number):
        assert text in page, text
    for text in ("Mark reconciled", "On-site payments", "CN¥", ">cash<"):
        assert text not in page, text
    sheet = client.get(f"/billing/calls/{call.id}", headers=ZH).get_data(as_text=True)
    for text in (f"{call.number} 的费用", "收费服务：上门费、工时费和配件费均需支付", "上门费",
                 "工时费 30 分钟（每小时 120.00）", "应付合计", "¥158.20", "尚欠", "¥58.20", "待对账", "现金"):
        assert text in sheet, text
    for text in ("Total due", "Labor 30", "charged:", "CNY"):
        assert text not in sheet, text
    r = client.post(f"/billing/payments/{payment.id}/reconcile", headers=ZH, follow_redirects=True)
    assert f"收据 {payment.receipt_number} 已对账。" in r.get_data(as_text=True)
    assert "没有待对账的收款。" in r.get_data(as_text=True)
    r = client.post("/billing/prices", headers=ZH, data={"call_out_fee": "-5", "labor_rate_per_hour": "120",
                                                         "tax_percent": "150", "currency": "CNY"})
    text = r.get_data(as_text=True)
    assert r.status_code == 422 and "价格无法保存：上门费不能小于 0.00；税率须在 0 到 1 之间" in text
    assert "call_out_fee" not in text.split("<form")[0] + text.split("</form>")[-1]


def test_charge_explanations_are_sentences_in_each_language(client, login, dispatcher, technician,
                                                            finance) -> None:
    set_prices(finance)
    catalogue(finance)
    contract = call_of("contract", dispatcher)
    billing_charges.record_work(technician, contract, book(dispatcher, contract, technician), labor_minutes=45,
                                parts=[("R410A-KG", "1.5")])
    free = call_of("free", dispatcher)
    billing_charges.record_work(technician, free, book(dispatcher, free, technician, hours_from_now=3),
                                labor_minutes=20, parts=[])
    db.session.commit()
    login(finance)
    zh = client.get(f"/billing/calls/{contract.id}", headers=ZH).get_data(as_text=True)
    assert "合同服务：合同 MC-0042 包含上门费和工时费，配件另行收费" in zh
    assert zh.count("已涵盖：合同 MC-0042") == 2 and "税额（税率 13%）" in zh
    en = client.get(f"/billing/calls/{contract.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "contract MC-0042 covers labor and call-out; parts are charged" in en and "Tax 13 %" in en
    zh = client.get(f"/billing/calls/{free.id}", headers=ZH).get_data(as_text=True)
    assert "免费服务：保修期至 2027-03-01，无需付费" in zh and "已涵盖：免费服务：保修期至 2027-03-01" in zh
    en = client.get(f"/billing/calls/{free.id}", headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "free: under warranty until 2027-03-01: nothing to pay" in en
