"""POST /api/v1/schedule/optimise and the board's "Optimise day" page: a dry run changes nothing, "apply"
carries the re-plan out (audited), a proposal applies exactly or not at all, roles and bad input."""

from __future__ import annotations

import re
from datetime import time, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_today
from dispatch.models import Visit
from dispatch.services.users import set_working_hours
from tests.dispatch.test_replan import EAST, at, book, broken_rules, crossed_day, live_visits
from tests.factories import make_user

URL = "/api/v1/schedule/optimise"


@pytest.fixture(autouse=True)
def _quick_solver(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "REPLAN_ON_DEMAND_SECONDS", 0.5)


def every_row() -> dict[str, list[tuple[Any, ...]]]:
    """Every table's rows but the tokens' (using a token notes when it was last used)."""
    db.session.expire_all()
    return {t.name: [tuple(r) for r in db.session.execute(select(t).order_by(*t.primary_key.columns))]
            for t in db.metadata.sorted_tables if t.name != "api_tokens"}


def test_a_dry_run_changes_nothing(api, dispatcher):
    d = crossed_day(dispatcher)
    client = api(dispatcher)
    before = every_row()
    r = client.post(URL, json={"date": d.day.isoformat(), "apply": False})
    assert r.status_code == 200, r.json
    body = r.json
    assert body["date"] == d.day.isoformat() and body["status"] == "improved" and body["applied"] is False
    assert body["km_after"] < body["km_before"] and body["late_before"] == body["late_after"] == 0
    moves = {m["visit_id"]: m for m in body["moves"]}
    first = moves[d.crossed[0].id]
    assert first["slip_number"] == d.crossed[0].slip_number
    assert first["from"]["technician_name"] == "Wang Wei" and first["to"]["technician_name"] == "Li Na"
    assert first["from"]["start"].startswith(d.day.isoformat()) and body["proposal"]
    assert every_row() == before  # the same rows, byte for byte; no audit event
    assert client.post(URL, json={"date": d.day.isoformat()}).json["applied"] is False  # "apply" defaults to false
    assert every_row() == before


def test_apply_carries_it_out_audited(api, dispatcher):
    d = crossed_day(dispatcher)
    r = api(dispatcher).post(URL, json={"date": d.day.isoformat(), "apply": True})
    assert r.status_code == 200, r.json
    assert r.json["applied"] is True and len(r.json["moves"]) == 2 and r.json["proposal"] is None
    placed = {v.id: v.technician_id for v in live_visits(d.day)}
    assert placed[d.crossed[0].id] == d.east.id and placed[d.crossed[1].id] == d.west.id
    assert broken_rules(d.day) == []
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.actor_id == dispatcher.id)).all()
    assert actions.count("visit.replanned") == 2 and actions.count("schedule.replanned") == 1
    again = api(dispatcher).post(URL, json={"date": d.day.isoformat(), "apply": True})
    assert again.status_code == 200 and again.json["moves"] == [] and again.json["status"] == "unchanged"


def test_a_proposal_applies_exactly_or_not_at_all(api, dispatcher, manager):
    d = crossed_day(dispatcher)
    dry = api(dispatcher).post(URL, json={"date": d.day.isoformat()}).json
    r = api(manager).post(URL, json={"date": d.day.isoformat(), "apply": True, "proposal": dry["proposal"]})
    assert r.status_code == 200, r.json
    assert [(m["visit_id"], m["to"]) for m in r.json["moves"]] == [(m["visit_id"], m["to"]) for m in dry["moves"]]
    # the same proposal again: the schedule is no longer the one it was worked out for
    stale = api(manager).post(URL, json={"date": d.day.isoformat(), "apply": True, "proposal": dry["proposal"]})
    assert stale.status_code == 409 and stale.json["error"]["code"] == "schedule_changed"


def test_a_proposal_gone_stale_is_409(api, dispatcher):
    d = crossed_day(dispatcher)
    dry = api(dispatcher).post(URL, json={"date": d.day.isoformat()}).json
    book(dispatcher, d.east, at(d.day, 15), EAST)
    visits = [(v.id, v.technician_id, v.start) for v in live_visits(d.day)]
    r = api(dispatcher).post(URL, json={"date": d.day.isoformat(), "apply": True, "proposal": dry["proposal"]})
    assert r.status_code == 409 and r.json["error"]["code"] == "schedule_changed"
    assert "changed" in r.json["error"]["message"]
    assert [(v.id, v.technician_id, v.start) for v in live_visits(d.day)] == visits


def test_a_day_that_already_breaks_a_rule_is_left_alone(api, client, login, dispatcher):
    d = crossed_day(dispatcher)
    for tech in (d.west, d.east):  # the hours change after booking: the 10:00 visits now lie outside them
        set_working_hours(tech, [(day, time(13), time(18)) for day in range(7)])
    db.session.commit()
    before = every_row()
    r = api(dispatcher).post(URL, json={"date": d.day.isoformat(), "apply": True})
    assert r.status_code == 200, r.json
    assert r.json["status"] == "infeasible" and r.json["applied"] is False and r.json["moves"] == []
    assert {"code": "outside_hours", "slip_number": d.crossed[0].slip_number,
            "technician_id": d.west.id} in r.json["violations"]
    assert every_row() == before
    login(dispatcher)
    html = client.get(f"/board/optimise?date={d.day.isoformat()}").get_data(as_text=True)
    assert "already breaks a rule" in html and f"{d.crossed[0].slip_number}: outside working hours" in html


@pytest.mark.parametrize("role,status", [("technician", 403), ("finance", 403), ("manager", 200),
                                         ("dispatcher", 200), ("admin", 200)])
def test_roles(api, role, status):
    user = make_user(role)
    r = api(user).post(URL, json={"date": local_today().isoformat()})
    assert r.status_code == status, r.json


def test_no_token_is_401(api):
    assert api(None).post(URL, json={"date": local_today().isoformat()}).status_code == 401


@pytest.mark.parametrize("payload,status,field", [
    ({}, 422, "date"),
    ({"date": "2026-13-01"}, 422, "date"),
    ({"date": "tomorrow"}, 422, "date"),
    ({"date": "1999-01-01"}, 422, "date"),
    ({"date": "2026-12-01", "apply": "yes"}, 422, "apply"),
    ({"date": "2026-12-01", "apply": True, "proposal": "forged"}, 422, "proposal"),
    ({"date": "2026-12-01", "proposal": "forged"}, 422, "apply"),
    ({"date": "2026-12-01", "proposal": 42}, 422, "proposal"),
])
def test_bad_input_is_4xx_with_a_message(api, dispatcher, payload, status, field):
    r = api(dispatcher).post(URL, json=payload)
    assert r.status_code == status, r.json
    assert field in r.json["error"]["fields"] and r.json["error"]["message"]


def test_not_json_is_400(api, dispatcher):
    r = api(dispatcher).post(URL, data="date=2026-12-01", headers={"Content-Type": "text/plain"})
    assert r.status_code == 400 and r.json["error"]["code"] == "malformed_json"


def test_a_proposal_for_another_day_is_refused(api, dispatcher):
    d = crossed_day(dispatcher)
    dry = api(dispatcher).post(URL, json={"date": d.day.isoformat()}).json
    other = (d.day + timedelta(days=1)).isoformat()
    r = api(dispatcher).post(URL, json={"date": other, "apply": True, "proposal": dry["proposal"]})
    assert r.status_code == 422 and r.json["error"]["code"] == "invalid_proposal"


def test_documented_in_openapi(client):
    spec = client.get("/api/v1/openapi.json").json
    op = spec["paths"]["/api/v1/schedule/optimise"]["post"]
    assert op["x-roles"] == ["admin", "dispatcher", "manager"]
    assert "200" in op["responses"] and "201" not in op["responses"] and "409" in op["responses"]
    assert op["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/OptimiseIn"}
    assert "moves" in spec["components"]["schemas"]["Optimisation"]["properties"]


# ----------------------------------------------------------------------------- the page


def test_the_page_shows_the_moves_and_apply_carries_them_out(client, login, dispatcher):
    d = crossed_day(dispatcher)
    login(dispatcher)
    board = client.get(f"/board?date={d.day.isoformat()}")
    assert f'/board/optimise?date={d.day.isoformat()}' in board.get_data(as_text=True)
    page = client.get(f"/board/optimise?date={d.day.isoformat()}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(rf"{d.crossed[0].slip_number}</strong>\s*Wang Wei 10:00 → Li Na \d\d:\d\d", html)
    token = re.search(r'name="proposal" value="([^"]+)"', html).group(1)
    assert live_visits(d.day)  # nothing moved by looking
    assert {v.technician_id for v in live_visits(d.day) if v.id == d.crossed[0].id} == {d.west.id}

    r = client.post("/board/optimise", data={"date": d.day.isoformat(), "proposal": token})
    assert r.status_code == 302 and f"/board?date={d.day.isoformat()}" in r.headers["Location"]
    assert {v.id: v.technician_id for v in live_visits(d.day)}[d.crossed[0].id] == d.east.id
    assert "Re-planned" in client.get(r.headers["Location"]).get_data(as_text=True)


def test_the_page_refuses_a_forged_proposal_and_a_bad_date(client, login, dispatcher):
    login(dispatcher)
    r = client.post("/board/optimise", data={"date": local_today().isoformat(), "proposal": "forged"})
    assert r.status_code == 302 and "/board/optimise" in r.headers["Location"]
    assert "not a proposal we made" in client.get(r.headers["Location"]).get_data(as_text=True)
    bad = client.get("/board/optimise?date=2026-02-30")
    assert bad.status_code == 422 and "must be a date" in bad.get_data(as_text=True)


@pytest.mark.parametrize("role,status", [("technician", 403), ("finance", 403), ("manager", 200)])
def test_the_page_roles(client, login, role, status):
    login(make_user(role))
    assert client.get("/board/optimise").status_code == status


def test_the_page_needs_login(client):
    r = client.get("/board/optimise")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert client.post("/board/optimise", data={}).status_code in (302, 401)
    assert db.session.scalar(select(Visit.id).limit(1)) is None
