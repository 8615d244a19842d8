"""The suggestion rules on plain data (dispatch.scheduling.ranking.suggest) and on the database.

All times fixed: Tuesday 2026-11-24 in Asia/Shanghai, so nothing depends on when the suite runs.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from dispatch.geo.distance import road_km
from dispatch.scheduling import plans as db_plans
from dispatch.scheduling import ranking
from dispatch.scheduling.calendars import working_spans
from dispatch.scheduling.ranking import Job, Stop, TechnicianPlan, TravelModel, suggest

TZ = ZoneInfo("Asia/Shanghai")
MODEL = TravelModel(road_factor=1.3, speed_kmh=40.0, tz=TZ)
CENTRE = (31.2304, 121.4737)
WEEKDAYS = [(d, time(8), time(17)) for d in range(5)]


def at(day: int, hh: int, mm: int = 0) -> datetime:
    """Local time on 2026-11-<day> (the 24th is a Tuesday)."""
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def tech(tid: str, base=CENTRE, skills=("hvac",), hours=WEEKDAYS, time_off=(), visits=()) -> TechnicianPlan:
    return TechnicianPlan(id=tid, name=f"Tech {tid}", skills=frozenset(skills), base=base, hours=list(hours),
                          time_off=list(time_off), visits=sorted(visits, key=lambda v: v.start))


def job(point=CENTRE, minutes=60, priority="normal", skill="hvac", deadline=None) -> Job:
    return Job(point=point, duration=timedelta(minutes=minutes), priority=priority, required_skill=skill,
               deadline=deadline)


def east(km_road: float, origin=CENTRE) -> tuple[float, float]:
    """A point due east of origin at `km_road` road km (great-circle x 1.3)."""
    from geopy.distance import great_circle

    point = great_circle(kilometers=km_road / 1.3).destination(origin, 90)
    return (point.latitude, point.longitude)


def test_travel_is_great_circle_times_road_factor():
    b = east(30)
    assert abs(MODEL.km(CENTRE, b) - 30) < 0.01
    assert abs(MODEL.km(CENTRE, b) - road_km(CENTRE, b, 1.3)) < 1e-9
    assert abs(MODEL.minutes(30) - 45) < 1e-9


def test_working_hours_across_midnight():
    night = [(1, time(22), time(6))]  # Tuesday night into Wednesday morning
    spans = working_spans(night, at(24, 12).astimezone(TZ), at(26, 12), TZ)
    assert [(s.astimezone(TZ), e.astimezone(TZ)) for _, s, e in spans] == [(at(24, 22), at(25, 6))]
    plan = tech("N", hours=night)
    r = suggest(job(), [plan], MODEL, at(24, 20))
    assert r.items[0].start == at(24, 22)
    # a slot after midnight, still in Tuesday's span, when the evening is taken
    plan.add(Stop(at(24, 22), at(25, 2), east(0.0), "VS-1"))
    r = suggest(job(), [plan], MODEL, at(24, 20))
    assert r.items[0].start == at(25, 2)
    assert all(s.end <= at(25, 6) for s in r.items if s.start < at(25, 12))
    # nothing before 22:00 on Wednesday once Tuesday night is full
    plan.add(Stop(at(25, 2), at(25, 5, 30), CENTRE, "VS-2"))
    r = suggest(job(), [plan], MODEL, at(24, 20))
    assert r.items and all(s.start >= at(25, 22) for s in r.items)
    assert min(s.start for s in r.items) == datetime(2026, 12, 1, 22, tzinfo=TZ)  # next Tuesday night
    # night shifts only on Tuesdays: none within a 3-day horizon
    r = suggest(job(), [plan], MODEL, at(24, 20), horizon=at(24, 20) + timedelta(days=3))
    assert r.nothing_fits and "free slot" in r.message and "next 3 days" in r.message


def test_weekends_only_with_hours():
    friday_late = at(27, 16, 30)  # Friday; a 60-minute visit no longer fits today
    weekday_only = tech("W")
    r = suggest(job(), [weekday_only], MODEL, friday_late)
    assert r.items[0].start == at(30, 8)  # Monday 08:00
    saturday = tech("S", hours=[*WEEKDAYS, (5, time(9), time(13))])
    r = suggest(job(), [saturday], MODEL, friday_late)
    assert r.items[0].start == at(28, 9)


def test_time_off_is_skipped():
    plan = tech("T", time_off=[(at(24, 8).astimezone(TZ), at(24, 12, 10))])
    r = suggest(job(), [plan], MODEL, at(24, 7))
    assert r.items[0].start == at(24, 12, 15)  # first grid start after the time off
    assert all(not (s.start < at(24, 12, 10) and s.end > at(24, 8)) for s in r.items)


def test_travel_time_to_and_from_neighbouring_visits():
    far = east(30)  # 30 road km = 45 minutes at 40 km/h
    plan = tech("T", visits=[Stop(at(24, 9), at(24, 10), far, "VS-9"), Stop(at(24, 12), at(24, 13), far, "VS-12")])
    r = suggest(job(point=CENTRE), [plan], MODEL, at(24, 7), limit=20)
    starts = sorted(s.start for s in r.items)
    # the slot right after the 09:00 visit 30 km away is not offered: 45 minutes of driving first
    assert at(24, 10) not in starts
    for s in r.items:
        assert not (at(24, 10) <= s.start < at(24, 10, 45))
        # and it must leave 45 minutes to reach the 12:00 visit: a 60-minute job after 10:45 ends 11:45
        assert not (at(24, 10) <= s.start < at(24, 12))
    assert at(24, 13, 45) in starts  # after the 12:00-13:00 visit, 45 minutes back
    # before the first visit: from base at 08:00, back to the 09:00 visit 45 min away -> no room
    assert at(24, 8) not in starts
    # next to a visit at the same place no travel is needed
    plan2 = tech("U", visits=[Stop(at(24, 9), at(24, 10), CENTRE, "VS-1")])
    r = suggest(job(point=CENTRE), [plan2], MODEL, at(24, 7), limit=20)
    assert at(24, 10) in [s.start for s in r.items]


def test_skills_filter():
    plumber = tech("P", skills=("plumbing",))
    r = suggest(job(skill="hvac"), [plumber], MODEL, at(24, 7))
    assert r.items == [] and r.nothing_fits and "hvac" in r.message
    both = tech("B", skills=("plumbing", "hvac"))
    r = suggest(job(skill="hvac"), [plumber, both], MODEL, at(24, 7))
    assert {s.technician_id for s in r.items} == {"B"}
    r = suggest(job(skill=None), [plumber, both], MODEL, at(24, 7))
    assert {s.technician_id for s in r.items} == {"P", "B"}


def test_ranked_by_extra_km_of_the_day():
    site = east(20)
    near = tech("near", base=east(14))
    far = tech("far", base=east(-15))
    r = suggest(job(point=site), [far, near], MODEL, at(24, 7))
    assert r.items[0].technician_id == "near"
    assert r.items[0].travel_km < [s for s in r.items if s.technician_id == "far"][0].travel_km
    # a technician already passing by (a visit next door) beats one whose base is a little nearer
    passing = tech("passing", base=CENTRE, visits=[Stop(at(24, 8), at(24, 9), east(20.5), "VS-7")])
    r = suggest(job(point=site), [near, passing], MODEL, at(24, 7))
    assert r.items[0].technician_id == "passing"
    assert r.items[0].travel_km < 2
    assert "VS-7" in r.items[0].explanation


def test_urgent_calls_go_earliest():
    site = CENTRE
    near_but_busy = tech("near", base=CENTRE, time_off=[(at(24, 8).astimezone(TZ), at(24, 14))])
    far_but_free = tech("far", base=east(25))
    deadline = at(25, 7)
    normal = suggest(job(point=site, priority="normal", deadline=deadline), [near_but_busy, far_but_free],
                     MODEL, at(24, 8))
    assert normal.items[0].technician_id == "near"
    urgent = suggest(job(point=site, priority="urgent", deadline=deadline), [near_but_busy, far_but_free],
                     MODEL, at(24, 8))
    assert urgent.items[0].technician_id == "far"
    assert urgent.items[0].start < at(24, 10)


def test_remote_window_counts_for_within_deadline():
    plan = tech("T", time_off=[(at(24, 8).astimezone(TZ), at(25, 17))])  # off all Tuesday and Wednesday
    near_deadline = at(25, 9)  # 24 h after a Tuesday 09:00 call
    remote_deadline = at(26, 9)  # 48 h for a remote site
    r = suggest(job(deadline=near_deadline), [plan], MODEL, at(24, 9))
    assert r.nothing_fits
    r = suggest(job(deadline=remote_deadline), [plan], MODEL, at(24, 9))
    assert not r.nothing_fits and r.message is None
    assert r.items[0].start == at(26, 8) and r.items[0].within_deadline
    assert r.items[0].slack_minutes == 60


def test_nothing_fits_says_so_and_offers_the_earliest_after():
    plan = tech("T", time_off=[(at(24, 8).astimezone(TZ), at(24, 15))])
    other = tech("O", base=east(10), time_off=[(at(24, 8).astimezone(TZ), at(24, 16))])
    r = suggest(job(deadline=at(24, 11)), [other, plan], MODEL, at(24, 9))
    assert r.nothing_fits is True
    assert "Nothing fits before the booking deadline" in r.message
    assert r.items, "the earliest slots after the window are offered"
    assert all(not s.within_deadline for s in r.items)
    assert [s.start for s in r.items] == sorted(s.start for s in r.items)
    assert r.items[0].start == at(24, 15) and r.items[0].slack_minutes == -240
    assert "AFTER the booking deadline" in r.items[0].explanation


def test_limit_and_variety():
    plans = [tech(str(i), base=east(i)) for i in range(6)]
    r = suggest(job(), plans, MODEL, at(24, 7), limit=5)
    assert len(r.items) == 5
    assert max(sum(1 for s in r.items if s.technician_id == p.id) for p in plans) <= ranking.PER_TECHNICIAN


def test_suggestions_from_the_database_use_calendars(dispatcher, technician):
    """The database adapter: working hours, time off and booked visits of real technicians."""
    from dispatch.core.extensions import db
    from dispatch.core.timeutil import utcnow
    from dispatch.models import TimeOff
    from dispatch.services.users import set_working_hours
    from tests.factories import make_call, make_user

    every_day = [(d, time(0), time(23, 45)) for d in range(7)]
    set_working_hours(technician, every_day)
    plumber = make_user("technician", username="pete", name="Pete Plumber", skills=["plumbing"])
    set_working_hours(plumber, every_day)
    now = utcnow()
    db.session.add(TimeOff(user_id=technician.id, starts_at=now - timedelta(hours=1), ends_at=now + timedelta(hours=5)))
    db.session.commit()
    call = make_call(dispatcher, required_skill="hvac")
    result = db_plans.suggestions_for_call(call, limit=5, now=now)
    assert result.items and {s.technician_id for s in result.items} == {technician.id}
    assert all(s.start >= now + timedelta(hours=5) for s in result.items)
    assert result.duration == timedelta(minutes=60)


def test_one_local_day_window(app):
    """The board, the slips, the phone and the API all mean the same by "a day": local midnight to midnight."""
    from datetime import UTC, date

    from dispatch.scheduling.visits import day_window

    with app.app_context():
        start, end = day_window(date(2026, 11, 23))
        assert start == datetime(2026, 11, 23, tzinfo=TZ) == datetime(2026, 11, 22, 16, tzinfo=UTC)
        assert end - start == timedelta(days=1)
        assert day_window(date(2026, 11, 23), days=7)[1] == datetime(2026, 11, 30, tzinfo=TZ)
