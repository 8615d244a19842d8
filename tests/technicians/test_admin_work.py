"""Internal admin time (category D): technicians log their own, managers may log for a technician."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_today
from technicians.models import AdminWork
from tests.factories import make_user


def test_technician_logs_own_time(api, technician):
    tech = api(technician)
    today = local_today().isoformat()
    r = tech.post("/api/v1/admin-work", json={"date": today, "activity": "inspection", "minutes": 45,
                                              "notes": "Monthly van and ladder check"})
    assert r.status_code == 201, r.json
    assert r.json["technician_id"] == technician.id and r.json["minutes"] == 45 and r.json["date"] == today
    entry = db.session.scalar(select(AdminWork))
    assert entry.activity == "inspection" and entry.logged_by_id == technician.id
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "admin_work.logged")) is not None
    # Without a date it is today's.
    r = tech.post("/api/v1/admin-work", json={"activity": "training", "minutes": 30})
    assert r.status_code == 201 and r.json["date"] == today
    listed = tech.get("/api/v1/admin-work").json["items"]
    assert [e["activity"] for e in listed] == ["training", "inspection"]


def test_admin_work_checks(api, technician, manager, dispatcher):
    tech = api(technician)
    r = tech.post("/api/v1/admin-work", json={"activity": "napping", "minutes": 0,
                                              "date": (local_today() + timedelta(days=5)).isoformat()})
    assert r.status_code == 422
    assert set(r.json["error"]["fields"]) >= {"activity", "minutes"}
    r = tech.post("/api/v1/admin-work", json={"activity": "tools", "minutes": 20,
                                              "date": (local_today() + timedelta(days=5)).isoformat()})
    assert r.status_code == 422 and "date" in r.json["error"]["fields"]
    assert tech.post("/api/v1/admin-work", json={"activity": "tools", "minutes": "lots"}).status_code == 422
    assert tech.post("/api/v1/admin-work", data="{", content_type="application/json").status_code == 400
    # Someone else's time: technicians may not; a manager may.
    other = make_user("technician", username="ann")
    r = tech.post("/api/v1/admin-work", json={"technician_id": other.id, "activity": "parts", "minutes": 20})
    assert r.status_code == 403
    r = api(manager).post("/api/v1/admin-work", json={"technician_id": other.id, "activity": "parts", "minutes": 20})
    assert r.status_code == 201 and r.json["technician_id"] == other.id and r.json["logged_by_id"] == manager.id
    r = api(manager).post("/api/v1/admin-work", json={"technician_id": dispatcher.id, "activity": "parts",
                                                      "minutes": 20})
    assert r.status_code == 422 and r.json["error"]["fields"]["technician_id"] == "not a technician"
    assert api(dispatcher).post("/api/v1/admin-work", json={"activity": "parts", "minutes": 20}).status_code == 403
    assert api(None).post("/api/v1/admin-work", json={"activity": "parts", "minutes": 20}).status_code == 401
    assert db.session.scalar(select(AdminWork.technician_id)) == other.id
    assert tech.get("/api/v1/admin-work").json["items"] == []  # not ann's


def test_admin_time_page(client, login, technician):
    login(technician)
    page = client.get("/t/admin-time").get_data(as_text=True)
    assert 'data-api="/api/v1/admin-work"' in page and 'name="activity"' in page
    r = client.post("/t/admin-time", data={"date": local_today().isoformat(), "activity": "tools",
                                           "minutes": "25", "notes": "Sharpened the flaring tool"})
    assert r.status_code == 302
    page = client.get("/t/admin-time").get_data(as_text=True)
    assert "Sharpened the flaring tool" in page and "25 min" in page
    r = client.post("/t/admin-time", data={"date": local_today().isoformat(), "activity": "tools", "minutes": "0"})
    assert r.status_code == 422
    assert len(db.session.scalars(select(AdminWork)).all()) == 1
