"""Page bench (issue 16; prints, never asserts): server-side latency p50/p95 and SQL statements per request of the
pages people open all day, each beside the trivial GET /api/v1/me measured in the same run, at 10 thousand and at
1 million calls.

Run: .venv/bin/python bench/bench_pages.py                      (10k and 1M on PostgreSQL, else SQLite)
     .venv/bin/python bench/bench_pages.py --sizes 10000         (quick)
     .venv/bin/python bench/bench_pages.py --engines both --requests 50 --json bench/out/pages.json

The databases are generated once (`flask bench-data`) and reused (bench/benchdb.py). Requests go through the
app in this process (Flask's test client: no network, no server), one at a time, after one warm-up request;
each endpoint gets --requests requests or --budget seconds, whichever comes first (at least 2).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import asdict, dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import benchdb  # noqa: E402

PASSWORD = "bench-password"


@dataclass
class Figure:
    engine: str
    size: int
    page: str
    url: str
    requests: int
    p50_ms: float
    p95_ms: float
    statements: int
    kbytes: float
    status: int
    trivial_p50_ms: float = 0.0

    @property
    def ratio(self) -> float:
        return self.p50_ms / self.trivial_p50_ms if self.trivial_p50_ms else float("nan")


def targets(app: Any) -> dict[str, Any]:
    """What the pages are opened on: a phone, a call number and a name to search, a call with history, a waiting
    call, the technician with the most visits today, last month."""
    from sqlalchemy import text

    from dispatch.core.extensions import db
    from dispatch.core.timeutil import local_today
    from dispatch.scheduling.visits import day_window

    with app.app_context():
        one = db.session.execute
        top = one(text("SELECT max(id) FROM repair_calls")).scalar() or 0
        call_id, number, phone, name = one(text(
            "SELECT c.id, c.number, cu.phone, cu.name FROM repair_calls c JOIN customers cu ON cu.id = c.customer_id "
            "WHERE c.status = 'closed' AND c.id <= :half ORDER BY c.id DESC LIMIT 1"), {"half": top // 2}).one()
        waiting = one(text("SELECT id FROM repair_calls WHERE status = 'new' AND on_site ORDER BY received_at DESC LIMIT 1")
                      ).scalar()
        start, end = day_window(local_today())
        tech = one(text("SELECT u.username FROM visits v JOIN users u ON u.id = v.technician_id "
                        "WHERE v.start >= :a AND v.start < :b AND v.status <> 'cancelled' "
                        "GROUP BY u.username ORDER BY count(*) DESC, u.username LIMIT 1"),
                   {"a": start, "b": end}).scalar() or "bench.tech001"
        db.session.remove()
    first = (local_today().replace(day=1) - timedelta(days=1)).replace(day=1)
    last = local_today().replace(day=1) - timedelta(days=1)
    word = name.split()[0][:6] if " " in name else name[:4]
    return {"call_id": call_id, "number": number, "phone": phone, "name": word, "waiting": waiting, "tech": tech,
            "month": (first.isoformat(), last.isoformat())}


def endpoints(t: dict[str, Any]) -> list[tuple[str, str, str, bool]]:
    """(page, user, url, API with a token)."""
    frm, to = t["month"]
    pages = [
        ("desk home", "bench.dispatcher", "/", False),
        ("calls list", "bench.dispatcher", "/calls", False),
        ("calls list: open, urgent", "bench.dispatcher", "/calls?status=open&priority=urgent", False),
        ("calls list: closed, charged, normal", "bench.dispatcher",
         "/calls?status=closed&category=charged&priority=normal", False),
        ("calls search: phone", "bench.dispatcher", f"/calls?q={t['phone']}", False),
        ("calls search: call number", "bench.dispatcher", f"/calls?q={t['number']}", False),
        ("calls search: name", "bench.dispatcher", f"/calls?q={t['name']}", False),
        ("API calls list", "bench.dispatcher", "/api/v1/calls", True),
        ("API calls search: phone", "bench.dispatcher", f"/api/v1/calls?q={t['phone']}", True),
        ("call page", "bench.dispatcher", f"/calls/{t['call_id']}", False),
        ("board: day", "bench.dispatcher", "/board", False),
        ("board: week", "bench.dispatcher", "/board?view=week", False),
        ("technician's today", t["tech"], "/t/", False),
        ("workshop board", "bench.dispatcher", "/t/workshop", False),
        ("finance: to invoice", "bench.finance", "/billing/to-invoice", False),
        ("KPI report: last month", "bench.manager", f"/reports/?from={frm}&to={to}", False),
        ("API KPIs: last month", "bench.manager", f"/api/v1/reports/kpis?from={frm}&to={to}", True),
    ]
    if t["waiting"]:
        pages.append(("suggestions for a call", "bench.dispatcher", f"/api/v1/calls/{t['waiting']}/suggestions",
                      True))
    return pages


def measure(engine: str, size: int, url: str, requests: int, budget: float) -> list[Figure]:
    from sqlalchemy import event

    from dispatch import create_app
    from dispatch.core.extensions import db

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench", "WTF_CSRF_ENABLED": False,
                      "DEFAULT_LOCALE": "en", "TIMEZONE": "Asia/Shanghai"})
    app.logger.disabled = True  # a page that fails shows as its HTTP status in the table, not as a traceback
    t = targets(app)
    statements = [0]
    with app.app_context():
        engine_ = db.engine

    def count(*_args: Any) -> None:
        statements[0] += 1

    event.listen(engine_, "before_cursor_execute", count)
    sessions: dict[str, Any] = {}
    tokens: dict[str, str] = {}

    def client_for(user: str, api: bool) -> tuple[Any, dict[str, str]]:
        if api:
            if user not in tokens:
                answer = app.test_client().post("/api/v1/auth/token", json={"username": user, "password": PASSWORD})
                tokens[user] = answer.get_json()["token"]
            return app.test_client(), {"Authorization": f"Bearer {tokens[user]}"}
        if user not in sessions:
            client = app.test_client()
            answer = client.post("/login", data={"username": user, "password": PASSWORD})
            if answer.status_code not in (302, 303):
                raise SystemExit(f"cannot log in as {user}: HTTP {answer.status_code}")
            sessions[user] = client
        return sessions[user], {}

    def run(page: str, user: str, path: str, api: bool) -> Figure:
        client, headers = client_for(user, api)
        statements[0] = 0
        warm = time.perf_counter()
        response = client.get(path, headers=headers)
        warm = time.perf_counter() - warm
        times: list[float] = []
        counts: list[int] = []
        size_bytes = len(response.get_data())
        if warm > budget:  # one request is over the budget: that one is the figure (n = 1)
            times, counts = [warm * 1000], [statements[0]]
        began = time.perf_counter()
        while not (warm > budget) and len(times) < requests and (
                len(times) < 2 or time.perf_counter() - began < budget):
            statements[0] = 0
            at = time.perf_counter()
            response = client.get(path, headers=headers)
            times.append((time.perf_counter() - at) * 1000)
            counts.append(statements[0])
        return Figure(engine, size, page, path, len(times), benchdb.median(times), benchdb.percentile(times, 95),
                      int(benchdb.median([float(c) for c in counts])), size_bytes / 1024, response.status_code)

    trivial = ("trivial: GET /api/v1/me", "bench.dispatcher", "/api/v1/me", True)
    figures = [run(*trivial)]
    for spec in endpoints(t):
        figures.append(run(*spec))
        print(f"   {figures[-1].page:<38} p50 {figures[-1].p50_ms:8.1f} ms", flush=True)
    again = run(*trivial)  # the trivial endpoint again at the end: the machine's drift over the run
    base = benchdb.median([figures[0].p50_ms, again.p50_ms])
    figures[0].p50_ms, figures[0].p95_ms = base, max(figures[0].p95_ms, again.p95_ms)
    for f in figures:
        f.trivial_p50_ms = base
    event.remove(engine_, "before_cursor_execute", count)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return figures


def table(figures: list[Figure]) -> str:
    head = f"{'page':<38} {'p50 ms':>8} {'p95 ms':>8} {'x me':>7} {'SQL':>5} {'KB':>7} {'HTTP':>5} {'n':>4}"
    lines = [head, "-" * len(head)]
    for f in figures:
        lines.append(f"{f.page:<38} {f.p50_ms:8.1f} {f.p95_ms:8.1f} {f.ratio:7.1f} {f.statements:5d} "
                     f"{f.kbytes:7.1f} {f.status:5d} {f.requests:4d}")
    return "\n".join(lines)


def growth(small: list[Figure], large: list[Figure]) -> str:
    """p95 at the large size over p95 at the small one (issue 16's target: within 1.5x)."""
    by_page = {f.page: f for f in small}
    lines = [f"{'page':<38} {'p95 small':>10} {'p95 large':>10} {'growth':>7}"]
    for f in large:
        s = by_page.get(f.page)
        if s is not None:
            lines.append(f"{f.page:<38} {s.p95_ms:10.1f} {f.p95_ms:10.1f} {f.p95_ms / s.p95_ms:6.1f}x")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000", help="calls per database, comma-separated")
    parser.add_argument("--engines", default="auto", choices=("auto", "postgresql", "sqlite", "both"))
    parser.add_argument("--requests", type=int, default=30, help="timed requests per page (at most)")
    parser.add_argument("--budget", type=float, default=10.0, help="seconds per page (at most, at least 2 requests)")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
    print(f"Page bench (server-side, one request at a time). {benchdb.machine_note()}")
    out: list[Figure] = []
    for engine in benchdb.engines(args.engines):
        by_size: dict[int, list[Figure]] = {}
        for size in sizes:
            print(f"\n== {engine}, {size:,} calls", flush=True)
            url, generated = benchdb.ensure(engine, size)
            began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            figures = measure(engine, size, url, args.requests, args.budget)
            by_size[size] = figures
            out.extend(figures)
            made = f"generated in {generated:.0f} s" if generated is not None else "database reused"
            print(f"\n{engine}, {size:,} calls ({made}; measured {began}):\n{table(figures)}", flush=True)
        if len(sizes) > 1:
            print(f"\n{engine}: p95 at {sizes[-1]:,} calls against {sizes[0]:,}\n"
                  f"{growth(by_size[sizes[0]], by_size[sizes[-1]])}")
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps([{**asdict(f), "ratio": f.ratio} for f in out], indent=1))
        print(f"\nfigures written to {args.json}")


if __name__ == "__main__":
    main()
