"""The re-plan after each booking, in the background (issue 14).

When a request commits a new visit (a booking by a person, on the board or through the API) and
REPLAN_AFTER_BOOKING is on, that visit's day is handed to one worker thread per process, and the request
goes on at once. The worker re-plans each day it was handed (replan.optimise_day: computed holding no lock
within REPLAN_SECONDS, applied only if nothing changed meanwhile, else computed once more from the new
state, else given up and logged) in its own app context and session, and commits. At most one re-plan runs
at a time: days asked for while one runs wait, merged, so a newer booking's request supersedes a queued one
for the same day instead of adding a second run. Bookings made outside a request (the demo's seed, the
bench) start nothing.

A booking is seen by the session's own events (a Visit inserted, then the transaction committed), so the
booking code needs no hook of its own. `wait_idle(timeout)` waits for the worker (tests, shutdown).
"""

from __future__ import annotations

from datetime import date

from flask import Flask, current_app, has_request_context
from sqlalchemy.orm import Session

from ..core.background import BackgroundWorker, on_commit
from ..core.extensions import db
from ..core.timeutil import local_date_of, local_today
from ..models import Visit, VisitStatus
from . import replan

_DAYS = "replan_after_booking_days"  # Session.info: the local days of the visits inserted in this transaction




def _replan_days(app: Flask, days: set[date]) -> None:
    with app.app_context():
        try:
            for day in sorted(days):
                if day < local_today():
                    continue
                try:
                    proposal = replan.optimise_day(None, day, apply_it=True, background=True)
                    db.session.commit()
                    app.logger.info("re-plan after booking, %s: %s, %d moves, km %.1f -> %.1f, late %d -> %d", day,
                                    proposal.status, len(proposal.moves), proposal.km_before, proposal.km_after,
                                    proposal.late_before, proposal.late_after)
                except replan.ScheduleChanged:
                    db.session.rollback()
                    app.logger.info("re-plan after booking, %s: the schedule kept changing; given up", day)
                except Exception:
                    db.session.rollback()
                    app.logger.exception("re-plan after booking, %s: failed", day)
        finally:
            db.session.remove()  # the connection goes back to the pool



_worker: BackgroundWorker[date] = BackgroundWorker("replan-after-booking", _replan_days)

def wait_idle(timeout: float = 60.0) -> bool:
    """Wait until no background re-plan runs or waits; False if `timeout` seconds passed first."""
    return _worker.wait_idle(timeout)


# ----------------------------------------------------------------------------- seeing a booking commit


def _booked_days(session: Session) -> set[date]:
    return {local_date_of(obj.start) for obj in session.new
            if isinstance(obj, Visit) and obj.status == VisitStatus.SCHEDULED and obj.start is not None}


def _booked(days: set[date]) -> None:
    if has_request_context() and current_app.config.get("REPLAN_AFTER_BOOKING"):
        _worker.submit(current_app._get_current_object(), days)  # type: ignore[attr-defined]


def init_app(app: Flask) -> None:
    """Re-plan the day of each booking once it commits."""
    on_commit(_DAYS, _booked_days, _booked)
