"""Issue 13, clocks on a real calendar: working-time arithmetic across weekends, public holidays, make-up
working days (调休), midnight and time zones; the company calendar's page and API; the deadlines of new calls.

Every expected time is written out here, worked out by hand from the 2026 State Council schedule
(National Day 10-01..07 with make-up days Sun 09-20 and Sat 10-10; Spring Festival 02-15..23 with make-up
days Sat 02-14 and Sat 02-28; New Year 01-01..03 with make-up Sun 01-04)."""

from __future__ import annotations

from datetime import date, datetime, time

import pytest

from dispatch import calendar
from dispatch.core.timeutil import WorkingCalendar
from dispatch.services.clocks import call_clocks
from dispatch.sla_models import CalendarDay
from tests.factories import make_call


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def local(value: datetime) -> str:
    """An instant as Shanghai wall-clock text, to compare with the answers written below."""
    return value.astimezone(at("2026-01-01T00:00:00+08:00").tzinfo).strftime("%Y-%m-%d %a %H:%M")


@pytest.fixture
def holidays_2026(app, admin):
    calendar.load_public_holidays(admin, 2026)
    return calendar.company_calendar()


# ----------------------------------------------------------------------------- arithmetic, weekly hours only

PLAIN = WorkingCalendar()  # Monday to Friday 09:00-18:00, no holidays


def hours(start: str, minutes: int, cal: WorkingCalendar = PLAIN) -> str:
    return local(calendar.add_working_time(at(start), minutes=minutes, calendar=cal))


def days(start: str, n: int, cal: WorkingCalendar = PLAIN) -> str:
    return local(calendar.add_working_time(at(start), days=n, calendar=cal))


def test_friday_half_past_five_plus_one_working_hour_is_monday_half_past_nine(app):
    assert hours("2026-11-27T17:30:00+08:00", 60) == "2026-11-30 Mon 09:30"


def test_a_call_before_opening_counts_from_opening(app):
    assert hours("2026-11-30T07:00:00+08:00", 60) == "2026-11-30 Mon 10:00"
    assert hours("2026-11-30T00:00:00+08:00", 60) == "2026-11-30 Mon 10:00"  # midnight


def test_a_clock_running_out_at_closing_time_is_due_at_closing(app):
    assert hours("2026-11-30T17:00:00+08:00", 60) == "2026-11-30 Mon 18:00"
    assert hours("2026-11-30T17:59:00+08:00", 2) == "2026-12-01 Tue 09:01"


def test_after_closing_and_over_the_weekend(app):
    assert hours("2026-11-27T23:59:00+08:00", 60) == "2026-11-30 Mon 10:00"  # Friday night
    assert hours("2026-11-28T12:00:00+08:00", 60) == "2026-11-30 Mon 10:00"  # Saturday
    # 12 working hours from Friday 10:00: 8 on Friday, 4 on Monday.
    assert hours("2026-11-27T10:00:00+08:00", 12 * 60) == "2026-11-30 Mon 13:00"


def test_time_zones_count_on_the_local_calendar(app):
    # 23:30 UTC on Friday is Saturday 07:30 in Shanghai: a weekend, not Friday evening.
    assert hours("2026-11-27T23:30:00+00:00", 60) == "2026-11-30 Mon 10:00"
    # 10:30 in Paris (+01:00) is 17:30 in Shanghai on the same Friday.
    due = calendar.add_working_time(at("2026-11-27T10:30:00+01:00"), minutes=60, calendar=PLAIN)
    assert due == at("2026-11-30T09:30:00+08:00")
    assert due.utcoffset() is not None and due.utcoffset().total_seconds() == 0  # stored in UTC


def test_working_days_keep_the_time_of_day(app):
    assert days("2026-11-25T10:00:00+08:00", 5) == "2026-12-02 Wed 10:00"
    assert days("2026-11-27T16:00:00+08:00", 1) == "2026-11-30 Mon 16:00"


def test_working_days_from_outside_the_hours_count_from_the_last_close(app):
    # Saturday morning: after Friday's close -> one working day is the whole Monday.
    assert days("2026-11-28T07:30:00+08:00", 1) == "2026-11-30 Mon 18:00"
    # Tuesday 07:00, before opening: after Monday's close -> all of Tuesday.
    assert days("2026-12-01T07:00:00+08:00", 1) == "2026-12-01 Tue 18:00"
    # Tuesday 20:00, after closing: the working day is Wednesday, to its close.
    assert days("2026-12-01T20:00:00+08:00", 1) == "2026-12-02 Wed 18:00"


def test_working_minutes_between_two_instants(app):
    assert calendar.working_minutes(at("2026-11-27T17:30:00+08:00"), at("2026-11-30T09:30:00+08:00"),
                                    calendar=PLAIN) == 60
    assert calendar.working_minutes(at("2026-11-30T09:30:00+08:00"), at("2026-11-27T17:30:00+08:00"),
                                    calendar=PLAIN) == 0


def test_a_calendar_with_no_working_day_is_refused_not_looped(app):
    from dispatch.core.timeutil import NoWorkingTime

    with pytest.raises(NoWorkingTime):
        calendar.add_working_time(at("2026-11-27T10:00:00+08:00"), minutes=60, calendar=WorkingCalendar(week={}))


# ----------------------------------------------------------------------------- holidays and make-up days


def test_the_day_before_national_day(holidays_2026):
    # Wednesday 30 September 17:30: half an hour today, then closed 1-7 October; Thursday the 8th 09:30.
    assert hours("2026-09-30T17:30:00+08:00", 60, holidays_2026) == "2026-10-08 Thu 09:30"
    # Five working days: 8, 9, Saturday 10 (make-up), 12, 13 October.
    assert days("2026-09-30T11:00:00+08:00", 5, holidays_2026) == "2026-10-13 Tue 11:00"


def test_a_make_up_sunday_counts_as_working(holidays_2026):
    # Friday 18 September 17:30: Sunday the 20th is a working day (国庆节调休上班).
    assert hours("2026-09-18T17:30:00+08:00", 60, holidays_2026) == "2026-09-20 Sun 09:30"
    # New Year: Saturday 3 January is a holiday, Sunday the 4th a working day.
    assert hours("2026-01-03T10:00:00+08:00", 60, holidays_2026) == "2026-01-04 Sun 10:00"
    # Without the calendar the same Friday runs to Monday.
    assert hours("2026-09-18T17:30:00+08:00", 60) == "2026-09-21 Mon 09:30"


def test_five_working_days_across_the_spring_festival(holidays_2026):
    # Thursday 12 February 10:00: Fri 13, Sat 14 (make-up), [15-23 closed], Tue 24, Wed 25, Thu 26.
    assert days("2026-02-12T10:00:00+08:00", 5, holidays_2026) == "2026-02-26 Thu 10:00"
    # 1 working hour from the first holiday's eve at 17:30 runs into the first day back, Tuesday 24th.
    assert hours("2026-02-13T17:30:00+08:00", 60, holidays_2026) == "2026-02-14 Sat 09:30"
    assert hours("2026-02-14T17:30:00+08:00", 60, holidays_2026) == "2026-02-24 Tue 09:30"


def test_loading_the_holidays_twice_adds_nothing_and_2027_is_known_in_part(app, admin):
    added = calendar.load_public_holidays(admin, 2026)
    # 3 + 9 + 3 + 5 + 3 + 3 + 7 closed days and 6 make-up days.
    assert len(added) == 33 + 6
    assert calendar.load_public_holidays(admin, 2026) == []
    added_2027 = calendar.load_public_holidays(admin, 2027)
    assert {d.day for d in added_2027} >= {date(2027, 1, 1), date(2027, 2, 6), date(2027, 10, 1)}
    assert all(d.kind == "holiday" for d in added_2027)


# ----------------------------------------------------------------------------- the deadlines of new calls


def test_new_calls_count_working_clocks_on_the_calendar(api, dispatcher, holidays_2026):
    customer_site = make_call(dispatcher)  # a customer and a site to reuse
    r = api(dispatcher).post("/api/v1/calls", json={
        "customer_id": customer_site.customer_id, "site_id": customer_site.site_id, "channel": "phone",
        "problem_type": "no cooling", "priority": "normal", "description": "Chiller stopped.",
        "received_at": "2026-09-30T17:30:00+08:00"})
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    # Booking: 24 h on the wall clock. First response (normal): the next working day. Resolution: 5 working days.
    assert data["booking_deadline"] == "2026-10-01T17:30:00+08:00"
    assert data["response_deadline"] == "2026-10-08T17:30:00+08:00"
    assert data["resolution_deadline"] == "2026-10-13T17:30:00+08:00"
    clocks = {c["clock"]: c for c in api(dispatcher).get(f"/api/v1/calls/{data['id']}/clocks").get_json()["items"]}
    assert clocks["dispatch"]["due"] == "2026-10-08T09:30:00+08:00"
    assert list(clocks) == ["dispatch", "booking", "response", "resolution"]


@pytest.mark.parametrize("priority", ["urgent", "high"])
def test_urgent_and_high_first_response_is_two_hours_on_the_wall_clock(dispatcher, holidays_2026, priority):
    # Decided and documented in dispatch/sla.py: an urgent fault is answered at night and on holidays too.
    call = make_call(dispatcher, priority=priority, received_at=at("2026-09-30T17:30:00+08:00"))
    assert local(call.response_deadline) == "2026-09-30 Wed 19:30"


def test_high_resolution_is_72_wall_clock_hours_and_low_is_configurable(app, dispatcher, holidays_2026):
    high = make_call(dispatcher, priority="high", received_at=at("2026-09-30T17:30:00+08:00"))
    assert local(high.resolution_deadline) == "2026-10-03 Sat 17:30"
    saved = app.config["LOW_RESOLUTION_WORKING_DAYS"]
    try:
        app.config["LOW_RESOLUTION_WORKING_DAYS"] = 3
        low = make_call(dispatcher, priority="low", received_at=at("2026-09-30T17:30:00+08:00"))
    finally:
        app.config["LOW_RESOLUTION_WORKING_DAYS"] = saved
    # 8, 9 and Saturday 10 October (make-up).
    assert local(low.resolution_deadline) == "2026-10-10 Sat 17:30"


def test_stored_deadlines_stay_when_the_calendar_changes(api, admin, dispatcher):
    call = make_call(dispatcher, received_at=at("2026-11-25T10:00:00+08:00"))
    assert local(call.resolution_deadline) == "2026-12-02 Wed 10:00"
    r = api(admin).post("/api/v1/calendar/days", json={"date": "2026-11-27", "kind": "holiday", "name": "Company day"})
    assert r.status_code == 201, r.get_json()
    assert local(call.resolution_deadline) == "2026-12-02 Wed 10:00"
    # A new call received at the same moment counts the new holiday.
    later = make_call(dispatcher, received_at=at("2026-11-25T10:00:00+08:00"))
    assert local(later.resolution_deadline) == "2026-12-03 Thu 10:00"


def test_the_confirmation_clock_runs_one_working_hour_from_completion(dispatcher, holidays_2026):
    call = make_call(dispatcher, received_at=at("2026-09-29T10:00:00+08:00"))
    call.status = "completed"
    call.completed_at = at("2026-09-30T17:45:00+08:00")
    clocks = {c.kind: c for c in call_clocks(call, now=at("2026-09-30T18:00:00+08:00"))}
    assert local(clocks["confirmation"].due) == "2026-10-08 Thu 09:45"
    assert clocks["confirmation"].state == "running"


# ----------------------------------------------------------------------------- the calendar's API


def test_admin_sets_the_week_and_saturday_mornings_count(api, admin):
    r = api(admin).put("/api/v1/calendar/hours", json={"hours": [
        {"weekday": 5, "start": "09:00", "end": "12:00"}, {"weekday": 4, "start": "09:00", "end": "17:00"}]})
    assert r.status_code == 200, r.get_json()
    week = {h["weekday"]: (h["start"], h["end"]) for h in r.get_json()["hours"]}
    assert week == {0: ("09:00", "18:00"), 1: ("09:00", "18:00"), 2: ("09:00", "18:00"), 3: ("09:00", "18:00"),
                    4: ("09:00", "17:00"), 5: ("09:00", "12:00"), 6: (None, None)}
    # Friday 16:30 + 1 working hour: 30 min on Friday (closes 17:00), 30 min on Saturday.
    assert hours("2026-11-27T16:30:00+08:00", 60, calendar.company_calendar()) == "2026-11-28 Sat 09:30"
    shown = api(admin).get("/api/v1/calendar").get_json()
    assert shown["timezone"] == "Asia/Shanghai" and shown["hours"][5] == {"weekday": 5, "start": "09:00",
                                                                          "end": "12:00"}


@pytest.mark.parametrize("payload, field", [
    ({"hours": [{"weekday": 0, "start": "18:00", "end": "09:00"}]}, "hours_0"),
    ({"hours": [{"weekday": 0, "start": "09:00", "end": None}]}, "hours_0"),
    ({"hours": [{"weekday": 9, "start": "09:00", "end": "18:00"}]}, "weekday"),
    ({"hours": [{"weekday": 0, "start": "9 am", "end": "18:00"}]}, "start"),
    ({"hours": "all week"}, "hours"),
    ({"hours": [{"weekday": d, "start": None, "end": None} for d in range(7)]}, "hours"),
])
def test_bad_hours_are_refused_with_a_message(api, admin, payload, field):
    r = api(admin).put("/api/v1/calendar/hours", json=payload)
    assert r.status_code == 422, r.get_json()
    error = r.get_json()["error"]
    assert field in error["fields"] and error["message"]


def test_days_are_added_refused_twice_and_removed(api, admin):
    client = api(admin)
    r = client.post("/api/v1/calendar/days", json={"date": "2026-12-26", "kind": "workday", "name": "Stocktaking"})
    assert r.status_code == 201, r.get_json()
    entry = r.get_json()
    assert entry == {"id": entry["id"], "date": "2026-12-26", "kind": "workday", "name": "Stocktaking",
                     "start": "09:00", "end": "18:00"}
    # Friday 17:30 + 1 h: Saturday the 26th now works.
    assert hours("2026-12-25T17:30:00+08:00", 60, calendar.company_calendar()) == "2026-12-26 Sat 09:30"
    again = client.post("/api/v1/calendar/days", json={"date": "2026-12-26", "kind": "holiday", "name": "x"})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "day_taken"
    gone = client.delete(f"/api/v1/calendar/days/{entry['id']}")
    assert gone.status_code == 200 and gone.get_json()["removed"] is True
    assert hours("2026-12-25T17:30:00+08:00", 60, calendar.company_calendar()) == "2026-12-28 Mon 09:30"
    assert client.delete(f"/api/v1/calendar/days/{entry['id']}").status_code == 404
    # The row stays (nothing is hard-deleted), marked removed; the date can be entered again.
    from dispatch.core.extensions import db

    assert db.session.get(CalendarDay, entry["id"]).removed_at is not None
    assert client.post("/api/v1/calendar/days", json={"date": "2026-12-26", "kind": "holiday",
                                                      "name": "Closed"}).status_code == 201


@pytest.mark.parametrize("payload, field", [
    ({"date": "2026-13-01", "kind": "holiday", "name": "x"}, "date"),
    ({"date": "2026-12-01", "kind": "vacation", "name": "x"}, "kind"),
    ({"date": "2026-12-01", "kind": "holiday", "name": ""}, "name"),
    ({"date": "2026-12-05", "kind": "workday", "name": "x", "start": "18:00", "end": "09:00"}, "start"),
    ({"date": "9999-12-01", "kind": "holiday", "name": "x"}, "date"),
])
def test_bad_days_are_refused(api, admin, payload, field):
    r = api(admin).post("/api/v1/calendar/days", json=payload)
    assert r.status_code == 422, r.get_json()
    assert field in r.get_json()["error"]["fields"]


def test_public_holidays_by_api_and_an_unknown_year(api, admin):
    r = api(admin).post("/api/v1/calendar/public-holidays", json={"year": 2026})
    assert r.status_code == 201 and len(r.get_json()["added"]) == 39
    assert api(admin).post("/api/v1/calendar/public-holidays", json={"year": 2026}).get_json()["added"] == []
    unknown = api(admin).post("/api/v1/calendar/public-holidays", json={"year": 2031})
    assert unknown.status_code == 422 and "2031" in unknown.get_json()["error"]["message"]
    days_2026 = api(admin).get("/api/v1/calendar?year=2026").get_json()["days"]
    assert {"date": "2026-09-20", "kind": "workday", "name": "国庆节调休上班", "start": "09:00",
            "end": "18:00"}.items() <= next(d for d in days_2026 if d["date"] == "2026-09-20").items()


def test_only_admins_edit_the_calendar(api, dispatcher, manager):
    for user in (dispatcher, manager):
        assert api(user).get("/api/v1/calendar").status_code == 200
        assert api(user).put("/api/v1/calendar/hours", json={"hours": []}).status_code == 403
        assert api(user).post("/api/v1/calendar/days", json={}).status_code == 403


# ----------------------------------------------------------------------------- the calendar's page


def test_the_admin_page_loads_holidays_and_adds_a_day(client, login, admin):
    login(admin)
    page = client.get("/admin/calendar?year=2026")
    assert page.status_code == 200 and 'id="no-days"' in page.get_data(as_text=True)
    r = client.post("/admin/calendar/public-holidays", data={"year": "2026"})
    assert r.status_code == 302
    html = client.get("/admin/calendar?year=2026").get_data(as_text=True)
    assert 'id="day-2026-10-01"' in html and "国庆节" in html and 'id="day-2026-01-04"' in html
    bad = client.post("/admin/calendar/days", data={"year": "2026", "day": "2026-10-01", "kind": "holiday",
                                                     "name": "again"})
    assert bad.status_code == 409 and "already on the calendar" in bad.get_data(as_text=True)
    ok = client.post("/admin/calendar/days", data={"year": "2026", "day": "2026-12-31", "kind": "holiday",
                                                    "name": "Year-end closing"})
    assert ok.status_code == 302
    assert "Year-end closing" in client.get("/admin/calendar?year=2026").get_data(as_text=True)


def test_the_admin_page_saves_hours_and_refuses_bad_ones(client, login, admin):
    login(admin)
    form = {"year": "2026"}
    for d in range(5):
        form.update({f"open_{d}": "1", f"start_{d}": "08:30", f"end_{d}": "17:30"})
    assert client.post("/admin/calendar/hours", data=form).status_code == 302
    assert calendar.company_calendar().span(date(2026, 12, 1)) == (time(8, 30), time(17, 30))
    form["end_0"] = "08:00"
    bad = client.post("/admin/calendar/hours", data=form)
    assert bad.status_code == 422 and "Closing time must be after opening time" in bad.get_data(as_text=True)
    assert client.get("/admin/calendar?year=abc").status_code == 422


def test_the_desk_reads_the_calendar_page_without_forms(client, login, dispatcher):
    login(dispatcher)
    html = client.get("/admin/calendar").get_data(as_text=True)
    assert "Company calendar" in html and 'id="add-day"' not in html
    assert client.post("/admin/calendar/days", data={"day": "2026-12-31", "kind": "holiday",
                                                     "name": "x"}).status_code == 403
