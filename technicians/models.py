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


class CarryBackStatus(enum.StrEnum):
    """Where a carried-back item is (携回修护): taken from the site, through the desk and workshop, back."""

    IN_WORKSHOP = "in_workshop"  # taken back by the technician (API.md's status on creation)
    RECEIVED = "received"  # handed in at the desk, in the customer's service file
    DIAGNOSING = "diagnosing"
    WAITING_PARTS = "waiting_parts"
    REPAIRED = "repaired"
    READY_TO_RETURN = "ready_to_return"
    RETURNED = "returned"


class CarryBackEventKind(enum.StrEnum):
    STATUS = "status"
    NOTE = "note"
    PROMISE_MOVED = "promise_moved"
    RECEIVED = "received"
    RETURNED = "returned"
    ASSIGNED = "assigned"  # the workshop technician changed
    WORK = "work"  # parts and labor spent in the workshop
    SERIAL = "serial"  # the unit was replaced: its new serial number


class ReturnMethod(enum.StrEnum):
    VISIT = "visit"
    PICKUP = "pickup"


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
    "carry_back_status": {CarryBackStatus.IN_WORKSHOP: _l("Taken back by the technician"),
                          CarryBackStatus.RECEIVED: _l("Received at the desk"),
                          CarryBackStatus.DIAGNOSING: _l("Diagnosing"),
                          CarryBackStatus.WAITING_PARTS: _l("Waiting for parts"),
                          CarryBackStatus.REPAIRED: _l("Repaired"),
                          CarryBackStatus.READY_TO_RETURN: _l("Ready to return"),
                          CarryBackStatus.RETURNED: _l("Returned")},
    "carry_back_event": {CarryBackEventKind.STATUS: _l("Status changed"), CarryBackEventKind.NOTE: _l("Note"),
                         CarryBackEventKind.PROMISE_MOVED: _l("Promised date moved"),
                         CarryBackEventKind.RECEIVED: _l("Received at the desk"),
                         CarryBackEventKind.RETURNED: _l("Returned to the customer"),
                         CarryBackEventKind.ASSIGNED: _l("Assigned"),
                         CarryBackEventKind.WORK: _l("Workshop work recorded"),
                         CarryBackEventKind.SERIAL: _l("Unit replaced")},
    "return_method": {ReturnMethod.VISIT: _l("Return visit"), ReturnMethod.PICKUP: _l("Pick-up at the desk")},
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

    __table_args__ = (CheckConstraint("kind in ('on_my_way','arrived','completed','signed')", name="kind_known"),
                      # the last "arrived" before the work record (reports, migration 0018)
                      Index("ix_visit_events_visit_kind_at", "visit_id", "kind", "at"))


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
        # the month's work, and a call's first recorded work (reports, migration 0018)
        Index("ix_work_records_completed_at", "completed_at"),
        Index("ix_work_records_call_completed", "call_id", "completed_at", "id"),
    )


# How a signed record's hashes were made (technicians/evidence.py): keyed with the server's EVIDENCE_KEY, or
# a plain SHA-256 for the records signed before keys (migration 0019_evidence).
HASH_KEYED = "hmac-sha256"
HASH_PLAIN = "sha256"


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
    # How content_sha256 and image_sha256 were made: HASH_KEYED, or HASH_PLAIN before keys.
    hash_scheme: Mapped[str] = mapped_column(String(16), default=HASH_KEYED, server_default=HASH_KEYED)
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



# ----------------------------------------------------------------------------- carry-back repairs (携回修护)

CARRY_BACK_STATUSES = "'in_workshop','received','diagnosing','waiting_parts','repaired','ready_to_return','returned'"


class CarryBack(Model):
    """An item the technician took from the customer's site for repair in the workshop (one per visit).

    Numbered CB-YYYY-NNNNNN (gapless per year). The customer's receipt (客户商品领取收据) is sealed by
    receipt_sha256 over receipt_signed_content once the customer signs, as the visit voucher is.
    """

    __tablename__ = "carry_backs"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    visit_id: Mapped[int] = mapped_column(ForeignKey("visits.id"), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    item: Mapped[str] = mapped_column(String(200))
    model: Mapped[str] = mapped_column(String(200), default="")
    serial_number: Mapped[str] = mapped_column(String(100), default="")
    accessories: Mapped[str] = mapped_column(Text, default="")
    condition: Mapped[str] = mapped_column(Text, default="")
    stated_fault: Mapped[str] = mapped_column(Text, default="")
    promised_return_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(20), default=CarryBackStatus.IN_WORKSHOP)
    taken_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), index=True)
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    # The customer's signature on the receipt (the hand-over at the site).
    receipt_signer_name: Mapped[str | None] = mapped_column(String(200))
    receipt_signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    receipt_signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_signed_content: Mapped[str | None] = mapped_column(Text)
    receipt_sha256: Mapped[str | None] = mapped_column(String(64))
    receipt_hash_scheme: Mapped[str] = mapped_column(String(16), default=HASH_KEYED, server_default=HASH_KEYED)
    new_serial_number: Mapped[str | None] = mapped_column(String(100))
    return_method: Mapped[str | None] = mapped_column(String(10))
    return_visit_id: Mapped[int | None] = mapped_column(ForeignKey("visits.id"))
    returned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    return_signer_name: Mapped[str | None] = mapped_column(String(200))
    return_signature_png: Mapped[bytes | None] = mapped_column(LargeBinary)
    return_signed_content: Mapped[str | None] = mapped_column(Text)
    return_sha256: Mapped[str | None] = mapped_column(String(64))
    return_hash_scheme: Mapped[str] = mapped_column(String(16), default=HASH_KEYED, server_default=HASH_KEYED)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    visit: Mapped[Visit] = relationship(foreign_keys=[visit_id])
    call: Mapped[RepairCall] = relationship()
    taken_by: Mapped[User] = relationship(foreign_keys=[taken_by_id])
    assigned_to: Mapped[User | None] = relationship(foreign_keys=[assigned_to_id])
    received_by: Mapped[User | None] = relationship(foreign_keys=[received_by_id])
    return_visit: Mapped[Visit | None] = relationship(foreign_keys=[return_visit_id])
    photos: Mapped[list[CarryBackPhoto]] = relationship(back_populates="carry_back",
                                                         order_by="CarryBackPhoto.id")
    events: Mapped[list[CarryBackEvent]] = relationship(back_populates="carry_back",
                                                         order_by="CarryBackEvent.id")

    __table_args__ = (
        CheckConstraint(f"status in ({CARRY_BACK_STATUSES})", name="status_known"),
        CheckConstraint("return_method is null or return_method in ('visit','pickup')", name="return_method_known"),
        # The workshop board: open items, and the latest returned (migration 0018).
        Index("ix_carry_backs_status_returned_at", "status", "returned_at"),
        Index("ix_carry_backs_created_at", "created_at"),  # the month's carry-backs (reports)
    )


class CarryBackPhoto(Model):
    """A photo of the item as taken (re-encoded JPEG, EXIF stripped, at most 1600 px a side)."""

    __tablename__ = "carry_back_photos"

    id: Mapped[int] = mapped_column(primary_key=True)
    carry_back_id: Mapped[int] = mapped_column(ForeignKey("carry_backs.id"), index=True)
    image: Mapped[bytes] = mapped_column(LargeBinary)
    content_type: Mapped[str] = mapped_column(String(40), default="image/jpeg")
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    carry_back: Mapped[CarryBack] = relationship(back_populates="photos")


class CarryBackEvent(Model):
    """One step of the item's history: status changes, notes, a moved promise, received, returned."""

    __tablename__ = "carry_back_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    carry_back_id: Mapped[int] = mapped_column(ForeignKey("carry_backs.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str | None] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    old_promised_on: Mapped[date | None] = mapped_column(Date)
    new_promised_on: Mapped[date | None] = mapped_column(Date)
    reason: Mapped[str | None] = mapped_column(Text)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    carry_back: Mapped[CarryBack] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        CheckConstraint("kind in ('status','note','promise_moved','received','returned','assigned','work',"
                        "'serial')", name="kind_known"),
    )
