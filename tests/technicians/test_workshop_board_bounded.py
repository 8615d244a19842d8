"""Issue 16: the workshop board reads the items still away from their customers and only the last returned
ones (not every item ever carried back), newest return first."""

from __future__ import annotations

from datetime import timedelta

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today
from technicians.models import CarryBack
from technicians.services import workshop as ws
from tests.billing.helpers import book, catalogue, set_prices
from tests.factories import make_call, make_customer, make_site
from tests.technicians.helpers import png_b64


def _carried_back(api, dispatcher, technician, n: int) -> int:
    customer = make_customer(dispatcher, name=f"Workshop Customer {n}")
    call = make_call(dispatcher, customer, make_site(customer))
    visit = book(dispatcher, call, technician, n + 1)
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/complete", json={
        "work_summary": "Fan motor seizes; taken to the workshop.", "labor_minutes": 30, "parts": [],
        "outcome": "carry_back"})
    assert r.status_code == 200, r.json
    r = tech.post(f"/api/v1/visits/{visit.id}/carry-back", json={
        "item": f"Fan motor {n}", "model": "Carrier 30XA", "serial_number": f"FM-B{n}", "accessories": "",
        "condition": "dusty", "stated_fault": "stops when warm", "signer_name": "Mr. Gao",
        "image_png_base64": png_b64(), "promised_return_on": (local_today() + timedelta(days=5)).isoformat()})
    assert r.status_code == 201, r.json
    return int(r.json["id"])


def test_the_board_shows_open_items_and_the_last_returned(api, login, client, dispatcher, technician, manager):
    set_prices(dispatcher)
    catalogue(dispatcher)
    desk, boss = api(dispatcher), api(manager)
    first, second, still_out, not_handed_in = (_carried_back(api, dispatcher, technician, n) for n in range(4))
    for item in (first, second, still_out):
        assert desk.post(f"/api/v1/carry-backs/{item}/receive").status_code == 200
    for item in (first, second):  # repaired and picked up at the desk, `first` before `second`
        assert boss.patch(f"/api/v1/carry-backs/{item}", json={"status": "ready_to_return"}).status_code == 200
        r = desk.post(f"/api/v1/carry-backs/{item}/return", json={"signer_name": "Ms. Li",
                                                                  "image_png_base64": png_b64()})
        assert r.status_code == 200, r.json
    db.session.commit()

    board = ws.board(manager)
    assert [i.id for i in board.returned] == [second, first]
    assert [i.id for i in board.awaiting] == [not_handed_in]
    assert dict(board.columns)["received"] == [db.session.get(CarryBack, still_out)]
    assert [i.id for i in ws.board(manager, returned_shown=1).returned] == [second]
    # The search still finds a returned item.
    found = ws.board(manager, q="FM-B0")
    assert [i.id for i in found.returned] == [first] and not found.awaiting

    login(manager)
    page = client.get("/t/workshop").get_data(as_text=True)
    numbers = {i: db.session.get_one(CarryBack, i).number for i in (first, second, still_out, not_handed_in)}
    assert all(number in page for number in numbers.values())
    returned_part = page.split("Returned to the customer", 1)[1]
    assert returned_part.index(numbers[second]) < returned_part.index(numbers[first])
