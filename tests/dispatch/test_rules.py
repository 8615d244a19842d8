"""The rules of a technician's day (dispatch.scheduling.rules.check_schedule): one test per violation, a
clean day giving none, and booking suggestions that never break them.

All times fixed: Tuesday 2026-11-24 in Asia/Shanghai. Travel: 1.3 x great-circle km at 40 km/h, whole
minutes rounded up.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from geopy.distance import great_circle

from dispatch.scheduling.ranking import Job, Stop, TechnicianPlan, TravelModel, suggest
from dispatch.scheduling.rules import ScheduledVisit, check_schedule

TZ = ZoneInfo("Asia/Shanghai")
MODEL = TravelModel(road_factor=1.3, speed_kmh=40.0, tz=TZ)
BASE = (31.2304, 121.4737)
WEEKDAYS = [(d, time(8), time(17)) for d in range(5)]


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def east(km_road: float) -> tuple[float, float]:
    p = great_circle(kilometers=km_road / 1.3).destination(BASE, 90)
    return (p.latitude, p.longitude)


def tech(tid: str = "T", skills=("hvac",), hours=WEEKDAYS, time_off=()) -> TechnicianPlan:
    return TechnicianPlan(id=tid, name=tid, skills=frozenset(skills), base=BASE, hours=list(hours),
                          time_off=list(time_off))


def visit(vid: str, start: datetime, minutes: int = 60, point=BASE, tid: str = "T", **kw) -> ScheduledVisit:
    return ScheduledVisit(id=vid, technician_id=tid, start=start, end=start + timedelta(minutes=minutes),
                          point=point, **kw)


def codes(visits, plans=None) -> list[tuple[str, str]]:
    return [(v.code, v.visit_id) for v in check_schedule(plans or [tech()], visits, MODEL)]


def test_travel_minutes_are_rounded_up():
    assert MODEL.travel_minutes(BASE, east(20)) == 30  # 20 km at 40 km/h
    assert MODEL.travel_minutes(BASE, east(20.1)) == 31  # 30.15 minutes -> 31
    assert MODEL.travel_minutes(BASE, BASE) == 0


def test_a_clean_day_breaks_no_rule():
    day = [visit("A", at(24, 8, 30), point=east(20), required_skill="hvac", received_at=at(24, 7),
                 window_start=at(24, 8), window_end=at(24, 10)),
           visit("B", at(24, 10), point=east(20)),  # same place: no travel
           visit("C", at(24, 11, 30), point=BASE),  # 30 min back, ends 12:30
           visit("D", at(24, 15, 30), point=east(20))]  # 16:30 + 30 min home = 17:00 exactly
    assert codes(day) == []


def test_left_base_early():
    assert codes([visit("A", at(24, 8, 20), point=east(20))]) == [("left_base_early", "A")]


def test_back_after_hours():
    # ends 16:30, 31 minutes home: back 17:01 (the bookings of issue 14 came home up to 109 min late)
    violations = check_schedule([tech()], [visit("A", at(24, 15, 30), point=east(20.1))], MODEL)
    assert [(v.code, v.visit_id) for v in violations] == [("back_after_hours", "A")]
    assert "1 min after" in violations[0].detail


def test_outside_hours():
    assert codes([visit("A", at(24, 16, 30))]) == [("outside_hours", "A")]
    assert codes([visit("S", at(28, 9))]) == [("outside_hours", "S")]  # a Saturday


def test_time_off():
    plan = tech(time_off=[(at(24, 12), at(24, 13))])
    assert codes([visit("A", at(24, 12, 30))], [plan]) == [("time_off", "A")]


def test_overlap():
    assert codes([visit("A", at(24, 9)), visit("B", at(24, 9, 30))]) == [("overlap", "B")]


def test_not_enough_travel():
    day = [visit("A", at(24, 9)), visit("B", at(24, 10, 29), point=east(20))]  # 30 minutes needed
    assert codes(day) == [("not_enough_travel", "B")]


def test_before_received():
    assert codes([visit("A", at(24, 9), received_at=at(24, 9, 5))]) == [("before_received", "A")]


def test_skill_mismatch():
    assert codes([visit("A", at(24, 9), required_skill="plumbing")]) == [("skill_mismatch", "A")]


def test_outside_window():
    assert codes([visit("A", at(24, 11), window_start=at(24, 9), window_end=at(24, 11))]) == [("outside_window", "A")]
    assert codes([visit("A", at(24, 9), window_start=at(24, 9), window_end=at(24, 11))]) == []


def test_unknown_technician():
    assert codes([visit("A", at(24, 9), tid="nobody")]) == [("unknown_technician", "A")]


def test_each_span_is_its_own_route():
    """Two spans a day: back at base by the end of the morning, out again in the afternoon."""
    split = tech(hours=[(1, time(8), time(12)), (1, time(13), time(17))])
    assert codes([visit("A", at(24, 11), point=east(20))], [split]) == [("back_after_hours", "A")]
    assert codes([visit("B", at(24, 13), point=east(20))], [split]) == [("left_base_early", "B")]
    assert codes([visit("C", at(24, 11, 30), minutes=60)], [split]) == [("outside_hours", "C")]


def as_visits(plan: TechnicianPlan) -> list[ScheduledVisit]:
    return [ScheduledVisit(id=s.label, technician_id=plan.id, start=s.start, end=s.end, point=s.point)
            for s in plan.visits]


def test_suggestions_never_break_the_rules():
    """Every slot offered, booked as it is, leaves a day that breaks no rule: home by the end of the span,
    travel rounded up, nothing before the call came in."""
    far = east(60)  # 90 minutes each way
    plan = tech(hours=[(1, time(8), time(12)), (1, time(13), time(17)), (2, time(8), time(17))],
                time_off=[(at(25, 12), at(25, 13))])
    plan.add(Stop(at(24, 9, 40), at(24, 10, 10), east(10), "VS-1"))
    plan.add(Stop(at(24, 15), at(24, 15, 30), east(25), "VS-2"))
    for point in (far, east(20.1), BASE):
        job = Job(point=point, duration=timedelta(minutes=45), required_skill="hvac")
        now = at(24, 8, 3)
        result = suggest(job, [plan], MODEL, now, limit=40, horizon=at(26, 0))
        assert result.items
        for s in result.items:
            booked = ScheduledVisit(id="new", technician_id=plan.id, start=s.start, end=s.end, point=point,
                                    required_skill="hvac", received_at=now)
            assert check_schedule([plan], [*as_visits(plan), booked], MODEL) == [], s
    # the far job fits no morning span of Tuesday (3 hours of driving + 45 min > 4 hours)
    job = Job(point=far, duration=timedelta(minutes=45), required_skill="hvac")
    starts = [s.start for s in suggest(job, [plan], MODEL, at(24, 8), limit=40, horizon=at(26, 0)).items]
    assert not [s for s in starts if s < at(24, 12)]
