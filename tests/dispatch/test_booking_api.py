"""Booking through the JSON API: suggestions, book, reschedule, reassign, cancel, calendars (API.md)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_tz, utcnow
from dispatch.models import CallStatus, TimeOff, Visit
from dispatch.services.calls import set_call_status
from dispatch.services.users import set_working_hours
from tests.factories import make_call, make_customer, make_site, make_user


def _slot(hours_ahead: float = 2, minutes: int = 60) -> tuple[datetime, datetime]:
    start = (utcnow() + timedelta(hours=hours_ahead)).replace(second=0, microsecond=0)
    return start, start + timedelta(minutes=minutes)


def hours_around(*moments: datetime) -> list[tuple[int, time, time]]:
    """Working hours that cover the given moments (one span on the local weekday of the first, +-1 h)."""
    tz = local_tz()
    lo = min(moments).astimezone(tz) - timedelta(hours=1)
    hi = max(moments).astimezone(tz) + timedelta(hours=1)
    assert hi - lo < timedelta(hours=23)
    return [(lo.weekday(), lo.time().replace(second=0, microsecond=0), hi.time().replace(second=0, microsecond=0))]


def works_at(tech, *moments: datetime) -> None:
    set_working_hours(tech, hours_around(*moments))
    db.session.commit()


def _book(client, call, tech, start, end, **extra):
    return client.post(f"/api/v1/calls/{call.id}/visits",
                       json={"technician_id": tech.id, "start": start.isoformat(), "end": end.isoformat(), **extra})


def test_suggestions_are_explained_and_ranked(api, dispatcher, technician):
    near = technician
    far = make_user("technician", username="far", name="Far Away", skills=["hvac"],
                    base_latitude=31.60, base_longitude=121.90)
    start, end = _slot(2)
    works_at(near, start, end + timedelta(hours=3))
    works_at(far, start, end + timedelta(hours=3))
    call = make_call(dispatcher, required_skill="hvac", priority="normal")
    r = api(dispatcher).get(f"/api/v1/calls/{call.id}/suggestions?limit=3&duration=60")
    assert r.status_code == 200, r.json
    data = r.json
    assert data["nothing_fits"] is False and data["duration_minutes"] == 60
    items = data["items"]
    assert 1 <= len(items) <= 3
    first = items[0]
    assert set(first) >= {"technician_id", "technician_name", "start", "end", "travel_km", "arrival",
                          "within_deadline", "slack_minutes", "score", "explanation"}
    assert first["technician_id"] == near.id  # the base is at the site: no extra km
    assert first["travel_km"] == 0 and first["within_deadline"] is True and first["slack_minutes"] > 0
    assert "km" in first["explanation"] and near.name in first["explanation"]
    assert any(i["technician_id"] == far.id and i["travel_km"] > 10 for i in items)
    # scores fall with rank
    assert [i["score"] for i in items] == sorted((i["score"] for i in items), reverse=True)


def test_suggestions_roles_and_bad_input(api, dispatcher, technician, finance):
    call = make_call(dispatcher)
    assert api(None).get(f"/api/v1/calls/{call.id}/suggestions").status_code == 401
    assert api(technician).get(f"/api/v1/calls/{call.id}/suggestions").status_code == 403
    assert api(finance).get(f"/api/v1/calls/{call.id}/suggestions").status_code == 403
    r = api(dispatcher).get(f"/api/v1/calls/{call.id}/suggestions?limit=abc")
    assert r.status_code == 422 and r.json["error"]["fields"] == {"limit": "not a number"}
    assert api(dispatcher).get(f"/api/v1/calls/{call.id}/suggestions?duration=5").status_code == 422
    assert api(dispatcher).get("/api/v1/calls/999999/suggestions").status_code == 404


def test_book_then_conflict_then_call_booked_and_audited(api, dispatcher, technician):
    call = make_call(dispatcher)
    other = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end)
    client = api(dispatcher)
    r = _book(client, call, technician, start, end)
    assert r.status_code == 201, r.json
    assert r.json["status"] == "scheduled" and r.json["slip_number"].startswith("VS-")
    assert r.json["call_status"] == "booked"
    db.session.expire_all()
    assert db.session.get(type(call), call.id).status == CallStatus.BOOKED
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.booked")) is not None

    r = _book(client, other, technician, start + timedelta(minutes=30), end + timedelta(minutes=30))
    assert r.status_code == 409 and r.json["error"]["code"] == "overlapping_visit"
    # touching end to start is not an overlap
    r = _book(client, other, technician, end, end + timedelta(minutes=30))
    assert r.status_code == 201, r.json
    # malformed and invalid bodies are 4xx with fields
    r = client.post(f"/api/v1/calls/{other.id}/visits", data="{", content_type="application/json")
    assert r.status_code == 400
    r = client.post(f"/api/v1/calls/{other.id}/visits", json={"technician_id": "x", "start": "soon"})
    assert r.status_code == 422 and "start" in r.json["error"]["fields"]
    r = _book(client, other, technician, end, start)
    assert r.status_code == 422 and "end" in r.json["error"]["fields"]


def test_a_start_after_the_booking_deadline_needs_a_reason_from_any_desk_role(api, dispatcher, manager, technician):
    """DOMAIN.md step 2 (corrected): the 24 h clock measures agreeing the time, not the visit. A later
    day needs the written reason (超时说明), from the dispatcher as much as the manager."""
    call = make_call(dispatcher)
    start = (call.booking_deadline + timedelta(hours=30)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    works_at(technician, start, end + timedelta(hours=1))
    r = _book(api(dispatcher), call, technician, start, end)
    assert r.status_code == 422 and r.json["error"]["code"] == "outside_booking_window"
    assert "override_reason" in r.json["error"]["fields"]
    r = _book(api(dispatcher), call, technician, start, end, customer_requested=True)  # the reason is still due
    assert r.status_code == 422 and r.json["error"]["code"] == "outside_booking_window"
    r = _book(api(dispatcher), call, technician, start, end, override_reason="customer only available Friday",
              customer_requested=True)
    assert r.status_code == 201, r.json
    assert r.json["override_reason"] == "customer only available Friday" and r.json["customer_requested"] is True
    # booked now, inside the deadline: the booking clock is met, the visit merely starts later
    assert r.json["within_deadline"] is True and r.json["starts_after_deadline"] is True
    db.session.expire_all()
    visit = db.session.get(Visit, r.json["id"])
    assert visit.customer_requested is True and visit.override_reason == "customer only available Friday"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "visit.booked",
                                                       AuditEvent.entity_id == visit.id))
    assert event.reason == "customer only available Friday" and event.after["customer_requested"] is True
    booked_call = db.session.get(type(call), call.id)
    assert booked_call.status == CallStatus.BOOKED and booked_call.booked_at <= booked_call.booking_deadline
    # the desk's own later day: the reason alone, not marked as the customer's
    other = make_call(dispatcher)
    r = _book(api(dispatcher), other, technician, start + timedelta(minutes=60), end + timedelta(minutes=60),
              override_reason="no technician free before")
    assert r.status_code == 201, r.json
    assert r.json["customer_requested"] is False and r.json["starts_after_deadline"] is True


def test_the_booking_clock_is_met_when_the_time_is_agreed(api, dispatcher, technician):
    """Booked after the deadline had passed: the visit says so (within_deadline false), whatever its start."""
    call = make_call(dispatcher, received_at=utcnow() - timedelta(hours=30))
    assert call.booking_deadline < utcnow()
    start, end = _slot(2)
    works_at(technician, start, end)
    r = _book(api(dispatcher), call, technician, start, end)
    assert r.status_code == 422 and r.json["error"]["code"] == "outside_booking_window"
    r = _book(api(dispatcher), call, technician, start, end, override_reason="call was missed overnight")
    assert r.status_code == 201, r.json
    assert r.json["within_deadline"] is False and r.json["starts_after_deadline"] is True


def test_working_hours_and_time_off_refuse_unless_manager(api, dispatcher, manager, technician):
    call = make_call(dispatcher)
    start, end = _slot(3)
    # works on another weekday only
    set_working_hours(technician, [((start.astimezone(local_tz()).weekday() + 3) % 7, time(8), time(17))])
    db.session.commit()
    r = _book(api(dispatcher), call, technician, start, end)
    assert r.status_code == 422 and r.json["error"]["code"] == "outside_working_hours"
    assert "working hours" in r.json["error"]["message"]

    works_at(technician, start, end)
    db.session.add(TimeOff(user_id=technician.id, starts_at=start - timedelta(minutes=30),
                           ends_at=start + timedelta(minutes=15), reason="dentist"))
    db.session.commit()
    r = _book(api(dispatcher), call, technician, start, end)
    assert r.status_code == 422 and r.json["error"]["code"] == "technician_time_off"
    assert "dentist" in r.json["error"]["message"]
    r = _book(api(manager), call, technician, start, end, override_reason="agreed to come in")
    assert r.status_code == 201, r.json
    assert r.json["override_reason"] == "agreed to come in"


def test_reschedule_reassign_cancel(api, dispatcher, technician):
    second = make_user("technician", username="sam", name="Sam Second", skills=["hvac"])
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end + timedelta(hours=2))
    works_at(second, start, end + timedelta(hours=2))
    client = api(dispatcher)
    visit_id = _book(client, call, technician, start, end).json["id"]

    later = start + timedelta(hours=1)
    r = client.patch(f"/api/v1/visits/{visit_id}", json={"start": later.isoformat(), "reason": "customer late"})
    assert r.status_code == 200, r.json
    assert r.json["end"] == (later + timedelta(hours=1)).astimezone(local_tz()).isoformat()  # length kept
    r = client.patch(f"/api/v1/visits/{visit_id}", json={"technician_id": second.id, "reason": "Tom is ill"})
    assert r.status_code == 200 and r.json["technician_id"] == second.id
    assert client.patch(f"/api/v1/visits/{visit_id}", json={}).status_code == 422
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.rescheduled")
                                .order_by(AuditEvent.id)).all()
    assert [e.reason for e in events] == ["customer late", "Tom is ill"]

    r = client.post(f"/api/v1/visits/{visit_id}/cancel", json={})
    assert r.status_code == 422 and r.json["error"]["fields"] == {"reason": "required"}
    r = client.post(f"/api/v1/visits/{visit_id}/cancel", json={"reason": "customer fixed it"})
    assert r.status_code == 200 and r.json["status"] == "cancelled"
    assert r.json["call_status"] == "new"  # back in the queue
    assert client.post(f"/api/v1/visits/{visit_id}/cancel", json={"reason": "again"}).status_code == 409
    # the slot is free again
    assert _book(client, call, technician, start, end).status_code == 201


def test_technician_sees_only_own_visits(api, dispatcher, technician):
    other = make_user("technician", username="olga", name="Olga Other", skills=["hvac"])
    start, end = _slot(2)
    works_at(technician, start, end)
    works_at(other, start, end)
    mine = _book(api(dispatcher), make_call(dispatcher), technician, start, end).json
    theirs = _book(api(dispatcher), make_call(dispatcher), other, start, end).json
    day = start.astimezone(local_tz()).date().isoformat()

    desk = api(dispatcher).get(f"/api/v1/visits?date={day}")
    assert {v["id"] for v in desk.json["items"]} == {mine["id"], theirs["id"]}
    only = api(dispatcher).get(f"/api/v1/visits?technician_id={other.id}&date={day}")
    assert [v["id"] for v in only.json["items"]] == [theirs["id"]]

    tech = api(technician)
    r = tech.get(f"/api/v1/visits?technician_id={other.id}&date={day}")
    assert r.status_code == 200 and [v["id"] for v in r.json["items"]] == [mine["id"]]
    assert tech.get(f"/api/v1/visits/{mine['id']}").status_code == 200
    r = tech.get(f"/api/v1/visits/{theirs['id']}")
    assert r.status_code == 404 and r.json["error"]["code"] == "not_found"
    assert tech.post(f"/api/v1/visits/{mine['id']}/cancel", json={"reason": "x"}).status_code == 403
    assert api(dispatcher).get("/api/v1/visits?date=23-11-2026").status_code == 422


def test_manage_technician_calendar(api, admin, manager, dispatcher, technician):
    r = api(dispatcher).patch(f"/api/v1/technicians/{technician.id}", json={"skills": ["x"]})
    assert r.status_code == 403
    r = api(manager).patch(f"/api/v1/technicians/{technician.id}", json={
        "skills": ["Plumbing", "hvac"], "base_latitude": 31.3, "base_longitude": 121.5,
        "working_hours": [{"weekday": 5, "start": "09:00", "end": "13:00"},
                          {"weekday": 4, "start": "22:00", "end": "06:00"}]})
    assert r.status_code == 200, r.json
    assert r.json["skills"] == ["hvac", "plumbing"] and r.json["base_latitude"] == 31.3
    assert {"weekday": 4, "start": "22:00", "end": "06:00"} in r.json["working_hours"]
    bad = api(manager).patch(f"/api/v1/technicians/{technician.id}",
                             json={"working_hours": [{"weekday": 9, "start": "09:00", "end": "10:00"}]})
    assert bad.status_code == 422 and "working_hours" in bad.json["error"]["fields"]
    assert api(manager).patch(f"/api/v1/technicians/{dispatcher.id}", json={"skills": []}).status_code == 404
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "technician.updated")) is not None

    # time off: created (with the visits it collides with), listed, cancelled
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end)
    visit = _book(api(dispatcher), call, technician, start, end).json
    r = api(manager).post(f"/api/v1/technicians/{technician.id}/time-off", json={
        "starts_at": (start - timedelta(hours=1)).isoformat(), "ends_at": (end + timedelta(hours=1)).isoformat(),
        "reason": "training"})
    assert r.status_code == 201, r.json
    assert [v["id"] for v in r.json["clashing_visits"]] == [visit["id"]]
    off_id = r.json["id"]
    listed = api(dispatcher).get(f"/api/v1/technicians/{technician.id}/time-off").json["items"]
    assert [t["id"] for t in listed] == [off_id]
    r = api(manager).post(f"/api/v1/technicians/{technician.id}/time-off",
                          json={"starts_at": end.isoformat(), "ends_at": start.isoformat()})
    assert r.status_code == 422
    assert api(dispatcher).post(f"/api/v1/time-off/{off_id}/cancel", json={}).status_code == 403
    r = api(admin).post(f"/api/v1/time-off/{off_id}/cancel", json={"reason": "training moved"})
    assert r.status_code == 200 and r.json["cancelled"] is True
    assert api(admin).post(f"/api/v1/time-off/{off_id}/cancel").status_code == 409
    assert api(dispatcher).get(f"/api/v1/technicians/{technician.id}/time-off").json["items"] == []


def test_remote_site_gets_a_48_hour_window(api, dispatcher, technician):
    customer = make_customer()
    far_site = make_site(customer, address="Suzhou Industrial Park", latitude=31.30, longitude=120.72)
    assert far_site.remote
    call = make_call(dispatcher, customer=customer, site=far_site)
    assert call.booking_deadline - call.received_at == timedelta(hours=48)
    start = call.received_at + timedelta(hours=30)
    works_at(technician, start, start + timedelta(hours=1))
    r = _book(api(dispatcher), call, technician, start, start + timedelta(hours=1))
    assert r.status_code == 201, r.json
    assert r.json["within_deadline"] is True
    assert db.session.scalar(select(Visit.override_reason).where(Visit.id == r.json["id"])) is None


# ----------------------------------------------------------------------------- the board's pages


def test_board_pages_book_move_cancel(client, login, dispatcher, manager, technician):
    call = make_call(dispatcher, required_skill="hvac", priority="urgent")
    start, end = _slot(2)
    works_at(technician, start - timedelta(hours=2), end + timedelta(hours=2))
    login(dispatcher)
    page = client.get("/board")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert call.number in html and f'id="lane-{technician.id}"' in html and "data-deadline" in html
    assert 'hx-trigger="every 60s, booked from:body"' in html
    assert client.get("/board?view=week").status_code == 200
    assert client.get("/board?date=nonsense").status_code == 422  # today is shown, with the problem

    fragment = client.get(f"/board/calls/{call.id}/suggestions?from=board").get_data(as_text=True)
    assert "<html" not in fragment and technician.name in fragment and "Book" in fragment
    assert "km" in fragment

    # book (as htmx does): the panel says so and the board is told to refresh
    r = client.post(f"/board/calls/{call.id}/book", headers={"HX-Request": "true"},
                    data={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat(),
                          "from": "board"})
    assert r.status_code == 200 and r.headers["HX-Trigger"] == "booked"
    assert "Booked VS-" in r.get_data(as_text=True)
    live = client.get("/board/live?date=" + start.astimezone(local_tz()).date().isoformat()).get_data(as_text=True)
    assert f'id="queue-call-{call.id}"' not in live and call.number in live  # left the queue, in the lane
    visit = db.session.scalar(select(Visit).where(Visit.call_id == call.id))

    # a clash answers the panel again with the reason (no 500, no half booking)
    other = make_call(dispatcher)
    r = client.post(f"/board/calls/{other.id}/book", headers={"HX-Request": "true"},
                    data={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat(),
                          "from": "board"})
    assert r.status_code == 409 and "already has visit" in r.get_data(as_text=True)
    # from the call page the fragment books and sends the browser back to the call page
    third = make_call(dispatcher)
    r = client.post(f"/board/calls/{third.id}/book", headers={"HX-Request": "true"},
                    data={"technician_id": technician.id, "start": (end + timedelta(hours=1)).isoformat(),
                          "duration": "30", "from": "call"})
    assert r.status_code == 200 and str(third.id) in r.headers["HX-Redirect"]
    # without JavaScript: redirect with a message
    r = client.post(f"/board/calls/{other.id}/book", data={"technician_id": technician.id,
                                                           "start": start.isoformat(), "duration": "60"})
    assert r.status_code == 302

    # move and cancel with reasons
    later = (start + timedelta(hours=1)).astimezone(local_tz()).strftime("%Y-%m-%dT%H:%M")
    r = client.post(f"/board/visits/{visit.id}/move", headers={"HX-Request": "true"},
                    data={"technician_id": technician.id, "start": later, "reason": "customer asked"})
    assert r.status_code == 200 and "Moved" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).start == start + timedelta(hours=1)
    r = client.post(f"/board/visits/{visit.id}/cancel", headers={"HX-Request": "true"}, data={"reason": ""})
    assert "Say why" in r.get_data(as_text=True)
    r = client.post(f"/board/visits/{visit.id}/cancel", headers={"HX-Request": "true"},
                    data={"reason": "fixed by phone"})
    assert "back in the queue" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).status == "cancelled"


def test_technicians_page_manages_calendars(client, login, dispatcher, manager, technician):
    login(dispatcher)
    assert client.get("/technicians").status_code == 403
    login(manager)
    page = client.get("/technicians")
    assert page.status_code == 200 and technician.name in page.get_data(as_text=True)
    data = {"skills": "hvac, Plumbing", "base_latitude": "31.3", "base_longitude": "121.5",
            **{f"hours_{d}": "" for d in range(7)}}
    data["hours_0"] = "08:00-12:00, 13:00-17:00"
    data["hours_5"] = "22:00-06:00"
    r = client.post(f"/technicians/{technician.id}", data=data)
    assert r.status_code == 302
    db.session.expire_all()
    tech = db.session.get(type(technician), technician.id)
    assert tech.skills == ["hvac", "plumbing"] and tech.base_latitude == 31.3
    assert [(w.weekday, w.start, w.end) for w in tech.working_hours] == [
        (0, time(8), time(12)), (0, time(13), time(17)), (5, time(22), time(6))]
    r = client.post(f"/technicians/{technician.id}", data={**data, "hours_1": "8 to 5"}, follow_redirects=True)
    assert "write hours like 08:00-17:00" in r.get_data(as_text=True)
    r = client.post(f"/technicians/{technician.id}/time-off",
                    data={"starts_at": "2030-01-02T08:00", "ends_at": "2030-01-03T17:00", "reason": "leave"})
    assert r.status_code == 302
    off = db.session.scalar(select(TimeOff).where(TimeOff.user_id == technician.id))
    assert off is not None and off.reason == "leave"
    assert client.post(f"/time-off/{off.id}/cancel").status_code == 302
    db.session.expire_all()
    assert db.session.get(TimeOff, off.id).cancelled_at is not None


def test_board_forms_show_mistakes_and_write_nothing(client, login, dispatcher, manager, technician):
    """Every board form that fails says why, and leaves nothing half-written (one commit, at the page edge)."""
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start - timedelta(hours=2), end + timedelta(hours=2))
    login(dispatcher)
    htmx = {"HX-Request": "true"}
    for data in ({"technician_id": "abc", "start": start.isoformat(), "end": end.isoformat()},
                 {"technician_id": technician.id, "start": start.isoformat(), "duration": "an hour"}):
        r = client.post(f"/board/calls/{call.id}/book", headers=htmx, data={**data, "from": "board"})
        assert r.status_code == 422 and "Check the technician and the duration." in r.get_data(as_text=True)
    r = client.post(f"/board/calls/{call.id}/book", data={"technician_id": "abc", "start": start.isoformat()},
                    follow_redirects=True)
    assert "Check the technician and the duration." in r.get_data(as_text=True)
    assert db.session.scalar(select(Visit).where(Visit.call_id == call.id)) is None

    r = client.post(f"/board/calls/{call.id}/book", headers=htmx,
                    data={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat()})
    visit = db.session.scalar(select(Visit).where(Visit.call_id == call.id))
    assert visit is not None
    for data, message in (({"technician_id": "abc"}, "Check the form."),
                          ({"technician_id": "999999"}, "Choose a technician."),
                          ({"start": (start + timedelta(hours=5)).isoformat()}, "outside their working hours"),
                          ({"start": (start - timedelta(days=3)).isoformat()}, "would start in the past")):
        r = client.post(f"/board/visits/{visit.id}/move", headers=htmx, data={**data, "reason": "x"})
        assert r.status_code == 200 and message in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).start == start

    login(manager)
    data = {"skills": "welding", "base_latitude": "north", "base_longitude": "121.5",
            **{f"hours_{d}": "" for d in range(7)}}
    r = client.post(f"/technicians/{technician.id}", data=data, follow_redirects=True)
    assert "The base needs numbers" in r.get_data(as_text=True)
    # a base off the map is the message, even when the hours are wrong too
    r = client.post(f"/technicians/{technician.id}", follow_redirects=True,
                    data={**data, "base_latitude": "100", "hours_1": "8 to 5"})
    assert "The base is off the map" in r.get_data(as_text=True)
    r = client.post(f"/technicians/{technician.id}/time-off", follow_redirects=True,
                    data={"starts_at": "2030-01-03T08:00", "ends_at": "2030-01-02T17:00"})
    assert "Time off must end after it starts." in r.get_data(as_text=True)
    db.session.expire_all()
    tech = db.session.get(type(technician), technician.id)
    assert "welding" not in (tech.skills or [])
    assert db.session.scalar(select(TimeOff).where(TimeOff.user_id == technician.id)) is None
    assert client.post("/technicians/999999/time-off").status_code == 404
    assert client.post("/time-off/999999/cancel").status_code == 404

    off = TimeOff(user_id=technician.id, starts_at=start, ends_at=end, reason="", cancelled_at=utcnow())
    db.session.add(off)
    db.session.commit()
    r = client.post(f"/time-off/{off.id}/cancel", follow_redirects=True)
    assert "already cancelled" in r.get_data(as_text=True)


def test_suggestions_say_when_nothing_fits(api, dispatcher, technician):
    set_working_hours(technician, [(d, time(0), time(23, 45)) for d in range(7)])
    db.session.commit()
    late = make_call(dispatcher, received_at=utcnow() - timedelta(hours=30))  # its 24 h window has passed
    r = api(dispatcher).get(f"/api/v1/calls/{late.id}/suggestions?limit=2")
    assert r.status_code == 200
    assert r.json["nothing_fits"] is True and "Nothing fits before the booking deadline" in r.json["message"]
    assert 1 <= len(r.json["items"]) <= 2
    assert all(i["within_deadline"] is False and i["slack_minutes"] < 0 for i in r.json["items"])
    done = make_call(dispatcher)
    set_call_status(dispatcher, done, "cancelled", reason="duplicate")
    db.session.commit()
    r = api(dispatcher).get(f"/api/v1/calls/{done.id}/suggestions")
    assert r.status_code == 409 and r.json["error"]["code"] == "call_not_bookable"


# ----------------------------------------------------------------------------- in Chinese

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}


def test_booking_speaks_chinese_to_a_chinese_desk(api, client, login, dispatcher, technician):
    """Messages, suggestions and the board in the users' words; the API keeps its codes and field names."""
    call = make_call(dispatcher, required_skill="hvac", priority="urgent")
    start, end = _slot(2)
    works_at(technician, start - timedelta(hours=2), end + timedelta(hours=2))
    desk = api(dispatcher)

    r = desk.get(f"/api/v1/calls/{call.id}/suggestions", headers=ZH)
    assert r.status_code == 200 and r.json["items"]
    explanation = r.json["items"][0]["explanation"]
    assert technician.name in explanation and "公里" in explanation and "可到达" in explanation
    assert "预约截止时间" in explanation and "km" not in explanation.replace("公里", "")

    r = desk.post(f"/api/v1/calls/{call.id}/visits", headers=ZH,
                  json={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 201, r.json
    other = make_call(dispatcher)
    r = desk.post(f"/api/v1/calls/{other.id}/visits", headers=ZH,
                  json={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 409 and r.json["error"]["code"] == "overlapping_visit"
    assert "已有上门" in r.json["error"]["message"] and "start" in r.json["error"]["fields"]
    assert r.json["error"]["fields"]["start"] == "与其他上门时间冲突"
    visit_id = db.session.scalar(select(Visit.id).where(Visit.call_id == call.id))
    r = desk.post(f"/api/v1/visits/{visit_id}/cancel", headers=ZH, json={"reason": " "})
    assert r.status_code == 422 and r.json["error"]["message"].startswith("无法取消该上门。")
    assert list(r.json["error"]["fields"]) == ["reason"]

    login(dispatcher)
    day = start.astimezone(local_tz()).date().isoformat()
    html = client.get(f"/board?date={day}", headers=ZH).get_data(as_text=True)
    assert "派工看板" in html and "待预约" in html and "打印派工单" in html and "Waiting to be booked" not in html
    week = client.get(f"/board?date={day}&view=week", headers=ZH).get_data(as_text=True)
    assert "周一" in week and "<th>技术人员</th>" in week
    fragment = client.get(f"/board/calls/{other.id}/suggestions?from=board", headers=ZH).get_data(as_text=True)
    assert "预约" in fragment and "手动选择技术人员和时间" in fragment
    r = client.post(f"/board/visits/{visit_id}/cancel", headers={**ZH, "HX-Request": "true"}, data={"reason": ""})
    assert "请填写取消上门的原因。" in r.get_data(as_text=True)
