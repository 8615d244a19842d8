"""The clocks the users hold themselves to (DOMAIN.md, Targets), counted on the company calendar.

Which clock counts working time and which the wall clock:
- dispatch (the first booking or assignment): 1 working hour after the call is received;
- first response: urgent and high within 2 hours on the wall clock (an urgent fault is answered when it comes
  in, nights and holidays too: their "2 h" is a promise to the customer, not office time); normal by the
  next working day (1 working day), low within 2 working days;
- booking agreed: 24 h on the wall clock (remote sites: REMOTE_BOOKING_HOURS);
- resolution: urgent 24 h and high 72 h on the wall clock; normal 5 working days; low
  LOW_RESOLUTION_WORKING_DAYS working days (10 by default);
- customer confirmation (回访): 1 working hour after completion.
Working time is counted by `dispatch.calendar.add_working_time`, and only for calls received from now on:
deadlines already stored on a call stay as they were worked out.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app

from .calendar import add_working_time
from .core.timeutil import WorkingCalendar

# First response: urgent and high within 2 hours (wall clock); the others in working days.
RESPONSE_HOURS = {"urgent": 2, "high": 2}
RESPONSE_WORKING_DAYS = {"normal": 1, "low": 2}
# Resolution: urgent 24 h, high 72 h (wall clock); normal 5 working days, low configurable.
RESOLUTION = {"urgent": ("hours", 24), "high": ("hours", 72), "normal": ("working_days", 5),
              "low": ("working_days", None)}
DISPATCH_WORKING_MINUTES = 60
CONFIRMATION_WORKING_MINUTES = 60


def booking_deadline(received_at: datetime, remote: bool) -> datetime:
    hours = current_app.config["REMOTE_BOOKING_HOURS"] if remote else current_app.config["BOOKING_HOURS"]
    return received_at + timedelta(hours=hours)


def response_deadline(received_at: datetime, priority: str, calendar: WorkingCalendar | None = None) -> datetime:
    if priority in RESPONSE_HOURS:
        return received_at + timedelta(hours=RESPONSE_HOURS[priority])
    return add_working_time(received_at, days=RESPONSE_WORKING_DAYS[priority], calendar=calendar)


def resolution_deadline(received_at: datetime, priority: str, calendar: WorkingCalendar | None = None) -> datetime:
    unit, amount = RESOLUTION[priority]
    if unit == "hours":
        return received_at + timedelta(hours=amount or 0)
    days = amount if amount is not None else int(current_app.config["LOW_RESOLUTION_WORKING_DAYS"])
    return add_working_time(received_at, days=days, calendar=calendar)


def dispatch_deadline(received_at: datetime, calendar: WorkingCalendar | None = None) -> datetime:
    """The first booking or assignment: within 1 working hour of the call."""
    return add_working_time(received_at, minutes=DISPATCH_WORKING_MINUTES, calendar=calendar)


def confirmation_deadline(completed_at: datetime, calendar: WorkingCalendar | None = None) -> datetime:
    """The customer's confirmation (the follow-up call, 回访): within 1 working hour of completion."""
    return add_working_time(completed_at, minutes=CONFIRMATION_WORKING_MINUTES, calendar=calendar)
