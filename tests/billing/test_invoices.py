"""Issue 12: from completed work to invoices ("to invoice", numbering, PDF, tax-system CSV) and credit notes."""

from __future__ import annotations

import csv
import io
import itertools
import threading
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from billing.models import ChargeLine, CreditNote, Invoice, InvoicePayment
from billing.services import charges as billing_charges
from billing.services import credit_notes as billing_credit_notes
from billing.services import invoices as billing_invoices
from billing.services import payments as billing_payments
from billing.services import pending as billing_pending
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.models import CallStatus
from dispatch.services.calls import set_call_status
from tests.billing.helpers import book, call_of, catalogue, set_prices
from tests.factories import make_call, make_customer, make_site

YEAR = utcnow().astimezone(local_tz()).year
_SLOTS = [itertools.count()]


@pytest.fixture(autouse=True)
def _fresh_slots():
    """Each test books its technician's visits one after another (1 h each) within the booking deadline."""
    _SLOTS[0] = itertools.count()


@pytest.fixture
def priced(finance, dispatcher):
    set_prices(finance)
    catalogue(finance)


def worked(dispatcher, technician, category="charged", *, minutes=30, parts=(), covers_parts=False, call=None,
           complete=True):
    call = call or call_of(category, dispatcher, covers_parts=covers_parts)
    visit = book(dispatcher, call, technician, hours_from_now=0.5 + 1.05 * next(_SLOTS[0]))
    billing_charges.record_work(technician, call, visit, labor_minutes=minutes, parts=list(parts))
    if complete:
        set_call_status(technician, call, CallStatus.COMPLETED)
    db.session.commit()
    return call, visit


def second_call(dispatcher, technician, first, **kw):
    """Another completed charged call of the same customer and site."""
    call = make_call(dispatcher, customer=first.customer, site=first.site)
    return worked(dispatcher, technician, call=call, **kw)[0]


def actions(entity_type: str, entity_id: int) -> list[str]:
    return list(db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == entity_type, AuditEvent.entity_id == entity_id).order_by(AuditEvent.id)))


# ----------------------------------------------------------------------------- the charge matrix


def test_charged_call_is_invoiced_line_by_line(priced, api, finance, dispatcher, technician) -> None:
    """Charged: call-out 80 + labor 30 min 60 + 2 capacitors 70 = 210.00, tax 13 % 27.30, total 237.30."""
    call, _visit = worked(dispatcher, technician, minutes=30, parts=[("CAP-45-5", 2)])
    r = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["number"] == f"INV-{YEAR}-000001" and body["status"] == "issued"
    assert body["customer_id"] == call.customer_id
    assert (body["subtotal"], body["tax"], body["total"]) == ("210.00", "27.30", "237.30")
    assert body["tax_rate"] == "0.13" and body["paid"] == "0.00" and body["balance"] == "237.30"
    assert [(ln["kind"], ln["amount"], ln["due"], ln["covered"], ln["category"]) for ln in body["lines"]] == [
        ("call_out", "80.00", "80.00", False, "charged"), ("labor", "60.00", "60.00", False, "charged"),
        ("part", "70.00", "70.00", False, "charged")]
    assert body["calls"] == [call.number]
    # Every live charge line of the call now points at the invoice.
    assert {ln.invoice_id for ln in db.session.scalars(select(ChargeLine).where(
        ChargeLine.call_id == call.id, ChargeLine.voided_at.is_(None)))} == {body["id"]}
    assert "invoice.issued" in actions("invoices", body["id"])


def test_contract_without_parts_bills_only_the_parts(priced, api, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician, "contract", minutes=45, parts=[("FLT-1620", 2)])
    body = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()
    lines = {ln["kind"]: ln for ln in body["lines"]}
    assert lines["call_out"]["covered"] and lines["call_out"]["due"] == "0.00"
    assert lines["call_out"]["covered_by"] == "contract MC-0042"
    assert lines["call_out"]["cover_text"] == "contract MC-0042"
    assert lines["labor"]["covered"] and lines["labor"]["amount"] == "90.00" and lines["labor"]["due"] == "0.00"
    assert not lines["part"]["covered"] and lines["part"]["due"] == "37.00"
    assert (body["subtotal"], body["tax"], body["total"]) == ("37.00", "4.81", "41.81")
    assert {ln["category"] for ln in body["lines"]} == {"contract"}


@pytest.mark.parametrize(("category", "covers_parts"), [("contract", True), ("free", False)])
def test_covered_work_has_nothing_to_bill(priced, api, finance, dispatcher, technician, category,
                                          covers_parts) -> None:
    call, _visit = worked(dispatcher, technician, category, parts=[("CAP-45-5", 1)], covers_parts=covers_parts)
    assert billing_pending.pending().customers == []  # not on the list: nothing is due
    r = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "nothing_to_bill"
    assert db.session.scalar(select(Invoice.id)) is None


def test_contract_call_with_parts_and_a_charged_call_on_one_invoice(priced, finance, dispatcher,
                                                                    technician) -> None:
    """The customer's contract call (parts charged) and a charged call of the same customer on one invoice."""
    call, _visit = worked(dispatcher, technician, "contract", minutes=30, parts=[("CAP-45-5", 1)])
    other = make_call(dispatcher, customer=call.customer, site=call.site)
    other.category, other.contract_id = "charged", None
    db.session.commit()
    worked(dispatcher, technician, call=other, minutes=60)
    invoice = billing_invoices.issue_invoice(finance, [call.id, other.id])
    db.session.commit()
    # contract: 35.00 (the part); charged: 80 + 120 = 200.00 -> 235.00, tax 30.55
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("235.00"), Decimal("30.55"),
                                                             Decimal("265.55"))
    cats = [(ln.call_id, ln.category, ln.covered) for ln in billing_invoices.invoice_lines(invoice)]
    assert (call.id, "contract", True) in cats and (other.id, "charged", False) in cats


# ----------------------------------------------------------------------------- rounding


def test_rounding_half_up_at_the_cent_on_the_invoice_subtotal(finance, dispatcher, technician) -> None:
    """Two washers at 0.25 and the call-out 80.00 = 80.50; 13 % is 10.465 -> 10.47 (half-up, not 10.46)."""
    set_prices(finance)
    catalogue(finance)
    call, _visit = worked(dispatcher, technician, minutes=0, parts=[("TINY", 2)])
    invoice = billing_invoices.issue_invoice(finance, [call.id])
    assert (invoice.subtotal, invoice.tax, invoice.total) == (Decimal("80.50"), Decimal("10.47"), Decimal("90.97"))
    # Labor 7 min at 120.00/h = 14.00; 1 min = 2.00; 0.333... h rounds per line at the cent.
    set_prices(finance, rate="100.00", tax="0.06")
    call2, _v = worked(dispatcher, technician, minutes=7, parts=[])
    invoice2 = billing_invoices.issue_invoice(finance, [call2.id])
    labor = [ln for ln in billing_invoices.invoice_lines(invoice2) if ln.kind == "labor"][0]
    assert labor.amount == Decimal("11.67")  # 7 / 60 x 100 = 11.666...
    assert invoice2.subtotal == Decimal("91.67") and invoice2.tax == Decimal("5.50")  # 5.5002
    assert invoice2.tax_rate == Decimal("0.06")


def test_tax_rate_is_stored_on_the_invoice(priced, api, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician)
    invoice = billing_invoices.issue_invoice(finance, [call.id])
    db.session.commit()
    set_prices(finance, tax="0.09")
    body = api(finance).get(f"/api/v1/invoices/{invoice.id}").get_json()
    assert body["tax_rate"] == "0.13" and body["tax"] == "18.20" and body["total"] == "158.20"


# ----------------------------------------------------------------------------- to invoice


def test_pending_lists_completed_work_by_customer_with_on_site_money(priced, api, finance, dispatcher,
                                                                     technician, manager) -> None:
    call, visit = worked(dispatcher, technician)  # 158.20 due
    billing_payments.record_onsite_payment(technician, call, visit, amount="50.00", method="cash")
    paid_call = second_call(dispatcher, technician, call)
    paid_visit = db.session.scalar(select(ChargeLine.visit_id).where(ChargeLine.call_id == paid_call.id))
    from dispatch.models import Visit
    billing_payments.record_onsite_payment(technician, paid_call, db.session.get(Visit, paid_visit),
                                           amount="158.20", method="wechat")
    unfinished, _v = worked(dispatcher, technician, complete=False)  # not completed: not yet
    db.session.commit()
    body = api(manager).get("/api/v1/billing/pending").get_json()
    assert [g["customer_id"] for g in body["items"]] == [call.customer_id]
    group = body["items"][0]
    calls = {c["number"]: c for c in group["calls"]}
    assert set(calls) == {call.number, paid_call.number}
    assert unfinished.number not in calls
    first = calls[call.number]
    assert (first["total"], first["paid"], first["balance"]) == ("158.20", "50.00", "108.20")
    assert not first["paid_in_full_on_site"] and first["explanation"]
    assert [ln["kind"] for ln in first["lines"]] == ["call_out", "labor"]
    assert calls[paid_call.number]["paid_in_full_on_site"] and calls[paid_call.number]["balance"] == "0.00"
    assert (group["total"], group["paid"], group["balance"]) == ("316.40", "208.20", "108.20")
    # Invoiced, the calls leave the list; the on-site money is linked to the invoice once.
    invoice = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id, paid_call.id]}).get_json()
    assert (invoice["total"], invoice["paid"], invoice["balance"]) == ("316.40", "208.20", "108.20")
    assert len(invoice["payments"]) == 2
    assert api(finance).get("/api/v1/billing/pending").get_json()["items"] == []


def test_workshop_work_is_to_invoice_once_sealed(priced, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician, complete=False)
    set_call_status(technician, call, CallStatus.CARRIED_BACK)
    billing_charges.record_workshop_work(technician, call, ref="CB-1", labor_minutes=60, parts=[("CAP-45-5", 1)])
    db.session.commit()
    assert billing_pending.pending().customers == []  # in the workshop: not finished
    billing_charges.lock_workshop_charges(call, "CB-1", technician)
    db.session.commit()
    entry = billing_pending.pending().customers[0].calls[0]
    assert entry.has_workshop and [ln.source for ln in entry.lines] == ["workshop", "workshop"]
    invoice = billing_invoices.issue_invoice(finance, [call.id])
    assert invoice.subtotal == Decimal("155.00")  # workshop labor 120 + part 35 (the site lines wait)


# ----------------------------------------------------------------------------- refusals


def test_issuing_refusals(priced, api, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician)
    stranger, _v = worked(dispatcher, technician)  # another customer
    client = api(finance)
    r = client.post("/api/v1/invoices", json={"call_ids": [call.id, stranger.id]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "mixed_customers"
    for bad in ({}, {"call_ids": []}, {"call_ids": "1"}, {"call_ids": [True]}, {"call_ids": [-3]}):
        r = client.post("/api/v1/invoices", json=bad)
        assert r.status_code == 422, bad
    assert client.post("/api/v1/invoices", json={"call_ids": [999999]}).status_code == 422
    open_call, _v2 = worked(dispatcher, technician, complete=False)
    r = client.post("/api/v1/invoices", json={"call_ids": [open_call.id]})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "not_completed"
    assert client.post("/api/v1/invoices", json={"call_ids": [call.id]}).status_code == 201
    r = client.post("/api/v1/invoices", json={"call_ids": [call.id]})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_invoiced"
    assert "INV-" in r.get_json()["error"]["message"]
    assert db.session.scalar(select(Invoice.number).order_by(Invoice.id.desc())) == f"INV-{YEAR}-000001"


def test_roles(priced, api, finance, manager, dispatcher, technician, admin) -> None:
    call, _visit = worked(dispatcher, technician)
    for who in (dispatcher, technician):
        client = api(who)
        assert client.get("/api/v1/billing/pending").status_code == 403
        assert client.post("/api/v1/invoices", json={"call_ids": [call.id]}).status_code == 403
        assert client.get("/api/v1/invoices").status_code == 403
    assert api(manager).post("/api/v1/invoices", json={"call_ids": [call.id]}).status_code == 403
    created = api(admin).post("/api/v1/invoices", json={"call_ids": [call.id]})
    assert created.status_code == 201
    iid = created.get_json()["id"]
    assert api(manager).get(f"/api/v1/invoices/{iid}").status_code == 200
    assert api(manager).get(f"/api/v1/invoices/{iid}.pdf").status_code == 200
    assert api(manager).post(f"/api/v1/invoices/{iid}/void", json={"reason": "x"}).status_code == 403
    assert api(manager).patch(f"/api/v1/invoices/{iid}", json={"fapiao_number": "1"}).status_code == 403
    assert api(technician).get(f"/api/v1/invoices/{iid}.pdf").status_code == 403


def test_list_filters(priced, api, finance, dispatcher, technician) -> None:
    a, _ = worked(dispatcher, technician)
    b, _ = worked(dispatcher, technician)
    inv_a = billing_invoices.issue_invoice(finance, [a.id])
    inv_b = billing_invoices.issue_invoice(finance, [b.id])
    billing_credit_notes.void_invoice(finance, inv_b, "wrong customer")
    db.session.commit()
    client = api(finance)
    items = client.get(f"/api/v1/invoices?customer_id={a.customer_id}").get_json()["items"]
    assert [i["number"] for i in items] == [inv_a.number]
    assert [i["number"] for i in client.get("/api/v1/invoices?status=void").get_json()["items"]] == [inv_b.number]
    assert client.get("/api/v1/invoices?status=paid").status_code == 422
    assert client.get("/api/v1/invoices?customer_id=abc").status_code == 422
    assert client.get("/api/v1/invoices/999999").status_code == 404


# ----------------------------------------------------------------------------- voiding and re-invoicing


def test_void_issues_a_credit_note_and_returns_the_calls(priced, api, finance, dispatcher, technician) -> None:
    call, visit = worked(dispatcher, technician)
    billing_payments.record_onsite_payment(technician, call, visit, amount="58.20", method="cash")
    db.session.commit()
    client = api(finance)
    first = client.post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()
    assert first["paid"] == "58.20"
    assert client.post(f"/api/v1/invoices/{first['id']}/void", json={}).status_code == 422  # a reason is needed
    r = client.post(f"/api/v1/invoices/{first['id']}/void", json={"reason": "Wrong buyer tax id"})
    assert r.status_code == 201, r.get_json()
    body = r.get_json()
    assert body["status"] == "void" and body["number"] == first["number"]
    assert body["credit_note"]["number"] == f"CN-{YEAR}-000001"
    assert body["credit_note"]["amount"] == "158.20" and body["credit_note"]["reason"] == "Wrong buyer tax id"
    # The payment stays visible on the void invoice until the calls are invoiced again.
    assert body["paid"] == "58.20" and body["balance"] == "0.00" and len(body["payments"]) == 1
    assert body["lines"] and body["lines"] == first["lines"]  # nothing deleted
    r = client.post(f"/api/v1/invoices/{first['id']}/void", json={"reason": "again"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "already_void"
    # Back on "to invoice", and invoiced again under the next number (never the old one).
    pending = client.get("/api/v1/billing/pending").get_json()["items"]
    assert [c["number"] for c in pending[0]["calls"]] == [call.number]
    assert pending[0]["calls"][0]["paid"] == "58.20"
    second = client.post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()
    assert second["number"] == f"INV-{YEAR}-000002" and second["paid"] == "58.20" and second["balance"] == "100.00"
    # The on-site money counts once: on the live invoice.
    assert db.session.scalar(select(InvoicePayment.invoice_id).where(
        InvoicePayment.onsite_payment_id.is_not(None))) == second["id"]
    again = client.get(f"/api/v1/invoices/{first['id']}").get_json()
    assert again["status"] == "void" and again["number"] == first["number"]
    assert db.session.scalar(select(CreditNote.number)) == f"CN-{YEAR}-000001"
    assert "invoice.voided" in actions("invoices", first["id"])
    assert actions("credit_notes", body["credit_note"]["id"]) == ["credit_note.issued"]
    notes = client.get("/api/v1/credit-notes").get_json()["items"]
    assert [n["invoice_number"] for n in notes] == [first["number"]]
    pdf = client.get(body["credit_note"]["pdf_url"])
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "CN-" in text and first["number"] in text and "Wrong buyer tax id" in text


def test_credit_note_series_is_its_own(priced, finance, dispatcher, technician) -> None:
    calls = [worked(dispatcher, technician)[0] for _ in range(3)]
    invoices = [billing_invoices.issue_invoice(finance, [c.id]) for c in calls]
    notes = [billing_credit_notes.void_invoice(finance, inv, "test") for inv in invoices[:2]]
    assert [n.number for n in notes] == [f"CN-{YEAR}-000001", f"CN-{YEAR}-000002"]
    assert [i.number for i in invoices] == [f"INV-{YEAR}-00000{n}" for n in (1, 2, 3)]
    with pytest.raises(Conflict):
        billing_credit_notes.void_invoice(finance, invoices[0], "again")
    with pytest.raises(Invalid):
        billing_credit_notes.void_invoice(finance, invoices[2], "   ")


# ----------------------------------------------------------------------------- fapiao and the CSV


def test_fapiao_number_and_date(priced, api, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician)
    iid = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()["id"]
    client = api(finance)
    today = utcnow().astimezone(local_tz()).date().isoformat()
    for bad in ({"fapiao_number": "", "fapiao_date": today}, {"fapiao_number": "0442", "fapiao_date": "soon"},
                {"fapiao_number": "0442", "fapiao_date": "2000-01-01"}, {"fapiao_number": "x" * 41,
                                                                        "fapiao_date": today},
                {"fapiao_number": "0442", "fapiao_date": today, "total": "1.00"}):
        assert client.patch(f"/api/v1/invoices/{iid}", json=bad).status_code == 422, bad
    r = client.patch(f"/api/v1/invoices/{iid}", json={"fapiao_number": "24312000000012345678",
                                                     "fapiao_date": today})
    assert r.status_code == 200 and r.get_json()["fapiao_number"] == "24312000000012345678"
    assert r.get_json()["fapiao_date"] == today
    assert "invoice.fapiao_recorded" in actions("invoices", iid)


def test_lines_csv_for_the_tax_system(priced, api, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician, "contract", minutes=30, parts=[("CAP-45-5", 3), ("TINY", 1)])
    iid = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()["id"]
    for lang, headers in (("zh-CN", ["项目名称", "规格型号", "单位", "数量", "单价", "金额", "税率", "税额"]),
                          ("en", ["Item name", "Specification / model", "Unit", "Quantity", "Unit price", "Amount",
                                  "Tax rate", "Tax amount"])):
        r = api(finance).get(f"/api/v1/invoices/{iid}/lines.csv", headers={"Accept-Language": lang})
        assert r.status_code == 200 and r.mimetype == "text/csv"
        rows = list(csv.reader(io.StringIO(r.data.decode("utf-8-sig"))))
        assert rows[0] == headers
        # Only billed lines (the contract covers call-out and labor): the capacitors and the washer.
        assert [(row[1], row[3], row[4], row[5], row[6]) for row in rows[1:]] == [
            ("CAP-45-5", "3", "35.00", "105.00", "13%"), ("TINY", "1", "0.25", "0.25", "13%")]
        # The line taxes add up to the invoice's tax exactly: 105.25 x 13 % = 13.68.
        assert sum(Decimal(row[7]) for row in rows[1:]) == Decimal("13.68")


# ----------------------------------------------------------------------------- the PDF


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


@pytest.mark.parametrize("lang", ["en", "zh-CN"])
def test_invoice_pdf_reads_back(priced, api, finance, dispatcher, technician, lang) -> None:
    customer = make_customer(dispatcher, name="上海浦江酒店管理有限公司")
    customer.tax_id = "91310000MA1K123456"
    site = make_site(customer, address="上海市浦东新区世纪大道 100 号")
    db.session.commit()
    call = make_call(dispatcher, customer=customer, site=site)
    worked(dispatcher, technician, call=call, minutes=45, parts=[("CAP-45-5", 2)])
    body = api(finance).post("/api/v1/invoices", json={"call_ids": [call.id]}).get_json()
    r = api(finance).get(f"/api/v1/invoices/{body['id']}.pdf", headers={"Accept-Language": lang})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = _pdf_text(r.data).replace("\u00a0", " ")
    assert body["number"] in text and "上海浦江酒店管理有限公司" in text and "91310000MA1K123456" in text
    assert "91310115MA1H000000" in text  # the seller's tax id, from the configuration
    assert call.number in text and "Run capacitor 45+5 uF" in text and "CAP-45-5" in text
    # 80 + 90 + 70 = 240.00; tax 31.20; total 271.20
    for amount in ("240.00", "31.20", "271.20"):
        assert amount in text, amount
    if lang == "zh-CN":
        assert "合计" in text and "金额" in text and "上门费" in text
    else:
        assert "Total" in text and "Call-out fee" in text and "Tax" in text


# ----------------------------------------------------------------------------- pages


def test_finance_issues_from_the_to_invoice_page(priced, client, login, finance, manager, dispatcher,
                                                 technician) -> None:
    call, _visit = worked(dispatcher, technician)
    other = second_call(dispatcher, technician, call)
    login(manager)
    page = client.get("/billing/to-invoice")
    assert page.status_code == 200 and call.number in page.text and 'name="call_ids"' not in page.text
    assert client.post("/billing/to-invoice", data={"call_ids": [call.id]}).status_code == 403
    login(finance)
    page = client.get("/billing/to-invoice")
    assert call.number in page.text and other.number in page.text and 'name="call_ids"' in page.text
    r = client.post("/billing/to-invoice", data={"call_ids": [call.id, other.id]})
    assert r.status_code == 302 and "/billing/invoices/" in r.headers["Location"]
    invoice = db.session.scalar(select(Invoice))
    shown = client.get(r.headers["Location"])
    assert invoice.number in shown.text and "316.40" in shown.text
    assert call.number not in client.get("/billing/to-invoice").text
    # Issuing again from a stale page: a message, not a 500, and no invoice.
    r = client.post("/billing/to-invoice", data={"call_ids": [call.id]}, follow_redirects=True)
    assert r.status_code == 200 and "already invoiced" in r.text
    # The fapiao form, then void from the page.
    today = utcnow().astimezone(local_tz()).date().isoformat()
    r = client.post(f"/billing/invoices/{invoice.id}/fapiao", data={"fapiao_number": "", "fapiao_date": today})
    assert r.status_code == 422
    r = client.post(f"/billing/invoices/{invoice.id}/fapiao", data={"fapiao_number": "0442-77", "fapiao_date": today})
    assert r.status_code == 302 and invoice.fapiao_number == "0442-77"
    assert client.post(f"/billing/invoices/{invoice.id}/void", data={"reason": ""}).status_code == 422
    r = client.post(f"/billing/invoices/{invoice.id}/void", data={"reason": "Customer asked for two invoices"})
    assert r.status_code == 302 and "/billing/credit-notes/" in r.headers["Location"]
    note_page = client.get(r.headers["Location"])
    assert "CN-" in note_page.text and invoice.number in note_page.text
    assert call.number in client.get("/billing/to-invoice").text
    assert invoice.number in client.get("/billing/invoices?status=void").text
    assert "CN-" in client.get("/billing/credit-notes").text


def test_pages_in_chinese(priced, client, login, finance, dispatcher, technician) -> None:
    call, _visit = worked(dispatcher, technician)
    invoice = billing_invoices.issue_invoice(finance, [call.id])
    db.session.commit()
    login(finance)
    for url in ("/billing/to-invoice", "/billing/invoices", f"/billing/invoices/{invoice.id}", "/billing/credit-notes"):
        r = client.get(url, headers={"Accept-Language": "zh-CN"})
        assert r.status_code == 200 and 'lang="zh' in r.text, url


# ----------------------------------------------------------------------------- concurrent numbering


@pytest.mark.concurrency
def test_twenty_finance_clerks_issue_at_once_without_gap_or_repeat(app, finance, dispatcher, technician) -> None:
    from dispatch.core.database import write_transaction
    from dispatch.core.models import User

    set_prices(finance)
    call_ids = []
    for _ in range(20):
        call, _visit = worked(dispatcher, technician, minutes=15)
        call_ids.append(call.id)
    dup = call_ids[0]
    fin_id = finance.id
    numbers: list[str] = []
    refused: list[str] = []
    start = threading.Barrier(21)

    def issue(ids: list[int]) -> None:
        with app.app_context(), write_transaction():
            start.wait()
            try:
                invoice = billing_invoices.issue_invoice(db.session.get(User, fin_id), ids)
                number = invoice.number
                db.session.commit()
                numbers.append(number)
            except (Invalid, Conflict) as exc:
                db.session.rollback()
                refused.append(exc.code)
            finally:
                db.session.remove()

    # 20 distinct calls, plus one more clerk racing for the first call: one of the two gets a 409.
    threads = [threading.Thread(target=issue, args=([cid],)) for cid in call_ids]
    threads.append(threading.Thread(target=issue, args=([dup],)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert refused == ["already_invoiced"]
    assert sorted(numbers) == [f"INV-{YEAR}-{n:06d}" for n in range(1, 21)]
    db.session.commit()
    assert sorted(db.session.scalars(select(Invoice.number))) == sorted(numbers)
    counts = {cid: 0 for cid in call_ids}
    for line in db.session.scalars(select(ChargeLine).where(ChargeLine.voided_at.is_(None))):
        assert line.invoice_id is not None
        counts[line.call_id] += 1
    assert all(counts.values())
