"""Twenty dispatchers book the same technician, or the same call, at the same moment: exactly one wins,
on either engine.

Each thread has its own test client and bearer token and goes through the app's real request path
(@api_view, BEGIN IMMEDIATE on SQLite, the exclusion constraint on PostgreSQL).
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from dispatch.core.auth import issue_token
from dispatch.core.extensions import db
from dispatch.core.timeutil import utcnow
from dispatch.models import Visit, VisitStatus
from dispatch.services.users import set_working_hours
from tests.conftest import ApiClient
from tests.dispatch.test_booking_api import hours_around
from tests.factories import make_call

pytestmark = pytest.mark.concurrency
N = 20


def _race(app, dispatcher, bodies: list[tuple[int, dict]]) -> list[object]:
    """POST every (call_id, body) at once from its own thread; the responses in order."""
    clients = []
    for _ in bodies:
        token, _ = issue_token(dispatcher)
        clients.append(ApiClient(app.test_client(), token))
    db.session.commit()
    barrier = threading.Barrier(len(bodies))
    results: list[object] = [None] * len(bodies)

    def run(i: int) -> None:
        call_id, payload = bodies[i]
        barrier.wait()
        try:
            results[i] = clients[i].post(f"/api/v1/calls/{call_id}/visits", json=payload)
        except Exception as exc:  # surfaced by the assertions below
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(bodies))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _live_visits(technician_id: int) -> list[Visit]:
    db.session.expire_all()
    return list(db.session.scalars(select(Visit).where(Visit.technician_id == technician_id,
                                                       Visit.status != VisitStatus.CANCELLED)))


def test_twenty_requests_for_the_same_slot(app, dispatcher, technician):
    call = make_call(dispatcher)
    start = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    set_working_hours(technician, hours_around(start, end))
    db.session.commit()
    body = {"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat()}
    results = _race(app, dispatcher, [(call.id, body)] * N)

    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [201] + [409] * (N - 1), statuses
    # the same call: the call's row is taken first, so the losers hear it is booked already
    assert all(r.json["error"]["code"] == "already_booked" for r in results if r.status_code == 409)
    assert len(_live_visits(technician.id)) == 1


def test_one_call_booked_for_different_technicians_at_once(app, dispatcher, technician):
    """One click, two visits: simultaneous bookings of one call for different technicians (no overlap to
    stop them) give exactly one visit; the others are 409 already_booked."""
    from tests.factories import make_user

    techs = [technician] + [make_user("technician", username=f"tech{i}", name=f"Tech {i}") for i in range(9)]
    call = make_call(dispatcher)
    start = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    for tech in techs:
        set_working_hours(tech, hours_around(start, end))
    db.session.commit()
    bodies = [(call.id, {"technician_id": t.id, "start": start.isoformat(), "end": end.isoformat()}) for t in techs]
    results = _race(app, dispatcher, bodies)

    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [201] + [409] * (len(techs) - 1), statuses
    assert all(r.json["error"]["code"] == "already_booked" for r in results if r.status_code == 409)
    db.session.expire_all()
    visits = list(db.session.scalars(select(Visit).where(Visit.call_id == call.id)))
    assert len(visits) == 1 and visits[0].status == VisitStatus.SCHEDULED and visits[0].additional is False


def test_additional_technicians_at_once_are_all_booked(app, dispatcher, technician):
    """A second technician on purpose ("additional": true) is not refused, also when several arrive at once."""
    from dispatch.scheduling.booking import book_visit
    from tests.factories import make_user

    techs = [make_user("technician", username=f"extra{i}", name=f"Extra {i}") for i in range(3)]
    call = make_call(dispatcher)
    start = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    for tech in [technician, *techs]:
        set_working_hours(tech, hours_around(start, end))
    book_visit(dispatcher, call, technician, start, end)
    db.session.commit()
    bodies = [(call.id, {"technician_id": t.id, "start": start.isoformat(), "end": end.isoformat(),
                         "additional": True}) for t in techs]
    results = _race(app, dispatcher, bodies)
    assert sorted(getattr(r, "status_code", repr(r)) for r in results) == [201] * len(techs)
    db.session.expire_all()
    visits = list(db.session.scalars(select(Visit).where(Visit.call_id == call.id).order_by(Visit.id)))
    assert [v.additional for v in visits] == [False, True, True, True]


def test_overlapping_but_not_identical_slots(app, dispatcher, technician):
    start = (utcnow() + timedelta(hours=2)).replace(second=0, microsecond=0)
    # twenty different calls, each asking for an hour starting 2 minutes after the one before:
    # every pair overlaps, so exactly one may be booked
    calls = [make_call(dispatcher) for _ in range(N)]
    set_working_hours(technician, hours_around(start, start + timedelta(minutes=2 * N + 60)))
    db.session.commit()
    bodies = [(c.id, {"technician_id": technician.id,
                      "start": (start + timedelta(minutes=2 * i)).isoformat(),
                      "end": (start + timedelta(minutes=2 * i + 60)).isoformat()}) for i, c in enumerate(calls)]
    results = _race(app, dispatcher, bodies)

    statuses = sorted(getattr(r, "status_code", repr(r)) for r in results)
    assert statuses == [201] + [409] * (N - 1), statuses
    live = _live_visits(technician.id)
    assert len(live) == 1
    winner = next(i for i, r in enumerate(results) if r.status_code == 201)
    assert live[0].call_id == calls[winner].id
    # the losers' calls are still waiting to be booked, the winner's is booked
    db.session.expire_all()
    booked = [c.id for c in calls if db.session.get(type(c), c.id).status == "booked"]
    assert booked == [calls[winner].id]
