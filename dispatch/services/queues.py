"""What the desk's pages list: the queues on the home page and the intake form's suggestions."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import joinedload, load_only

from ..core.counting import COUNT_CAP, count_up_to
from ..core.extensions import db
from ..core.i18n import _l
from ..core.timeutil import local_date_of, utcnow
from ..models import OPEN_CALL_STATUSES, CallNote, CallStatus, Customer, Priority, RepairCall
from ..scheduling.visits import day_window
from . import followup
from .clocks import overdue_clause
from .users import technicians

# Offered as the desk types (in the desk's language); what is saved is what the dispatcher chose.
COMMON_PROBLEM_TYPES = (_l("not cooling"), _l("not heating"), _l("no power"), _l("water leak"), _l("noise"),
                        _l("error code"), _l("won't start"), _l("installation"), _l("maintenance"),
                        _l("inspection"))


def common_problem_types(limit: int = 20) -> list[str]:
    """The problem types the desk uses most, then the usual ones: the intake form's suggestions."""
    used = db.session.execute(select(RepairCall.problem_type, func.count(RepairCall.id))
                              .group_by(RepairCall.problem_type)
                              .order_by(func.count(RepairCall.id).desc()).limit(limit)).all()
    names = [name for name, _ in used]
    return names + [text for n in COMMON_PROBLEM_TYPES if (text := str(n)) not in names]


def technician_skills() -> list[str]:
    return sorted({skill for tech in technicians() for skill in (tech.skills or [])})


# A row of the desk's call tables (dispatch/_macros.html call_table): only the columns it shows, the customer's
# name and phone in the same statement.
CALL_TABLE_ROW = (
    load_only(RepairCall.number, RepairCall.received_at, RepairCall.customer_id, RepairCall.problem_type,
              RepairCall.priority, RepairCall.status, RepairCall.category, RepairCall.response_deadline,
              RepairCall.booking_deadline, RepairCall.booked_at),
    joinedload(RepairCall.customer, innerjoin=True).load_only(Customer.name, Customer.phone))




def latest_note_ids() -> Any:
    """The latest note of the call of the row (its greatest id): correlated, so the database reads one entry
    of the index on call_notes (call_id, id) per open call instead of grouping every note ever written."""
    return (select(func.max(CallNote.id)).where(CallNote.call_id == RepairCall.id)
            .correlate(RepairCall).scalar_subquery())


@dataclass
class DeskQueues:
    to_book: list[RepairCall]
    awaiting_response: list[RepairCall]
    follow_ups: list[CallNote]
    open_count: int
    overdue_count: int  # the calls list's "Overdue only" shows the same calls (clocks.overdue_clause)
    followup_count: int = 0  # completed calls waiting for the follow-up call (followup.py)
    updates_due_count: int = 0  # open calls that owe their customer a progress update
    to_book_count: int = 0  # every call waiting to be booked, not only the listed ones
    awaiting_count: int = 0
    count_cap: int = COUNT_CAP  # the figures stop at the cap: the page shows "1000+"


def desk_queues(limit: int = 50) -> DeskQueues:
    """What needs the desk now: calls to book (soonest deadline first, so the overdue lead), urgent and
    high calls nobody has answered yet, and follow-ups promised for today or earlier that nobody has
    made since (the call's latest note still carries the promise)."""
    open_statuses = [s.value for s in OPEN_CALL_STATUSES]
    waiting = [CallStatus.NEW.value, CallStatus.REOPENED.value]
    now = utcnow()
    to_book_stmt = select(RepairCall).where(
        RepairCall.status.in_(waiting), RepairCall.on_site.is_(True), RepairCall.booking_deadline.is_not(None))
    to_book = list(db.session.scalars(to_book_stmt.options(*CALL_TABLE_ROW)
                                      .order_by(RepairCall.booking_deadline, RepairCall.id).limit(limit)))
    awaiting_stmt = select(RepairCall).where(
        RepairCall.status.in_(open_statuses), RepairCall.responded_at.is_(None),
        RepairCall.priority.in_([Priority.URGENT.value, Priority.HIGH.value]))
    awaiting = list(db.session.scalars(awaiting_stmt.options(*CALL_TABLE_ROW)
                                       .order_by(RepairCall.response_deadline, RepairCall.id).limit(limit)))
    _, end_of_today = day_window(local_date_of(now))
    follow_ups = list(db.session.scalars(
        select(CallNote).join(RepairCall, CallNote.call_id == RepairCall.id)
        .where(RepairCall.status.in_(open_statuses), CallNote.id == latest_note_ids(),
               CallNote.next_follow_up.is_not(None), CallNote.next_follow_up < end_of_today)
        .options(joinedload(CallNote.call, innerjoin=True).options(*CALL_TABLE_ROW))
        .order_by(CallNote.next_follow_up, CallNote.id).limit(limit)))
    open_count = count_up_to(select(RepairCall.id).where(RepairCall.status.in_(open_statuses)), COUNT_CAP)
    overdue_count = count_up_to(select(RepairCall.id).where(overdue_clause(now)), COUNT_CAP)
    return DeskQueues(to_book, awaiting, follow_ups, open_count, overdue_count,
                      followup.followup_count(), followup.updates_due_count(now),
                      to_book_count=count_up_to(to_book_stmt, COUNT_CAP),
                      awaiting_count=count_up_to(awaiting_stmt, COUNT_CAP), count_cap=COUNT_CAP)
