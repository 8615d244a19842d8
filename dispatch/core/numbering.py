"""Gapless yearly numbers (SC-2026-000123, VS-2026-000045, INV-2026-000001).

The counter row is taken under a lock in the caller's transaction, so two transactions can never
get the same number and a rolled-back one gives its number back.
"""

from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite

from .extensions import db
from .models import Counter

PREFIXES = {"call": "SC", "slip": "VS", "invoice": "INV", "credit": "CN", "receipt": "RC", "carry": "CB"}


def next_number(series: str, year: int) -> str:
    session = db.session
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(insert(Counter).values(series=series, year=year, value=0).on_conflict_do_nothing())
    # UPDATE ... RETURNING takes the row lock on PostgreSQL; SQLite already holds the write lock.
    value = session.execute(
        update(Counter).where(Counter.series == series, Counter.year == year)
        .values(value=Counter.value + 1).returning(Counter.value)
    ).scalar_one()
    return f"{PREFIXES.get(series, series.upper())}-{year}-{value:06d}"


def peek(series: str, year: int) -> int:
    return db.session.scalar(select(Counter.value).where(Counter.series == series, Counter.year == year)) or 0
