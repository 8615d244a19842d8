"""The CSV exports read back with the csv module (UTF-8 with BOM, Chinese intact), every sum of money once;
and the cost of free and contract work per customer and month."""

from __future__ import annotations

import csv
import io
from datetime import date

from billing.services import credit_notes as billing_credit_notes
from billing.services import invoice_payments
from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today
from dispatch.services.contracts import create_contract
from tests.billing.helpers import D, catalogue, set_prices
from tests.billing.money_helpers import invoice_for, pay_on_site, worked_call


def read(response) -> list[dict[str, str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv" and response.data.startswith("\ufeff".encode())
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


def span() -> str:
    today = local_today().isoformat()
    return f"?from={today}&to={today}"


def test_invoices_credit_notes_and_payments_read_back(finance, manager, dispatcher, technician, api) -> None:
    set_prices(finance)
    call, visit = worked_call(dispatcher, technician)
    call.customer.name = "上海浦东大厦物业"
    db.session.commit()
    onsite = pay_on_site(technician, call, visit, "58.20", "wechat")
    invoice = invoice_for(finance, call)
    invoice_payments.record_invoice_payment(finance, invoice, amount="40.00", method="transfer", reference="B-1")
    db.session.commit()
    call2, _v = worked_call(dispatcher, technician, hours=3)
    voided = invoice_for(finance, call2)
    note = billing_credit_notes.void_invoice(finance, voided, "wrong buyer")
    db.session.commit()

    client = api(manager)
    rows = read(client.get("/api/v1/billing/exports/invoices.csv" + span()))
    by_no = {r["Invoice no."]: r for r in rows}
    assert by_no[invoice.number]["Customer"] == "上海浦东大厦物业"
    assert (by_no[invoice.number]["Total"], by_no[invoice.number]["Paid"], by_no[invoice.number]["Balance"]) == \
        ("158.20", "98.20", "60.00")
    assert by_no[voided.number]["Status"] == "Void"

    notes = read(client.get("/api/v1/billing/exports/credit-notes.csv" + span()))
    assert [(n["Credit note no."], n["Invoice no."], n["Amount"], n["Reason"]) for n in notes] == [
        (note.number, voided.number, "158.20", "wrong buyer")]

    pays = read(client.get("/api/v1/billing/exports/payments.csv" + span()))
    # The on-site payment once (with its invoice), the invoice payment once: 98.20 in all, never 156.40.
    assert sorted((p["Source"], p["Receipt no."], p["Invoice no."], p["Amount"]) for p in pays) == sorted([
        ("On site", onsite.receipt_number, invoice.number, "58.20"), ("Against invoice", "", invoice.number, "40.00")])
    assert sum(D(p["Amount"]) for p in pays) == D("98.20")
    assert {p["Method"] for p in pays} == {"WeChat Pay", "Bank transfer"}

    zh = client.get("/api/v1/billing/exports/payments.csv" + span(), headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and zh.data.startswith("\ufeff".encode())
    empty = read(client.get("/api/v1/billing/exports/invoices.csv?from=2020-01-01&to=2020-01-31"))
    assert empty == []
    bad = client.get("/api/v1/billing/exports/invoices.csv?from=2026-02-01&to=2026-01-01")
    assert bad.status_code == 422
    assert client.get("/api/v1/billing/exports/nothing.csv").status_code == 404
    assert api(dispatcher).get("/api/v1/billing/exports/invoices.csv").status_code == 403


def test_cost_of_covered_work_per_customer_and_month(finance, dispatcher, technician, api, client, login) -> None:
    set_prices(finance)
    catalogue(finance)
    free_call, _v = worked_call(dispatcher, technician, "free", minutes=60, parts=[("CAP-45-5", 1)])
    contract_call, _v2 = worked_call(dispatcher, technician, "contract", minutes=30, parts=[("CAP-45-5", 2)],
                                     hours=3)
    # The contract customer also pays a fee, invoiced this month.
    create_contract(dispatcher, contract_call.customer, number="MC-FEE", starts_on=local_today().replace(day=1),
                    ends_on=date(2030, 12, 31), fee="100.00", billing_period="monthly")
    db.session.commit()
    api(finance).post("/api/v1/billing/contract-invoices", json={})
    rows = read(api(finance).get("/api/v1/billing/exports/covered-cost.csv" + span()))
    month = local_today().strftime("%Y-%m")
    free = next(r for r in rows if r["Customer"] == free_call.customer.name)
    # free: call-out 80 + labor 120 + part 35.00 (cost 12.40) all covered
    assert (free["Month"], free["Category"], free["Calls"]) == (month, "Free service", "1")
    assert (free["Cost to us"], free["List value"]) == ("212.40", "235.00")
    contract = next(r for r in rows if r["Customer"] == contract_call.customer.name)
    # contract without parts: call-out 80 + labor 60 covered (cost = list); the parts are charged, not counted
    assert (contract["Category"], contract["Cost to us"], contract["List value"]) == ("Contract service", "140.00",
                                                                                      "140.00")
    assert (contract["Contract fees invoiced"], contract["Cost beyond fees"]) == ("100.00", "40.00")
    login(finance)
    page = client.get("/billing/exports" + span())
    assert page.status_code == 200 and b"212.40" in page.data and free_call.customer.name.encode() in page.data
    assert client.get("/billing/exports?from=2026-02-01&to=2026-01-01").status_code == 422
