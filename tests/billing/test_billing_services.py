"""Charge rules by category, the arithmetic at its edges, and on-site payments (billing.services)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select

from billing import schemas as billing_schemas
from billing.models import ChargeLine, Payment
from billing.services import charges as billing_charges
from billing.services import parts as billing_parts
from billing.services import payments as billing_payments
from billing.services import prices as billing_prices
from dispatch.core.errors import Conflict, Invalid
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.core.types import money
from tests.billing.helpers import D, book, call_of, catalogue, set_prices


@pytest.fixture
def priced(finance, dispatcher):
    set_prices(finance)
    catalogue(finance)


def test_default_prices_hold_until_finance_sets_them(finance) -> None:
    prices = billing_prices.current_prices()
    assert (prices.call_out_fee, prices.labor_rate_per_hour, prices.tax_rate, prices.currency) == \
        (D("80.00"), D("120.00"), D("0.13"), "CNY")
    set_prices(finance, fee="95.50", rate="150", tax="0.09")
    set_prices(finance, fee="99.00", rate="160", tax="0.065")
    current = billing_prices.current_prices()
    assert (current.call_out_fee, current.labor_rate_per_hour, current.tax_rate) == \
        (D("99.00"), D("160.00"), D("0.065"))
    assert billing_schemas.prices_json(current)["tax_rate"] == "0.065"
    assert len(billing_prices.price_history()) == 2  # versions are kept, never overwritten
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)
                             .where(AuditEvent.action == "prices.set")) == 2


PRICE_MISTAKES = [
    ({"call_out_fee": "-1"}, "call_out_fee"),
    ({"labor_rate_per_hour": "abc"}, "labor_rate_per_hour"),
    ({"tax_rate": "1.5"}, "tax_rate"),
    ({"tax_rate": "-0.01"}, "tax_rate"),
    ({"call_out_fee": "10.005"}, "call_out_fee"),
    ({"currency": "yuan"}, "currency"),
    ({"call_out_fee": None}, "call_out_fee"),
]


def test_set_prices_refuses_bad_values(finance) -> None:
    for fields, bad in PRICE_MISTAKES:
        values = {"call_out_fee": "80", "labor_rate_per_hour": "120", "tax_rate": "0.13", "currency": "CNY",
                  **fields}
        with pytest.raises(Invalid) as caught:
            billing_prices.set_prices(finance, **values)
        assert bad in caught.value.fields, fields
    assert billing_prices.set_prices(finance, call_out_fee="80", labor_rate_per_hour="120", tax_rate="1",
                                     currency="CNY").tax_rate == Decimal("1")  # the edges 0 and 1 are allowed
    assert billing_prices.set_prices(finance, call_out_fee="0", labor_rate_per_hour="0", tax_rate="0").tax_rate == 0
    assert len(billing_prices.price_history()) == 2


def test_charged_call_everything_is_due(priced, dispatcher, technician) -> None:
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    lines = billing_charges.record_work(technician, call, visit, labor_minutes=45,
                                        parts=[("CAP-45-5", 2), ("flt-1620", 1)])
    db.session.commit()
    assert [(ln.kind, ln.amount, ln.covered) for ln in lines] == [
        ("call_out", D("80.00"), False), ("labor", D("90.00"), False),  # 45 minutes at 120/h
        ("part", D("70.00"), False), ("part", D("18.50"), False)]
    sheet = billing_charges.charges_for_call(call)
    assert sheet.subtotal == D("258.50")
    assert sheet.tax == D("33.61")  # 13 % of 258.50 = 33.605, half-up
    assert sheet.total_due == D("292.11")
    assert sheet.balance == D("292.11")
    data = billing_schemas.charge_sheet_json(sheet, costs=True)
    assert data["total_due"] == "292.11" and data["currency"] == "CNY"
    assert data["lines"][2] == {**data["lines"][2], "sku": "CAP-45-5", "quantity": "2", "unit_price": "35.00",
                                "amount": "70.00", "covered": False, "covered_by": None, "cost": "24.80"}
    assert data["explanation"].startswith("charged")


def test_free_call_bills_nothing_but_keeps_the_cost(priced, dispatcher, technician) -> None:
    call = call_of("free", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=30,
                                parts=[("CAP-45-5", 1), ("R410A-KG", "1.5")])
    db.session.commit()
    sheet = billing_charges.charges_for_call(call)
    assert all(ln.covered for ln in sheet.lines)
    assert {ln.covered_by for ln in sheet.lines} == {"free: under warranty until 2027-03-01"}
    assert (sheet.subtotal, sheet.tax, sheet.total_due) == (D("0.00"), D("0.00"), D("0.00"))
    # list value 80 + 60 + 35 + 142.50; cost 80 + 60 + 12.40 (R410A has no unit cost)
    assert sheet.list_total == D("317.50")
    assert sheet.cost == D("152.40")
    assert sheet.explanation == "free: under warranty until 2027-03-01: nothing to pay"


@pytest.mark.parametrize("covers_parts, due", [(False, D("35.00")), (True, D("0.00"))])
def test_contract_covers_call_out_and_labor_and_parts_only_when_it_says(priced, dispatcher, technician,
                                                                       covers_parts, due) -> None:
    call = call_of("contract", dispatcher, covers_parts=covers_parts)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=90, parts=[("CAP-45-5", 1)])
    db.session.commit()
    sheet = billing_charges.charges_for_call(call)
    by_kind = {ln.kind: ln for ln in sheet.lines}
    assert by_kind["call_out"].covered and by_kind["call_out"].covered_by == "contract MC-0042"
    assert by_kind["labor"].covered and by_kind["labor"].amount == D("180.00")
    assert by_kind["part"].covered is covers_parts
    assert sheet.subtotal == due
    assert sheet.tax == money(due * D("0.13"))
    if covers_parts:
        assert sheet.explanation == "contract MC-0042 covers call-out, labor and parts"
    else:
        assert sheet.explanation == "contract MC-0042 covers labor and call-out; parts are charged"


def test_contract_without_parts_explains_in_one_line(priced, dispatcher, technician) -> None:
    call = call_of("contract", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=20, parts=[])
    assert billing_charges.charges_for_call(call).explanation == "contract MC-0042 covers labor and call-out"


def test_rounding_half_up_at_the_edges(finance, dispatcher, technician) -> None:
    catalogue(finance)
    set_prices(finance, fee="0.05", rate="7.50", tax="0.13")
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    lines = billing_charges.record_work(technician, call, visit, labor_minutes=1, parts=[("TINY", "0.5")])
    # 1 minute at 7.50/h = 0.125 -> 0.13; 0.5 x 0.25 = 0.125 -> 0.13 (half-up, not to even)
    assert [ln.amount for ln in lines] == [D("0.05"), D("0.13"), D("0.13")]
    sheet = billing_charges.charges_for_call(call)
    assert sheet.subtotal == D("0.31")
    assert sheet.tax == D("0.04")  # 0.0403
    set_prices(finance, fee="0.05", rate="0", tax="0.13")
    call2 = call_of("charged", dispatcher)
    visit2 = book(dispatcher, call2, technician, hours_from_now=3)
    billing_charges.record_work(technician, call2, visit2, labor_minutes=0, parts=[])
    sheet2 = billing_charges.charges_for_call(call2)
    assert (sheet2.subtotal, sheet2.tax, sheet2.total_due) == (D("0.05"), D("0.01"), D("0.06"))  # 0.0065 -> 0.01
    set_prices(finance, fee="0.50", rate="0", tax="0.50")
    # a later price list changes neither the lines nor the tax of work already recorded
    sheet2 = billing_charges.charges_for_call(call2)
    assert (sheet2.tax, sheet2.total_due) == (D("0.01"), D("0.06"))
    set_prices(finance, fee="0.50", rate="0", tax="0.13")
    call3 = call_of("charged", dispatcher)
    visit3 = book(dispatcher, call3, technician, hours_from_now=5)
    billing_charges.record_work(technician, call3, visit3, labor_minutes=0, parts=[])
    assert billing_charges.charges_for_call(call3).tax == D("0.07")  # 0.065 -> 0.07 (to even would be 0.06)


def test_one_call_out_per_call_across_two_visits(priced, dispatcher, technician) -> None:
    call = call_of("charged", dispatcher)
    first = book(dispatcher, call, technician, 1)
    second = book(dispatcher, call, technician, 3, additional=True)
    billing_charges.record_work(technician, call, first, labor_minutes=60, parts=[])
    billing_charges.record_work(technician, call, second, labor_minutes=30, parts=[("FLT-1620", 2)])
    # the first visit records again (a correction): still one call-out, the old lines are voided, not deleted
    billing_charges.record_work(technician, call, first, labor_minutes=50, parts=[])
    db.session.commit()
    sheet = billing_charges.charges_for_call(call)
    assert [ln.kind for ln in sheet.lines].count("call_out") == 1
    assert [(ln.kind, ln.amount) for ln in sheet.lines] == [
        ("call_out", D("80.00")), ("labor", D("100.00")), ("labor", D("60.00")), ("part", D("37.00"))]
    assert db.session.scalar(select(func.count()).select_from(ChargeLine)
                             .where(ChargeLine.voided_at.is_not(None))) == 2
    assert sheet.subtotal == D("277.00")


def test_unknown_or_archived_sku_and_bad_quantities_are_refused(priced, finance, dispatcher, technician) -> None:
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    with pytest.raises(Invalid) as caught:
        billing_charges.record_work(technician, call, visit, labor_minutes=10, parts=[("NOPE-1", 1)])
    assert caught.value.fields == {"parts": "unknown sku NOPE-1"}
    billing_parts.archive_part(finance, billing_parts.find_part("TINY"))
    with pytest.raises(Invalid):
        billing_charges.record_work(technician, call, visit, labor_minutes=10, parts=[("TINY", 1)])
    for bad in (0, -1, "x", "0.0001"):
        with pytest.raises(Invalid):
            billing_charges.record_work(technician, call, visit, labor_minutes=10, parts=[("CAP-45-5", bad)])
    for minutes in (-5, 1.5, 24 * 60 + 1, True):
        with pytest.raises(Invalid):
            billing_charges.record_work(technician, call, visit, labor_minutes=minutes, parts=[])  # type: ignore[arg-type]
    assert billing_charges.charges_for_call(call).lines == []


def test_locked_charges_refuse_changes(priced, dispatcher, technician) -> None:
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=30, parts=[])
    billing_charges.lock_call_charges(call, visit, technician)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        billing_charges.record_work(technician, call, visit, labor_minutes=60, parts=[])
    assert caught.value.code == "charges_locked"
    assert billing_charges.charges_for_call(call).locked is True


def test_onsite_payments(priced, dispatcher, technician, finance) -> None:
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=60, parts=[])  # 200.00 + 26.00 tax
    db.session.commit()
    year = utcnow().astimezone(local_tz()).year
    with pytest.raises(Invalid) as caught:
        billing_payments.record_onsite_payment(technician, call, visit, amount=D("226.01"), method="cash")
    assert caught.value.code == "more_than_due"
    for amount, method in [("0", "cash"), ("-3", "cash"), ("10.001", "cash"), ("10", "cheque")]:
        with pytest.raises(Invalid):
            billing_payments.record_onsite_payment(technician, call, visit, amount=amount, method=method)
    db.session.rollback()
    first = billing_payments.record_onsite_payment(technician, call, visit, amount=D("100.00"), method="cash")
    second = billing_payments.record_onsite_payment(technician, call, visit, amount="126.00", method="card")
    db.session.commit()
    # the refused attempts took no numbers: receipts run without gaps
    assert [first.receipt_number, second.receipt_number] == [f"RC-{year}-000001", f"RC-{year}-000002"]
    sheet = billing_charges.charges_for_call(call)
    assert (sheet.paid, sheet.balance) == (D("226.00"), D("0.00"))
    with pytest.raises(Conflict):
        billing_payments.record_onsite_payment(technician, call, visit, amount="1", method="cash")
    billing_payments.reconcile_payment(finance, first)
    db.session.commit()
    with pytest.raises(Conflict):
        billing_payments.reconcile_payment(finance, first)
    assert first.reconciled_by_id == finance.id
    assert db.session.scalar(select(func.count()).select_from(Payment)) == 2


def test_payment_on_free_or_fully_covered_call_is_a_conflict(priced, dispatcher, technician) -> None:
    free = call_of("free", dispatcher)
    visit = book(dispatcher, free, technician)
    billing_charges.record_work(technician, free, visit, labor_minutes=60, parts=[("CAP-45-5", 1)])
    with pytest.raises(Conflict) as caught:
        billing_payments.record_onsite_payment(technician, free, visit, amount="10", method="cash")
    assert caught.value.code == "nothing_due"
    db.session.rollback()
    contract = call_of("contract", dispatcher)
    visit2 = book(dispatcher, contract, technician, 3)
    billing_charges.record_work(technician, contract, visit2, labor_minutes=60, parts=[])
    with pytest.raises(Conflict):
        billing_payments.record_onsite_payment(technician, contract, visit2, amount="10", method="cash")
    # parts not covered by the contract are due and can be paid
    billing_charges.record_work(technician, contract, visit2, labor_minutes=60, parts=[("FLT-1620", 1)])
    payment = billing_payments.record_onsite_payment(technician, contract, visit2, amount="20.91", method="transfer")
    assert payment.amount == D("20.91")  # 18.50 + 13 % = 20.905 -> 20.91


def test_parts_catalogue(finance) -> None:
    part = billing_parts.create_part(finance, sku=" cap-45-5 ", name="Run capacitor", unit_price="35", unit_cost="12.4")
    db.session.commit()
    assert (part.sku, part.unit_price, part.unit_cost) == ("CAP-45-5", D("35.00"), D("12.40"))
    with pytest.raises(Conflict) as caught:
        billing_parts.create_part(finance, sku="Cap-45-5", name="Again", unit_price="1")
    assert caught.value.code == "duplicate_sku"
    with pytest.raises(Invalid) as bad:
        billing_parts.create_part(finance, sku="has space", name="", unit_price="-1")
    assert set(bad.value.fields) == {"sku", "name", "unit_price"}
    billing_parts.update_part(finance, part, unit_price="36.50")
    assert part.unit_price == Decimal("36.50")
    billing_parts.archive_part(finance, part)
    db.session.commit()
    assert billing_parts.search_parts("cap", 10) == []
    assert billing_parts.search_parts("capacitor", 10, include_archived=True) == [part]
    billing_parts.restore_part(finance, part)
    assert billing_parts.search_parts("45-5 run", 10) == [part]
    assert billing_parts.search_parts("%", 10) == []  # LIKE wildcards are plain characters


@pytest.mark.concurrency
def test_concurrent_payments_never_overpay_and_receipts_stay_gapless(app, priced, dispatcher, technician) -> None:
    """Six phones pay 60.00 at once on a call owing 158.20: two succeed, numbers 1 and 2, no gap."""
    import threading

    from dispatch.core.database import write_transaction
    from dispatch.models import RepairCall, Visit

    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    billing_charges.record_work(technician, call, visit, labor_minutes=30, parts=[])  # 140.00 + 18.20 tax
    db.session.commit()
    call_id, visit_id, tech_id = call.id, visit.id, technician.id
    outcomes: list[str] = []
    start = threading.Barrier(6)

    def pay() -> None:
        with app.app_context(), write_transaction():
            start.wait()
            try:
                from dispatch.core.models import User

                billing_payments.record_onsite_payment(
                    db.session.get(User, tech_id), db.session.get(RepairCall, call_id),
                    db.session.get(Visit, visit_id), amount="60.00", method="cash")
                db.session.commit()
                outcomes.append("paid")
            except (Invalid, Conflict) as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=pay) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["more_than_due"] * 4 + ["paid"] * 2
    db.session.commit()  # a fresh transaction sees what the threads committed
    year = utcnow().astimezone(local_tz()).year
    receipts = sorted(db.session.scalars(select(Payment.receipt_number)))
    assert receipts == [f"RC-{year}-000001", f"RC-{year}-000002"]
    assert billing_charges.charges_for_call(db.session.get(RepairCall, call_id)).balance == Decimal("38.20")


def test_one_part_list_parser_for_every_entry_point() -> None:
    """billing.services.parts.parse_part_lines: blank rows skipped, same sku merged, 1 when no quantity."""
    parsed = billing_parts.parse_part_lines([{"sku": " cap-45-5 ", "quantity": "1.5"}, {"sku": "", "quantity": ""},
                                             {"sku": "CAP-45-5", "quantity": 2}, {"sku": "FLT-1620"}])
    assert parsed == [billing_parts.PartUse("CAP-45-5", D("3.5")), billing_parts.PartUse("FLT-1620", D("1"))]
    assert billing_parts.parse_part_lines(None) == []
    assert billing_parts.parse_part_lines([{"sku": "R410A-KG", "quantity": "999"}])[0].quantity == D("999")
    for bad in ("x", [1], [{"sku": 5}], [{"sku": "A", "quantity": "1000"}], [{"sku": "A", "quantity": "0.0001"}],
                [{"sku": "A", "quantity": 0}], [{"sku": f"P-{i}"} for i in range(51)]):
        with pytest.raises(Invalid) as caught:
            billing_parts.parse_part_lines(bad)
        assert "parts" in caught.value.fields
    assert billing_parts.format_quantity(D("2.000")) == "2" and billing_parts.format_quantity(D("1.500")) == "1.5"


def test_recorded_quantities_keep_the_same_limit(priced, dispatcher, technician) -> None:
    call = call_of("charged", dispatcher)
    visit = book(dispatcher, call, technician)
    with pytest.raises(Invalid) as caught:
        billing_charges.record_work(technician, call, visit, labor_minutes=0, parts=[("CAP-45-5", "1000")])
    assert caught.value.fields == {"parts": f"row 1: quantity must be at most {billing_parts.MAX_PART_QUANTITY}"}
    lines = billing_charges.record_work(technician, call, visit, labor_minutes=0, parts=[("R410A-KG", "999")])
    assert [ln.quantity for ln in lines if ln.kind == "part"] == [D("999")]


def test_archive_button_toggles_and_loaders_404(finance) -> None:
    from dispatch.core.errors import NotFound

    part = billing_parts.create_part(finance, sku="T-1", name="Toggle", unit_price="1")
    assert billing_parts.toggle_archived(finance, part).archived_at is not None
    assert billing_parts.count_live_parts() == 0
    assert billing_parts.toggle_archived(finance, part).archived_at is None
    assert billing_parts.get_part_or_404(part.id) is part
    for bad in (999999, 0, 2**31):
        with pytest.raises(NotFound):
            billing_parts.get_part_or_404(bad)
        with pytest.raises(NotFound):
            billing_payments.get_payment_or_404(bad)
