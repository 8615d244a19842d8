"""Work on site: the progress of a visit, the work record, the customer's signature, admin time (D)."""

from __future__ import annotations

import enum
from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from dispatch.core.extensions import Model
from dispatch.core.i18n import _l
from dispatch.core.models import User, utcnow
from dispatch.core.types import UTCDateTime
from dispatch.models import RepairCall, Visit


class Outcome(enum.StrEnum):
    FIXED = "fixed"
    CARRY_BACK = "carry_back"
    FOLLOW_UP = "follow_up"


class VisitEventKind(enum.StrEnum):
    ON_MY_WAY = "on_my_way"
    ARRIVED = "arrived"
    COMPLETED = "completed"
    SIGNED = "signed"


class AdminActivity(enum.StrEnum):
    INSPECTION = "inspection"
    PARTS = "parts"
    TOOLS = "tools"
    TRAINING = "training"
    OTHER = "other"


# What people read for these codes, in both languages (the factory collects the table; `label(value, kind)`).
LABELS: dict[str, dict[str, object]] = {
    "outcome": {Outcome.FIXED: _l("Fixed"), Outcome.CARRY_BACK: _l("Carry-back"),
                Outcome.FOLLOW_UP: _l("Follow-up needed")},
    "activity": {AdminActivity.INSPECTION: _l("Inspection"), AdminActivity.PARTS: _l("Parts handling"),
                 AdminActivity.TOOLS: _l("Tool upkeep"), AdminActivity.TRAINING: _l("Training"),
                 AdminActivity.OTHER: _l("Other")},
    "visit_event": {VisitEventKind.ON_MY_WAY: _l("On my way"), VisitEventKind.ARRIVED: _l("Arrived"),
                    VisitEventKind.COMPLETED: _l("Work recorded"), VisitEventKind.SIGNED: _l("Signed by the customer")},
}


class VisitEvent(Model):
    """A step of the visit on the phone (on my way, arrived, ...), with the time it happened."""

    __tablename__ = "visit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    visit: Mapped[Visit] = relationship()

    __table_args__ = (CheckConstraint("kind in ('on_my_way','arrived','completed','signed')", name="kind_known"),)


class WorkRecord(Model):
    """What the technician did on a visit. Sealed (read-only) once the customer signs."""

    __tablename__ = "work_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    work_summary: Mapped[str] = mapped_column(Text)
    labor_minutes: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(20))
    follow_up_call_id: Mapped[int | None] = mapped_column(ForeignKey("repair_calls.id"))
    completed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    sealed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    visit: Mapped[Visit] = relationship()
    call: Mapped[RepairCall] = relationship(foreign_keys=[call_id])
    follow_up_call: Mapped[RepairCall | None] = relationship(foreign_keys=[follow_up_call_id])
    completed_by: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("outcome in ('fixed','carry_back','follow_up')", name="outcome_known"),
        CheckConstraint("labor_minutes >= 0", name="labor_not_negative"),
    )


class Signature(Model):
    """The customer's sign-off (服务凭证). One per visit: the unique visit_id holds that in the database."""

    __tablename__ = "signatures"

    id: Mapped[int] = mapped_column(primary_key=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    signer_name: Mapped[str] = mapped_column(String(200))
    image_png: Mapped[bytes] = mapped_column(LargeBinary)
    image_sha256: Mapped[str] = mapped_column(String(64))
    # The canonical JSON the customer signed, kept so the hash can be checked again at any time.
    signed_content: Mapped[str] = mapped_column(Text)
    content_sha256: Mapped[str] = mapped_column(String(64))
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    technician_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    technician_confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime)

    visit: Mapped[Visit] = relationship()
    technician: Mapped[User | None] = relationship()


class AdminWork(Model):
    """Internal admin time (一般行政工作, category D): inspections, parts, tools, training."""

    __tablename__ = "admin_work"

    id: Mapped[int] = mapped_column(primary_key=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    date: Mapped[date] = mapped_column(Date)
    activity: Mapped[str] = mapped_column(String(20))
    minutes: Mapped[int] = mapped_column(Integer)
    notes: Mapped[str] = mapped_column(Text, default="")
    logged_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    technician: Mapped[User] = relationship(foreign_keys=[technician_id])
    logged_by: Mapped[User | None] = relationship(foreign_keys=[logged_by_id])

    __table_args__ = (
        CheckConstraint("activity in ('inspection','parts','tools','training','other')", name="activity_known"),
        CheckConstraint("minutes > 0 and minutes <= 1440", name="minutes_range"),
        Index("ix_admin_work_technician_date", "technician_id", "date"),
    )

