"""Figures that cost the same at ten thousand rows as at a million: counts that stop at a cap."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, func, literal_column, select

from .extensions import db

COUNT_CAP = 1000  # the desk home's and the board's figures count this far, then say "1000+"


def count_up_to(stmt: Select[Any], cap: int = COUNT_CAP) -> int:
    """How many rows `stmt` selects, but at most `cap`: the database stops reading at the cap, so a figure on a
    page costs the same at ten thousand calls as at a million (the page shows "1000+" at the cap)."""
    return db.session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(literal_column("1"), maintain_column_froms=True).order_by(None).limit(cap).subquery())) or 0
