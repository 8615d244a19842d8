"""Booking bench (prints, never asserts): decision latency of the suggestions, and booking quality on the
fixed days of ../shared/bench-days and on days generated from other seeds: the replay of each day
(bench/replay_day.py) against OR-Tools batch references that know the whole day in advance (bench/days.py).

Run: .venv/bin/python bench/bench_booking.py   (or `make bench`).
Quicker: BENCH_SOLVER_SECONDS=5 (the references' budget, default 30), BENCH_REPLAN_SECONDS (the replay's
re-planning budget, default the product's), BENCH_SKIP_LATENCY=1. The references are cached in
BENCH_CACHE_DIR (default: the system's temporary directory) by day, budget and price. BENCH_ROOM_SECONDS:
an experiment, the replay books make-room placements (optimise.insert_with_room; default 0, off, as the
product).
"""

from __future__ import annotations

import os
import random
import sys
import tempfile
import time as clock
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

SKILLS = ["hvac", "electrical", "plumbing", "refrigeration"]
CENTRE = (31.2304, 121.4737)


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
                                     start=start, end=start + timedelta(hours=1), status="scheduled",
                                     additional=True))  # a few holder calls carry many visits
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


def quality(seconds: float) -> None:
    """The replay of each day (bench/replay_day.py: booked one by one, re-planned after each booking as the
    product does) against two OR-Tools batch references that know the whole day in advance."""
    from days import (
        fixed_days,
        generated_days,
        load_day,
        on_time_share,
        plans_of,
        reference,
        scheduled_of,
        travel_model,
    )
    from replay_day import ReplayStats, export_rows, replay

    from dispatch.scheduling.optimise import REPLAN_SECONDS_AFTER_BOOKING, schedule_km
    from dispatch.scheduling.rules import check_schedule

    replan_seconds = float(os.environ.get("BENCH_REPLAN_SECONDS", REPLAN_SECONDS_AFTER_BOOKING))
    soft_price = float(os.environ.get("BENCH_SOFT_KM_PER_MINUTE", "0.5"))
    room_seconds = float(os.environ.get("BENCH_ROOM_SECONDS", "0"))  # an experiment: the product has none yet
    print("== Booking quality: replay of each day against the OR-Tools batch references ==")
    print(f"ours = calls revealed at received_at, booked with the top suggestion and a promised window, every "
          f"visit not yet started re-planned after each booking ({replan_seconds:g} s budget);")
    print(f"ref  = OR-Tools on the whole day known in advance ({seconds:g} s guided local search): hard = "
          f"deadlines kept wherever possible, soft = {soft_price:g} km per minute late. All under the same "
          f"rules (rules.check_schedule).")
    head = (f"{'day':<14} {'km ours':>8} {'hard':>8} {'ratio':>6} {'soft':>8} {'ratio':>6} {'on time ours':>12} "
            f"{'hard':>6} {'soft':>6} {'diff':>6} {'viol':>4} {'ref viol':>8} {'replans':>7} {'max s':>6}")
    print(head)
    with tempfile.TemporaryDirectory() as tmp:
        paths = fixed_days() + generated_days(tmp)
        ratios, diffs, problems = [], [], []
        for path in paths:
            day = load_day(path)
            model = travel_model(day)
            plans = plans_of(day)
            stats = ReplayStats()
            t0 = clock.perf_counter()
            ours = export_rows(day, replay(day, replan_seconds=replan_seconds, room_seconds=room_seconds,
                                           stats=stats))
            took = clock.perf_counter() - t0
            hard = reference(day, seconds)
            soft = reference(day, seconds, late_km_per_minute=soft_price)
            figures = {}
            for name, rows in (("ours", ours), ("hard", hard), ("soft", soft)):
                visits = scheduled_of(day, rows)
                violations = check_schedule(plans, visits, model)
                missing = len(day["calls"]) - len(rows)
                figures[name] = (schedule_km(plans, visits, model), on_time_share(day, rows), violations, missing)
                for v in violations:
                    problems.append(f"{day['name']} {name}: {v.code} {v.detail}")
                if missing:
                    problems.append(f"{day['name']} {name}: {missing} calls not booked")
            km, on_time, viol, _ = figures["ours"]
            ratio, diff = km / figures["hard"][0], (on_time - figures["hard"][1]) * 100
            ratios.append(ratio)
            diffs.append(diff)
            print(f"{day['name']:<14} {km:8.1f} {figures['hard'][0]:8.1f} {ratio:6.2f} {figures['soft'][0]:8.1f} "
                  f"{km / figures['soft'][0]:6.2f} {on_time:12.1%} {figures['hard'][1]:6.1%} {figures['soft'][1]:6.1%} "
                  f"{diff:+6.1f} {len(viol) + figures['ours'][3]:4d} "
                  f"{sum(len(figures[r][2]) + figures[r][3] for r in ('hard', 'soft')):8d} {stats.replans:7d} "
                  f"{stats.max_replan_seconds:6.2f}   ({took:.0f} s)")
    print(f"median km ratio ours/hard: {percentile(ratios, 50):.2f}; on-time diff (points): "
          f"median {percentile(diffs, 50):+.1f}, worst {min(diffs):+.1f}")
    print("targets: zero violations; km <= 1.15x the hard reference on the median day; on time within 2 points")
    for line in problems:
        print("  violation:", line)
    replan_day()


def replan_day() -> None:
    """One re-plan of a whole 100-call, 10-technician day, every visit movable, on the on-demand budget."""
    from days import fixed_days, load_day, plans_of, travel_model
    from replay_day import Booked, replay

    from dispatch.scheduling.optimise import REPLAN_SECONDS_ON_DEMAND, MovableVisit, replan

    path = next((p for p in fixed_days() if p.stem == "day-100x10"), None)
    if path is None:
        return
    day = load_day(path)
    model = travel_model(day)
    booked: list[Booked] = replay(day, replan_seconds=0)  # booked one by one, never re-planned
    first = day["calls"][0]["received"]
    movable = [MovableVisit(id=b.call["id"], point=tuple(b.call["location"]),
                            duration=timedelta(minutes=b.call["duration_minutes"]),
                            required_skill=b.call["required_skill"], window_start=b.window_start,
                            window_end=b.window_end, technician_id=b.technician_id, start=b.start,
                            received_at=b.call["received"], deadline=b.call["deadline"]) for b in booked]
    result = replan(plans_of(day), movable, model, time_limit_seconds=REPLAN_SECONDS_ON_DEMAND, now=first)
    print(f"== Re-plan of the 100x10 day (booked without re-planning, then all {len(movable)} visits at once, "
          f"{REPLAN_SECONDS_ON_DEMAND:g} s budget): {result.status} in {result.seconds:.1f} s, km "
          f"{result.km_before:.1f} -> {result.km_after:.1f}, late {result.late_before} -> {result.late_after}, "
          f"{len(result.moves)} moves, {len(result.violations_after)} violations (target: within 10 s)")


if __name__ == "__main__":
    if os.environ.get("BENCH_SKIP_LATENCY") != "1":
        latency()
    quality(float(os.environ.get("BENCH_SOLVER_SECONDS", "30")))
