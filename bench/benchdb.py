"""The bench databases (issue 16), shared by bench_pages.py and bench_wrk.py: one per engine and size, made once
by `flask db upgrade` and `flask bench-data --calls N`, and reused while it holds that many calls (PostgreSQL:
a database named bench_10k, bench_1m...; SQLite: bench/out/bench_10k.sqlite3). Every use runs `db upgrade`
first, so migrations that landed since (indexes) apply to the cached data too.

BENCH_PG_URL (default postgresql://postgres@127.0.0.1:5432/postgres) says where PostgreSQL is.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
FLASK = [str(Path(sys.executable).with_name("flask")), "--app", "dispatch"]
PG_ADMIN = os.environ.get("BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SEED = 16


def label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k" if size % 1000 == 0 else str(size)


def pg_available() -> bool:
    try:
        import psycopg

        psycopg.connect(PG_ADMIN, connect_timeout=3).close()
        return True
    except Exception:  # noqa: BLE001  (any failure: no PostgreSQL to bench on)
        return False


def engines(choice: str) -> list[str]:
    """"auto": PostgreSQL when it answers, else SQLite; "both"; or one engine by name."""
    if choice == "both":
        return ["postgresql", "sqlite"] if pg_available() else ["sqlite"]
    if choice == "auto":
        return ["postgresql"] if pg_available() else ["sqlite"]
    return [choice]


def database_url(engine: str, size: int) -> str:
    if engine == "postgresql":
        return PG_ADMIN.replace("postgresql://", "postgresql+psycopg://").rsplit("/", 1)[0] + f"/bench_{label(size)}"
    return f"sqlite:///{OUT / f'bench_{label(size)}.sqlite3'}"


def environment(url: str) -> dict[str, str]:
    OUT.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "DATABASE_URL": url, "DISPATCH_INSTANCE_PATH": str(OUT / "instance"),
            "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-secret-key")}


def _calls_held(url: str) -> int | None:
    """The generated calls (not counting follow-ups) if the bench users are there; None for no bench data."""
    query = ("SELECT (SELECT count(*) FROM repair_calls WHERE parent_call_id IS NULL), "
             "(SELECT count(*) FROM users WHERE username = 'bench.dispatcher')")
    try:
        if url.startswith("sqlite"):
            import sqlite3

            path = url.removeprefix("sqlite:///")
            if not Path(path).exists():
                return None
            with sqlite3.connect(path) as conn:
                calls, users = conn.execute(query).fetchone()
        else:
            import psycopg

            with psycopg.connect(url.replace("+psycopg", ""), connect_timeout=5) as conn:
                row = conn.execute(query).fetchone()
                assert row is not None
                calls, users = row
    except Exception:  # noqa: BLE001  (no database, no tables: make it)
        return None
    return int(calls) if users else None


def _drop_and_create(engine: str, size: int) -> None:
    if engine == "postgresql":
        import psycopg

        name = f"bench_{label(size)}"
        with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
    else:
        path = Path(database_url(engine, size).removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def ensure(engine: str, size: int, say: bool = True) -> tuple[str, float | None]:
    """The database's URL, migrated to head and holding `size` generated calls; and how many seconds the
    generation took (None: reused)."""
    url = database_url(engine, size)
    env = environment(url)
    held = _calls_held(url)
    generated = None
    if held != size:
        if say:
            print(f"   generating {size:,} calls on {engine} ({url}) ...", flush=True)
        _drop_and_create(engine, size)
        subprocess.run([*FLASK, "db", "upgrade"], env=env, check=True, capture_output=True)
        began = time.perf_counter()
        subprocess.run([*FLASK, "bench-data", "--calls", str(size), "--seed", str(SEED)], env=env, check=True,
                       stdout=None if say else subprocess.DEVNULL)
        generated = time.perf_counter() - began
        if say:
            print(f"   generated in {generated:.0f} s", flush=True)
    else:
        done = subprocess.run([*FLASK, "db", "upgrade"], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"db upgrade failed on {url}:\n{done.stderr[-2000:]}")
    return url, generated


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    k = (len(ordered) - 1) * p / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def machine_note() -> str:
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return (f"{os.cpu_count()} cores, load average {load:.1f} at the start: other work on this machine makes the "
            "figures noisy.")
