"""Re-planning on plain data (dispatch.scheduling.optimise.replan, OR-Tools): small days, a short time limit,
and only outcomes asserted (never how long it took): feasible by the rules' checker, never worse, windows
kept, fixed stops untouched, skills respected.

All times fixed: Tuesday 2026-11-24 in Asia/Shanghai.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from geopy.distance import great_circle

from dispatch.scheduling.optimise import MovableVisit, replan, scheduled
from dispatch.scheduling.ranking import Stop, TechnicianPlan, TravelModel
from dispatch.scheduling.rules import check_schedule

TZ = ZoneInfo("Asia/Shanghai")
MODEL = TravelModel(road_factor=1.3, speed_kmh=40.0, tz=TZ)
CENTRE = (31.2304, 121.4737)
WEEKDAYS = [(d, time(8), time(17)) for d in range(5)]
LIMIT = 0.5


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def east(km_road: float) -> tuple[float, float]:
    p = great_circle(kilometers=abs(km_road) / 1.3).destination(CENTRE, 90 if km_road >= 0 else 270)
    return (p.latitude, p.longitude)


def tech(tid: str, base, skills=("hvac",), visits=(), time_off=()) -> TechnicianPlan:
    return TechnicianPlan(id=tid, name=tid, skills=frozenset(skills), base=base, hours=list(WEEKDAYS),
                          time_off=list(time_off), visits=sorted(visits, key=lambda s: s.start))


def movable(vid: str, tid: str, start: datetime, point, *, window=None, skill="hvac", minutes=60,
            deadline=None, received=None) -> MovableVisit:
    ws, we = window or (start - timedelta(minutes=30), start + timedelta(minutes=90))
    return MovableVisit(id=vid, point=point, duration=timedelta(minutes=minutes), required_skill=skill,
                        window_start=ws, window_end=we, technician_id=tid, start=start,
                        received_at=received, deadline=deadline, label=f"VS-{vid}")


def feasible(plans, visits, result) -> None:
    """The result breaks no rule, every start is in its window, on a whole minute."""
    assert check_schedule(plans, scheduled(plans, visits, result.assignments), MODEL) == []
    assert set(result.assignments) == {v.id for v in visits}
    for v in visits:
        tid, start = result.assignments[v.id]
        assert v.window_start <= start < v.window_end
        assert start.second == 0 and start.microsecond == 0


def test_crossed_technicians_are_swapped():
    west_tech, east_tech = tech("W", east(-20)), tech("E", east(20))
    plans = [west_tech, east_tech]
    visits = [movable("1", "W", at(24, 10), east(22)), movable("2", "E", at(24, 10), east(-22))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    assert result.status == "improved"
    assert result.assignments["1"][0] == "E" and result.assignments["2"][0] == "W"
    assert result.km_after < result.km_before - 100
    assert {m.visit_id for m in result.moves} == {"1", "2"}
    assert result.violations_after == []
    feasible(plans, visits, result)


def test_without_swaps_nobody_changes_technician():
    plans = [tech("W", east(-20)), tech("E", east(20))]
    visits = [movable("1", "W", at(24, 10), east(22)), movable("2", "E", at(24, 10), east(-22))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT, allow_swaps=False)
    assert result.assignments["1"][0] == "W" and result.assignments["2"][0] == "E"
    feasible(plans, visits, result)


def test_skills_are_respected():
    """The plumbing visit stays with the far plumber although the near technician would save km."""
    plumber, near = tech("P", east(-20), skills=("plumbing",)), tech("N", east(20), skills=("hvac",))
    plans = [plumber, near]
    visits = [movable("1", "P", at(24, 10), east(22), skill="plumbing")]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    assert result.assignments["1"][0] == "P"
    assert all(m.to_technician_id == "P" for m in result.moves)
    feasible(plans, visits, result)


def test_fixed_stops_stay_and_are_driven_around():
    """A pinned stop on the near technician's day: the movable visit goes around it (travel counted) or to
    someone else, and the pinned stop itself is not in the answer at all."""
    pinned = Stop(at(24, 10), at(24, 12), east(5), "VS-PIN")
    near = tech("N", east(20), visits=[pinned])
    far = tech("F", east(-20))
    plans = [near, far]
    visits = [movable("1", "F", at(24, 10, 30), east(21), window=(at(24, 10), at(24, 12)))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    assert near.visits == [pinned]
    assert "VS-PIN" not in result.assignments
    feasible(plans, visits, result)
    # the near technician cannot reach east(21) before 12:00 + 24 min: the window closes at 12:00
    assert result.assignments["1"][0] == "F"


def test_never_worse_and_unchanged_when_nothing_is_better():
    plans = [tech("A", CENTRE)]
    visits = [movable("1", "A", at(24, 9), CENTRE, window=(at(24, 8, 30), at(24, 10, 30)))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    # it may only start earlier in its window (the day's free time gathered later), never drive more
    assert result.km_after <= result.km_before
    assert result.assignments["1"][1] <= at(24, 9)
    feasible(plans, visits, result)
    again = replan(plans, [movable("1", "A", at(24, 8, 30), CENTRE, window=(at(24, 8, 30), at(24, 10, 30)))],
                   MODEL, time_limit_seconds=LIMIT)
    assert again.status == "unchanged" and again.moves == []
    assert again.assignments == {"1": ("A", at(24, 8, 30))}


def test_a_late_visit_is_brought_inside_its_deadline_when_its_window_allows():
    busy = Stop(at(24, 8), at(24, 16), CENTRE, "VS-BUSY")
    plans = [tech("A", CENTRE, visits=[busy]), tech("B", east(10))]
    visits = [movable("1", "A", at(24, 16), CENTRE, minutes=30, window=(at(24, 9), at(24, 17)),
                      deadline=at(24, 12))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    assert result.late_before == 1 and result.late_after == 0
    assert result.assignments["1"][0] == "B" and result.assignments["1"][1] <= at(24, 12)
    feasible(plans, visits, result)


def test_nothing_before_now_and_the_technician_on_the_way_keeps_going():
    """At 09:00 the technician is on the way to a 09:30 stop (frozen, so fixed); a movable visit of the
    same day may follow it but never start before now nor before the stop."""
    on_the_way = Stop(at(24, 9, 30), at(24, 10, 30), east(20), "VS-GO")
    plans = [tech("A", CENTRE, visits=[on_the_way])]
    visits = [movable("1", "A", at(24, 11), east(20), window=(at(24, 8, 30), at(24, 12)), received=at(24, 8))]
    now = at(24, 9)
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT, now=now)
    tid, start = result.assignments["1"]
    assert start >= at(24, 10, 30)  # not squeezed in before the stop the technician is driving to
    feasible(plans, visits, result)


def test_time_off_is_never_planned_over():
    plans = [tech("A", CENTRE, time_off=[(at(24, 8), at(24, 12))]), tech("B", east(40))]
    visits = [movable("1", "B", at(24, 11), CENTRE, window=(at(24, 10, 30), at(24, 12, 30)))]
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    tid, start = result.assignments["1"]
    if tid == "A":
        assert start >= at(24, 12)
    feasible(plans, visits, result)


def test_an_input_that_breaks_the_rules_and_cannot_be_mended_is_infeasible():
    plans = [tech("A", CENTRE)]
    visits = [movable("1", "A", at(24, 9), CENTRE, skill="plumbing")]  # nobody has plumbing
    result = replan(plans, visits, MODEL, time_limit_seconds=LIMIT)
    assert result.status == "infeasible" and result.moves == []
    assert [v.code for v in result.violations_after] == ["skill_mismatch"]
    assert result.assignments == {"1": ("A", at(24, 9))}
