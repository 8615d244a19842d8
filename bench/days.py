"""The bench days (../shared/bench-days, format in its README.md) as plain data for the engine, and the
OR-Tools batch reference that plans a whole day known in advance. Shared by bench/replay_day.py and
bench/bench_booking.py.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import tempfile
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from geopy.distance import geodesic

from dispatch.scheduling.ranking import TechnicianPlan, TravelModel
from dispatch.scheduling.rules import ScheduledVisit

# Generated days from seeds other than the four fixed ones (make_days.py uses 1-4): (calls, technicians, seed)
GENERATED = [(50, 5, 21), (50, 10, 22), (100, 10, 23)]
REFERENCE_VERSION = 2  # part of the references' cache key: a change to the reference's model bumps it


def bench_days_dir() -> Path:
    here = Path(__file__).resolve().parents[1].parent / "shared" / "bench-days"
    return here if here.is_dir() else Path(os.environ.get("BENCH_DAYS_DIR", str(here)))


def fixed_days() -> list[Path]:
    return sorted(bench_days_dir().glob("day-*.json"), key=lambda p: [int(x) for x in p.stem[4:].split("x")])


def generated_days(directory: str | None = None) -> list[Path]:
    """Days from make_days.make_day with other seeds, written to a temporary directory."""
    spec = importlib.util.spec_from_file_location("make_days", bench_days_dir() / "make_days.py")
    assert spec is not None and spec.loader is not None
    make_days = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_days)
    out = Path(directory or tempfile.mkdtemp(prefix="bench-days-"))
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for n_calls, n_techs, seed in GENERATED:
        path = out / f"day-{n_calls}x{n_techs}-s{seed}.json"
        path.write_text(json.dumps(make_days.make_day(n_calls, n_techs, seed)))
        paths.append(path)
    return paths


def load_day(path: Path) -> dict[str, Any]:
    """The day with each call's received time (UTC), booking deadline and remoteness added."""
    day = json.loads(Path(path).read_text())
    tz = ZoneInfo(day["timezone"])
    day["tz"] = tz
    day["name"] = Path(path).stem[4:]
    centre = tuple(day["service_centre"])
    for c in day["calls"]:
        c["received"] = datetime.fromisoformat(c["received_at"]).astimezone(UTC)
        c["remote"] = geodesic(centre, c["location"]).km > day["remote_radius_km"]
        c["deadline"] = c["received"] + timedelta(hours=day["remote_booking_hours"] if c["remote"]
                                                  else day["booking_hours"])
    day["calls"].sort(key=lambda c: c["received"])
    return day


def travel_model(day: dict[str, Any]) -> TravelModel:
    return TravelModel(float(day["road_factor"]), float(day["average_speed_kmh"]), day["tz"])


def plans_of(day: dict[str, Any]) -> list[TechnicianPlan]:
    return [TechnicianPlan(id=t["id"], name=t["id"], skills=frozenset(t["skills"]), base=tuple(t["base"]),
                           hours=[(h["weekday"], time.fromisoformat(h["start"]), time.fromisoformat(h["end"]))
                                  for h in t["working_hours"]]) for t in day["technicians"]]


def scheduled_of(day: dict[str, Any], rows: list[dict[str, Any]]) -> list[ScheduledVisit]:
    """An exported schedule [{"call_id", "technician_id", "start", ("window_start", "window_end")}] as the
    rules check it."""
    calls = {c["id"]: c for c in day["calls"]}
    out = []
    for r in rows:
        c = calls[r["call_id"]]
        start = datetime.fromisoformat(r["start"]).astimezone(UTC)
        ws, we = r.get("window_start"), r.get("window_end")
        out.append(ScheduledVisit(
            id=c["id"], technician_id=r["technician_id"], start=start,
            end=start + timedelta(minutes=c["duration_minutes"]), point=tuple(c["location"]),
            required_skill=c["required_skill"], received_at=c["received"],
            window_start=datetime.fromisoformat(ws).astimezone(UTC) if ws else None,
            window_end=datetime.fromisoformat(we).astimezone(UTC) if we else None))
    return out


def on_time_share(day: dict[str, Any], rows: list[dict[str, Any]]) -> float:
    """Calls whose visit starts by the booking deadline, over all the day's calls (unbooked ones are late)."""
    calls = {c["id"]: c for c in day["calls"]}
    ok = sum(1 for r in rows if datetime.fromisoformat(r["start"]) <= calls[r["call_id"]]["deadline"])
    return ok / len(day["calls"])


def reference(day: dict[str, Any], seconds: float, *, late_km_per_minute: float = 100.0,
              n_days: int | None = None) -> list[dict[str, Any]]:
    """The batch reference (see _reference), cached in BENCH_CACHE_DIR (default: the system's temporary
    directory) by the day's content, the budget and the price: the references take most of a bench run."""
    key = hashlib.sha256(json.dumps([{k: v for k, v in day.items() if k != "tz"}, seconds, late_km_per_minute,
                                     n_days, REFERENCE_VERSION], sort_keys=True, default=str).encode()).hexdigest()[:24]
    cache = Path(os.environ.get("BENCH_CACHE_DIR") or tempfile.gettempdir()) / f"bench-ref-{key}.json"
    if cache.exists():
        return list(json.loads(cache.read_text()))
    rows = _reference(day, seconds, late_km_per_minute=late_km_per_minute, n_days=n_days)
    if n_days is None and len(rows) < len(day["calls"]):
        # calls dropped for want of days: a dropped call counts as late but saves its km and its technician's
        # hours, flattering the reference; plan again over a week more
        longer = _reference(day, seconds, late_km_per_minute=late_km_per_minute, n_days=_days_needed(day) + 7)
        rows = longer if len(longer) > len(rows) else rows
    cache.write_text(json.dumps(rows))
    return rows


def _days_needed(day: dict[str, Any]) -> int:
    """From the first call's day to the day after the last booking deadline."""
    tz = day["tz"]
    first = min(c["received"] for c in day["calls"]).astimezone(tz).date()
    return (max(c["deadline"] for c in day["calls"]).astimezone(tz).date() - first).days + 2


def _reference(day: dict[str, Any], seconds: float, *, late_km_per_minute: float = 100.0,
               n_days: int | None = None) -> list[dict[str, Any]]:
    """A batch plan of the same day, every call known in advance: OR-Tools routing, one vehicle per
    technician and working span, leaving base and back in the span, travel minutes rounded up (the same
    rules as ours), visits after their call came in, each minute after the booking deadline priced at
    `late_km_per_minute` km (100: hard deadlines wherever they can be met; a small price: the soft reference).
    Returns the schedule as replay_day exports it."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    tz = day["tz"]
    model = travel_model(day)
    calls = day["calls"]
    first = min(c["received"] for c in calls).astimezone(tz).date()
    if n_days is None:
        n_days = _days_needed(day)
    origin = datetime.combine(first, time(0), tzinfo=tz)

    def minute(t: datetime) -> int:
        return int((t - origin).total_seconds() // 60)

    vehicles: list[tuple[TechnicianPlan, int, int]] = []
    for t in plans_of(day):
        for d in range(n_days):
            d_date: date = first + timedelta(days=d)
            for w, s, e in t.hours:
                if w != d_date.weekday():
                    continue
                s_at = datetime.combine(d_date, s, tzinfo=tz)
                e_at = datetime.combine(d_date + timedelta(days=1) if e <= s else d_date, e, tzinfo=tz)
                vehicles.append((t, minute(s_at), minute(e_at)))
    n_calls = len(calls)
    points = [tuple(c["location"]) for c in calls]
    starts = [n_calls + 2 * i for i in range(len(vehicles))]
    ends = [n_calls + 2 * i + 1 for i in range(len(vehicles))]
    node_point = points + [v[0].base for v in vehicles for _ in (0, 1)]
    service = [c["duration_minutes"] for c in calls] + [0] * (2 * len(vehicles))
    dist = [[int(round(model.km(a, b) * 1000)) for b in node_point] for a in node_point]
    transit = [[service[i] + model.travel_minutes(a, b) for b in node_point] for i, a in enumerate(node_point)]
    manager = pywrapcp.RoutingIndexManager(len(node_point), len(vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    routing.SetArcCostEvaluatorOfAllVehicles(routing.RegisterTransitMatrix(dist))
    horizon = (n_days + 1) * 24 * 60
    routing.AddDimension(routing.RegisterTransitMatrix(transit), horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for v, (_, v_start, v_end) in enumerate(vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(v_start, v_end)
        tdim.CumulVar(routing.End(v)).SetRange(v_start, v_end)
    for i, c in enumerate(calls):
        index = manager.NodeToIndex(i)
        tdim.CumulVar(index).SetMin(-(-int((c["received"] - origin).total_seconds()) // 60))
        tdim.SetCumulVarSoftUpperBound(index, minute(c["deadline"]), int(late_km_per_minute * 1000))
        allowed = [v for v, (t, _, _) in enumerate(vehicles) if c["required_skill"] in t.skills]
        routing.VehicleVar(index).SetValues([-1, *allowed])
        routing.AddDisjunction([index], 10**12)  # dropping a call costs more than any lateness
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.FromMilliseconds(int(seconds * 1000))
    solution = routing.SolveWithParameters(params)
    rows: list[dict[str, Any]] = []
    if solution is None:
        return rows
    for v, (t, _, _) in enumerate(vehicles):
        index = solution.Value(routing.NextVar(routing.Start(v)))
        while not routing.IsEnd(index):
            node = manager.IndexToNode(index)
            start = origin + timedelta(minutes=solution.Value(tdim.CumulVar(index)))
            rows.append({"call_id": calls[node]["id"], "technician_id": t.id, "start": start.isoformat()})
            index = solution.Value(routing.NextVar(index))
    return rows
