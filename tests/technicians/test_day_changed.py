"""'Your day changed' on the technician's phone (issue 14): a visit moved, given to them, taken away or
cancelled after booking shows as a notice on Today and Tomorrow, and in the API, until they say OK; a
change made after what they saw still shows. The arrival window on the phone's list and visit page."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from dispatch.core.timeutil import iso, local_today
from dispatch.scheduling import booking, changes
from dispatch.services.users import set_working_hours
from tests.factories import make_call, make_customer, make_site, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_WEEK = [(d, time(7), time(20)) for d in range(7)]
LATER = {"override_reason": "customer asked", "customer_requested": True}


def tomorrow(hour: int, minute: int = 0) -> datetime:
    day = local_today() + timedelta(days=1)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


@pytest.fixture
def techs(technician: Any) -> tuple[Any, Any]:
    other = make_user("technician", username="otto", name="Otto Other", skills=["hvac"])
    for t in (technician, other):
        set_working_hours(t, ALL_WEEK)
    db.session.commit()
    return technician, other


def book(actor: Any, tech: Any, start: datetime, customer: str) -> Any:
    c = make_customer(actor, name=customer)
    call = make_call(actor, customer=c, site=make_site(c, address="8 Bund Road, Shanghai"))
    visit = booking.book_visit(actor, call, tech, start, start + timedelta(hours=1), override_reason="customer asked")
    db.session.commit()
    return visit


def phone(client: Any, login: Any, user: Any, day: str = "") -> str:
    login(user)
    r = client.get("/t/" + ("?day=tomorrow" if day == "tomorrow" else ""))
    assert r.status_code == 200
    return r.get_data(as_text=True)


def notice(page: str) -> str:
    """The notice's text, or "" when the page has none."""
    if 'id="day-changed"' not in page:
        return ""
    start = page.index('id="day-changed"')
    return page[start:page.index("</section>", start)]


def test_a_move_shows_until_the_technician_says_ok(client: Any, login: Any, api: Any, dispatcher: Any,
                                                   techs: tuple[Any, Any]) -> None:
    tom, _otto = techs
    visit = book(dispatcher, tom, tomorrow(10), "Moved Mansions")
    fresh = book(dispatcher, tom, tomorrow(15), "Fresh Booking Co")
    # a booking is no change: it is simply on the day
    assert notice(phone(client, login, tom)) == "" and notice(phone(client, login, tom, "tomorrow")) == ""
    assert api(tom).get("/api/v1/me/day-changes").json["items"] == []

    r = api(dispatcher).patch(f"/api/v1/visits/{visit.id}", json={"start": tomorrow(12).isoformat(), **LATER})
    assert r.status_code == 200, r.json
    for day in ("", "tomorrow"):
        shown = notice(phone(client, login, tom, day))
        assert "Your day changed" in shown and "Moved" in shown and "Moved Mansions" in shown
        assert visit.slip_number in shown and "arrival window 11:30–13:30" in shown
        assert "Fresh Booking Co" not in shown and 'name="csrf_token"' in shown
        assert 'action="/t/day-changes/seen"' in shown and ">OK<" in shown
    data = api(tom).get("/api/v1/me/day-changes").json
    assert [(i["visit_id"], i["change"], i["start"], i["window_start"]) for i in data["items"]] == [
        (visit.id, "moved", iso(tomorrow(12)), iso(tomorrow(11, 30)))]
    assert data["day_seen_at"] is None and data["seen_until"] == data["items"][0]["changed_at"]
    snapshot = api(tom).get("/api/v1/me/visits").json
    assert [c["visit_id"] for c in snapshot["day_changes"]] == [visit.id]
    assert {v["id"]: v["window_start"] for v in snapshot["items"]}[fresh.id] == iso(tomorrow(14, 30))

    login(tom)
    ok = client.post("/t/day-changes/seen", data={"seen_until": data["seen_until"], "day": "tomorrow"})
    assert ok.status_code == 302 and ok.headers["Location"].endswith("/t/?day=tomorrow")
    assert notice(phone(client, login, tom)) == "" and notice(phone(client, login, tom, "tomorrow")) == ""
    assert api(tom).get("/api/v1/me/day-changes").json["items"] == []
    db.session.expire_all()
    seen = db.session.get(User, tom.id).day_seen_at
    assert seen is not None and iso(seen) == data["seen_until"]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.day_changes_seen")).one()
    assert event.actor_id == tom.id and event.entity_id == tom.id

    # the next change shows again
    api(dispatcher).patch(f"/api/v1/visits/{fresh.id}", json={"start": tomorrow(16).isoformat(), **LATER})
    shown = notice(phone(client, login, tom, "tomorrow"))
    assert "Fresh Booking Co" in shown and "Moved Mansions" not in shown


def test_given_taken_away_and_cancelled(client: Any, login: Any, api: Any, dispatcher: Any,
                                        techs: tuple[Any, Any]) -> None:
    tom, otto = techs
    visit = book(dispatcher, tom, tomorrow(10), "Handed Over Ltd")
    doomed = book(dispatcher, otto, tomorrow(13), "Cancelled Corp")
    r = api(dispatcher).patch(f"/api/v1/visits/{visit.id}", json={"technician_id": otto.id})
    assert r.status_code == 200, r.json
    booking.cancel_visit(dispatcher, doomed, "customer fixed it")
    db.session.commit()

    tom_sees = notice(phone(client, login, tom))
    assert "Taken off your day" in tom_sees and "Handed Over Ltd" in tom_sees
    assert f'href="/t/visits/{visit.id}"' not in tom_sees and "arrival window" not in tom_sees
    otto_sees = notice(phone(client, login, otto, "tomorrow"))
    assert "New for you" in otto_sees and "Handed Over Ltd" in otto_sees and f'href="/t/visits/{visit.id}"' in otto_sees
    assert "Cancelled" in otto_sees and "Cancelled Corp" in otto_sees
    by_change = {i["visit_id"]: i["change"] for i in api(otto).get("/api/v1/me/day-changes").json["items"]}
    assert by_change == {visit.id: "added", doomed.id: "cancelled"}
    taken = api(tom).get("/api/v1/me/day-changes").json["items"]
    assert [(i["visit_id"], i["change"], i["start"]) for i in taken] == [(visit.id, "taken_away", None)]

    # Tom says OK through the API; his later visits moving again would show, Otto's are none of his business
    assert api(tom).post("/api/v1/me/day-changes/seen", json={}).json["items"] == []
    api(dispatcher).patch(f"/api/v1/visits/{visit.id}", json={"start": tomorrow(11).isoformat(), **LATER})
    assert api(tom).get("/api/v1/me/day-changes").json["items"] == []
    assert [i["change"] for i in api(otto).get("/api/v1/me/day-changes").json["items"]] == ["added", "cancelled"]


def test_a_change_after_what_was_seen_still_shows(api: Any, dispatcher: Any, techs: tuple[Any, Any]) -> None:
    tom, _otto = techs
    first = book(dispatcher, tom, tomorrow(9), "First Floor")
    second = book(dispatcher, tom, tomorrow(14), "Second Floor")
    desk = api(dispatcher)
    desk.patch(f"/api/v1/visits/{first.id}", json={"start": tomorrow(9, 30).isoformat(), **LATER})
    shown = api(tom).get("/api/v1/me/day-changes").json
    desk.patch(f"/api/v1/visits/{second.id}", json={"start": tomorrow(14, 30).isoformat(), **LATER})
    # the OK sent for what was on the screen: the later change stays
    r = api(tom).post("/api/v1/me/day-changes/seen", json={"seen_until": shown["seen_until"]})
    assert r.status_code == 200, r.json
    assert [i["visit_id"] for i in r.json["items"]] == [second.id]
    # an OK never goes back
    db.session.expire_all()
    user = db.session.get(User, tom.id)
    assert changes.acknowledge(user, datetime(2026, 1, 1, tzinfo=UTC)) == user.day_seen_at


def test_who_may_see_and_say_ok(client: Any, login: Any, api: Any, dispatcher: Any, manager: Any,
                                techs: tuple[Any, Any]) -> None:
    tom, _otto = techs
    assert api(None).get("/api/v1/me/day-changes").status_code == 401
    assert api(dispatcher).get("/api/v1/me/day-changes").status_code == 403
    assert api(manager).post("/api/v1/me/day-changes/seen", json={}).status_code == 403
    bad = api(tom).post("/api/v1/me/day-changes/seen", json={"seen_until": "yesterday-ish"})
    assert bad.status_code == 422 and "seen_until" in bad.json["error"]["fields"]
    login(dispatcher)
    assert client.post("/t/day-changes/seen", data={}).status_code == 403
    login(tom)
    wrong = client.post("/t/day-changes/seen", data={"seen_until": "nope"})
    assert wrong.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, tom.id).day_seen_at is None


def test_the_phone_shows_the_arrival_window(client: Any, login: Any, dispatcher: Any,
                                            techs: tuple[Any, Any]) -> None:
    tom, _otto = techs
    visit = book(dispatcher, tom, tomorrow(10), "Window Watchers")
    page = phone(client, login, tom, "tomorrow")
    card = page[page.index(f'data-visit-id="{visit.id}"'):]
    assert "Arrival window 09:30–11:30" in card[:card.index("</article>")]
    visit_page = client.get(f"/t/visits/{visit.id}").get_data(as_text=True)
    assert "Arrival window promised to the customer:" in visit_page and "09:30 – 11:30" in visit_page
