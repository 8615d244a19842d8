"""Issue 10, booking: one live visit per call (409 already_booked unless "additional"), no start in the
past (422 start_in_past), a later day with its reason and the customer's request, and suggestions that
look as far as the horizon when a week is full."""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

from sqlalchemy import insert, select

from dispatch.core.extensions import db
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import CallStatus, Visit
from dispatch.scheduling.booking import book_visit, cancel_visit
from dispatch.services.users import set_working_hours
from tests.dispatch.test_booking_api import _book, _slot, works_at
from tests.dispatch.test_slips import pdf_text
from tests.factories import make_call, make_user

HTMX = {"HX-Request": "true"}


def _visits(call) -> list[Visit]:
    db.session.expire_all()
    return list(db.session.scalars(select(Visit).where(Visit.call_id == call.id).order_by(Visit.id)))


# ----------------------------------------------------------------------------- one click, two visits


def test_a_booked_call_refuses_a_second_booking_unless_additional(api, dispatcher, technician):
    second = make_user("technician", username="sam", name="Sam Second")
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end)
    works_at(second, start, end)
    client = api(dispatcher)
    first = _book(client, call, technician, start, end)
    assert first.status_code == 201 and first.json["additional"] is False
    again = _book(client, call, second, start, end)
    assert again.status_code == 409 and again.json["error"]["code"] == "already_booked"
    assert first.json["slip_number"] in again.json["error"]["message"]
    assert technician.name in again.json["error"]["message"]
    assert len(_visits(call)) == 1
    extra = _book(client, call, second, start, end, additional=True)
    assert extra.status_code == 201 and extra.json["additional"] is True
    assert _book(client, call, second, end, end + timedelta(minutes=30)).json["error"]["code"] == "already_booked"
    bad = _book(client, call, second, end, end + timedelta(minutes=30), additional="yes")
    assert bad.status_code == 422 and "additional" in bad.json["error"]["fields"]
    assert [v.additional for v in _visits(call)] == [False, True]


def test_a_call_is_bookable_again_once_its_visit_is_cancelled_or_done(api, dispatcher, technician):
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end + timedelta(hours=3))
    client = api(dispatcher)
    first = _book(client, call, technician, start, end)
    assert client.post(f"/api/v1/visits/{first.json['id']}/cancel", json={"reason": "customer away"}).status_code == 200
    again = _book(client, call, technician, end, end + timedelta(hours=1))
    assert again.status_code == 201, again.json
    # a completed visit holds the call no longer (a follow-up visit may be booked)
    visit = db.session.get(Visit, again.json["id"])
    visit.status = "completed"
    db.session.commit()
    follow_up = _book(client, call, technician, end + timedelta(hours=1), end + timedelta(hours=2))
    assert follow_up.status_code == 201, follow_up.json


def test_the_database_holds_one_live_visit_per_call(dispatcher, technician):
    """The partial unique index has the last word when the service's check is bypassed."""
    import pytest
    from sqlalchemy.exc import IntegrityError

    call = make_call(dispatcher)
    start, end = _slot(2)
    visit = book_visit(dispatcher, call, technician, start, end)
    db.session.flush()
    row = {"call_id": call.id, "technician_id": technician.id, "start": end, "end": end + timedelta(hours=1),
           "status": "scheduled", "print_count": 0, "former_technician_ids": []}
    with pytest.raises(IntegrityError), db.session.begin_nested():
        db.session.execute(insert(Visit).values(**row, slip_number=visit.slip_number + "-X"))
    db.session.execute(insert(Visit).values(**row, slip_number=visit.slip_number + "-Y", additional=True))
    done = {**row, "status": "completed", "start": end + timedelta(hours=2), "end": end + timedelta(hours=3)}
    db.session.execute(insert(Visit).values(**done, slip_number=visit.slip_number + "-Z"))
    assert len(_visits(call)) == 3


def test_the_board_and_the_call_page_refuse_a_second_booking(client, login, dispatcher, technician):
    second = make_user("technician", username="sam", name="Sam Second")
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end)
    works_at(second, start, end)
    login(dispatcher)
    form = {"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat(), "from": "board"}
    assert client.post(f"/board/calls/{call.id}/book", headers=HTMX, data=form).status_code == 200
    # the board's panel: 409 with the booked visit in place of the buttons
    r = client.post(f"/board/calls/{call.id}/book", headers=HTMX, data={**form, "technician_id": second.id})
    html = r.get_data(as_text=True)
    assert r.status_code == 409 and "is already booked" in html and technician.name in html
    assert "book-button" not in html and "Book an additional technician" in html
    # the call page's fragment: 409, and the browser goes back to the call page with the message
    r = client.post(f"/board/calls/{call.id}/book", headers=HTMX,
                    data={**form, "technician_id": second.id, "from": "call"})
    assert r.status_code == 409 and r.headers["HX-Redirect"].endswith(f"/calls/{call.id}")
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "is already booked" in page
    # without JavaScript: back to the page with the message
    r = client.post(f"/board/calls/{call.id}/book", data={**form, "technician_id": second.id}, follow_redirects=True)
    assert "is already booked" in r.get_data(as_text=True)
    assert len(_visits(call)) == 1
    # on purpose, with the labelled control: a second technician
    extra = client.get(f"/board/calls/{call.id}/suggestions?additional=1&from=board").get_data(as_text=True)
    assert "Book an additional technician for" in extra and 'name="additional" value="1"' in extra
    assert "Book additional technician" in extra
    r = client.post(f"/board/calls/{call.id}/book", headers=HTMX,
                    data={**form, "technician_id": second.id, "additional": "1"})
    assert r.status_code == 200 and "Booked VS-" in r.get_data(as_text=True)
    assert [(v.technician_id, v.additional) for v in _visits(call)] == [(technician.id, False), (second.id, True)]


def test_the_call_page_shows_the_booked_visit_instead_of_book_buttons(client, login, dispatcher, technician):
    call = make_call(dispatcher)
    start, end = _slot(2)
    works_at(technician, start, end)
    login(dispatcher)
    before = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'hx-get="/board/calls/{call.id}/suggestions"' in before
    fragment = client.get(f"/board/calls/{call.id}/suggestions").get_data(as_text=True)
    assert "book-button" in fragment
    visit = book_visit(dispatcher, call, technician, start, end)
    db.session.commit()
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert f'hx-get="/board/calls/{call.id}/suggestions"' not in page and "book-button" not in page
    assert f'id="booked-visit-{visit.id}"' in page and technician.name in page
    assert "Arrival window promised to the customer" in page
    assert "Reschedule or cancel on the board" in page and f"#visit-{visit.id}" in page
    assert f'action="/board/visits/{visit.id}/print"' in page
    # the suggestions' own URL answers the booked visit too (a stale page, a second tab)
    fragment = client.get(f"/board/calls/{call.id}/suggestions").get_data(as_text=True)
    assert "book-button" not in fragment and f'id="booked-visit-{visit.id}"' in fragment
    cancel_visit(dispatcher, visit, "customer away")
    db.session.commit()
    assert f'hx-get="/board/calls/{call.id}/suggestions"' in client.get(f"/calls/{call.id}").get_data(as_text=True)


# ----------------------------------------------------------------------------- visits in the past


def test_a_start_in_the_past_is_refused(api, client, login, dispatcher, technician):
    call = make_call(dispatcher)
    yesterday = (utcnow() - timedelta(days=1)).replace(second=0, microsecond=0)
    works_at(technician, yesterday, yesterday + timedelta(hours=1))
    r = _book(api(dispatcher), call, technician, yesterday, yesterday + timedelta(hours=1))
    assert r.status_code == 422 and r.json["error"]["code"] == "start_in_past"
    assert r.json["error"]["fields"] == {"start": "in the past"}
    # a few minutes ago is the time it took to book: accepted
    just_now = utcnow() - timedelta(minutes=2)
    works_at(technician, just_now, just_now + timedelta(hours=1))
    assert _book(api(dispatcher), call, technician, just_now, just_now + timedelta(hours=1)).status_code == 201

    other = make_call(dispatcher)
    login(dispatcher)
    by_hand = {"technician_id": technician.id, "duration": "60", "from": "board",
               "start": (yesterday.astimezone(local_tz())).strftime("%Y-%m-%dT%H:%M")}
    r = client.post(f"/board/calls/{other.id}/book", headers=HTMX, data=by_hand)
    assert r.status_code == 422 and "would start in the past" in r.get_data(as_text=True)
    r = client.post(f"/board/calls/{other.id}/book", data={**by_hand, "from": "call"}, follow_redirects=True)
    assert "would start in the past" in r.get_data(as_text=True)
    assert _visits(other) == []
    assert db.session.get(type(other), other.id).status == CallStatus.NEW
    # the by-hand form's field says so to the browser as well
    fragment = client.get(f"/board/calls/{other.id}/suggestions").get_data(as_text=True)
    assert re.search(r'name="start" required min="\d{4}-\d\d-\d\dT\d\d:\d\d"', fragment)


# ----------------------------------------------------------------------------- a later day, agreed


def test_a_later_day_at_the_customers_request_shows_on_the_page_and_the_slip(api, client, login, dispatcher,
                                                                            technician):
    call = make_call(dispatcher)
    start = (call.booking_deadline + timedelta(days=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    works_at(technician, start, end)
    login(dispatcher)
    # the dispatcher, not only a manager, books it from the by-hand form with the reason
    r = client.post(f"/board/calls/{call.id}/book", data={
        "technician_id": technician.id, "start": start.astimezone(local_tz()).strftime("%Y-%m-%dT%H:%M"),
        "duration": "60", "override_reason": "customer only available Friday", "customer_requested": "1",
        "from": "call"})
    assert r.status_code == 302
    (visit,) = _visits(call)
    assert visit.customer_requested is True and visit.override_reason == "customer only available Friday"
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    assert "Later day at the customer's request" in page and "customer only available Friday" in page
    assert "agreed in time" in page
    board = client.get("/board/live?date=" + start.astimezone(local_tz()).date().isoformat()).get_data(as_text=True)
    assert "customer only available Friday" in board
    assert api(dispatcher).post(f"/api/v1/visits/{visit.id}/slip/prints").status_code == 201
    text, _ = pdf_text(api(dispatcher).get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    text = " ".join(text.split())  # a label may wrap in its narrow column
    assert "After the booking deadline" in text and "At the customer's request" in text
    assert "customer only available Friday" in text


def test_late_suggestions_ask_any_desk_role_for_the_reason(client, login, dispatcher, technician):
    call = make_call(dispatcher)
    set_working_hours(technician, [])  # nobody works until the day after tomorrow
    far = datetime.combine(local_today() + timedelta(days=3), time(9), tzinfo=local_tz())
    set_working_hours(technician, [(far.weekday(), time(9), time(17))])
    db.session.commit()
    login(dispatcher)
    fragment = client.get(f"/board/calls/{call.id}/suggestions").get_data(as_text=True)
    assert "Nothing fits before the booking deadline" in fragment and "past the deadline" in fragment
    assert 'name="override_reason" required' in fragment and 'name="customer_requested"' in fragment
    assert "disabled" not in fragment and "Only a manager" not in fragment


# ----------------------------------------------------------------------------- the suggestions' horizon


def _full_week(dispatcher, tech, days: int) -> None:
    """Every day from today on for `days` days booked from 08:00 to 18:00 (the technician's hours)."""
    tz = local_tz()
    set_working_hours(tech, [(d, time(8), time(18)) for d in range(7)])
    for i in range(days):
        day = local_today() + timedelta(days=i)
        block = make_call(dispatcher, required_skill="boiler")
        book_visit(dispatcher, block, tech, datetime.combine(day, time(8), tzinfo=tz),
                   datetime.combine(day, time(18), tzinfo=tz), override_reason="the week is full")
    db.session.commit()


def test_a_scarce_skill_on_a_fully_booked_week_gets_suggestions_in_week_two(app, api, dispatcher, monkeypatch):
    only = make_user("technician", username="boiler", name="Bo Boiler", skills=["boiler"])
    make_user("technician", username="hvac2", name="Hal Hvac", skills=["hvac"])  # free, but not skilled
    _full_week(dispatcher, only, 8)
    call = make_call(dispatcher, required_skill="boiler")
    r = api(dispatcher).get(f"/api/v1/calls/{call.id}/suggestions?limit=3")
    assert r.status_code == 200, r.json
    data = r.json
    assert data["items"], data["message"]
    week_two = local_today() + timedelta(days=8)
    starts = [datetime.fromisoformat(i["start"]) for i in data["items"]]
    assert all(s.astimezone(local_tz()).date() >= week_two for s in starts)
    assert min(starts).astimezone(local_tz()) == datetime.combine(week_two, time(8), tzinfo=local_tz())
    assert starts == sorted(starts)  # the earliest first
    assert all(i["technician_id"] == only.id and i["within_deadline"] is False for i in data["items"])
    assert data["nothing_fits"] is True and "Nothing fits before the booking deadline" in data["message"]
    # bounded by SUGGESTION_HORIZON_DAYS
    monkeypatch.setitem(app.config, "SUGGESTION_HORIZON_DAYS", 5)
    data = api(dispatcher).get(f"/api/v1/calls/{call.id}/suggestions").json
    assert data["items"] == [] and data["nothing_fits"] is True and "next 5 days" in data["message"]


def test_the_horizon_is_configured_from_the_environment(monkeypatch, tmp_path):
    import pytest

    from dispatch.core.config import from_environment

    assert from_environment(str(tmp_path), {"SECRET_KEY": "x"})["SUGGESTION_HORIZON_DAYS"] == 14
    monkeypatch.setenv("SUGGESTION_HORIZON_DAYS", "21")
    assert from_environment(str(tmp_path), {"SECRET_KEY": "x"})["SUGGESTION_HORIZON_DAYS"] == 21
    monkeypatch.setenv("SUGGESTION_HORIZON_DAYS", "0")
    with pytest.raises(RuntimeError, match="SUGGESTION_HORIZON_DAYS"):
        from_environment(str(tmp_path), {"SECRET_KEY": "x"})


def test_the_slip_prints_the_late_days_reason_in_both_languages(tmp_path):
    from tests.dispatch.test_documents import pdf_text as document_text
    from tests.dispatch.test_documents import render_slip, slip

    pdf = render_slip(slip(late_reason="客户周五才有空 (customer only available Friday)", customer_requested=True))
    (tmp_path / "late-slip.pdf").write_bytes(pdf)
    text = " ".join(document_text(pdf)[0].split())
    assert "After the booking deadline" in text and "At the customer's request" in text
    assert "客户周五才有空" in text
    plain = " ".join(document_text(render_slip(slip()))[0].split())
    assert "After the booking deadline" not in plain
