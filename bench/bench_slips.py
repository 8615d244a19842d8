"""Dispatch slip rendering: one slip, a 50-slip day, memory over 500 renders (prints, never asserts).

Each figure stands beside a minimal one-line WeasyPrint document rendered in the same run, so the
ratios say what the slip costs on this machine whatever its speed or load. Wall time and CPU time
(process_time) are both printed: on a shared, busy machine the CPU time is the steadier one.

Then the slips as they are served (issue 16), through the API on a database of 50 booked visits:
one slip rendered (nothing stored: cold) and served stored (warm), the day's 50 cold (laid out in the
render pool of SLIP_RENDER_PROCESSES processes, and without the pool) and warm (all stored), and how long
the background warming takes after a reschedule commits.

    .venv/bin/python bench/bench_slips.py [--renders 500] [--database-url URL]

Targets (issue 4, issue 16): slip median <= 100 ms, a batch of 50 <= 3 s wall, memory growth <= 10 %.
"""

from __future__ import annotations

import argparse
import gc
import logging
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatch import create_app  # noqa: E402
from dispatch.core import pdf  # noqa: E402
from dispatch.core.pdf_fonts import subset_path  # noqa: E402
from dispatch.slips.data import Company, SlipData  # noqa: E402
from dispatch.slips.documents import render_slip, render_slips  # noqa: E402

SLIP_TARGET_MS = 100.0
BATCH_TARGET_S = 3.0
MEMORY_TARGET_PCT = 10.0


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def timed(fn: Callable[[], object], runs: int) -> tuple[float, float]:
    """Median wall and CPU seconds of `runs` calls (after one warm-up call)."""
    fn()
    walls, cpus = [], []
    for _ in range(runs):
        w, c = time.perf_counter(), time.process_time()
        fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return statistics.median(walls), statistics.median(cpus)


def sample_slip(i: int = 1) -> SlipData:
    return SlipData(
        visit_id=i, slip_number=f"VS-2026-{i:06d}", qr_url=f"https://service.example.cn/t/visits/{i}",
        company=Company("Huadong After-Sales Service Co.", "1 Century Avenue, Pudong, Shanghai", "021-5888 0000"),
        call_number=f"SC-2026-{i:06d}", received_at=datetime(2026, 11, 23, 1, 12, tzinfo=UTC), category="contract",
        category_reason="contract: covered by HT-2026-0815 until 2027-06-30 (parts charged)", priority="high",
        customer_name="上海测试设备有限公司", contact_name="王小明", phone="13812345678",
        site_address="上海市浦东新区世纪大道100号 (100 Century Avenue, Pudong)", equipment_model="Carrier 30XA",
        equipment_serial=f"SN-{i:05d}", problem_type="not cooling",
        description="Unit blows warm air since this morning; the display shows E4. Customer reports a rattling "
                    "noise from the outdoor fan. 机组不制冷，显示E4。",
        window_start=datetime(2026, 11, 23, 6, 0, tzinfo=UTC), window_end=datetime(2026, 11, 23, 8, 0, tzinfo=UTC),
        technician_name="Tom Technician", channel="phone")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=25, help="renders timed for each single-document median")
    parser.add_argument("--batch-runs", type=int, default=3)
    parser.add_argument("--renders", type=int, default=500, help="renders for the memory figure")
    parser.add_argument("--database-url", help="an empty database for the served figures (default: SQLite in a "
                                               "temporary directory); its tables are made by the migrations")
    parser.add_argument("--processes", type=int, default=2, help="SLIP_RENDER_PROCESSES for the served figures")
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="bench-slips-")
    os.environ.setdefault("DISPATCH_INSTANCE_PATH", instance)
    app = create_app({"DATABASE_URL": args.database_url or f"sqlite:///{instance}/bench.sqlite3",
                      "SECRET_KEY": "bench", "PUBLIC_BASE_URL": "https://service.example.cn", "GEOCODER": "offline",
                      "SLIP_WARM": False, "SLIP_RENDER_PROCESSES": args.processes})
    with app.app_context(), app.test_request_context():
        t0 = time.perf_counter()
        weasyprint = pdf._weasyprint()
        font_config = pdf.font_config()
        import_s = time.perf_counter() - t0

        def minimal() -> bytes:
            return weasyprint.HTML(string="<p>Hello, world.</p>").write_pdf(font_config=font_config)

        slip = sample_slip()
        batch = [sample_slip(i) for i in range(1, 51)]
        first = time.perf_counter()
        render_slip(slip)
        first_s = time.perf_counter() - first

        min_wall, min_cpu = timed(minimal, args.runs)
        slip_wall, slip_cpu = timed(lambda: render_slip(slip), args.runs)
        batch_wall, batch_cpu = timed(lambda: render_slips(batch), args.batch_runs)

        print(f"weasyprint import + font set-up (once per process): {import_s * 1000:.0f} ms; "
              f"first slip: {first_s * 1000:.0f} ms")
        subset = subset_path(app.config)
        print(f"CJK font: {'subset ' + str(subset) if subset else 'the full Noto Sans CJK (no subset built: make fonts)'}"
              " (CJK_FONT_SUBSET=/nonexistent measures without it)")
        _, qr_cpu = timed(lambda: pdf.qr_svg.__wrapped__(slip.qr_url), args.runs)
        print(f"QR code of a slip, cpu: {qr_cpu * 1000:.1f} ms made, ~0 cached (functools.lru_cache by URL)")
        print(f"{'':28} {'wall median':>12} {'cpu median':>12} {'x minimal (cpu)':>16}")
        print(f"{'minimal one-line document':28} {min_wall * 1000:10.1f}ms {min_cpu * 1000:10.1f}ms {1:>15.1f}x")
        print(f"{'one slip':28} {slip_wall * 1000:10.1f}ms {slip_cpu * 1000:10.1f}ms "
              f"{slip_cpu / min_cpu:>15.1f}x")
        print(f"{'batch of 50 slips':28} {batch_wall:11.2f}s {batch_cpu:11.2f}s {batch_cpu / min_cpu:>15.1f}x"
              f"   ({batch_wall / 50 * 1000:.0f} ms wall per slip)")
        print(f"target slip median <= {SLIP_TARGET_MS:.0f} ms: wall {slip_wall * 1000:.0f} ms "
              f"({'met' if slip_wall * 1000 <= SLIP_TARGET_MS else 'MISSED'}), cpu {slip_cpu * 1000:.0f} ms "
              f"({'met' if slip_cpu * 1000 <= SLIP_TARGET_MS else 'MISSED'})")
        print(f"target batch of 50 <= {BATCH_TARGET_S:.0f} s: wall {batch_wall:.2f} s "
              f"({'met' if batch_wall <= BATCH_TARGET_S else 'MISSED'}), cpu {batch_cpu:.2f} s "
              f"({'met' if batch_cpu <= BATCH_TARGET_S else 'MISSED'})")

        # Where a slip's time goes: HTML parse + style + layout, then drawing + fonts + PDF.
        from flask import render_template

        html = render_template("pdf/slip.html", items=[slip], title="Dispatch slip", qr_svg=pdf.qr_svg)
        fetcher = pdf.static_fetcher(app.static_folder or "")
        sheet = pdf._stylesheet(app.static_folder or "", "css/print.css", fetcher)

        def layout() -> object:
            return weasyprint.HTML(string=html, base_url=pdf.DOCUMENT_ORIGIN + "/",
                                   url_fetcher=fetcher).render(stylesheets=[sheet], font_config=font_config)

        laid_out = layout()
        _, layout_cpu = timed(layout, args.runs)
        _, write_cpu = timed(lambda: laid_out.write_pdf(), args.runs)  # type: ignore[attr-defined]
        print(f"one slip, cpu: layout {layout_cpu * 1000:.0f} ms + PDF writing (fonts subset) "
              f"{write_cpu * 1000:.0f} ms")

        # Memory: RSS after a warm-up, then after N more renders (each a different slip, as in real use).
        for i in range(20):
            render_slip(replace(slip, slip_number=f"VS-2026-{i:06d}"))
        gc.collect()
        before = rss_mb()
        for i in range(args.renders):
            render_slip(replace(slip, slip_number=f"VS-2027-{i:06d}", print_count=i % 3 + 1))
        gc.collect()
        after = rss_mb()
        growth = (after - before) / before * 100
        print(f"memory over {args.renders} renders: RSS {before:.1f} MB -> {after:.1f} MB, growth {growth:+.1f} % "
              f"(target <= {MEMORY_TARGET_PCT:.0f} %: {'met' if growth <= MEMORY_TARGET_PCT else 'MISSED'})")

    served(app, args.runs, args.batch_runs, args.processes, (slip_cpu, batch_wall, batch_cpu))


# ----------------------------------------------------------------------------- served (issue 16)


def children_cpu(pids: list[int]) -> list[float]:
    """CPU seconds (user + system) each render process has used so far."""
    seconds = []
    for pid in pids:
        with open(f"/proc/{pid}/stat") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        seconds.append((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))  # utime, stime
    return seconds


def book_day(app: Any, day: date, visits: int = 50) -> tuple[Any, list[Any]]:
    """A dispatcher, 5 technicians and `visits` booked visits on `day`, by the services."""
    from dispatch.core.extensions import db
    from dispatch.core.timeutil import local_tz
    from dispatch.scheduling.booking import book_visit
    from dispatch.services.calls import create_call
    from dispatch.services.customers import add_equipment, create_customer
    from dispatch.services.sites import add_site
    from dispatch.services.users import create_user

    desk = create_user(None, username="bench-desk", password="bench-password-16", name="Bench Desk",
                       role="dispatcher", password_method="pbkdf2:sha256:1")
    techs = [create_user(None, username=f"bench-tech{n}", password="bench-password-16", name=f"技师{n}",
                         role="technician", password_method="pbkdf2:sha256:1") for n in range(5)]
    db.session.commit()
    booked = []
    for i in range(visits):
        tech, hour = techs[i % len(techs)], 7 + i // len(techs)
        customer = create_customer(desk, name=f"上海测试设备有限公司{i}", phone="13812345678", contact_name="王小明",
                                   confirm_duplicate=True)
        site = add_site(desk, customer, address=f"上海市浦东新区世纪大道{100 + i}号", latitude=31.2304,
                        longitude=121.4737)
        equipment = add_equipment(desk, customer, site, model="Carrier 30XA", serial_number=f"SN-{i:05d}",
                                  warranty_until=None)
        call = create_call(desk, customer=customer, site=site, equipment=equipment, channel="phone",
                           problem_type="not cooling", priority="high",
                           description="Unit blows warm air since this morning; the display shows E4. 机组不制冷。")
        start = datetime(day.year, day.month, day.day, hour, tzinfo=local_tz()).astimezone(UTC)
        booked.append(book_visit(desk, call, tech, start, start + timedelta(minutes=50),
                                 override_reason="客户要求下周上门", customer_requested=True))
        db.session.commit()
    return desk, booked


def served(app: Any, runs: int, batch_runs: int, processes: int, previous: tuple[float, float, float]) -> None:
    from flask_migrate import upgrade
    from sqlalchemy import delete

    from dispatch.core.auth import issue_token
    from dispatch.core.extensions import db
    from dispatch.core.models import User
    from dispatch.models import Visit
    from dispatch.scheduling.booking import reschedule_visit
    from dispatch.slips import pool, warm
    from dispatch.slips.store import SlipPdf

    day = date.today() + timedelta(days=7)
    logging.basicConfig(level=logging.WARNING)  # the migrations' own log lines: not the bench's
    with app.app_context():
        upgrade()
        desk, visits = book_day(app, day)
        token, _ = issue_token(desk)
        db.session.commit()
        desk_id, visit_ids = desk.id, [v.id for v in visits]
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}

    def forget(ids: list[int] | None = None) -> None:
        with app.app_context():
            db.session.execute(delete(SlipPdf).where(SlipPdf.visit_id.in_(ids or visit_ids)))
            db.session.commit()

    def get(url: str, expect: str | None = None) -> Any:
        r = client.get(url, headers=headers)
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        if expect is not None:
            assert r.headers.get("X-Slip-Source", r.headers.get("X-Slip-Stored")) == expect, dict(r.headers)
        return r

    one = f"/api/v1/visits/{visit_ids[0]}/slip.pdf"
    batch = f"/api/v1/slips.pdf?date={day.isoformat()}"

    def cold_one() -> None:
        forget([visit_ids[0]])
        get(one, "rendered")

    def timed_cold(fn: Callable[[], object], n: int,
                   prepare: Callable[[], object]) -> tuple[float, float, float, float]:
        """Medians of: wall, CPU here, CPU in the render processes, and the critical path (CPU here plus
        that of the busiest render process: the wall time on cores nobody else uses), each run after
        `prepare` (untimed)."""
        walls, cpus, pool_cpus, paths = [], [], [], []
        for _ in range(n):
            prepare()
            pids = pool.worker_pids()
            k0 = children_cpu(pids)
            w, c = time.perf_counter(), time.process_time()
            fn()
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
            used = [after - before for before, after in zip(k0, children_cpu(pids), strict=True)]
            pool_cpus.append(sum(used))
            paths.append(cpus[-1] + max(used, default=0.0))
        return (statistics.median(walls), statistics.median(cpus), statistics.median(pool_cpus),
                statistics.median(paths))

    get(one)  # first request: imports, fonts, catalogues
    cold = timed_cold(lambda: get(one, "rendered"), runs, lambda: forget([visit_ids[0]]))
    warm_one = timed_cold(lambda: get(one, "stored"), runs, lambda: None)

    with app.test_request_context():
        t0 = time.perf_counter()
        pool.executor()
        pids = pool.worker_pids()
        pool.render(["<p>ping</p>"] * len(pids), ["css/print.css"])  # every process started and warm
        pool_start = time.perf_counter() - t0
    batch_cold = timed_cold(lambda: get(batch, "0"), batch_runs, forget)
    app.config["SLIP_RENDER_PROCESSES"] = 0
    batch_here = timed_cold(lambda: get(batch, "0"), batch_runs, forget)
    app.config["SLIP_RENDER_PROCESSES"] = processes
    for visit_id in visit_ids:
        get(f"/api/v1/visits/{visit_id}/slip.pdf")
    batch_warm = timed_cold(lambda: get(batch, "50"), max(batch_runs, 5), lambda: None)
    size_kb = len(get(batch).data) / 1024

    # The warming: a reschedule commits; the slip is rendered and stored in the background.
    app.config["SLIP_WARM"] = True
    with app.test_request_context():
        visit = db.session.get(Visit, visit_ids[0])
        actor = db.session.get(User, desk_id)
        assert visit is not None and actor is not None
        t0 = time.perf_counter()
        reschedule_visit(actor, visit, start=visit.start + timedelta(minutes=5), end=visit.end + timedelta(minutes=5),
                         override_reason="客户要求改时间", customer_requested=True)
        db.session.commit()
        committed = time.perf_counter() - t0
        warm.wait_idle(60)
        warmed = time.perf_counter() - t0
        db.session.remove()
    app.config["SLIP_WARM"] = False
    after_warm = get(one).headers["X-Slip-Source"]
    pool.shutdown()

    slip_cpu, batch_wall, batch_cpu = previous
    ms = 1000
    print()
    print(f"served through the API ({app.config['DATABASE_URL'].split(':', 1)[0]}, 50 visits booked, "
          f"SLIP_RENDER_PROCESSES={processes}, render pool started and warm in {pool_start:.1f} s)")
    print(f"{'':34} {'wall median':>12} {'cpu median':>12} {'pool cpu':>10} {'critical':>10}   "
          "before (rendered in the request)")
    print(f"{'one slip, cold (rendered, stored)':34} {cold[0] * ms:10.1f}ms {cold[1] * ms:10.1f}ms {'':>21}   "
          f"cpu {slip_cpu * ms:.0f} ms (render above)")
    print(f"{'one slip, warm (served stored)':34} {warm_one[0] * ms:10.1f}ms {warm_one[1] * ms:10.1f}ms {'':>21}   "
          f"target <= {SLIP_TARGET_MS:.0f} ms: {'met' if warm_one[1] * ms <= SLIP_TARGET_MS else 'MISSED'} (cpu)")
    print(f"{'batch of 50, cold, render pool':34} {batch_cold[0]:11.2f}s {batch_cold[1]:11.2f}s "
          f"{batch_cold[2]:9.2f}s {batch_cold[3]:9.2f}s   wall {batch_wall:.2f} s / cpu {batch_cpu:.2f} s (render above)")
    print(f"{'batch of 50, cold, no pool':34} {batch_here[0]:11.2f}s {batch_here[1]:11.2f}s {'':>10} "
          f"{batch_here[3]:9.2f}s")
    print(f"{'batch of 50, warm (all stored)':34} {batch_warm[0]:11.2f}s {batch_warm[1]:11.2f}s {'':>21}   "
          f"{size_kb:.0f} KB")
    print("critical = cpu in the app + cpu of the busiest render process: the wall time on otherwise idle cores "
          f"(load average now {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"target batch of 50 <= {BATCH_TARGET_S:.0f} s wall: cold with the pool {batch_cold[0]:.2f} s "
          f"({'met' if batch_cold[0] <= BATCH_TARGET_S else 'MISSED'}; critical path {batch_cold[3]:.2f} s), "
          f"warm {batch_warm[0]:.2f} s ({'met' if batch_warm[0] <= BATCH_TARGET_S else 'MISSED'})")
    print(f"warming after a reschedule: committed in {committed * ms:.0f} ms, slip stored {warmed * ms:.0f} ms after "
          f"the change began; the next GET: {after_warm}")


if __name__ == "__main__":
    main()
