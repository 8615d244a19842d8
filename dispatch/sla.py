"""The clocks the users hold themselves to (DOMAIN.md, Targets)."""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from .core.timeutil import add_working_days

# First response: urgent and high within 2 hours; the others by the next working day.
RESPONSE_HOURS = {"urgent": 2, "high": 2, "normal": 24, "low": 48}
# Resolution: urgent 24 h, high 72 h, normal 5 working days, low 10 working days.
RESOLUTION = {"urgent": ("hours", 24), "high": ("hours", 72), "normal": ("working_days", 5),
              "low": ("working_days", 10)}


def booking_deadline(received_at: datetime, remote: bool) -> datetime:
    hours = current_app.config["REMOTE_BOOKING_HOURS"] if remote else current_app.config["BOOKING_HOURS"]
    return received_at + timedelta(hours=hours)


def response_deadline(received_at: datetime, priority: str) -> datetime:
    return received_at + timedelta(hours=RESPONSE_HOURS[priority])


def resolution_deadline(received_at: datetime, priority: str) -> datetime:
    unit, amount = RESOLUTION[priority]
    if unit == "hours":
        return received_at + timedelta(hours=amount)
    return add_working_days(received_at, amount)
