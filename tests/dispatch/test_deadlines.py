"""The clocks of a repair call: booking, first response and resolution (DOMAIN.md, Targets; API.md)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from dispatch import create_app
from tests.factories import make_call, make_customer, make_site

H = timedelta(hours=1)
# A Wednesday morning in Shanghai.
WEDNESDAY = datetime.fromisoformat("2026-06-10T10:00:00+08:00")
FRIDAY = datetime.fromisoformat("2026-06-12T16:00:00+08:00")


@pytest.fixture
def near() -> Any:
    customer = make_customer(name="Jing'an Dental Clinic")
    return customer, make_site(customer, "1601 Nanjing West Road, Jing'an, Shanghai", 31.2243, 121.4480)


@pytest.fixture
def remote() -> Any:
    customer = make_customer(name="Suzhou Industrial Park Foods")
    return customer, make_site(customer, "5 Xinghu Street, Suzhou Industrial Park", 31.3000, 120.7200)


def local(value: datetime | None) -> datetime:
    assert value is not None
    return value.astimezone(WEDNESDAY.tzinfo)


def test_booking_deadline_near_is_24_hours(dispatcher, near):
    customer, site = near
    assert site.remote is False
    call = make_call(dispatcher, customer, site, received_at=WEDNESDAY)
    assert call.booking_deadline == WEDNESDAY + 24 * H


def test_booking_deadline_remote_is_48_hours_by_default(app, dispatcher, remote):
    customer, site = remote
    assert site.remote is True and site.distance_km > app.config["REMOTE_RADIUS_KM"]
    call = make_call(dispatcher, customer, site, received_at=WEDNESDAY)
    assert app.config["REMOTE_BOOKING_HOURS"] == 48
    assert call.booking_deadline == WEDNESDAY + 48 * H


def test_booking_deadline_honours_a_configured_remote_window(app, dispatcher, remote, near):
    saved = app.config["REMOTE_BOOKING_HOURS"]
    app.config["REMOTE_BOOKING_HOURS"] = 72
    try:
        far_call = make_call(dispatcher, *remote, received_at=WEDNESDAY)
        near_call = make_call(dispatcher, *near, received_at=WEDNESDAY)
    finally:
        app.config["REMOTE_BOOKING_HOURS"] = saved
    assert far_call.booking_deadline == WEDNESDAY + 72 * H
    assert near_call.booking_deadline == WEDNESDAY + 24 * H


def test_remote_window_from_the_environment(monkeypatch, tmp_path):
    """REMOTE_BOOKING_HOURS and REMOTE_RADIUS_KM are read from the environment by create_app."""
    monkeypatch.setenv("REMOTE_BOOKING_HOURS", "36")
    monkeypatch.setenv("REMOTE_RADIUS_KM", "100")
    other = create_app({"SECRET_KEY": "x", "DATABASE_URL": "sqlite://"})
    assert other.config["REMOTE_BOOKING_HOURS"] == 36
    assert other.config["REMOTE_RADIUS_KM"] == 100.0
    from dispatch.sla import booking_deadline

    with other.app_context():
        assert booking_deadline(WEDNESDAY, remote=True) == WEDNESDAY + 36 * H
        assert booking_deadline(WEDNESDAY, remote=False) == WEDNESDAY + 24 * H


def test_remote_flag_follows_the_configured_radius(app, remote):
    from dispatch.geo.distance import is_remote

    customer, site = remote
    saved = app.config["REMOTE_RADIUS_KM"]
    app.config["REMOTE_RADIUS_KM"] = 100.0
    try:
        assert is_remote(site.distance_km) is False
    finally:
        app.config["REMOTE_RADIUS_KM"] = saved
    assert is_remote(site.distance_km) is True


def test_no_booking_deadline_without_a_site_visit(api, dispatcher, near):
    customer, site = near
    r = api(dispatcher).post("/api/v1/calls", json={
        "customer_id": customer.id, "site_id": site.id, "channel": "email", "problem_type": "question",
        "priority": "normal", "description": "How do I reset the filter alarm?", "on_site": False,
        "received_at": WEDNESDAY.isoformat()})
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["on_site"] is False
    assert data["booking_deadline"] is None
    assert data["response_deadline"] == "2026-06-11T10:00:00+08:00"


@pytest.mark.parametrize("priority", ["urgent", "high"])
def test_first_response_within_2_hours_for_urgent_and_high(dispatcher, near, priority):
    call = make_call(dispatcher, *near, priority=priority, received_at=WEDNESDAY)
    assert call.response_deadline == WEDNESDAY + 2 * H


def test_resolution_urgent_24_hours_high_72_hours(dispatcher, near):
    assert make_call(dispatcher, *near, priority="urgent", received_at=FRIDAY).resolution_deadline == FRIDAY + 24 * H
    assert make_call(dispatcher, *near, priority="high", received_at=FRIDAY).resolution_deadline == FRIDAY + 72 * H


def test_resolution_normal_is_5_working_days(dispatcher, near):
    # Wednesday + 5 working days: Thu, Fri, Mon, Tue, Wed -> the next Wednesday, same time.
    assert local(make_call(dispatcher, *near, received_at=WEDNESDAY).resolution_deadline) == \
        datetime.fromisoformat("2026-06-17T10:00:00+08:00")
    # Friday 16:00 + 5 working days (Mon..Fri, the weekend skipped) -> the Friday after, 16:00.
    friday = make_call(dispatcher, *near, received_at=FRIDAY)
    assert local(friday.resolution_deadline) == datetime.fromisoformat("2026-06-19T16:00:00+08:00")
    assert local(friday.resolution_deadline).weekday() == 4


def test_resolution_working_days_are_counted_in_local_time(dispatcher, near):
    """Saturday 07:30 in Shanghai is Friday 23:30 UTC: the clock starts on the local Saturday."""
    saturday = datetime.fromisoformat("2026-06-13T07:30:00+08:00")
    call = make_call(dispatcher, *near, received_at=saturday)
    # Outside working hours the clock starts from Friday's close (18:00, the company calendar of issue 13):
    # Mon 15, Tue 16, Wed 17, Thu 18, Fri 19 -> Friday 19th 18:00 local, five whole working days
    # (counting from UTC Friday 23:30 would give Thursday 18th).
    assert local(call.resolution_deadline) == datetime.fromisoformat("2026-06-19T18:00:00+08:00")


def test_api_returns_every_deadline_with_the_local_offset(api, dispatcher, remote):
    customer, site = remote
    r = api(dispatcher).post("/api/v1/calls", json={
        "customer_id": customer.id, "site_id": site.id, "channel": "phone", "problem_type": "no power",
        "priority": "high", "description": "Cold room controller dead.",
        "received_at": "2026-06-12T08:00:00Z"})
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["received_at"] == "2026-06-12T16:00:00+08:00"
    assert data["booking_deadline"] == "2026-06-14T16:00:00+08:00"
    assert data["response_deadline"] == "2026-06-12T18:00:00+08:00"
    assert data["resolution_deadline"] == "2026-06-15T16:00:00+08:00"
    assert data["remote"] is True
