"""The cash-up (on-site money per technician and day, received from technician, then reconciled), the on-site
payment receipt PDF, and the signed voucher showing what was paid on site."""

from __future__ import annotations

import io

from pypdf import PdfReader
from sqlalchemy import func, select

from billing.models import Payment
from billing.services import cashup
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_date_of, local_today
from tests.billing.helpers import D, catalogue, set_prices
from tests.billing.money_helpers import pay_on_site, worked_call
from tests.factories import make_user
from tests.technicians.helpers import png_b64, today_visit


def test_cash_up_groups_per_technician_and_day_and_receives(finance, dispatcher, technician, api) -> None:
    set_prices(finance)
    other = make_user("technician", username="lee", name="Lee Li")
    call, visit = worked_call(dispatcher, technician)
    p1 = pay_on_site(technician, call, visit, "50.00", "cash")
    p2 = pay_on_site(technician, call, visit, "20.00", "wechat")
    call2, visit2 = worked_call(dispatcher, other)
    pay_on_site(other, call2, visit2, "158.20", "card")
    days = cashup.not_handed_in()
    assert {(d.technician_name, d.total) for d in days} == {("Tom Technician", D("70.00")), ("Lee Li", D("158.20"))}
    tom = next(d for d in days if d.technician_id == technician.id)
    assert tom.cash == D("50.00") and tom.by_method == [("cash", D("50.00")), ("wechat", D("20.00"))]
    listed = api(finance).get("/api/v1/billing/cash-up").get_json()
    assert listed["total"] == "228.20" and len(listed["items"]) == 2

    day = local_date_of(p1.collected_at).isoformat()
    r = api(finance).post("/api/v1/billing/cash-up/receive", json={"technician_id": technician.id, "date": day})
    assert r.status_code == 200, r.get_json()
    assert r.get_json()["count"] == 2 and r.get_json()["total"] == "70.00"
    db.session.expire_all()
    for p in (p1, p2):
        row = db.session.get(Payment, p.id)
        assert row.handed_in_at is not None and row.handed_in_to_id == finance.id
    assert [d.technician_name for d in cashup.not_handed_in()] == ["Lee Li"]
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "payment.handed_in")) == 2
    again = api(finance).post("/api/v1/billing/cash-up/receive", json={"technician_id": technician.id, "date": day})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "nothing_to_hand_in"
    bad = api(finance).post("/api/v1/billing/cash-up/receive", json={"technician_id": technician.id, "date": "x"})
    assert bad.status_code == 422
    assert api(finance).post("/api/v1/billing/cash-up/receive",
                             json={"technician_id": 999999, "date": day}).status_code == 404
    assert api(dispatcher).get("/api/v1/billing/cash-up").status_code == 403
    assert api(technician).post("/api/v1/billing/cash-up/receive",
                                json={"technician_id": technician.id, "date": day}).status_code == 403
    # Handed in, then reconciled on the same page (the old reconcile action still works).
    assert {p.id for p in cashup.handed_in_not_reconciled()} == {p1.id, p2.id}


def test_cash_up_page_receive_and_reconcile(finance, manager, dispatcher, technician, client, login) -> None:
    set_prices(finance)
    call, visit = worked_call(dispatcher, technician)
    payment = pay_on_site(technician, call, visit, "58.20", "alipay")
    login(finance)
    page = client.get("/billing/cash-up")
    assert page.status_code == 200 and b"Tom Technician" in page.data and b"Received from technician" in page.data
    r = client.post("/billing/cash-up/receive", data={"technician_id": str(technician.id),
                                                      "day": local_today().isoformat()})
    assert r.status_code == 302
    page = client.get("/billing/cash-up")
    assert payment.receipt_number.encode() in page.data and b"Mark reconciled" in page.data
    assert client.post(f"/billing/payments/{payment.id}/reconcile").status_code == 302
    db.session.expire_all()
    assert db.session.get(Payment, payment.id).reconciled_at is not None
    assert client.get("/billing/").status_code == 200  # the reconcile page keeps its address
    zh = client.get("/billing/cash-up", headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    login(manager)
    assert b"Received from technician" not in client.get("/billing/cash-up").data
    assert client.post("/billing/cash-up/receive", data={"technician_id": str(technician.id),
                                                         "day": local_today().isoformat()}).status_code == 403


def test_onsite_receipt_pdf_and_voucher_show_the_payment(finance, dispatcher, technician, api) -> None:
    catalogue(dispatcher)
    call, visit = worked_call(dispatcher, technician)
    payment = pay_on_site(technician, call, visit, "58.20", "wechat")
    r = api(technician).get(f"/api/v1/payments/{payment.id}/receipt.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(r.data)).pages)
    assert payment.receipt_number in text and call.number in text and call.customer.name in text
    assert "58.20" in text and "100.00" in text  # paid, and still to pay of 158.20
    other = make_user("technician", username="lee", name="Lee Li")
    assert api(other).get(f"/api/v1/payments/{payment.id}/receipt.pdf").status_code == 404
    assert api(finance).get(f"/api/v1/payments/{payment.id}/receipt.pdf").status_code == 200
    assert api(dispatcher).get(f"/api/v1/payments/{payment.id}/receipt.pdf").status_code == 403


def test_signed_voucher_shows_paid_on_site_and_receipt_number(dispatcher, technician, api, client, login) -> None:
    catalogue(dispatcher)
    from tests.billing.helpers import call_of

    call = call_of("charged", dispatcher)
    visit = today_visit(dispatcher, call, technician)
    tech = api(technician)
    tech.post(f"/api/v1/visits/{visit.id}/arrive")
    r = tech.post(f"/api/v1/visits/{visit.id}/complete",
                  json={"work_summary": "Replaced capacitor", "labor_minutes": 30, "parts": [], "outcome": "fixed"})
    assert r.status_code == 200, r.get_json()
    paid = tech.post(f"/api/v1/visits/{visit.id}/payments", json={"amount": "100.00", "method": "alipay"})
    assert paid.status_code == 201
    receipt = paid.get_json()["receipt_number"]
    assert tech.post(f"/api/v1/visits/{visit.id}/signature",
                     json={"signer_name": "Mr. Gao", "image_png_base64": png_b64(),
                           "technician_confirmed": True}).status_code == 201
    pdf = tech.get(f"/api/v1/visits/{visit.id}/slip.pdf")
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert receipt in text and "100.00" in text and "Alipay" in text
    assert "58.20" in text  # 158.20 due, 100.00 paid: still to pay
    # The phone's visit page links the receipt PDF after payment.
    login(technician)
    page = client.get(f"/t/visits/{visit.id}")
    assert b"/api/v1/payments/" in page.data and b"receipt.pdf" in page.data
