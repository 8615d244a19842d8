"""Throughput bench (issue 16; prints, never asserts): gunicorn with 2 workers on the bench database, `wrk` from a
separate process, each endpoint as a share of the trivial GET /api/v1/me measured in the same run.

Run: .venv/bin/python bench/bench_wrk.py                          (10k and 1M on PostgreSQL, else SQLite)
     .venv/bin/python bench/bench_wrk.py --sizes 10000 --duration 5

Needs wrk (Debian package `wrk`; `make bench` installs it). wrk and gunicorn share this machine's cores, so the
absolute figures understate a real server; the shares of the trivial endpoint are the comparable figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "bench"))

import benchdb  # noqa: E402

PASSWORD = "bench-password"
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """gunicorn -w 2 on a free port, for the database at `url`."""

    def __init__(self, url: str, workers: int) -> None:
        self.port = free_port()
        env = {**benchdb.environment(url), "FLASK_DEBUG": "0"}
        self.process = subprocess.Popen(
            [GUNICORN, "-w", str(workers), "-b", f"127.0.0.1:{self.port}", "--log-level", "warning",
             "--timeout", "300", "dispatch:create_app()"], env=env, cwd=ROOT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if self.request("GET", "/login")[0] == 200:
                    return
            except OSError:
                time.sleep(0.3)
        self.stop()
        raise SystemExit("gunicorn did not answer within 60 s")

    def request(self, method: str, path: str, body: str | None = None,
                headers: dict[str, str] | None = None) -> tuple[int, dict[str, list[str]], bytes]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=300)
        try:
            conn.request(method, path, body=body, headers=headers or {})
            response = conn.getresponse()
            found: dict[str, list[str]] = {}
            for key, value in response.getheaders():
                found.setdefault(key.lower(), []).append(value)
            return response.status, found, response.read()
        finally:
            conn.close()

    def token(self, user: str) -> str:
        status, _h, body = self.request("POST", "/api/v1/auth/token", json.dumps(
            {"username": user, "password": PASSWORD}), {"Content-Type": "application/json"})
        if status != 200:
            raise SystemExit(f"no token for {user}: HTTP {status}")
        return str(json.loads(body)["token"])

    def cookies(self, user: str) -> str:
        """Log in through the form (with its CSRF token) and return the Cookie header the browser would send."""
        status, headers, body = self.request("GET", "/login")
        jar = _cookies(headers)
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or \
            re.search(rb'value="([^"]+)"[^>]*name="csrf_token"', body)
        form = {"username": user, "password": PASSWORD, "csrf_token": match.group(1).decode() if match else ""}
        from urllib.parse import urlencode

        status, headers, _body = self.request("POST", "/login", urlencode(form), {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": _header(jar)})
        if status not in (302, 303):
            raise SystemExit(f"cannot log in as {user}: HTTP {status}")
        jar.update(_cookies(headers))
        return _header(jar)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def _cookies(headers: dict[str, list[str]]) -> dict[str, str]:
    jar = {}
    for line in headers.get("set-cookie", []):
        name, _, rest = line.partition("=")
        jar[name.strip()] = rest.split(";", 1)[0]
    return jar


def _header(jar: dict[str, str]) -> str:
    return "; ".join(f"{k}={v}" for k, v in jar.items() if v)


def wrk(port: int, path: str, header: str, duration: int, connections: int) -> dict[str, float]:
    done = subprocess.run(["wrk", "-t", "1", "-c", str(connections), "-d", f"{duration}s", "--latency",
                           "-H", header, f"http://127.0.0.1:{port}{path}"], capture_output=True, text=True)
    text = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", text)
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", text)
    total = re.search(r"(\d+) requests in", text)

    def latency(p: str) -> float:
        m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", text)
        if not m:
            return float("nan")
        return float(m.group(1)) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[m.group(2)]

    return {"rps": float(rate.group(1)) if rate else 0.0, "non2xx": float(bad.group(1)) if bad else 0.0,
            "requests": float(total.group(1)) if total else 0.0, "p50_ms": latency("50"), "p99_ms": latency("99")}


def run(engine: str, size: int, duration: int, connections: int, workers: int) -> list[tuple[str, dict[str, float]]]:
    url, generated = benchdb.ensure(engine, size)
    server = Server(url, workers)
    try:
        api = f"Authorization: Bearer {server.token('bench.dispatcher')}"
        desk = f"Cookie: {server.cookies('bench.dispatcher')}"
        tech = _busiest_technician(url)
        phone = f"Cookie: {server.cookies(tech)}"
        plan = [("trivial: GET /api/v1/me", "/api/v1/me", api), ("API calls list", "/api/v1/calls", api),
                ("calls list (page)", "/calls", desk), ("board: day", "/board", desk),
                ("technician's today", "/t/", phone), ("trivial again", "/api/v1/me", api)]
        results = []
        for name, path, header in plan:
            key, _, value = header.partition(": ")
            at = time.perf_counter()
            status, _h, _b = server.request("GET", path, headers={key: value})
            single = time.perf_counter() - at
            if status != 200:
                raise SystemExit(f"{path} answers HTTP {status} before the run; nothing measured")
            if single > duration / 2:  # wrk would finish no request and leave the workers busy for the next
                print(f"   {name:<28} skipped: one request took {single:.1f} s", flush=True)
                results.append((name, {"rps": 0.0, "non2xx": 0.0, "requests": 0.0, "p50_ms": single * 1000,
                                       "p99_ms": float("nan"), "skipped": 1.0}))
                continue
            results.append((name, wrk(server.port, path, header, duration, connections)))
            print(f"   {name:<28} {results[-1][1]['rps']:8.1f} req/s", flush=True)
        return results
    finally:
        server.stop()


def _busiest_technician(url: str) -> str:
    """The technician with the most visits today (their phone's page), through the app's own day window."""
    os.environ.update(benchdb.environment(url))
    from sqlalchemy import text

    from dispatch import create_app
    from dispatch.core.extensions import db
    from dispatch.core.timeutil import local_today
    from dispatch.scheduling.visits import day_window

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.app_context():
        start, end = day_window(local_today())
        name = db.session.execute(text(
            "SELECT u.username FROM visits v JOIN users u ON u.id = v.technician_id WHERE v.start >= :a "
            "AND v.start < :b AND v.status <> 'cancelled' GROUP BY u.username ORDER BY count(*) DESC, u.username "
            "LIMIT 1"), {"a": start, "b": end}).scalar()
        db.session.remove()
        db.engine.dispose()
    return str(name or "bench.tech001")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", default="10000,1000000")
    parser.add_argument("--engines", default="auto", choices=("auto", "postgresql", "sqlite", "both"))
    parser.add_argument("--duration", type=int, default=10, help="seconds of wrk per endpoint")
    parser.add_argument("--connections", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        print("wrk is not installed (apt-get install wrk, or `make bench`): throughput bench skipped.")
        return
    print(f"Throughput bench: gunicorn -w {args.workers}, wrk -t1 -c{args.connections} -d{args.duration}s from "
          f"another process. {benchdb.machine_note()}")
    for engine in benchdb.engines(args.engines):
        for size in [int(s) for s in args.sizes.split(",") if s.strip()]:
            print(f"\n== {engine}, {size:,} calls", flush=True)
            began = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
            results = run(engine, size, args.duration, args.connections, args.workers)
            base = benchdb.median([results[0][1]["rps"], results[-1][1]["rps"]])
            print(f"\n{engine}, {size:,} calls (measured {began}); the trivial endpoint: {base:.1f} req/s "
                  "(median of the first and last run)")
            print(f"{'endpoint':<28} {'req/s':>8} {'share':>7} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8}")
            for name, r in results[1:-1]:
                if r.get("skipped"):
                    print(f"{name:<28} {'-':>8} {'-':>7} {r['p50_ms']:8.0f}  (not run: one request took that long)")
                    continue
                print(f"{name:<28} {r['rps']:8.1f} {r['rps'] / base:7.1%} {r['p50_ms']:8.1f} {r['p99_ms']:8.1f} "
                      f"{int(r['non2xx']):8d}")


if __name__ == "__main__":
    main()
