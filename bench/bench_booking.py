"""Booking bench (prints, never asserts): decision latency of the suggestions, and booking quality on the
fixed days of ../shared/bench-days against a batch solution by OR-Tools routing with time windows.

Run: .venv/bin/python bench/bench_booking.py   (or `make bench`). OR-Tools comes with the `bench` extra.
"""

from __future__ import annotations

import json
import os
import random
import sys
import tempfile
import time as clock
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from geopy.distance import geodesic  # noqa: E402

from dispatch.scheduling.ranking import Job, Stop, TechnicianPlan, TravelModel, suggest  # noqa: E402

SKILLS = ["hvac", "electrical", "plumbing", "refrigeration"]
CENTRE = (31.2304, 121.4737)
HORIZON_DAYS = 8  # both ours and the solver may book this far ahead when the window is full


def bench_days_dir() -> Path:
    here = Path(__file__).resolve().parents[1].parent / "shared" / "bench-days"
    return here if here.is_dir() else Path(os.environ.get("BENCH_DAYS_DIR", str(here)))


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def point_near(rng: random.Random, km: float) -> tuple[float, float]:
    d = km * rng.random() ** 1.5
    bearing = rng.uniform(0, 6.283)
    import math

    return (CENTRE[0] + d / 111.32 * math.cos(bearing),
            CENTRE[1] + d / (111.32 * math.cos(math.radians(CENTRE[0]))) * math.sin(bearing))


# ============================================================================ 1. decision latency


def scratch_app(tmp: str, name: str) -> Any:
    from flask_migrate import upgrade

    from dispatch import create_app

    os.environ["DISPATCH_INSTANCE_PATH"] = tmp
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp}/{name}.sqlite3", "SECRET_KEY": "bench", "TESTING": True,
                      "WTF_CSRF_ENABLED": False})
    import contextlib

    with app.app_context(), open(os.devnull, "w") as quiet, contextlib.redirect_stderr(quiet):
        upgrade()
    return app


def fill(app: Any, n_techs: int, n_visits: int, n_calls: int, seed: int) -> tuple[str, list[int]]:
    """Technicians working every day 07:00-21:00, visits spread over the next three days, open calls."""
    from dispatch.core.auth import issue_token
    from dispatch.core.extensions import db
    from dispatch.core.timeutil import utcnow
    from dispatch.models import RepairCall, Visit
    from dispatch.services.calls import create_call
    from dispatch.services.customers import create_customer
    from dispatch.services.sites import add_site
    from dispatch.services.users import create_user

    rng = random.Random(seed)
    with app.app_context():
        hours = [(d, time(7), time(21)) for d in range(7)]
        desk = create_user(None, username="desk", password="bench-password", name="Desk", role="dispatcher",
                           password_method="pbkdf2:sha256:1")
        techs = []
        for i in range(n_techs):
            lat, lon = point_near(rng, 30)
            techs.append(create_user(
                desk, username=f"t{i}", password="bench-password", name=f"Tech {i}", role="technician",
                skills=rng.sample(SKILLS, k=2), base_latitude=lat, base_longitude=lon, working_hours=hours,
                password_method="pbkdf2:sha256:1"))
        customer = create_customer(desk, name="Bench Customer", phone="13800000000")
        sites = []
        for _ in range(40):
            lat, lon = point_near(rng, 40)
            sites.append(add_site(desk, customer, address="bench site", latitude=lat, longitude=lon))
        db.session.flush()
        calls = [create_call(desk, customer=customer, site=rng.choice(sites), equipment=None,
                             channel="phone", problem_type="bench", priority=rng.choice(
                                 ["urgent", "high", "normal", "normal", "low"]),
                             description="bench", required_skill=rng.choice(SKILLS))
                 for _ in range(max(n_calls, 1))]
        db.session.flush()
        holders = [create_call(desk, customer=customer, site=rng.choice(sites), equipment=None,
                               channel="phone", problem_type="booked", priority="normal",
                               description="bench", required_skill=None) for _ in range(20)]
        for c in holders:
            c.status = "booked"
        db.session.flush()
        now = utcnow()
        per_tech = n_visits // max(n_techs, 1)
        serial = 0
        for t in techs:
            # per_tech one-hour visits on the hour, no two at the same time, over the next 3 days' working hours
            slots = sorted(rng.sample(range(3 * 14), k=min(per_tech, 42)))
            base_day = datetime.combine((now + timedelta(hours=8)).date(), time(0), tzinfo=UTC)
            for s in slots:
                start = base_day + timedelta(days=s // 14, hours=s % 14)  # 08:00 local = 00:00 UTC
                serial += 1
                db.session.add(Visit(call_id=rng.choice(holders).id, technician_id=t.id, slip_number=f"B-{serial}",
                                     start=start, end=start + timedelta(hours=1), status="scheduled"))
        db.session.flush()
        token, _ = issue_token(desk)
        db.session.commit()
        call_ids = [c.id for c in calls if isinstance(c, RepairCall)]
    return token, call_ids


def time_requests(client: Any, token: str, urls: list[str], repeat: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    samples = []
    for _ in range(repeat):
        for url in urls:
            t0 = clock.perf_counter()
            r = client.get(url, headers=headers)
            samples.append((clock.perf_counter() - t0) * 1000)
            if r.status_code != 200:
                raise SystemExit(f"{url}: {r.status_code} {r.get_data(as_text=True)[:300]}")
    return samples


def latency() -> None:
    print("== Decision latency: GET /api/v1/calls/{id}/suggestions, in-process (Flask test client, SQLite) ==")
    print(f"{'scenario':<40} {'p50 ms':>8} {'p95 ms':>8} {'/me p50':>8} {'/me p95':>8} {'ratio p50':>9} {'ratio p95':>9}")
    with tempfile.TemporaryDirectory() as tmp:
        for label, techs, visits, calls, repeat in (("10 technicians, 50 open calls", 10, 100, 50, 3),
                                                    ("200 technicians, 2,000 visits", 200, 2000, 20, 3)):
            app = scratch_app(tmp, f"db{techs}")
            token, call_ids = fill(app, techs, visits, calls, seed=techs)
            client = app.test_client()
            urls = [f"/api/v1/calls/{cid}/suggestions" for cid in call_ids]
            time_requests(client, token, urls[:3] + ["/api/v1/me"], 1)  # warm up
            sug = time_requests(client, token, urls, repeat)
            me = time_requests(client, token, ["/api/v1/me"], len(sug))
            p50, p95, m50, m95 = (percentile(sug, 50), percentile(sug, 95), percentile(me, 50), percentile(me, 95))
            print(f"{label:<40} {p50:8.1f} {p95:8.1f} {m50:8.2f} {m95:8.2f} {p50 / m50:8.1f}x {p95 / m95:8.1f}x")
            with app.app_context():
                from dispatch.core.extensions import db

                db.engine.dispose()
    print("target: p95 <= 200 ms for 10 technicians / 50 open calls\n")


# ============================================================================ 2. booking quality


def load_day(path: Path) -> dict[str, Any]:
    day = json.loads(path.read_text())
    tz = ZoneInfo(day["timezone"])
    day["tz"] = tz
    centre = tuple(day["service_centre"])
    for c in day["calls"]:
        c["received"] = datetime.fromisoformat(c["received_at"]).astimezone(UTC)
        remote = geodesic(centre, c["location"]).km > day["remote_radius_km"]
        c["deadline"] = c["received"] + timedelta(hours=day["remote_booking_hours"] if remote else day["booking_hours"])
    return day


def plans_of(day: dict[str, Any]) -> list[TechnicianPlan]:
    return [TechnicianPlan(id=t["id"], name=t["id"], skills=frozenset(t["skills"]), base=tuple(t["base"]),
                           hours=[(h["weekday"], time.fromisoformat(h["start"]), time.fromisoformat(h["end"]))
                                  for h in t["working_hours"]]) for t in day["technicians"]]


def route_km(plans: list[TechnicianPlan], model: TravelModel) -> float:
    total = 0.0
    for p in plans:
        by_day: dict[date, list[Stop]] = {}
        for v in p.visits:
            by_day.setdefault(v.start.astimezone(model.tz).date(), []).append(v)
        for stops in by_day.values():
            here = p.base
            for s in sorted(stops, key=lambda s: s.start):
                total += model.km(here, s.point)
                here = s.point
            total += model.km(here, p.base)
    return total


def greedy(day: dict[str, Any], model: TravelModel) -> dict[str, Any]:
    """Book the calls one by one in arrival order with the top suggestion, as a dispatcher would."""
    plans = plans_of(day)
    booked, within, infeasible = 0, 0, 0
    for c in day["calls"]:
        job = Job(point=tuple(c["location"]), duration=timedelta(minutes=c["duration_minutes"]),
                  priority=c["priority"], required_skill=c["required_skill"], deadline=c["deadline"])
        result = suggest(job, plans, model, c["received"], limit=1, horizon=c["received"] + timedelta(days=HORIZON_DAYS))
        if not result.items:
            infeasible += 1
            continue
        top = result.items[0]
        next(p for p in plans if p.id == top.technician_id).add(Stop(top.start, top.end, job.point, c["id"]))
        booked += 1
        within += top.within_deadline
    ok = booked == len(day["calls"]) and check_plans(plans, day, model)
    last = max((v.end for p in plans for v in p.visits), default=day["calls"][0]["received"])
    return {"km": route_km(plans, model), "within": within / len(day["calls"]), "feasible": ok,
            "booked": booked, "last_day": last.astimezone(model.tz).date()}


def check_plans(plans: list[TechnicianPlan], day: dict[str, Any], model: TravelModel) -> bool:
    from dispatch.scheduling.calendars import working_spans

    for p in plans:
        visits = sorted(p.visits, key=lambda v: v.start)
        for a, b in zip(visits, visits[1:], strict=False):
            if b.start < a.end:
                return False
        for v in visits:
            spans = working_spans(p.hours, v.start, v.end, model.tz)
            if not any(s <= v.start and v.end <= e for _, s, e in spans):
                return False
    return True


def solver(day: dict[str, Any], model: TravelModel, seconds: int, n_days: int) -> dict[str, Any]:
    """A batch solution of the same day: OR-Tools routing, one vehicle per technician-day, visits
    inside working hours after the call arrives, a soft upper bound at the booking deadline."""
    from ortools.constraint_solver import pywrapcp, routing_enums_pb2

    tz = day["tz"]
    calls = day["calls"]
    first = min(c["received"] for c in calls).astimezone(tz).date()
    origin = datetime.combine(first, time(0), tzinfo=tz)

    def minute(t: datetime) -> int:
        return int((t - origin).total_seconds() // 60)

    vehicles = []  # (technician, start minute, end minute)
    for t in plans_of(day):
        for d in range(n_days):
            d_date = first + timedelta(days=d)
            spans = [(s, e) for w, s, e in t.hours if w == d_date.weekday()]
            for s, e in spans:
                s_at = datetime.combine(d_date, s, tzinfo=tz)
                e_at = datetime.combine(d_date + timedelta(days=1) if e <= s else d_date, e, tzinfo=tz)
                vehicles.append((t, minute(s_at), minute(e_at)))
    n_calls = len(calls)
    points = [tuple(c["location"]) for c in calls]
    # nodes: 0..n_calls-1 calls, then one start and one end depot per vehicle
    starts = [n_calls + 2 * i for i in range(len(vehicles))]
    ends = [n_calls + 2 * i + 1 for i in range(len(vehicles))]
    node_point = points + [v[0].base for v in vehicles for _ in (0, 1)]
    manager = pywrapcp.RoutingIndexManager(len(node_point), len(vehicles), starts, ends)
    routing = pywrapcp.RoutingModel(manager)
    is_end = set(ends)

    def dist(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        return int(model.km(node_point[a], node_point[b]) * 1000)

    def transit(i: int, j: int) -> int:
        a, b = manager.IndexToNode(i), manager.IndexToNode(j)
        service = calls[a]["duration_minutes"] if a < n_calls else 0
        if b in is_end:  # the drive home may run past the working day, as in our own model
            return service
        return service + int(round(model.minutes(model.km(node_point[a], node_point[b]))))

    dist_cb = routing.RegisterTransitCallback(dist)
    routing.SetArcCostEvaluatorOfAllVehicles(dist_cb)
    time_cb = routing.RegisterTransitCallback(transit)
    horizon = (n_days + 1) * 24 * 60
    routing.AddDimension(time_cb, horizon, horizon, False, "time")
    tdim = routing.GetDimensionOrDie("time")
    for v, (_, v_start, v_end) in enumerate(vehicles):
        tdim.CumulVar(routing.Start(v)).SetRange(v_start, v_end)
        tdim.CumulVar(routing.End(v)).SetRange(v_start, v_end)
    for i, c in enumerate(calls):
        index = manager.NodeToIndex(i)
        tdim.CumulVar(index).SetMin(minute(c["received"].astimezone(tz)))
        tdim.SetCumulVarSoftUpperBound(index, minute(c["deadline"].astimezone(tz)), 100_000)
        allowed = [v for v, (t, _, _) in enumerate(vehicles) if c["required_skill"] in t.skills]
        routing.VehicleVar(index).SetValues([-1, *allowed])
        routing.AddDisjunction([index], 10**12)  # dropping a call costs more than any lateness
    params = pywrapcp.DefaultRoutingSearchParameters()
    params.first_solution_strategy = routing_enums_pb2.FirstSolutionStrategy.PATH_CHEAPEST_ARC
    params.local_search_metaheuristic = routing_enums_pb2.LocalSearchMetaheuristic.GUIDED_LOCAL_SEARCH
    params.time_limit.seconds = seconds
    solution = routing.SolveWithParameters(params)
    if solution is None:
        return {"km": float("nan"), "within": 0.0, "feasible": False, "booked": 0}
    km, booked, within = 0.0, 0, 0
    for v in range(len(vehicles)):
        index = routing.Start(v)
        stops = 0
        route_m = 0
        while not routing.IsEnd(index):
            nxt = solution.Value(routing.NextVar(index))
            route_m += dist(index, nxt)
            node = manager.IndexToNode(nxt)
            if node < n_calls:
                stops += 1
                start_at = origin + timedelta(minutes=solution.Value(tdim.CumulVar(nxt)))
                within += start_at <= calls[node]["deadline"]
            index = nxt
        if stops:
            km += route_m / 1000
            booked += stops
    return {"km": km, "within": within / n_calls, "feasible": booked == n_calls, "booked": booked}


def quality(seconds: int) -> None:
    days_dir = bench_days_dir()
    files = sorted(days_dir.glob("day-*.json"), key=lambda p: [int(x) for x in p.stem[4:].split("x")])
    print(f"== Booking quality: the days in {days_dir} ==")
    print("ours = calls booked one by one in arrival order with the top suggestion (dispatch.scheduling.ranking.suggest);")
    print(f"solver = OR-Tools routing with time windows on the whole day ({seconds} s guided local search).")
    head = (f"{'day':<14} {'km ours':>9} {'km solver':>10} {'ratio':>6} {'in window ours':>15} "
            f"{'solver':>7} {'diff pts':>8} {'feasible ours':>14} {'solver':>7}")
    print(head)
    for path in files:
        day = load_day(path)
        model = TravelModel(float(day["road_factor"]), float(day["average_speed_kmh"]), day["tz"])
        t0 = clock.perf_counter()
        ours = greedy(day, model)
        ours_ms = (clock.perf_counter() - t0) * 1000
        # the solver gets every day up to the last deadline + 1, and at least the days we used
        first = min(c["received"] for c in day["calls"]).astimezone(day["tz"]).date()
        last_deadline = max(c["deadline"] for c in day["calls"]).astimezone(day["tz"]).date()
        n_days = max((ours["last_day"] - first).days + 1, (last_deadline - first).days + 2)
        best = solver(day, model, seconds, n_days)
        ratio = ours["km"] / best["km"] if best["km"] else float("nan")
        diff = (ours["within"] - best["within"]) * 100
        print(f"{path.stem[4:]:<14} {ours['km']:9.1f} {best['km']:10.1f} {ratio:6.2f} {ours['within']:14.1%} "
              f"{best['within']:7.1%} {diff:+8.1f} {('100 %' if ours['feasible'] else 'NO (' + str(ours['booked']) + ')'):>14} "
              f"{('100 %' if best['feasible'] else 'NO (' + str(best['booked']) + ')'):>7}"
              f"   ({ours_ms:.0f} ms for all our decisions)")
    print("targets: travel <= 1.15x the solver's, within-window share within 2 points, 100 % feasible")


if __name__ == "__main__":
    latency()
    quality(int(os.environ.get("BENCH_SOLVER_SECONDS", "30")))
