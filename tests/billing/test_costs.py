"""What parts cost us (`unit_cost`, a charge line's and a call's `cost`) is for finance, managers and admins
(API.md, Billing): a technician never sees it, in any page or answer that shows parts, and the desk
neither."""

from __future__ import annotations

import json
from typing import Any

from billing.services import parts as billing_parts
from dispatch.core.extensions import db
from tests.billing.helpers import call_of, catalogue, set_prices
from tests.technicians.helpers import png_b64, today_visit

SECRET_COST = "13.57"  # a cost that appears nowhere else: not a price, amount or total of this visit
WORK = {"work_summary": "Replaced the contactor and the capacitor.", "labor_minutes": 30, "outcome": "fixed",
        "parts": [{"sku": "CTR-40A", "quantity": 1}, {"sku": "CAP-45-5", "quantity": 1}]}


def _cost_keys(data: Any, path: str = "") -> list[str]:
    """Every key naming a cost, anywhere in a JSON answer."""
    found = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("unit_cost", "cost"):
                found.append(f"{path}.{key}")
            found += _cost_keys(value, f"{path}.{key}")
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _cost_keys(value, f"{path}[{i}]")
    return found


def _hidden(response: Any) -> None:
    assert response.status_code in (200, 201), response.data[:300]
    assert SECRET_COST not in response.get_data(as_text=True)
    if response.mimetype == "application/json":
        assert _cost_keys(response.get_json()) == [], response.get_json()


def _visit(dispatcher, finance, technician):
    set_prices(finance)
    catalogue(finance)
    part = billing_parts.create_part(finance, sku="CTR-40A", name="Contactor 40 A", unit_price="40.00",
                                     unit_cost=SECRET_COST)
    db.session.commit()
    call = call_of("charged", dispatcher)
    return part, call, today_visit(dispatcher, call, technician)


def test_a_technician_never_sees_part_costs(api, client, login, dispatcher, finance, technician):
    part, call, visit = _visit(dispatcher, finance, technician)
    tech = api(technician)

    # The catalogue: search, one part.
    _hidden(tech.get("/api/v1/parts"))
    found = tech.get("/api/v1/parts?q=contactor")
    _hidden(found)
    assert [p["sku"] for p in found.get_json()["items"]] == ["CTR-40A"]
    _hidden(tech.get(f"/api/v1/parts/{part.id}"))

    # The day's snapshot and the visit before the work, then the work itself and its answer.
    _hidden(tech.get("/api/v1/me/visits"))
    _hidden(tech.post(f"/api/v1/visits/{visit.id}/arrive"))
    completed = tech.post(f"/api/v1/visits/{visit.id}/complete", json=WORK)
    _hidden(completed)
    assert [ln["sku"] for ln in completed.get_json()["charges"]["lines"] if ln["kind"] == "part"] == [
        "CTR-40A", "CAP-45-5"]
    _hidden(tech.get(f"/api/v1/visits/{visit.id}/work"))
    snapshot = tech.get("/api/v1/me/visits")
    _hidden(snapshot)
    assert snapshot.get_json()["items"][0]["parts"][0]["sku"] == "CTR-40A"
    _hidden(tech.get(f"/api/v1/calls/{call.id}/charges"))

    # The phone's pages (what the service worker keeps for offline reading) and the signed record.
    login(technician)
    for url in ("/t/", f"/t/visits/{visit.id}", f"/t/visits/{visit.id}/sign"):
        _hidden(client.get(url))
    signed = tech.post(f"/api/v1/visits/{visit.id}/signature", json={
        "signer_name": "Ms Wang", "image_png_base64": png_b64(), "technician_confirmed": True})
    _hidden(signed)
    _hidden(tech.get(f"/api/v1/visits/{visit.id}/work"))
    # The billing pages are not theirs at all.
    assert client.get(f"/billing/calls/{call.id}").status_code == 403
    assert client.get("/billing/parts").status_code == 403


def test_the_desk_does_not_see_costs_either(api, dispatcher, finance, technician):
    part, call, visit = _visit(dispatcher, finance, technician)
    api(technician).post(f"/api/v1/visits/{visit.id}/arrive")
    assert api(technician).post(f"/api/v1/visits/{visit.id}/complete", json=WORK).status_code == 200
    desk = api(dispatcher)
    _hidden(desk.get("/api/v1/parts?q=contactor"))
    _hidden(desk.get(f"/api/v1/parts/{part.id}"))
    _hidden(desk.get(f"/api/v1/calls/{call.id}/charges"))


def test_finance_managers_and_admins_see_costs(api, client, login, admin, manager, dispatcher, finance,
                                               technician):
    part, call, visit = _visit(dispatcher, finance, technician)
    api(technician).post(f"/api/v1/visits/{visit.id}/arrive")
    assert api(technician).post(f"/api/v1/visits/{visit.id}/complete", json=WORK).status_code == 200
    for user in (admin, manager, finance):
        reader = api(user)
        assert reader.get(f"/api/v1/parts/{part.id}").get_json()["unit_cost"] == SECRET_COST
        assert [p["unit_cost"] for p in reader.get("/api/v1/parts?q=contactor").get_json()["items"]] == [SECRET_COST]
        charges = reader.get(f"/api/v1/calls/{call.id}/charges").get_json()
        contactor = next(ln for ln in charges["lines"] if ln["sku"] == "CTR-40A")
        assert contactor["cost"] == SECRET_COST
        assert charges["cost"] == "165.97"  # call-out 80 + labor 60 + 13.57 + 12.40 (the capacitor's cost)
    work = api(manager).get(f"/api/v1/visits/{visit.id}/work").get_json()  # managers read visits too
    assert work["charges"]["cost"] == "165.97"
    login(finance)
    assert SECRET_COST in client.get("/billing/parts").get_data(as_text=True)
    created = api(finance).post("/api/v1/parts", json={"sku": "NEW-1", "name": "New", "unit_price": "9.00",
                                                       "unit_cost": "4.00"})
    assert created.status_code == 201 and json.loads(created.data)["unit_cost"] == "4.00"
