"""Re-planning the visits not yet started with a vehicle-routing solver (OR-Tools routing). Pure: no database.

The model: one vehicle per (technician, working span) over the days the movable visits' windows reach,
leaving the base and back at it inside the span; a movable visit is a node whose start of service lies in
its promised window (and not before its call came in, nor before `now`), allowed only on the vehicles of
technicians with its skill (only its own technician without swaps); a fixed stop (on the way, on site,
pinned, or not being re-planned) is a node pinned to its technician's span at its own time; time off and
fixed stops outside the spans split a span in two (conservative: home in between). Travel in whole minutes
rounded up (rules.py). Objective: metres driven, plus a heavy price per minute started after the booking
deadline. The current plan is the first solution, so the solver only ever improves on it; the result is
then re-timed (each visit as early as its window and route allow, so the day's free time gathers into gaps
the next calls fit in), checked with rules.check_schedule, and offered only when it breaks no rule and is
better in (late visits, km, then how early the day's work is done).

Why OR-Tools rather than PyVRP: both handle time windows and skills (allowed vehicles / client groups),
but pinning fixed stops to a technician at a fixed time, starting from the current plan as the first
solution (ReadAssignmentFromRoutes), and a deadline priced per minute late (soft upper bound on a cumul)
are first-class in OR-Tools' routing model, and it is already a dependency.
"""

from __future__ import annotations

import math
import time as clock
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from .ranking import Job, Point, Suggestion, TechnicianPlan, TravelModel
from .rules import ScheduledVisit, Violation, as_scheduled, check_schedule, span_of, spans_of

# The product's time budgets: after each booking (in the background) and on demand (the optimise button).
REPLAN_SECONDS_AFTER_BOOKING = 2.0
REPLAN_SECONDS_ON_DEMAND = 10.0
# The price of one minute started after the booking deadline, in km (a late visit costs far more than a detour).
LATE_KM_PER_MINUTE = 100.0
KM_TOLERANCE = 1e-6


@dataclass(frozen=True)
class MovableVisit:
    id: Any  # the visit id
    point: Point
    duration: timedelta
    required_skill: str | None
    window_start: datetime  # the planned start must stay in [window_start, window_end)
    window_end: datetime
    technician_id: Any  # where it is now
    start: datetime
    received_at: datetime | None = None
    deadline: datetime | None = None  # booking deadline: a start after it counts as late
    label: str = ""  # slip number, for explanations


@dataclass(frozen=True)
class Move:
    visit_id: Any
    from_technician_id: Any
    from_start: datetime
    to_technician_id: Any
    to_start: datetime


@dataclass
class Replan:
    assignments: dict[Any, tuple[Any, datetime]]  # visit id -> (technician id, start), for EVERY movable visit
    moves: list[Move]  # only the visits that change
    km_before: float
    km_after: float
    late_before: int
    late_after: int
    violations_after: list[Violation]  # [] when the input was feasible
    status: str  # "improved", "unchanged" (no better plan found) or "infeasible"
    seconds: float
    violations_before: list[Violation] = field(default_factory=list)


def scheduled(plans: Sequence[TechnicianPlan], movable: Sequence[MovableVisit],
              assignments: dict[Any, tuple[Any, datetime]]) -> list[ScheduledVisit]:
    """The fixed stops and the movable visits at the given (technician, start), as the rules check them."""
    out = [as_scheduled(p, s) for p in plans for s in p.visits]
    for m in movable:
        tech, start = assignments[m.id]
        out.append(ScheduledVisit(id=m.id, technician_id=tech, start=start, end=start + m.duration, point=m.point,
                                  required_skill=m.required_skill, received_at=m.received_at,
                                  window_start=m.window_start, window_end=m.window_end))
    return out


def schedule_km(plans: Sequence[TechnicianPlan], visits: Sequence[ScheduledVisit], model: TravelModel) -> float:
    """Kilometres driven: per technician and working span (else local day), base -> visits in order -> base."""
    by_id = {p.id: p for p in plans}
    routes: dict[tuple[Any, Any], list[ScheduledVisit]] = {}
    per_tech: dict[Any, list[ScheduledVisit]] = {}
    for v in visits:
        per_tech.setdefault(v.technician_id, []).append(v)
    for tech_id, mine in per_tech.items():
        plan = by_id.get(tech_id)
        if plan is None:
            continue
        mine.sort(key=lambda v: v.start)
        spans = spans_of(plan, mine[0].start - timedelta(days=1), mine[-1].end + timedelta(days=1), model)
        for v in mine:
            key = span_of(spans, v.start, v.end) or v.start.astimezone(model.tz).date()
            routes.setdefault((tech_id, key), []).append(v)
    total = 0.0
    for (tech_id, _key), route in routes.items():
        here = by_id[tech_id].base
        for v in route:
            total += model.km(here, v.point)
            here = v.point
        total += model.km(here, by_id[tech_id].base)
    return total


def late_count(movable: Sequence[MovableVisit], assignments: dict[Any, tuple[Any, datetime]]) -> int:
    return sum(1 for m in movable if m.deadline is not None and assignments[m.id][1] > m.deadline)


def replan(plans: Sequence[TechnicianPlan], movable: Sequence[MovableVisit], model: TravelModel, *,
           time_limit_seconds: float = 5.0, allow_swaps: bool = True, now: datetime | None = None) -> Replan:
    """Re-plan the movable visits around the fixed stops (plans[i].visits); see the module's notes.

    `now` (optional): no movable visit may start before it, and a technician not yet out may leave base
    no earlier."""
    t0 = clock.perf_counter()
    current = {m.id: (m.technician_id, m.start) for m in movable}
    before = scheduled(plans, movable, current)
    violations_before = check_schedule(plans, before, model)
    km_before = schedule_km(plans, before, model)
    late_before = late_count(movable, current)

    def result(assignments: dict[Any, tuple[Any, datetime]], status: str, violations: list[Violation],
               km: float, late: int) -> Replan:
        moves = [Move(m.id, m.technician_id, m.start, *assignments[m.id]) for m in movable
                 if assignments[m.id] != current[m.id]]
        return Replan(assignments, moves, km_before, km, late_before, late, violations, status,
                      clock.perf_counter() - t0, violations_before)

    unchanged = result(dict(current), "infeasible" if violations_before else "unchanged", violations_before,
                       km_before, late_before)
    if not movable:
        return unchanged
    found = _solve(plans, movable, model, time_limit_seconds=time_limit_seconds, allow_swaps=allow_swaps, now=now)
    if found is None:
        return unchanged
    after = scheduled(plans, movable, found)
    violations = check_schedule(plans, after, model)
    if violations or any(now is not None and start < now for _, start in found.values()):
        return unchanged
    km_after, late_after = schedule_km(plans, after, model), late_count(movable, found)
    # better: fewer late visits, else fewer km, else the same km with the day's free time gathered later
    better = (late_after, km_after + KM_TOLERANCE) < (late_before, km_before) or (
        (late_after, km_after) <= (late_before, km_before + KM_TOLERANCE)
        and sum(t.timestamp() for _, t in found.values()) < sum(t.timestamp() for _, t in current.values()) - 1)
    if not better and not violations_before:
        return unchanged
    return result(found, "improved", [], km_after, late_after)


# ------------------------------------------------------------------------------------- making room (booking)

# A new call's "make room" suggestion: the booking re-planned together with the visits not yet started, each
# kept in its promised window, so neighbours may shift (or change hands) to let the new visit in earlier or
# on a shorter route. Its budget is short: it runs while the dispatcher waits for the suggestions.
ROOM_SECONDS = 0.7
NEW_VISIT = "new-visit"  # the new visit's id in the engine's model
# Only worth the wait when the best ordinary slot is late, or adds this many km to a day.
ROOM_WHEN_KM_OVER = 15.0


@dataclass(frozen=True)
class RoomSuggestion:
    technician_id: Any
    start: datetime
    moves: list[Move]  # the visits already booked that must shift (each inside its promised window)
    km_before: float  # the schedule with the new visit in the best ordinary slot
    km_after: float
    late_before: int  # late visits, the new one included
    late_after: int
    seconds: float


def wants_room(best: Suggestion) -> bool:
    """Whether the make-room suggestion is worked out for a call whose best ordinary slot is `best`."""
    return not best.within_deadline or best.travel_km > ROOM_WHEN_KM_OVER


def insert_with_room(job: Job, plans: Sequence[TechnicianPlan], movable: Sequence[MovableVisit],
                     model: TravelModel, now: datetime, initial: tuple[Any, datetime], *,
                     received_at: datetime | None = None,
                     time_limit_seconds: float = ROOM_SECONDS) -> RoomSuggestion | None:
    """Book `job` by re-planning it with the `movable` visits around the fixed stops (plans[i].visits), starting
    from `initial` (technician, start), the best ordinary slot. The new visit may start anywhere from now to its
    booking deadline (or the initial start, when that is later); the others stay in their windows. Returns the
    placement and the moves it needs when it beats the initial slot on late visits, else on km; else None."""
    start = initial[1]
    # never later than the ordinary slot: waiting has its price in the ranking (and later capacity is the next
    # calls'), so room is only made for an earlier start or a shorter route
    window_end = start.replace(second=0, microsecond=0) + timedelta(minutes=1)
    new = MovableVisit(id=NEW_VISIT, point=job.point, duration=job.duration, required_skill=job.required_skill,
                       window_start=now, window_end=window_end,
                       technician_id=initial[0], start=start, received_at=received_at, deadline=job.deadline)
    result = replan(plans, [*movable, new], model, time_limit_seconds=time_limit_seconds, now=now)
    if result.status != "improved":
        return None
    tech, at = result.assignments[NEW_VISIT]
    if (tech, at) == initial and not result.moves:
        return None
    better = (result.late_after, result.km_after + KM_TOLERANCE) < (result.late_before, result.km_before)
    if not better:
        return None  # only the day's free time gathered: not worth asking the dispatcher
    return RoomSuggestion(tech, at, [m for m in result.moves if m.visit_id != NEW_VISIT], result.km_before,
                          result.km_after, result.late_before, result.late_after, result.seconds)


# ---------------------------------------------------------------------------------------------- the model


@dataclass
class _Vehicle:
    plan: TechnicianPlan
    start: int  # minutes from the origin
    end: int
    fixed: list[int] = field(default_factory=list)  # node numbers of the fixed stops on it, in time order
    out: list[int] = field(default_factory=list)  # the fixed stops reached or set off for by now: first, in order


@dataclass
class _Node:
    point: Point
    service: int  # minutes
    lo: int  # start of service, minutes from the origin
    hi: int
    visit: MovableVisit | None = None  # None: a fixed stop or a depot


def _minute_floor(origin: datetime, t: datetime) -> int:
    return math.floor((t - origin).total_seconds() / 60)


def _minute_ceil(origin: datetime, t: datetime) -> int:
    return math.ceil((t - origin).total_seconds() / 60)


def _free_parts(s: datetime, e: datetime, blocked: list[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    """[s, e] without the blocked intervals."""
    parts = [(s, e)]
    for b_start, b_end in sorted(blocked):
        nxt = []
        for p_start, p_end in parts:
            if b_end <= p_start or b_start >= p_end:
                nxt.append((p_start, p_end))
                continue
            if b_start > p_start:
                nxt.append((p_start, b_start))
            if b_end < p_end:
                nxt.append((b_end, p_end))
        parts = nxt
    return parts


def _out_by_now(vehicle: _Vehicle, nodes: list[_Node], model: TravelModel, at_now: int) -> None:
    """Where the technician is at `now`: the fixed stops started by now, or set off for (the latest departure
    from the stop before is past), stay at the head of the route and the technician moves on from the last
    of them no earlier than now; one not yet out leaves base no earlier than now."""
    here = vehicle.plan.base
    for i in vehicle.fixed:
        node = nodes[i]
        if node.lo > at_now and node.lo - model.travel_minutes(here, node.point) > at_now:
            break
        vehicle.out.append(i)
        here = node.point
    if not vehicle.out:
        vehicle.start = max(vehicle.start, at_now)
    else:
        last = nodes[vehicle.out[-1]]
        last.service = max(last.service, at_now - last.lo)


def _solve(plans: Sequence[TechnicianPlan], movable: Sequence[MovableVisit], model: TravelModel, *,
           time_limit_seconds: float, allow_swaps: bool,
           now: datetime | None) -> dict[Any, tuple[Any, datetime]] | None:
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    lo = min([m.window_start for m in movable] + ([now] if now is not None else []))
    hi = max(m.window_end + m.duration for m in movable)
    origin = (lo - timedelta(days=2)).astimezone(UTC).replace(second=0, microsecond=0)

    nodes: list[_Node] = []
    for m in movable:
        earliest = max([m.window_start] + [x for x in (m.received_at, now) if x is not None])
        nodes.append(_Node(m.point, math.ceil(m.duration.total_seconds() / 60), _minute_ceil(origin, earliest),
                           _minute_ceil(origin, m.window_end) - 1, m))
    vehicles: list[_Vehicle] = []
    skills_needed = {m.required_skill for m in movable}
    own = {m.technician_id for m in movable}
    for plan in plans:
        if not (plan.id in own or (allow_swaps and any(s is None or s in plan.skills for s in skills_needed))):
            continue
        for s, e in spans_of(plan, lo, hi, model):
            inside = [st for st in plan.visits if s <= st.start and st.end <= e]
            blocked = [(a, b) for a, b in plan.time_off] + [
                (st.start, st.end) for st in plan.visits if st.start < e and st.end > s and st not in inside]
            for p_start, p_end in _free_parts(s, e, blocked):
                if p_end <= p_start:
                    continue
                vehicle = _Vehicle(plan, _minute_ceil(origin, p_start), _minute_floor(origin, p_end))
                for st in inside:
                    if p_start <= st.start and st.end <= p_end:
                        vehicle.fixed.append(len(nodes))
                        at = _minute_floor(origin, st.start)
                        nodes.append(_Node(st.point, _minute_ceil(origin, st.end) - at, at, at))
                if now is not None:
                    _out_by_now(vehicle, nodes, model, _minute_ceil(origin, now))
                if vehicle.start < vehicle.end:
                    vehicles.append(vehicle)
                elif vehicle.fixed:
                    return None
    if not vehicles:
        return None
    n_real = len(nodes)
    starts, ends = [], []
    for veh in vehicles:
        starts.append(len(nodes))
        nodes.append(_Node(veh.plan.base, 0, veh.start, veh.end))
        ends.append(len(nodes))
        nodes.append(_Node(veh.plan.base, 0, veh.start, veh.end))

    # matrices over the distinct points (the cached travel model does the great-circle work once)
    points = list(dict.fromkeys(n.point for n in nodes))
    where = {p: i for i, p in enumerate(points)}
    metres = [[int(round(model.km(a, b) * 1000)) for b in points] for a in points]
    minutes = [[model.travel_minutes(a, b) for b in points] for a in points]
    idx = [where[n.point] for n in nodes]
    dist_matrix = [[metres[idx[i]][idx[j]] for j in range(len(nodes))] for i in range(len(nodes))]
    time_matrix = [[nodes[i].service + minutes[idx[i]][idx[j]] for j in range(len(nodes))]
                   for i in range(len(nodes))]

    manager = pywrapcp.RoutingIndexManager(len(nodes), len(vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    dist_cb = routing.RegisterTransitMatrix(dist_matrix)
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = routing.RegisterTransitMatrix(time_matrix)
    horizon = max(n.hi for n in nodes) + 24 * 60
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for v, veh in enumerate(vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(veh.start, veh.end)
        tdim.CumulVar(routing.End(v)).SetRange(veh.start, veh.end)
        for i in veh.fixed:
            index = manager.NodeToIndex(i)
            routing.VehicleVar(index).SetValues([v])
            tdim.CumulVar(index).SetRange(nodes[i].lo, nodes[i].hi)
        # what the technician has already done or set off for comes first, as it happened
        chain = [routing.Start(v), *(manager.NodeToIndex(i) for i in veh.out)]
        for a, b in zip(chain, chain[1:], strict=False):
            routing.NextVar(a).SetValue(b)
    late_price = int(LATE_KM_PER_MINUTE * 1000)
    for i, node in enumerate(nodes[:n_real]):
        mv = node.visit
        if mv is None:
            continue
        index = manager.NodeToIndex(i)
        allowed = [v for v, veh in enumerate(vehicles)
                   if (mv.required_skill is None or mv.required_skill in veh.plan.skills)
                   and (allow_swaps or veh.plan.id == mv.technician_id)
                   and veh.start <= node.hi and node.lo + node.service <= veh.end]
        if not allowed or node.lo > node.hi:
            return None
        routing.VehicleVar(index).SetValues([-1, *allowed])
        tdim.CumulVar(index).SetRange(node.lo, node.hi)
        if mv.deadline is not None:
            tdim.SetCumulVarSoftUpperBound(index, _minute_floor(origin, mv.deadline), late_price)
        routing.AddDisjunction([index], 10**13)  # dropping a visit is never a plan; it only eases the search

    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PARALLEL_CHEAPEST_INSERTION
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(max(int(time_limit_seconds * 1000), 10))

    routes = _current_routes(vehicles, nodes, movable, origin, n_real)
    routing.CloseModelWithParameters(params)
    initial = routing.ReadAssignmentFromRoutes(routes, True) if routes is not None else None
    solution = (routing.SolveFromAssignmentWithParameters(initial, params) if initial is not None
                else routing.SolveWithParameters(params))
    if solution is None:
        return None
    found: dict[Any, tuple[Any, datetime]] = {}
    for v, veh in enumerate(vehicles):
        route = []
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            route.append(manager.IndexToNode(index))
            index = solution.Value(routing.NextVar(index))
        if not route:
            continue
        times = _retime(route, veh, nodes, minutes, idx, starts[v], ends[v])
        if times is None:
            return None
        for i, t in zip(route, times, strict=True):
            visit = nodes[i].visit
            if visit is not None:
                found[visit.id] = (veh.plan.id, origin + timedelta(minutes=t))
    if len(found) != len(movable):
        return None  # a visit was dropped
    return found


def _current_routes(vehicles: list[_Vehicle], nodes: list[_Node], movable: Sequence[MovableVisit],
                    origin: datetime, n_real: int) -> list[list[int]] | None:
    """The current plan as routes of the model, or None when it does not fit the model."""
    routes: list[list[tuple[int, int]]] = [[(nodes[i].lo, i) for i in v.fixed] for v in vehicles]
    for i, node in enumerate(nodes[:n_real]):
        m = node.visit
        if m is None:
            continue
        at = _minute_floor(origin, m.start)
        home = [v for v, veh in enumerate(vehicles) if veh.plan.id == m.technician_id
                and veh.start <= at and at + node.service <= veh.end]
        if not home:
            return None
        routes[home[0]].append((at, i))
    return [[i for _, i in sorted(r)] for r in routes]


def _retime(route: list[int], veh: _Vehicle, nodes: list[_Node], minutes: list[list[int]], idx: list[int],
            start_node: int, end_node: int) -> list[int] | None:
    """Starts for a route in its order, each as early as its window and the route allow: the free time of
    the day gathers into gaps that the next calls can be booked into."""
    t, prev = veh.start, start_node
    times = []
    for i in route:
        t = max(nodes[i].lo, t + nodes[prev].service + minutes[idx[prev]][idx[i]])
        if t > nodes[i].hi:
            return None
        times.append(t)
        prev = i
    if t + nodes[prev].service + minutes[idx[prev]][idx[end_node]] > veh.end:
        return None
    return times
