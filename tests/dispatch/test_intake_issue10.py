"""Issue 10, intake and the customer file: an explicit equipment choice, duplicates shown before creating,
nothing left behind by an abandoned intake, search by address and serial number, phone numbers."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.models import Customer, Equipment, RepairCall, Site
from tests.factories import make_call, make_customer, make_equipment, make_site


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def text(response: Any) -> str:
    return response.get_data(as_text=True)


def checked(html: str, name: str) -> list[str]:
    return re.findall(rf'name="{name}" value="(-?\d+)"[^>]*checked', html)


CALL = {"problem_type": "not cooling", "priority": "normal", "channel": "phone", "description": "Warm air."}


# ----------------------------------------------------------------------------- equipment at intake


def test_the_only_equipment_at_the_site_is_picked_and_several_need_a_choice(client, login, dispatcher):
    login(dispatcher)
    customer = make_customer(name="Lone Unit Co", phone="13511112222")
    site = make_site(customer)
    unit = make_equipment(customer, site, serial="W-1", warranty_until=date(2099, 1, 1))
    panel = text(client.get(f"/calls/new/customer?customer_id={customer.id}"))
    assert checked(panel, "equipment_id") == [str(unit.id)]  # not "not listed", which would make it charged
    assert "This call will be:" in panel and "free: under warranty" in panel

    second = make_equipment(customer, site, serial="W-2")
    panel = text(client.get(f"/calls/new/customer?customer_id={customer.id}"))
    assert checked(panel, "equipment_id") == [] and "Not listed" in panel
    refused = client.post("/calls/new", data={"customer_id": customer.id, "site_id": site.id, **CALL})
    assert refused.status_code == 422 and "“not listed”" in text(refused) and count(RepairCall) == 0
    not_listed = client.post("/calls/new", data={"customer_id": customer.id, "site_id": site.id,
                                                 "equipment_id": "0", **CALL})
    assert not_listed.status_code == 302
    assert db.session.scalar(select(RepairCall)).equipment_id is None
    chosen = client.post("/calls/new", data={"customer_id": customer.id, "site_id": site.id,
                                             "equipment_id": second.id, **CALL})
    assert chosen.status_code == 302


def test_a_customer_without_equipment_gets_not_listed(client, login, dispatcher):
    login(dispatcher)
    customer = make_customer(name="Bare Co", phone="13522223333")
    site = make_site(customer)
    panel = text(client.get(f"/calls/new/customer?customer_id={customer.id}"))
    assert checked(panel, "equipment_id") == ["0"]
    assert client.post("/calls/new", data={"customer_id": customer.id, "site_id": site.id, **CALL}).status_code == 302


# ----------------------------------------------------------------------------- duplicates


def test_a_possible_duplicate_customer_is_shown_and_needs_a_confirmation(client, login, api, dispatcher):
    existing = make_customer(name="Jing'an Dental Clinic", phone="136 1111 2222")
    login(dispatcher)
    for data in ({"name": "Another Name", "phone": "+86 13611112222"}, {"name": "jing'an  dental clinic",
                                                                        "phone": "13999998888"}):
        page = client.post("/customers/new", data=data)
        assert page.status_code == 409 and count(Customer) == 1
        assert "Possible duplicate" in text(page) and f'href="/customers/{existing.id}"' in text(page)
        assert 'name="confirm_duplicate"' in text(page)
    saved = client.post("/customers/new", data={"name": "Another Name", "phone": "13611112222",
                                                "confirm_duplicate": "y"})
    assert saved.status_code == 302 and count(Customer) == 2

    # At intake too, before anything is kept.
    intake = client.post("/calls/new/customers", data={"nc-name": "Jing'an Dental Clinic", "nc-phone": "13700000000"})
    assert intake.status_code == 409 and f'href="/customers/{existing.id}"' in text(intake)
    assert 'name="nc-confirm_duplicate"' in text(intake)
    ok = client.post("/calls/new/customers", data={"nc-name": "Jing'an Dental Clinic", "nc-phone": "13700000000",
                                                   "nc-confirm_duplicate": "y"})
    assert ok.status_code == 200 and 'name="pc-confirm_duplicate" value="y"' in text(ok)

    desk = api(dispatcher)
    r = desk.post("/api/v1/customers", json={"name": "New Name", "phone": "0086-136-1111-2222"})
    assert r.status_code == 409 and r.get_json()["error"]["code"] == "possible_duplicate"
    assert existing.id in {m["id"] for m in r.get_json()["error"]["matches"]}
    r = desk.post("/api/v1/customers", json={"name": "New Name", "phone": "0086-136-1111-2222",
                                             "confirm_duplicate": True})
    assert r.status_code == 201


def test_a_new_call_shows_the_open_call_on_that_equipment_first(client, login, api, dispatcher):
    customer = make_customer(name="Repeat Caller", phone="13533334444")
    site = make_site(customer)
    unit = make_equipment(customer, site, serial="RC-1")
    open_call = make_call(dispatcher, customer, site, unit, problem_type="leak")
    login(dispatcher)
    panel = text(client.get(f"/calls/new/customer?customer_id={customer.id}"))
    assert 'id="open-calls"' in panel and f'href="/calls/{open_call.id}"' in panel and open_call.number in panel
    r = api(dispatcher).post("/api/v1/calls", json={
        "customer_id": customer.id, "site_id": site.id, "equipment_id": unit.id, "channel": "phone",
        "problem_type": "leak", "priority": "normal", "description": "Again"})
    assert r.status_code == 201 and [c["id"] for c in r.get_json()["open_calls"]] == [open_call.id]


def test_an_abandoned_intake_leaves_nothing_behind_and_save_keeps_everything(client, login, dispatcher):
    login(dispatcher)
    new = client.post("/calls/new/customers", data={"nc-name": "Fresh Bakery", "nc-phone": "021 5555 6666"})
    assert new.status_code == 200 and 'name="pc-name" value="Fresh Bakery"' in text(new)
    carried = {"customer_id": "new", "pc-name": "Fresh Bakery", "pc-phone": "021 5555 6666"}
    site = client.post("/calls/new/sites", data={**carried, "ns-address": "88 Huaihai Road, Shanghai",
                                                 "ns-latitude": "31.22", "ns-longitude": "121.46"})
    assert site.status_code == 200 and 'name="ps-address" value="88 Huaihai Road, Shanghai"' in text(site)
    carried |= {"site_id": "-1", "ps-address": "88 Huaihai Road, Shanghai", "ps-latitude": "31.22",
                "ps-longitude": "121.46"}
    kit = client.post("/calls/new/equipment", data={**carried, "ne-model": "Oven X", "ne-serial_number": "OV-9",
                                                    "ne-warranty_until": "2099-01-01"})
    assert kit.status_code == 200 and "free: under warranty" in text(kit)
    # Walking away now: nothing was saved.
    assert count(Customer) == count(Site) == count(Equipment) == count(RepairCall) == 0

    # A duplicate serial is refused when added, still saving nothing.
    other = make_customer(name="Has Oven", phone="13544445555")
    make_equipment(other, make_site(other), model="Oven X", serial="OV-1")
    dup = client.post("/calls/new/equipment", data={**carried, "ne-model": "Oven X", "ne-serial_number": "OV-1"})
    assert dup.status_code == 409 and "already registered" in text(dup) and count(Equipment) == 1

    saved = client.post("/calls/new", data={**carried, "equipment_id": "-1", "pe-model": "Oven X",
                                            "pe-serial_number": "OV-9", "pe-warranty_until": "2099-01-01", **CALL})
    assert saved.status_code == 302
    call = db.session.scalar(select(RepairCall))
    assert call.customer.name == "Fresh Bakery" and call.site.address == "88 Huaihai Road, Shanghai"
    assert call.equipment.serial_number == "OV-9" and call.category == "free"

    # A failure at save (the phone is no phone) keeps the form and saves none of it.
    bad = client.post("/calls/new", data={"customer_id": "new", "pc-name": "Bad Phone", "pc-phone": "<b>123</b>",
                                          "site_id": "-1", "ps-address": "1 Road", "ps-latitude": "31.2",
                                          "ps-longitude": "121.4", "equipment_id": "0", **CALL})
    assert bad.status_code == 422 and count(Customer) == 2 and count(RepairCall) == 1


# ----------------------------------------------------------------------------- search


def test_search_finds_customers_by_address_and_calls_by_serial(client, login, api, dispatcher):
    customer = make_customer(name="Harbour Hotel", phone="13566667777")
    site = make_site(customer, address="500 Binjiang Avenue, Pudong")
    unit = make_equipment(customer, site, serial="SN-ZX-42")
    call = make_call(dispatcher, customer, site, unit)
    make_call(dispatcher)
    desk = api(dispatcher)
    assert [c["id"] for c in desk.get("/api/v1/customers?q=binjiang").get_json()["items"]] == [customer.id]
    assert [c["id"] for c in desk.get("/api/v1/calls?q=zx-42").get_json()["items"]] == [call.id]
    login(dispatcher)
    assert "Harbour Hotel" in text(client.get("/customers?q=Binjiang"))
    assert "Harbour Hotel" in text(client.get("/calls/new/customers?q=binjiang"))
    listed = text(client.get("/calls?q=SN-ZX"))
    assert call.number in listed and listed.count("SC-") == 1


# ----------------------------------------------------------------------------- phone numbers


def test_a_phone_number_is_digits_spaces_and_an_extension(client, login, api, dispatcher):
    desk = api(dispatcher)
    for bad in ("<b>123</b>", "call me", "12", "138-1234-567a"):
        r = desk.post("/api/v1/customers", json={"name": f"Co {bad}", "phone": bad})
        assert r.status_code == 422 and r.get_json()["error"]["fields"].get("phone"), bad
    for good in ("13812345678", "+86 (21) 6888-1234", "021-6888 1234 ext. 12", "021 68881234转8"):
        r = desk.post("/api/v1/customers", json={"name": f"Co {good}", "phone": good, "confirm_duplicate": True})
        assert r.status_code == 201, (good, r.get_json())
    customer_id = r.get_json()["id"]
    assert desk.patch(f"/api/v1/customers/{customer_id}", json={"phone": "<b>1</b>"}).status_code == 422
    login(dispatcher)
    page = client.post("/customers/new", data={"name": "Tag Co", "phone": "<b>123</b>"})
    assert page.status_code == 422 and "not a phone number" in text(page)
    intake = client.post("/calls/new/customers", data={"nc-name": "Tag Co", "nc-phone": "<b>123</b>"})
    assert intake.status_code == 422 and "not a phone number" in text(intake)
    edit = client.post(f"/customers/{customer_id}/edit", data={"name": "X", "phone": "abc"})
    assert edit.status_code == 422
