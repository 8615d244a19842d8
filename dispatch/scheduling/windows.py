"""The arrival window promised to the customer (API.md, Booking visits): one definition for booking, the
bench's replay and re-planning. Pure: no database."""

from __future__ import annotations

from datetime import datetime, timedelta

ARRIVAL_WINDOW_MINUTES = 120  # the app's ARRIVAL_WINDOW_MINUTES
WINDOW_GRID_MINUTES = 30


def _floor(value: datetime, minutes: int) -> datetime:
    stamp = value.replace(second=0, microsecond=0)
    return stamp - timedelta(minutes=stamp.minute % minutes)


def arrival_window(start: datetime, *, minutes: int = ARRIVAL_WINDOW_MINUTES,
                   not_before: datetime | None = None) -> tuple[datetime, datetime]:
    """The window [window_start, window_end) promised for a visit planned to start at `start`: `minutes`
    long, on the half hour, with the planned start in its first half so a re-plan may move it either way,
    never opening before `not_before` (the moment of booking: a customer is not promised the past)."""
    length = timedelta(minutes=minutes)
    window_start = _floor(start - length / 4, WINDOW_GRID_MINUTES)
    if not_before is not None and window_start < not_before:
        # the first half hour mark at or after the booking (or the start itself, if that comes first)
        window_start = max(window_start, _ceil(not_before, WINDOW_GRID_MINUTES))
    window_start = min(window_start, start)
    return window_start, window_start + length


def _ceil(value: datetime, minutes: int) -> datetime:
    floor = _floor(value, minutes)
    return floor if floor == value else floor + timedelta(minutes=minutes)
