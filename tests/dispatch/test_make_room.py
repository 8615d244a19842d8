"""Booking by making room (dispatch.scheduling.optimise.insert_with_room): the new visit re-planned with the
visits not yet started, each kept in its promised window. Plain data, a short time limit, only outcomes
asserted (never how long it took).

All times fixed: Tuesday 2026-11-24 in Asia/Shanghai; every place at the centre (no travel) unless said.
"""

from __future__ import annotations

from datetime import timedelta

from dispatch.scheduling.optimise import insert_with_room, scheduled, wants_room
from dispatch.scheduling.ranking import Job, Stop, suggest
from dispatch.scheduling.rules import ScheduledVisit, check_schedule
from tests.dispatch.test_optimise_engine import CENTRE, MODEL, at, east, movable, tech

LIMIT = 0.5


def _with_stops(plans, visits):
    """The plans as suggestions see them: every booked visit a stop."""
    out = [tech(p.id, p.base, skills=p.skills, visits=list(p.visits)) for p in plans]
    by_id = {p.id: p for p in out}
    for v in visits:
        by_id[v.technician_id].add(Stop(v.start, v.start + v.duration, v.point, v.label))
    return out


def _schedule_with_new(plans, visits, room, job):
    moved = {m.visit_id: (m.to_technician_id, m.to_start) for m in room.moves}
    where = {v.id: moved.get(v.id, (v.technician_id, v.start)) for v in visits}
    out = scheduled(plans, visits, where)
    out.append(ScheduledVisit(id="new", technician_id=room.technician_id, start=room.start,
                              end=room.start + job.duration, point=job.point, required_skill=job.required_skill))
    return out


def test_a_neighbour_shifts_inside_its_window_so_the_new_visit_is_on_time():
    plans = [tech("T", CENTRE)]
    # booked 08:45-09:45, promised 08:00-10:30: the 45 minutes before it are too short for a one-hour visit
    visits = [movable("A", "T", at(24, 8, 45), CENTRE, window=(at(24, 8), at(24, 10, 30)))]
    now = at(24, 8)
    job = Job(point=CENTRE, duration=timedelta(minutes=60), deadline=at(24, 9, 30), required_skill="hvac")
    best = suggest(job, _with_stops(plans, visits), MODEL, now, limit=1).items[0]
    assert not best.within_deadline and best.start >= at(24, 9, 45)  # the ordinary slot is late
    assert wants_room(best)

    room = insert_with_room(job, plans, visits, MODEL, now, (best.technician_id, best.start),
                            time_limit_seconds=LIMIT)
    assert room is not None
    assert room.start <= at(24, 9, 30) and room.late_before == 1 and room.late_after == 0
    assert [m.visit_id for m in room.moves] == ["A"]
    a_start = room.moves[0].to_start
    assert at(24, 8) <= a_start < at(24, 10, 30)  # A stays in the window promised to its customer
    assert a_start != at(24, 8, 45)  # before the new visit, or after it: the checker below says they fit
    assert check_schedule(plans, _schedule_with_new(plans, visits, room, job), MODEL) == []


def test_a_fixed_stop_never_moves_so_no_room_is_made():
    """The same day with the neighbour frozen (on the way, or pinned): nothing may move, nothing is offered."""
    plans = [tech("T", CENTRE, visits=[Stop(at(24, 8, 45), at(24, 9, 45), CENTRE, "VS-A")])]
    now = at(24, 8)
    job = Job(point=CENTRE, duration=timedelta(minutes=60), deadline=at(24, 9, 30), required_skill="hvac")
    best = suggest(job, plans, MODEL, now, limit=1).items[0]
    assert not best.within_deadline
    assert insert_with_room(job, plans, [], MODEL, now, (best.technician_id, best.start),
                            time_limit_seconds=LIMIT) is None


def test_nothing_is_offered_when_the_ordinary_slot_is_as_good():
    plans = [tech("T", CENTRE)]
    visits = [movable("A", "T", at(24, 13), east(5))]
    now = at(24, 8)
    job = Job(point=CENTRE, duration=timedelta(minutes=60), deadline=at(25, 8), required_skill="hvac")
    best = suggest(job, _with_stops(plans, visits), MODEL, now, limit=1).items[0]
    assert best.within_deadline and not wants_room(best)
    assert insert_with_room(job, plans, visits, MODEL, now, (best.technician_id, best.start),
                            time_limit_seconds=LIMIT) is None


def test_the_new_visit_never_starts_later_than_the_ordinary_slot_nor_before_now():
    plans = [tech("W", east(-20)), tech("E", east(20))]
    # the east technician drives west and the west one east: swapping them makes room on a shorter route
    visits = [movable("1", "W", at(24, 10), east(22)), movable("2", "E", at(24, 10), east(-22))]
    now = at(24, 8, 7)
    job = Job(point=east(21), duration=timedelta(minutes=30), deadline=at(24, 12), required_skill="hvac")
    best = suggest(job, _with_stops(plans, visits), MODEL, now, limit=1).items[0]
    room = insert_with_room(job, plans, visits, MODEL, now, (best.technician_id, best.start),
                            time_limit_seconds=LIMIT)
    assert room is not None and room.km_after < room.km_before
    assert now <= room.start <= best.start
    for m in room.moves:
        v = next(v for v in visits if v.id == m.visit_id)
        assert v.window_start <= m.to_start < v.window_end
    assert check_schedule(plans, _schedule_with_new(plans, visits, room, job), MODEL) == []
