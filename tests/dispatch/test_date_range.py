"""One range of dates a person can mean (timeutil.FIRST_DATE..LAST_DATE): outside it every page, form and
API parameter answers with a message (422 or the form's error), never a 500 and never a saved record."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.timeutil import FIRST_DATE, LAST_DATE, parse_date, parse_datetime
from dispatch.models import CallNote, Contract, Equipment, TimeOff, Visit
from technicians.models import AdminWork
from tests.factories import make_call, make_customer, make_equipment, make_site

FAR = ["9999-12-31", "0001-01-01", "2101-01-01", "1999-12-31"]
RANGE = "between 2000-01-01 and 2100-12-31"


def count(model: Any) -> int:
    db.session.commit()  # see what the requests committed
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


@pytest.fixture
def world(dispatcher: Any) -> dict[str, Any]:
    customer = make_customer(name="Pudong Grand Hotel")
    site = make_site(customer)
    unit = make_equipment(customer, site, serial="CA-1")
    return {"customer": customer, "site": site, "equipment": unit, "call": make_call(dispatcher, customer, site, unit)}


def test_the_parsers_share_one_range():
    assert parse_date("2000-01-01", "d") == FIRST_DATE and parse_date("2100-12-31", "d") == LAST_DATE
    for raw in FAR:
        with pytest.raises(Invalid) as caught:
            parse_date(raw, "date", "Date")
        assert caught.value.fields == {"date": RANGE}
        assert caught.value.message == "Date must be between 2000-01-01 and 2100-12-31."
        with pytest.raises(Invalid):
            parse_datetime(raw + "T09:00:00+08:00", "start")
    # Near year 1 a time zone used to overflow (OverflowError, a 500); now it is the same refusal.
    with pytest.raises(Invalid):
        parse_datetime("0001-01-01T00:00:00+14:00", "start")
    with pytest.raises(Invalid):
        parse_datetime("9999-12-31T23:59", "start")
    assert parse_datetime("2100-12-31T23:59", "start").tzinfo is not None


# ----------------------------------------------------------------------------- the board and the visits API


@pytest.mark.parametrize("query", ["date=9999-12-31", "date=0001-01-01&view=week", "date=9999-12-31&view=week",
                                   "date=1999-12-31", "date=nonsense"])
def test_the_board_refuses_a_date_out_of_range_and_shows_today(client, login, dispatcher, query):
    login(dispatcher)
    for url in (f"/board?{query}", f"/board/live?{query}"):
        response = client.get(url)
        assert response.status_code == 422, url
        assert "Date must be" in text_of(response)


@pytest.mark.parametrize("day", ["2000-01-01", "2100-12-31"])
def test_the_boards_edges_still_show(client, login, dispatcher, day):
    login(dispatcher)
    assert client.get(f"/board?date={day}").status_code == 200
    assert client.get(f"/board?date={day}&view=week").status_code == 200


def test_the_visits_api_refuses_a_date_out_of_range(api, dispatcher, technician):
    for day in FAR:
        for client in (api(dispatcher), api(technician)):
            response = client.get(f"/api/v1/visits?date={day}")
            assert response.status_code == 422, day
            assert response.get_json()["error"]["fields"] == {"date": RANGE}
    assert api(dispatcher).get("/api/v1/visits?date=2100-12-31").status_code == 200


# ----------------------------------------------------------------------------- booking and time off


def test_booking_far_from_today_is_refused_on_the_page_and_the_api(client, login, api, dispatcher, technician, world):
    call = world["call"]
    response = api(dispatcher).post(f"/api/v1/calls/{call.id}/visits", json={
        "technician_id": technician.id, "start": "9999-12-31T09:00:00+08:00", "duration_minutes": 60})
    assert response.status_code == 422 and "start" in response.get_json()["error"]["fields"]
    response = api(dispatcher).post(f"/api/v1/calls/{call.id}/visits", json={
        "technician_id": technician.id, "start": "2026-12-01T09:00:00+08:00", "end": "9999-12-31T09:00:00+08:00"})
    assert response.status_code == 422 and "end" in response.get_json()["error"]["fields"]
    login(dispatcher)
    response = client.post(f"/board/calls/{call.id}/book", data={
        "technician_id": technician.id, "start": "9999-12-31T09:00", "duration": "60"}, follow_redirects=True)
    assert response.status_code == 200 and "Start must be between 2000-01-01 and 2100-12-31." in text_of(response)
    assert count(Visit) == 0


def test_time_off_in_year_9999_is_a_form_error(client, login, api, manager, technician):
    login(manager)
    response = client.post(f"/technicians/{technician.id}/time-off", data={
        "starts_at": "9999-12-30T08:00", "ends_at": "9999-12-31T17:00", "reason": "typo"}, follow_redirects=True)
    assert response.status_code == 200
    assert "From must be between 2000-01-01 and 2100-12-31." in text_of(response)
    response = client.post(f"/technicians/{technician.id}/time-off", data={
        "starts_at": "2026-12-30T08:00", "ends_at": "99999-12-31T17:00", "reason": "typo"}, follow_redirects=True)
    assert response.status_code == 200 and "To must be a date and time" in text_of(response)
    response = api(manager).post(f"/api/v1/technicians/{technician.id}/time-off", json={
        "starts_at": "2026-12-30T08:00:00+08:00", "ends_at": "9999-12-31T17:00:00+08:00", "reason": "typo"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"ends_at": RANGE}
    assert count(TimeOff) == 0


# ----------------------------------------------------------------------------- the desk's records


def test_notes_follow_up_out_of_range(client, login, api, dispatcher, world):
    call = world["call"]
    login(dispatcher)
    for raw in ("9999-12-31T10:00", "0001-01-01T00:00", "1999-12-31T23:59"):
        response = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "text": "call back",
                                                                "next_follow_up": raw})
        assert response.status_code == 422, raw
        assert RANGE in text_of(response)
    response = api(dispatcher).post(f"/api/v1/calls/{call.id}/notes", json={
        "channel": "phone", "text": "call back", "next_follow_up": "9999-12-31T10:00:00+08:00"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"next_follow_up": RANGE}
    assert count(CallNote) == 0
    fine = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "text": "call back",
                                                       "next_follow_up": "2100-12-31T10:00"})
    assert fine.status_code == 302 and count(CallNote) == 1


def test_contract_dates_out_of_range(client, login, api, dispatcher, world):
    customer = world["customer"]
    login(dispatcher)
    for starts, ends in (("2026-01-01", "9999-12-31"), ("0001-01-01", "2026-12-31")):
        response = client.post(f"/customers/{customer.id}/contracts/new", data={
            "number": "MC-1", "starts_on": starts, "ends_on": ends})
        assert response.status_code == 422 and RANGE in text_of(response)
        response = api(dispatcher).post("/api/v1/contracts", json={
            "customer_id": customer.id, "number": "MC-1", "starts_on": starts, "ends_on": ends})
        assert response.status_code == 422
        assert RANGE in response.get_json()["error"]["fields"].values()
    assert count(Contract) == 0


def test_equipment_warranty_out_of_range(client, login, api, dispatcher, world):
    customer, site, unit = world["customer"], world["site"], world["equipment"]
    login(dispatcher)
    response = client.post(f"/customers/{customer.id}/equipment/new", data={
        "site_id": site.id, "model": "Daikin VRV", "serial_number": "SN-1", "warranty_until": "9999-12-31"})
    assert response.status_code == 422 and RANGE in text_of(response)
    assert 'min="2000-01-01"' in text_of(response) and 'max="2100-12-31"' in text_of(response)
    response = client.post(f"/equipment/{unit.id}/edit", data={
        "site_id": site.id, "model": unit.model, "serial_number": unit.serial_number, "warranty_until": "0001-01-01"})
    assert response.status_code == 422 and RANGE in text_of(response)
    response = api(dispatcher).post("/api/v1/equipment", json={
        "customer_id": customer.id, "site_id": site.id, "model": "M", "serial_number": "S-2",
        "warranty_until": "9999-12-31"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"warranty_until": RANGE}
    assert count(Equipment) == 1
    db.session.refresh(unit)
    assert unit.warranty_until is None


def test_received_at_out_of_range(api, dispatcher, world):
    response = api(dispatcher).post("/api/v1/calls", json={
        "customer_id": world["customer"].id, "site_id": world["site"].id, "equipment_id": world["equipment"].id,
        "channel": "phone", "problem_type": "not cooling", "priority": "normal", "description": "Warm air.",
        "on_site": True, "received_at": "1999-12-31T23:00:00+08:00"})
    assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"received_at": RANGE}


def test_admin_time_out_of_range(client, login, api, technician):
    login(technician)
    for day in ("9999-12-31", "0001-01-01"):
        response = client.post("/t/admin-time", data={"date": day, "activity": "training", "minutes": "30"})
        assert response.status_code == 422 and RANGE in text_of(response)
        response = api(technician).post("/api/v1/admin-work", json={"date": day, "activity": "training",
                                                                     "minutes": 30})
        assert response.status_code == 422 and response.get_json()["error"]["fields"] == {"date": RANGE}
    assert count(AdminWork) == 0



def test_the_range_is_told_in_the_readers_language(client, login, api, dispatcher):
    login(dispatcher)
    zh = {"Accept-Language": "zh-CN"}
    board = client.get("/board?date=9999-12-31", headers=zh)
    assert board.status_code == 422 and "须在 2000-01-01 至 2100-12-31 之间" in text_of(board)
    response = api(dispatcher).get("/api/v1/visits?date=9999-12-31", headers=zh)
    assert response.get_json()["error"]["fields"] == {"date": "须在 2000-01-01 至 2100-12-31 之间"}
