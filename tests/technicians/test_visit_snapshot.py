"""Issue 16: the phone's snapshot (GET /api/v1/me/visits) reads what its visits show for all of them at once
(technicians/services/snapshot.py); each visit in it must still be exactly what the one-visit endpoint
answers: earlier visits of the equipment (or the site), events, work record, parts, the bill with its
payments, the signature."""

from __future__ import annotations

from decimal import Decimal

from billing.services import charges as billing_charges
from billing.services import prices as billing_prices
from dispatch.core.extensions import db
from dispatch.scheduling.booking import cancel_visit
from technicians.services.progress import earlier_visits, earlier_visits_of
from tests.billing.helpers import book, catalogue, set_prices
from tests.factories import make_call, make_customer, make_equipment, make_site, make_user
from tests.technicians.helpers import png_b64


def _work(tech, visit, parts=()):
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={
        "work_summary": f"Work of {visit.slip_number}", "labor_minutes": 45, "parts": list(parts),
        "outcome": "follow_up"})
    assert r.status_code == 200, r.json


def test_each_visit_of_the_snapshot_is_what_the_visit_endpoint_answers(api, dispatcher, technician):
    set_prices(dispatcher)
    catalogue(dispatcher)
    wu = make_user("technician", username="wu", name="Wu Helper", skills=["hvac"])
    tech = api(technician)
    customer = make_customer(dispatcher, name="Snapshot Customer")
    site, yard = make_site(customer), make_site(customer, address="200 Nanjing Road, Shanghai")
    unit = make_equipment(customer, site, serial="SNAP-1")
    on_unit = make_call(dispatcher, customer, site, equipment=unit)
    # The unit: visited at +1 h (worked, a part, paid, signed), a cancelled visit at +2 h, again at +3 h.
    first = book(dispatcher, on_unit, technician, 1)
    cancelled = book(dispatcher, on_unit, wu, 2, additional=True)
    cancel_visit(dispatcher, cancelled, "customer away")
    again = book(dispatcher, on_unit, technician, 3, additional=True)
    _work(tech, first, [{"sku": "CAP-45-5", "quantity": 1}])
    r = tech.post(f"/api/v1/visits/{first.id}/payments", json={"amount": "50.00", "method": "cash"})
    assert r.status_code == 201, r.json
    r = tech.post(f"/api/v1/visits/{first.id}/signature", json={"signer_name": "Mr. Gao",
                                                                  "image_png_base64": png_b64()})
    assert r.status_code == 201, r.json
    # The yard, a call with no equipment: its earlier visits are the site's, whatever unit they were for.
    at_yard = make_call(dispatcher, customer, yard)
    yard_first = book(dispatcher, at_yard, technician, 4)
    other_unit = make_call(dispatcher, customer, yard, equipment=make_equipment(customer, yard, serial="SNAP-2"))
    yard_unit = book(dispatcher, other_unit, wu, 5)
    yard_again = book(dispatcher, at_yard, technician, 6, additional=True)
    _work(tech, yard_first)
    db.session.commit()

    snapshot = tech.get("/api/v1/me/visits?days=3")
    assert snapshot.status_code == 200, snapshot.json
    items = {item["id"]: item for item in snapshot.json["items"]}
    assert set(items) == {first.id, again.id, yard_first.id, yard_again.id}
    for visit_id, item in items.items():
        r = tech.get(f"/api/v1/visits/{visit_id}/work")
        assert r.status_code == 200
        one = r.json
        # the minutes since arrival run on between the two requests: compared apart
        listed_minutes, one_minutes = item.pop("suggested_labor_minutes"), one.pop("suggested_labor_minutes")
        assert abs(listed_minutes - one_minutes) <= 1
        assert item == one, visit_id

    def earlier(visit_id):
        return [(v["id"], v["work_summary"]) for v in items[visit_id]["earlier_visits"]]

    assert earlier(first.id) == []
    assert earlier(again.id) == [(first.id, f"Work of {first.slip_number}")]  # not the cancelled one
    assert earlier(yard_again.id) == [(yard_unit.id, None), (yard_first.id, f"Work of {yard_first.slip_number}")]
    worked = items[first.id]
    assert [e["kind"] for e in worked["events"]] == ["arrived", "completed", "signed"]
    assert worked["work_record"]["labor_minutes"] == 45 and worked["signature"]["signer_name"] == "Mr. Gao"
    assert [p["sku"] for p in worked["parts"]] == ["CAP-45-5"]
    assert worked["charges"]["paid"] == "50.00" and len(worked["charges"]["payments"]) == 1
    assert items[again.id]["charges"] == worked["charges"]  # one call, one bill
    assert items[again.id]["work_record"] is None and items[again.id]["signature"] is None

    # The batch rule is the one-visit rule, newest first, `limit` per visit.
    found = earlier_visits_of([again, yard_again], limit=1)
    assert found == {again.id: [first], yard_again.id: [yard_unit]}
    assert earlier_visits(yard_again) == [yard_unit, yard_first]


def test_bills_read_together_keep_the_prices_in_force_when_each_was_worked(dispatcher, technician):
    set_prices(dispatcher, tax="0.13")
    customer = make_customer(dispatcher, name="Prices Customer")
    site = make_site(customer)
    early, late, idle = (make_call(dispatcher, customer, site) for _ in range(3))
    billing_charges.record_work(technician, early, book(dispatcher, early, technician, 1), labor_minutes=60, parts=[])
    db.session.commit()
    billing_prices.set_prices(dispatcher, call_out_fee="80.00", labor_rate_per_hour="120.00", tax_rate="0.06",
                              currency="CNY")
    db.session.commit()
    billing_charges.record_work(technician, late, book(dispatcher, late, technician, 3), labor_minutes=60, parts=[])
    db.session.commit()
    sheets = billing_charges.charge_sheets([early, late, idle])
    assert [sheets[c.id].tax_rate for c in (early, late, idle)] == [Decimal("0.13"), Decimal("0.06"), Decimal("0.06")]
    assert sheets[early.id].tax == Decimal("26.00") and sheets[late.id].tax == Decimal("12.00")
    assert sheets[idle.id].lines == [] and sheets[idle.id].total_due == Decimal("0.00")
    for call in (early, late, idle):
        assert billing_charges.charges_for_call(call) == sheets[call.id]
