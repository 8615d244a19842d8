"""The records the service-level clocks keep: the company calendar (working hours, holidays and make-up
days), overrun explanations (超时说明) and escalations to the managers."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import (
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .core.extensions import Model
from .core.models import User, utcnow
from .core.types import UTCDateTime
from .models import RepairCall


class Escalation(Model):
    """A call on the managers' attention list (dispatch/services/escalation.py): why, when, and whether a
    manager has acknowledged it (which clears it from the list and the bell)."""

    __tablename__ = "escalations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    reason: Mapped[str] = mapped_column(String(20))  # ESCALATION_REASON_LABELS
    detail: Mapped[str | None] = mapped_column(Text)
    note_id: Mapped[int | None] = mapped_column(ForeignKey("call_notes.id"))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    acknowledged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    call: Mapped[RepairCall] = relationship()
    raised_by: Mapped[User | None] = relationship(foreign_keys=[raised_by_id])
    acknowledged_by: Mapped[User | None] = relationship(foreign_keys=[acknowledged_by_id])

    __table_args__ = (
        CheckConstraint("reason in ('reopened','unsatisfied','authority','safety','overdue')", name="reason_known"),
    )


# ----------------------------------------------------------------------------- the company calendar

# The kinds of dated calendar entries: a public holiday (closed) or a make-up working day (调休上班).
CALENDAR_DAY_KINDS = ("holiday", "workday")
LIVE_CALENDAR_DAY_WHERE = "removed_at IS NULL"


class BusinessHours(Model):
    """The company's working hours on one weekday (0 = Monday), local time; no start: not a working day.
    The clocks count working time on these (dispatch/calendar.py)."""

    __tablename__ = "business_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    weekday: Mapped[int] = mapped_column(Integer, unique=True)
    start: Mapped[time | None] = mapped_column(Time)
    end: Mapped[time | None] = mapped_column(Time)

    __table_args__ = (
        CheckConstraint("weekday >= 0 and weekday <= 6", name="weekday_range"),
        CheckConstraint("(start is null and \"end\" is null) or (start is not null and \"end\" is not null "
                        "and \"end\" > start)", name="hours_order"),
    )


class CalendarDay(Model):
    """A dated exception to the weekly hours: a public holiday, or a make-up working day (调休) with its hours.
    Removing one keeps the row (removed_at), so the audit trail can still name it."""

    __tablename__ = "calendar_days"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(100))
    start: Mapped[time | None] = mapped_column(Time)
    end: Mapped[time | None] = mapped_column(Time)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    removed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint("kind in ('holiday','workday')", name="kind_known"),
        CheckConstraint("kind = 'holiday' or (start is not null and \"end\" is not null and \"end\" > start)",
                        name="workday_hours"),
        Index("uq_calendar_days_live_day", "day", unique=True,
              sqlite_where=text(LIVE_CALENDAR_DAY_WHERE), postgresql_where=text(LIVE_CALENDAR_DAY_WHERE)),
    )


# The clocks a call runs (dispatch/services/clocks.py) that an overrun explanation can name.
CLOCK_KINDS = ("dispatch", "booking", "response", "resolution", "confirmation")


class OverrunExplanation(Model):
    """超时说明: why a call missed one of its clocks (the one due at `due`) and what will change."""

    __tablename__ = "overrun_explanations"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    clock: Mapped[str] = mapped_column(String(20))
    due: Mapped[datetime] = mapped_column(UTCDateTime)
    cause: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    call: Mapped[RepairCall] = relationship()
    author: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("clock in ('dispatch','booking','response','resolution','confirmation')",
                        name="clock_known"),
        UniqueConstraint("call_id", "clock", "due", name="uq_overrun_explanations_one_per_clock"),
    )
