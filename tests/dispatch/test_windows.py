"""Arrival windows promised to the customer (issue 14, API.md "Booking visits"): the default and the one
asked for, checked; kept or promised again when a dispatcher moves a visit; held by the database; shown on
the board, the call page, the suggestions and the slip PDF. Pins (re-planning leaves the visit alone),
frozen visits, and the board's "slip to reprint"."""

from __future__ import annotations

import io
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import iso, local_today
from dispatch.models import Visit, VisitStatus
from dispatch.scheduling import booking
from dispatch.scheduling.freeze import FROZEN_STATUSES, is_frozen
from dispatch.services.users import set_working_hours
from tests.factories import make_call, make_customer, make_site

SHANGHAI = ZoneInfo("Asia/Shanghai")
ALL_WEEK = [(d, time(7), time(20)) for d in range(7)]


def at(days: int, hour: int, minute: int = 0) -> datetime:
    """A local time `days` from today, in UTC (as the database gives it back)."""
    day = local_today() + timedelta(days=days)
    return datetime.combine(day, time(hour, minute), tzinfo=SHANGHAI).astimezone(UTC)


def hhmm(days: int) -> str:
    return (local_today() + timedelta(days=days)).isoformat()


@pytest.fixture
def tech(technician: Any) -> Any:
    set_working_hours(technician, ALL_WEEK)
    db.session.commit()
    return technician


def new_call(actor: Any, customer_name: str = "Window Works Ltd") -> Any:
    customer = make_customer(actor, name=customer_name)
    return make_call(actor, customer=customer, site=make_site(customer, address="8 Bund Road, Shanghai"))


def booked(actor: Any, tech: Any, start: datetime, minutes: int = 60, **kw: Any) -> Visit:
    visit = booking.book_visit(actor, new_call(actor), tech, start, start + timedelta(minutes=minutes), **kw)
    db.session.commit()
    return visit


def post_visit(client: Any, call: Any, tech: Any, start: datetime, **extra: Any) -> Any:
    return client.post(f"/api/v1/calls/{call.id}/visits", json={
        "technician_id": tech.id, "start": start.isoformat(), "duration_minutes": 60,
        "override_reason": "customer asked for that day", "customer_requested": True, **extra})


# ----------------------------------------------------------------------------- booking


def test_a_booking_promises_the_default_window(api: Any, dispatcher: Any, tech: Any) -> None:
    client = api(dispatcher)
    r = post_visit(client, new_call(dispatcher), tech, at(3, 10))
    assert r.status_code == 201, r.json
    # 120 minutes on the half hour, the planned start in its first half
    assert (r.json["window_start"], r.json["window_end"]) == (iso(at(3, 9, 30)), iso(at(3, 11, 30)))
    assert r.json["pinned"] is False and r.json["frozen"] is False and r.json["changed_at"] is None
    again = client.get(f"/api/v1/visits/{r.json['id']}").json
    assert (again["window_start"], again["window_end"]) == (r.json["window_start"], r.json["window_end"])
    listed = client.get(f"/api/v1/visits?date={hhmm(3)}&technician_id={tech.id}").json["items"]
    assert [(v["id"], v["window_start"]) for v in listed] == [(r.json["id"], iso(at(3, 9, 30)))]
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.booked",
                                                        AuditEvent.entity_id == r.json["id"])).one()
    assert event.after["window_start"] == at(3, 9, 30).isoformat()


def test_the_default_length_is_a_setting(app: Any, api: Any, dispatcher: Any, tech: Any,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "ARRIVAL_WINDOW_MINUTES", 180)
    r = post_visit(api(dispatcher), new_call(dispatcher), tech, at(3, 10))
    assert r.status_code == 201, r.json
    assert (r.json["window_start"], r.json["window_end"]) == (iso(at(3, 9)), iso(at(3, 12)))


def test_a_window_asked_for_is_kept(api: Any, dispatcher: Any, tech: Any) -> None:
    r = post_visit(api(dispatcher), new_call(dispatcher), tech, at(3, 10),
                   window_start=at(3, 8).isoformat(), window_end=at(3, 12, 15).isoformat())
    assert r.status_code == 201, r.json
    assert (r.json["window_start"], r.json["window_end"]) == (iso(at(3, 8)), iso(at(3, 12, 15)))


@pytest.mark.parametrize(("window", "code", "field", "words"), [
    ((10, 9), "invalid_window", "window_end", "must end after it opens"),
    ((10, 10), "invalid_window", "window_end", "must end after it opens"),
    ((11, 13), "outside_window", "start", "outside the arrival window"),
    ((8, 10), "outside_window", "start", "outside the arrival window"),  # the end is not in the window
    ((6, 15), "invalid_window", "window_end", "at most 8 hours"),
    ((9, None), "invalid_window", "window_end", "both ends of the arrival window"),
    ((None, 11), "invalid_window", "window_start", "both ends of the arrival window"),
])
def test_a_window_asked_for_is_checked(api: Any, dispatcher: Any, tech: Any, window: tuple, code: str,
                                       field: str, words: str) -> None:
    call = new_call(dispatcher)
    extra = {name: at(3, hour).isoformat() for name, hour in zip(("window_start", "window_end"), window, strict=True)
             if hour is not None}
    r = post_visit(api(dispatcher), call, tech, at(3, 10), **extra)
    assert r.status_code == 422, r.json
    assert r.json["error"]["code"] == code and field in r.json["error"]["fields"]
    assert words in r.json["error"]["message"]
    assert not db.session.scalars(select(Visit).where(Visit.call_id == call.id)).all()


def test_a_window_that_is_no_time_is_422(api: Any, dispatcher: Any, tech: Any) -> None:
    r = post_visit(api(dispatcher), new_call(dispatcher), tech, at(3, 10), window_start="soon",
                   window_end=at(3, 11).isoformat())
    assert r.status_code == 422 and "window_start" in r.json["error"]["fields"]


# ----------------------------------------------------------------------------- moving by hand


def test_moving_by_hand_keeps_the_window_or_promises_a_new_one(api: Any, dispatcher: Any, tech: Any,
                                                                manager: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    client = api(dispatcher)
    url = f"/api/v1/visits/{visit.id}"
    later = {"override_reason": "customer asked", "customer_requested": True}

    inside = client.patch(url, json={"start": at(3, 10, 45).isoformat(), **later})
    assert inside.status_code == 200, inside.json
    assert (inside.json["window_start"], inside.json["window_end"]) == (iso(at(3, 9, 30)), iso(at(3, 11, 30)))
    assert inside.json["changed_at"] is not None

    outside = client.patch(url, json={"start": at(3, 14).isoformat(), **later})
    assert outside.status_code == 200, outside.json
    # the customer is promised a new window (and told again)
    assert (outside.json["window_start"], outside.json["window_end"]) == (iso(at(3, 13, 30)), iso(at(3, 15, 30)))
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.rescheduled",
                                                        AuditEvent.entity_id == visit.id)
                               .order_by(AuditEvent.id.desc())).first()
    assert event is not None
    assert event.before["window_start"] == at(3, 9, 30).isoformat()
    assert event.after["window_start"] == at(3, 13, 30).isoformat()

    given = client.patch(url, json={"start": at(3, 16).isoformat(), "window_start": at(3, 15).isoformat(),
                                    "window_end": at(3, 19).isoformat(), **later})
    assert (given.json["window_start"], given.json["window_end"]) == (iso(at(3, 15)), iso(at(3, 19)))

    refused = client.patch(url, json={"window_start": at(3, 17).isoformat(), "window_end": at(3, 18).isoformat()})
    assert refused.status_code == 422 and refused.json["error"]["code"] == "outside_window"
    assert "outside the arrival window" in refused.json["error"]["message"]
    window_only = client.patch(url, json={"window_start": at(3, 15, 30).isoformat(),
                                          "window_end": at(3, 17, 30).isoformat()})
    assert window_only.status_code == 200, window_only.json
    assert window_only.json["start"] == iso(at(3, 16)) and window_only.json["window_start"] == iso(at(3, 15, 30))
    nothing = client.patch(url, json={})
    assert nothing.status_code == 422 and "arrival window" in nothing.json["error"]["message"]

    # re-planning is bound to the window: a start outside it is refused, inside it is taken
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    with pytest.raises(Invalid) as exc:
        booking.reschedule_visit(manager, visit, start=at(3, 18), keep_window=True, override_reason="x")
    assert exc.value.code == "outside_window"
    booking.reschedule_visit(manager, visit, start=at(3, 17), keep_window=True, override_reason="x")
    db.session.commit()
    assert (visit.window_start, visit.window_end) == (at(3, 15, 30), at(3, 17, 30))


def test_a_reassignment_marks_the_change_and_the_former_technician(api: Any, dispatcher: Any, tech: Any) -> None:
    from tests.factories import make_user

    other = make_user("technician", username="otto", name="Otto Other", skills=["hvac"])
    set_working_hours(other, ALL_WEEK)
    visit = booked(dispatcher, tech, at(2, 10), override_reason="customer asked")
    assert visit.changed_at is None and visit.reassigned_at is None
    r = api(dispatcher).patch(f"/api/v1/visits/{visit.id}", json={"technician_id": other.id})
    assert r.status_code == 200, r.json
    db.session.expire_all()
    visit = db.session.get(Visit, visit.id)
    assert visit.technician_id == other.id and visit.former_technician_ids == [tech.id]
    assert visit.changed_at is not None and visit.reassigned_at == visit.changed_at
    assert (visit.window_start, visit.window_end) == (at(2, 9, 30), at(2, 11, 30))  # same time, same promise


def test_the_database_holds_the_start_inside_the_window(dispatcher: Any, tech: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    for values in ({"start": at(3, 11, 30), "end": at(3, 12, 30)}, {"window_start": at(3, 10, 1)},
                   {"window_end": at(3, 10)}):
        with pytest.raises(IntegrityError), db.session.begin_nested():
            db.session.execute(update(Visit).where(Visit.id == visit.id).values(**values))
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).start == at(3, 10)


# ----------------------------------------------------------------------------- pins and frozen visits


def test_pin_roles_audit_and_answers(api: Any, dispatcher: Any, manager: Any, admin: Any, tech: Any,
                                     finance: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    url = f"/api/v1/visits/{visit.id}/pin"
    assert api(None).post(url, json={"pinned": True}).status_code == 401
    assert api(tech).post(url, json={"pinned": True}).status_code == 403
    assert api(finance).post(url, json={"pinned": True}).status_code == 403
    assert api(dispatcher).post("/api/v1/visits/999999/pin", json={"pinned": True}).status_code == 404
    for bad in ({}, {"pinned": "yes"}, {"pinned": None}):
        r = api(dispatcher).post(url, json=bad)
        assert r.status_code == 422 and "pinned" in r.json["error"]["fields"], (bad, r.json)

    r = api(dispatcher).post(url, json={"pinned": True})
    assert r.status_code == 200 and r.json["pinned"] is True and r.json["frozen"] is True
    assert api(dispatcher).post(url, json={"pinned": True}).json["pinned"] is True  # a resend changes nothing
    r = api(manager).post(url, json={"pinned": False})
    assert r.status_code == 200 and r.json["pinned"] is False and r.json["frozen"] is False
    assert api(admin).post(url, json={"pinned": True}).json["pinned"] is True
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "visits",
                                                         AuditEvent.entity_id == visit.id,
                                                         AuditEvent.action.in_(["visit.pinned", "visit.unpinned"]))
                                .order_by(AuditEvent.id)).all()
    assert [(e.action, e.actor_id, e.after) for e in events] == [
        ("visit.pinned", dispatcher.id, {"pinned": True}), ("visit.unpinned", manager.id, {"pinned": False}),
        ("visit.pinned", admin.id, {"pinned": True})]
    # a technician's own visit list says it too
    mine = api(tech).get(f"/api/v1/visits/{visit.id}").json
    assert mine["pinned"] is True

    booking.cancel_visit(dispatcher, db.session.get(Visit, visit.id), "customer cancelled")
    db.session.commit()
    gone = api(dispatcher).post(url, json={"pinned": False})
    assert gone.status_code == 409 and gone.json["error"]["code"] == "visit_not_movable"


def test_what_is_frozen(dispatcher: Any, tech: Any) -> None:
    from technicians.services import progress

    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    assert not is_frozen(visit)
    assert is_frozen(visit, now=at(3, 10)) and not is_frozen(visit, now=at(3, 9, 59))  # started by then
    assert set(FROZEN_STATUSES) == {VisitStatus.ON_THE_WAY, VisitStatus.ON_SITE, VisitStatus.COMPLETED}
    booking.set_pinned(dispatcher, visit, True)
    assert is_frozen(visit)
    booking.set_pinned(dispatcher, visit, False)
    progress.on_my_way(tech, visit)
    assert is_frozen(visit)
    progress.arrive(tech, visit)
    assert is_frozen(visit)
    db.session.commit()


# ----------------------------------------------------------------------------- where the window is told


def _block(page: str, visit_id: int) -> str:
    """The board's block of one visit."""
    start = page.index(f'id="visit-{visit_id}"')
    return page[start:page.index("</li>", start)]


def test_the_board_shows_windows_and_pins(client: Any, login: Any, dispatcher: Any, tech: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    login(dispatcher)
    board = client.get(f"/board?date={hhmm(3)}").get_data(as_text=True)
    block = _block(board, visit.id)
    assert "Arrival window 09:30–11:30" in block
    assert f'action="/board/visits/{visit.id}/pin"' in block and ">Pin<" in block and "pinned</span>" not in block

    r = client.post(f"/board/visits/{visit.id}/pin", data={"pinned": "1", "date": hhmm(3)})
    assert r.status_code == 302
    board = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "Pinned " + visit.slip_number in board
    block = _block(board, visit.id)
    assert "pinned</span>" in block and ">Unpin<" in block
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).pinned is True
    live = client.post(f"/board/visits/{visit.id}/pin", data={"pinned": "0", "date": hhmm(3)},
                       headers={"HX-Request": "true"})
    assert live.status_code == 200 and ">Pin<" in _block(live.get_data(as_text=True), visit.id)
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).pinned is False


def test_moving_on_the_board_says_when_the_customer_must_be_told_again(client: Any, login: Any, dispatcher: Any,
                                                                       tech: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    login(dispatcher)
    form = {"date": hhmm(3), "reason": "customer asked", "override_reason": "customer asked"}
    inside = client.post(f"/board/visits/{visit.id}/move", data={**form, "start": f"{hhmm(3)}T10:30"},
                         headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Moved " + visit.slip_number in inside and "Tell the customer" not in inside
    outside = client.post(f"/board/visits/{visit.id}/move", data={**form, "start": f"{hhmm(3)}T15:00"},
                          headers={"HX-Request": "true"}).get_data(as_text=True)
    assert "Tell the customer the new arrival window:" in outside and "14:30–16:30" in outside
    assert "Arrival window 14:30–16:30" in _block(outside, visit.id)


def test_suggestions_in_the_api_carry_the_window_they_would_promise(api: Any, dispatcher: Any, tech: Any) -> None:
    r = api(dispatcher).get(f"/api/v1/calls/{new_call(dispatcher).id}/suggestions?limit=3")
    assert r.status_code == 200 and r.json["items"], r.json
    for item in r.json["items"]:
        start, opens, closes = (datetime.fromisoformat(item[k]) for k in ("start", "window_start", "window_end"))
        assert opens <= start < closes and closes - opens == timedelta(minutes=120)


def test_the_board_marks_a_slip_to_reprint_until_printed_again(client: Any, login: Any, api: Any,
                                                               dispatcher: Any, tech: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked")
    desk = api(dispatcher)
    login(dispatcher)

    def board_says() -> bool:
        return "slip to reprint" in _block(client.get(f"/board?date={hhmm(3)}").get_data(as_text=True), visit.id)

    later = {"override_reason": "customer asked", "customer_requested": True}
    desk.patch(f"/api/v1/visits/{visit.id}", json={"start": at(3, 10, 30).isoformat(), **later})
    assert not board_says()  # never printed: nothing in anybody's hand
    assert desk.post(f"/api/v1/visits/{visit.id}/slip/prints").status_code == 201
    assert not board_says() and desk.get(f"/api/v1/visits/{visit.id}").json["slip_to_reprint"] is False
    moved = desk.patch(f"/api/v1/visits/{visit.id}", json={"start": at(3, 11).isoformat(), **later})
    assert moved.json["slip_to_reprint"] is True
    assert board_says()
    # the board's print button clears it
    assert client.post(f"/board/visits/{visit.id}/print").status_code == 303
    assert not board_says() and desk.get(f"/api/v1/visits/{visit.id}").json["slip_to_reprint"] is False


def test_the_board_books_with_the_window_asked_for(client: Any, login: Any, dispatcher: Any, tech: Any) -> None:
    call = new_call(dispatcher)
    login(dispatcher)
    form = {"technician_id": str(tech.id), "start": f"{hhmm(3)}T10:00", "duration": "60",
            "override_reason": "customer asked", "customer_requested": "1", "from": "board"}
    bad = client.post(f"/board/calls/{call.id}/book", data={**form, "window_start": "12:00", "window_end": "11:00"},
                      headers={"HX-Request": "true"})
    assert bad.status_code == 422 and "must end after it opens" in bad.get_data(as_text=True)
    r = client.post(f"/board/calls/{call.id}/book", data={**form, "window_start": "09:00", "window_end": "12:00"},
                    headers={"HX-Request": "true"})
    assert r.status_code == 200, r.get_data(as_text=True)
    text = r.get_data(as_text=True)
    assert "Tell the customer: arrival between 09:00 and 12:00." in text
    assert "Arrival window promised to the customer:" in text and "09:00 – 12:00" in text
    visit = db.session.scalars(select(Visit).where(Visit.call_id == call.id)).one()
    assert (visit.window_start, visit.window_end) == (at(3, 9), at(3, 12))
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Arrival window 09:00–12:00" in page


def test_each_suggestion_says_its_window(client: Any, login: Any, dispatcher: Any, tech: Any) -> None:
    call = new_call(dispatcher)
    login(dispatcher)
    panel = client.get(f"/board/calls/{call.id}/suggestions?from=board").get_data(as_text=True)
    assert panel.count('class="small arrival-window">Arrival window ') == panel.count('<li class="suggestion')
    assert panel.count("Arrival window ") >= 1
    assert 'name="window_start"' in panel and 'name="window_end"' in panel


def test_the_slip_prints_the_arrival_window(api: Any, dispatcher: Any, tech: Any) -> None:
    visit = booked(dispatcher, tech, at(3, 10), override_reason="customer asked",
                   window_start=at(3, 9), window_end=at(3, 11, 30))
    r = api(dispatcher).get(f"/api/v1/visits/{visit.id}/slip.pdf")
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(r.data)).pages)
    assert "Arrival window" in text and "09:00–11:30" in text
    assert f"{hhmm(3)} 10:00 – 11:00" in text  # the appointment itself


def test_openapi_documents_windows_and_pins(client: Any) -> None:
    spec = client.get("/api/v1/openapi.json").get_json()
    schemas = spec["components"]["schemas"]
    for name in ("VisitIn", "VisitPatch"):
        assert {"window_start", "window_end"} <= set(schemas[name]["properties"]), name
    assert {"window_start", "window_end", "pinned"} <= set(schemas["Visit"]["required"])
    pin = spec["paths"]["/api/v1/visits/{visit_id}/pin"]["post"]
    assert pin["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/PinIn")
    assert "200" in pin["responses"] and set(pin["x-roles"]) == {"admin", "manager", "dispatcher"}


# ----------------------------------------------------------------------------- visits booked before


def _revision_0016() -> Any:
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "migrations" / "versions" / "0016_windows.py"
    spec = importlib.util.spec_from_file_location("revision_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.concurrency  # its own scratch database, committed for real
def test_the_migration_promises_windows_to_visits_booked_before(app: Any, tmp_path: Any) -> None:
    """Visits in the database before 0016 get the default window around their start; printed and
    rescheduled ones keep when, from the audit trail. The rows that refer to visits and users (events,
    calls, tokens...) survive SQLite's rebuild of both tables, down and up."""
    from dispatch import create_app
    from dispatch.core.timeutil import utcnow
    from dispatch.scheduling.windows import arrival_window
    from dispatch.slips.services import record_prints
    from technicians.models import VisitEvent
    from technicians.services import progress
    from tests.factories import make_user

    if db.engine.dialect.name == "sqlite":
        url = "sqlite:///" + str(tmp_path / "scratch.sqlite3")
    else:
        import uuid

        import psycopg

        name = "dispatch_scratch_" + uuid.uuid4().hex[:8]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    scratch = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x"})
    revision = _revision_0016()
    try:
        with scratch.app_context():
            from flask_migrate import upgrade

            upgrade()
            desk = make_user("dispatcher", username="desk")
            tom = make_user("technician", username="tom2")
            first = booking.book_visit(desk, new_call(desk, "First"), tom, at(-2, 10, 10), at(-2, 11))
            second = booking.book_visit(desk, new_call(desk, "Second"), tom, at(-2, 14), at(-2, 15))
            db.session.commit()
            progress.on_my_way(tom, first)  # a visit event that refers to the visit
            record_prints(desk, [second])
            db.session.commit()
            booking.reschedule_visit(desk, second, start=at(-2, 16), override_reason="x")
            db.session.commit()
            ids = first.id, second.id
            printed_at, changed_at = second.slip_printed_at, second.changed_at
            before_migration = utcnow()
            db.session.remove()

            from flask_migrate import downgrade

            downgrade(revision=revision.down_revision)  # back to before the windows, with the data in place
            columns = {c["name"] for c in db.inspect(db.engine).get_columns("visits")}
            assert "window_start" not in columns and "pinned" not in columns
            upgrade(revision=revision.revision)

            one, two = db.session.get(Visit, ids[0]), db.session.get(Visit, ids[1])
            assert (one.window_start, one.window_end) == arrival_window(at(-2, 10, 10))
            assert arrival_window(at(-2, 10, 10)) == (at(-2, 9, 30), at(-2, 11, 30))
            assert (two.window_start, two.window_end) == arrival_window(at(-2, 16))
            assert one.pinned is False and one.slip_printed_at is None and one.changed_at is None
            assert two.slip_printed_at is not None and two.changed_at is not None
            assert abs(two.changed_at - changed_at) < timedelta(seconds=1) and two.changed_at < before_migration
            assert abs(two.slip_printed_at - printed_at) < timedelta(seconds=1)
            assert two.reassigned_at is None
            assert db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == ids[0])).all()
            with pytest.raises(IntegrityError), db.session.begin_nested():  # the CHECK is back
                db.session.execute(update(Visit).where(Visit.id == ids[0]).values(window_end=at(-2, 10)))
            db.session.rollback()
            db.session.remove()
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
