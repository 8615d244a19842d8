"""Dispatch slip rendering: one slip, a 50-slip day, memory over 500 renders (prints, never asserts).

Each figure stands beside a minimal one-line WeasyPrint document rendered in the same run, so the
ratios say what the slip costs on this machine whatever its speed or load. Wall time and CPU time
(process_time) are both printed: on a shared, busy machine the CPU time is the steadier one.

    .venv/bin/python bench/bench_slips.py [--renders 500]

Targets (issue 4): slip median <= 100 ms, a batch of 50 <= 3 s, memory growth <= 10 %.
"""

from __future__ import annotations

import argparse
import gc
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from dispatch import create_app  # noqa: E402
from dispatch.core import pdf  # noqa: E402
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
    args = parser.parse_args()

    instance = tempfile.mkdtemp(prefix="bench-slips-")
    os.environ.setdefault("DISPATCH_INSTANCE_PATH", instance)
    app = create_app({"DATABASE_URL": f"sqlite:///{instance}/bench.sqlite3", "SECRET_KEY": "bench",
                      "PUBLIC_BASE_URL": "https://service.example.cn"})
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


if __name__ == "__main__":
    main()
