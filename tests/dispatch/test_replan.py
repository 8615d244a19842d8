"""Re-planning a day on the database (dispatch/scheduling/replan.py): what moves, what never does, the
rules kept, a proposal that went stale, a booking made while a re-plan is worked out, and the re-plan the
board runs in the background after each booking."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from dispatch.core.timeutil import local_today, local_tz
from dispatch.models import LIVE_VISIT_STATUSES, RepairCall, Visit, VisitStatus
from dispatch.scheduling import replan, replan_worker
from dispatch.scheduling.booking import book_visit
from dispatch.scheduling.plans import plans_from_db, travel_model
from dispatch.scheduling.rules import ScheduledVisit, check_schedule
from dispatch.scheduling.visits import day_window
from dispatch.services.users import set_working_hours
from tests.conftest import ENGINE
from tests.factories import make_call, make_customer, make_site, make_user

WEST = (31.2304, 121.30)
EAST = (31.2304, 121.65)
HOURS = [(d, time(8), time(18)) for d in range(7)]
REASON = "customer asked for that day"


@pytest.fixture(autouse=True)
def _quick_solver(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    # tiny days: the solver's budget only bounds the search, the outcome is asserted below
    monkeypatch.setitem(app.config, "REPLAN_ON_DEMAND_SECONDS", 0.5)
    monkeypatch.setitem(app.config, "REPLAN_SECONDS", 0.5)


@dataclass
class Day:
    day: date
    west: User  # based in the west
    east: User  # based in the east
    crossed: list[Visit]  # [west tech's visit in the east, east tech's visit in the west]


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=local_tz())


def book(dispatcher: User, tech: User, start: datetime, point: tuple[float, float], minutes: int = 60,
         skill: str | None = None) -> Visit:
    customer = make_customer()
    site = make_site(customer, latitude=point[0], longitude=point[1])
    call = make_call(dispatcher, customer=customer, site=site, required_skill=skill)
    visit = book_visit(dispatcher, call, tech, start, start + timedelta(minutes=minutes), override_reason=REASON,
                       customer_requested=True)
    db.session.commit()
    return visit


def crossed_day(dispatcher: User, skills: tuple[list[str], list[str]] = (["hvac"], ["hvac"])) -> Day:
    """Two technicians, each booked at 10:00 next to the other's base: swapping them saves ~70 km."""
    west = make_user("technician", name="Wang Wei", skills=skills[0], base_latitude=WEST[0], base_longitude=WEST[1])
    east = make_user("technician", name="Li Na", skills=skills[1], base_latitude=EAST[0], base_longitude=EAST[1])
    for tech in (west, east):
        set_working_hours(tech, HOURS)
    db.session.commit()
    day = local_today() + timedelta(days=2)
    v1 = book(dispatcher, west, at(day, 10), (EAST[0], EAST[1] - 0.01), skill="hvac")
    v2 = book(dispatcher, east, at(day, 10), (WEST[0], WEST[1] + 0.01), skill="hvac")
    return Day(day, west, east, [v1, v2])


def rows(model: Any) -> list[tuple[Any, ...]]:
    db.session.commit()  # a fresh read: no snapshot held from before (SQLite WAL)
    table = model.__table__
    return [tuple(r) for r in db.session.execute(select(table).order_by(table.c.id))]


def live_visits(day: date) -> list[Visit]:
    db.session.commit()  # a fresh read: no snapshot held from before (SQLite WAL)
    lo, hi = day_window(day)
    return list(db.session.scalars(select(Visit).where(
        Visit.status.in_([s.value for s in LIVE_VISIT_STATUSES]), Visit.start < hi, Visit.end > lo)))


def broken_rules(day: date) -> list[Any]:
    """The rules' checker on the day as the database holds it."""
    lo, hi = day_window(day)
    visits = live_visits(day)
    scheduled = [ScheduledVisit(v.id, v.technician_id, v.start, v.end, (v.call.site.latitude, v.call.site.longitude),
                                v.call.required_skill, v.call.received_at, v.window_start, v.window_end)
                 for v in visits]
    return check_schedule(plans_from_db(lo, hi), scheduled, travel_model())


def assert_no_overlap(visits: list[Visit]) -> None:
    by_tech: dict[int, list[Visit]] = {}
    for v in visits:
        by_tech.setdefault(v.technician_id, []).append(v)
    for mine in by_tech.values():
        mine.sort(key=lambda v: v.start)
        for a, b in zip(mine, mine[1:], strict=False):
            assert a.end <= b.start, (a.slip_number, b.slip_number)


# ----------------------------------------------------------------------------- proposing and applying


def test_a_proposal_changes_nothing(dispatcher):
    d = crossed_day(dispatcher)
    visits, events = rows(Visit), rows(AuditEvent)
    proposal = replan.optimise_day(dispatcher, d.day, apply_it=False)
    assert proposal.status == "improved" and not proposal.applied
    assert {m.visit_id for m in proposal.moves} == {v.id for v in d.crossed}
    assert proposal.km_after < proposal.km_before - 50
    line = next(m for m in proposal.moves if m.visit_id == d.crossed[0].id)
    assert (line.from_technician_name, line.to_technician_name) == ("Wang Wei", "Li Na")
    assert line.slip_number == d.crossed[0].slip_number
    assert rows(Visit) == visits and rows(AuditEvent) == events


def test_apply_swaps_within_windows_hours_and_skills(dispatcher):
    d = crossed_day(dispatcher)
    before = {v.id: (v.technician_id, v.start, v.window_start, v.window_end) for v in d.crossed}
    proposal = replan.optimise_day(dispatcher, d.day, apply_it=True)
    db.session.commit()
    assert proposal.applied and len(proposal.moves) == 2

    first, second = (db.session.get(Visit, v.id) for v in d.crossed)
    assert first.technician_id == d.east.id and second.technician_id == d.west.id
    for v in (first, second):
        _tech, _start, window_start, window_end = before[v.id]
        assert (v.window_start, v.window_end) == (window_start, window_end)  # the promise is kept
        assert window_start <= v.start < window_end
        assert v.status == VisitStatus.SCHEDULED and v.changed_at is not None  # the phone's "your day changed"
        assert before[v.id][0] in v.former_technician_ids
    assert broken_rules(d.day) == []
    assert_no_overlap(live_visits(d.day))

    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.replanned")).all()
    assert {e.entity_id for e in moved} == {v.id for v in d.crossed}
    assert all(e.actor_id == dispatcher.id and e.before["technician_id"] != e.after["technician_id"] for e in moved)
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.replanned")).one()
    assert run.entity_type == "schedule" and run.entity_id == int(d.day.strftime("%Y%m%d"))
    assert run.after["moves"] == 2 and run.after["km"] < run.before["km"]


def test_frozen_and_pinned_visits_never_move(dispatcher):
    d = crossed_day(dispatcher)
    on_the_way, pinned = d.crossed
    on_the_way.status = VisitStatus.ON_THE_WAY
    pinned.pinned = True
    # a third visit, movable, to show the re-plan still runs around them
    free = book(dispatcher, d.west, at(d.day, 14), (WEST[0], WEST[1] + 0.02))
    db.session.commit()
    before = rows(Visit)
    proposal = replan.optimise_day(dispatcher, d.day, apply_it=True)
    db.session.commit()
    assert not {m.visit_id for m in proposal.moves} & {on_the_way.id, pinned.id}
    assert free.id in proposal.visit_ids and on_the_way.id not in proposal.visit_ids
    after = {r[0]: r for r in rows(Visit)}
    for row in before:
        if row[0] in (on_the_way.id, pinned.id):
            assert after[row[0]] == row  # not a byte changed
    assert broken_rules(d.day) == []


def test_a_visit_goes_only_to_a_technician_with_its_skill(dispatcher):
    # the east technician lacks hvac: the west one keeps the far visit, however far
    d = crossed_day(dispatcher, skills=(["hvac"], ["electrical"]))
    d.crossed[1].technician_id = d.west.id  # both hvac visits on the one hvac technician, 10:00 and 13:00
    d.crossed[1].start, d.crossed[1].end = at(d.day, 13), at(d.day, 14)
    d.crossed[1].window_start, d.crossed[1].window_end = at(d.day, 12, 30), at(d.day, 14, 30)
    db.session.commit()
    proposal = replan.optimise_day(dispatcher, d.day, apply_it=True)
    db.session.commit()
    assert all(m.to_technician_id == d.west.id for m in proposal.moves)
    assert {v.technician_id for v in live_visits(d.day)} == {d.west.id}
    assert broken_rules(d.day) == []


def test_a_stale_proposal_is_refused_and_changes_nothing(dispatcher):
    d = crossed_day(dispatcher)
    proposal = replan.propose(d.day)
    assert proposal.moves
    book(dispatcher, d.east, at(d.day, 15), EAST)  # meanwhile: a booking on the same day
    visits = rows(Visit)
    with pytest.raises(replan.ScheduleChanged) as refused:
        replan.apply(dispatcher, proposal)
    db.session.rollback()
    assert refused.value.status == 409 and refused.value.code == "schedule_changed"
    assert rows(Visit) == visits


def test_the_token_carries_exactly_the_proposal(dispatcher):
    d = crossed_day(dispatcher)
    proposal = replan.propose(d.day)
    back = replan.proposal_from_token(replan.proposal_token(proposal))
    assert (back.day, back.fingerprint, back.km_after) == (proposal.day, proposal.fingerprint, proposal.km_after)
    assert [(m.visit_id, m.to_technician_id, m.to_start) for m in back.moves] == \
        [(m.visit_id, m.to_technician_id, m.to_start) for m in proposal.moves]
    applied = replan.apply(dispatcher, back)
    db.session.commit()
    assert [m.to_technician_name for m in applied.moves] and applied.applied
    with pytest.raises(replan.Invalid):
        replan.proposal_from_token(replan.proposal_token(proposal)[:-3] + "abc")


def test_a_past_day_has_nothing_to_move(dispatcher):
    proposal = replan.optimise_day(dispatcher, local_today() - timedelta(days=3), apply_it=True)
    assert proposal.moves == [] and proposal.status == "unchanged" and not proposal.applied


# ----------------------------------------------------------------------------- with real threads and commits


def _api_as(app: Any, user: User) -> Any:
    from dispatch.core.auth import issue_token
    from tests.conftest import ApiClient

    token, _ = issue_token(user)
    db.session.commit()
    return ApiClient(app.test_client(), token)


@pytest.mark.concurrency
def test_a_booking_made_while_the_replan_is_worked_out(app, dispatcher):
    """The re-plan computes; meanwhile a dispatcher books the west technician (another thread, committed).
    The re-plan sees the schedule changed, computes again with the new visit, and applies that: no overlap,
    no lost booking, every rule kept."""
    d = crossed_day(dispatcher)
    customer = make_customer()
    site = make_site(customer, latitude=WEST[0], longitude=WEST[1] + 0.03)
    call = make_call(dispatcher, customer=customer, site=site)
    replanner, booker = _api_as(app, dispatcher), _api_as(app, dispatcher)
    seen: list[replan.Proposal] = []
    booked: dict[str, Any] = {}

    url = f"/api/v1/calls/{call.id}/visits"  # read here: the thread has no app context of its own
    payload = {"technician_id": d.west.id, "start": at(d.day, 11, 30).isoformat(),
               "end": at(d.day, 12, 30).isoformat(), "override_reason": REASON, "customer_requested": True}

    def book_meanwhile() -> None:
        booked["response"] = booker.post(url, json=payload)

    def on_computed(_sender: Any, proposal: replan.Proposal) -> None:
        seen.append(proposal)
        if len(seen) == 1:  # the first proposal is worked out: book now, before it is applied
            thread = threading.Thread(target=book_meanwhile)
            thread.start()
            thread.join(timeout=60)

    with replan.computed.connected_to(on_computed):
        response = replanner.post("/api/v1/schedule/optimise", json={"date": d.day.isoformat(), "apply": True})

    assert booked["response"].status_code == 201, booked["response"].json
    new_id = booked["response"].json["id"]
    assert response.status_code == 200, response.json
    assert len(seen) == 2  # computed again from the new state
    assert new_id not in seen[0].visit_ids and new_id in seen[1].visit_ids
    assert response.json["applied"] is True
    visits = live_visits(d.day)
    assert new_id in {v.id for v in visits}  # the booking is not lost
    assert_no_overlap(visits)
    assert broken_rules(d.day) == []
    run = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "schedule.replanned")).one()
    assert new_id in run.after["visits"]


@pytest.mark.concurrency
def test_the_day_is_replanned_in_the_background_after_a_booking(app, dispatcher, monkeypatch):
    monkeypatch.setitem(app.config, "REPLAN_AFTER_BOOKING", True)
    d = crossed_day(dispatcher)  # booked by the service outside a request: nothing runs yet
    assert replan_worker.wait_idle(60)
    assert {v.id: v.technician_id for v in live_visits(d.day)}[d.crossed[0].id] == d.west.id
    customer = make_customer()
    site = make_site(customer, latitude=EAST[0], longitude=EAST[1] + 0.02)
    call = make_call(dispatcher, customer=customer, site=site)
    response = _api_as(app, dispatcher).post(f"/api/v1/calls/{call.id}/visits", json={
        "technician_id": d.east.id, "start": at(d.day, 15).isoformat(), "end": at(d.day, 16).isoformat(),
        "override_reason": REASON, "customer_requested": True})
    assert response.status_code == 201, response.json
    assert replan_worker.wait_idle(120)

    placed = {v.id: v.technician_id for v in live_visits(d.day)}
    assert placed[d.crossed[0].id] == d.east.id and placed[d.crossed[1].id] == d.west.id  # swapped
    assert response.json["id"] in placed
    assert broken_rules(d.day) == []
    moved = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.replanned")).all()
    assert moved and all(e.actor_id is None for e in moved)  # the system did it


@pytest.mark.concurrency
@pytest.mark.skipif(ENGINE != "postgresql", reason="SQLite's write lock lets no booking in while a re-plan writes")
def test_a_booking_committed_while_the_replan_writes_withdraws_it(app, dispatcher):
    """PostgreSQL: a booking is inserted (not yet committed) where a moved visit is going; the re-plan passes
    its checks, then waits on the booking; the booking commits; the re-plan is withdrawn whole (409), the
    booking stands, nothing overlaps."""
    d = crossed_day(dispatcher)
    proposal = replan.propose(d.day)
    target = next(m for m in proposal.moves if m.visit_id == d.crossed[0].id)
    assert target.to_technician_id == d.east.id
    token = replan.proposal_token(proposal)
    customer = make_customer()
    site = make_site(customer, latitude=EAST[0], longitude=EAST[1])
    call_id, east_id = make_call(dispatcher, customer=customer, site=site).id, d.east.id
    slot = (target.to_start - timedelta(minutes=30), target.to_start + timedelta(minutes=30))
    assert slot[1] <= d.crossed[1].start  # free on the east technician's day as it stands
    replanner = _api_as(app, dispatcher)
    url, payload = "/api/v1/schedule/optimise", {"date": d.day.isoformat(), "apply": True, "proposal": token}
    inserted, commit = threading.Event(), threading.Event()
    results: dict[str, Any] = {}

    def book_and_hold() -> None:
        with app.app_context():
            try:
                actor, call, tech = (db.session.get(User, dispatcher_id), db.session.get(RepairCall, call_id),
                                     db.session.get(User, east_id))
                visit = book_visit(actor, call, tech, *slot, override_reason=REASON, customer_requested=True)
                db.session.flush()
                results["booked"] = visit.id
                inserted.set()
                commit.wait(60)
                db.session.commit()
            finally:
                inserted.set()
                db.session.remove()

    def apply_it() -> None:
        results["replan"] = replanner.post(url, json=payload)

    dispatcher_id = dispatcher.id
    booker = threading.Thread(target=book_and_hold)
    booker.start()
    assert inserted.wait(60) and "booked" in results
    applier = threading.Thread(target=apply_it)
    applier.start()
    # the re-plan is waiting on the booking's uncommitted row (or its audit lock): let the booking commit
    for _ in range(1200):
        waiting = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                         "AND wait_event_type = 'Lock'"))
        db.session.rollback()
        if waiting:
            break
        applier.join(0.05)
    commit.set()
    booker.join(60)
    applier.join(60)

    assert results["replan"].status_code == 409, results["replan"].json
    assert results["replan"].json["error"]["code"] == "schedule_changed"
    visits = live_visits(d.day)
    assert results["booked"] in {v.id for v in visits}  # the booking stands
    assert {v.id: v.technician_id for v in visits}[d.crossed[0].id] == d.west.id  # the re-plan withdrawn whole
    assert_no_overlap(visits)
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.replanned")).all()
