"""The shared nouns: people, customers and what they own, repair calls, visits, and the audit trail."""

from __future__ import annotations

import enum
from datetime import UTC, date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    Time,
    UniqueConstraint,
    text,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from .core.extensions import Model, db
from .core.i18n import _l
from .core.models import Role, User, utcnow  # noqa: F401  (the domain's tables refer to them)
from .core.types import Money, UTCDateTime
from .scheduling.windows import arrival_window


class Channel(enum.StrEnum):
    PHONE = "phone"
    EMAIL = "email"
    WEB = "web"
    MESSAGING = "messaging"
    WALK_IN = "walk_in"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"


class Category(enum.StrEnum):
    CHARGED = "charged"  # A 收费服务
    CONTRACT = "contract"  # B 合同服务
    FREE = "free"  # C 免费服务


class CallStatus(enum.StrEnum):
    NEW = "new"
    BOOKED = "booked"
    IN_PROGRESS = "in_progress"
    CARRIED_BACK = "carried_back"
    COMPLETED = "completed"
    CLOSED = "closed"
    REOPENED = "reopened"
    CANCELLED = "cancelled"


OPEN_CALL_STATUSES = (CallStatus.NEW, CallStatus.BOOKED, CallStatus.IN_PROGRESS, CallStatus.CARRIED_BACK,
                      CallStatus.REOPENED)


class VisitStatus(enum.StrEnum):
    SCHEDULED = "scheduled"
    ON_THE_WAY = "on_the_way"
    ON_SITE = "on_site"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


LIVE_VISIT_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY, VisitStatus.ON_SITE,
                       VisitStatus.COMPLETED)
# A visit that still holds the call (booked and not yet done): a second one is "already_booked".
BOOKED_VISIT_STATUSES = (VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY, VisitStatus.ON_SITE)
ONE_LIVE_VISIT_WHERE = "status IN ('scheduled', 'on_the_way', 'on_site') AND NOT additional"

# What people read for these codes, in both languages (DOMAIN.md's words); the factory collects the table.
# A call note's channel may also be "internal" (the desk's own remark) or "visit" (written on site).
CHANNEL_LABELS = {Channel.PHONE: _l("Phone"), Channel.EMAIL: _l("E-mail"), Channel.WEB: _l("Web form"),
                  Channel.MESSAGING: _l("Messaging"), Channel.WALK_IN: _l("Walk-in"), "internal": _l("Internal"),
                  "visit": _l("Visit")}
PRIORITY_LABELS = {Priority.URGENT: _l("Urgent"), Priority.HIGH: _l("High"), Priority.NORMAL: _l("Normal"),
                   Priority.LOW: _l("Low")}
CATEGORY_LABELS = {Category.CHARGED: _l("Charged service"), Category.CONTRACT: _l("Contract service"),
                   Category.FREE: _l("Free service")}
CALL_STATUS_LABELS = {CallStatus.NEW: _l("New"), CallStatus.BOOKED: _l("Booked"),
                      CallStatus.IN_PROGRESS: _l("In progress"), CallStatus.CARRIED_BACK: _l("Carried back"),
                      CallStatus.COMPLETED: _l("Completed"), CallStatus.CLOSED: _l("Closed"),
                      CallStatus.REOPENED: _l("Reopened"), CallStatus.CANCELLED: _l("Cancelled")}
VISIT_STATUS_LABELS = {VisitStatus.SCHEDULED: _l("Scheduled"), VisitStatus.ON_THE_WAY: _l("On the way"),
                       VisitStatus.ON_SITE: _l("On site"), VisitStatus.COMPLETED: _l("Completed"),
                       VisitStatus.CANCELLED: _l("Cancelled")}
# The customer's rating at the follow-up call (回访), 1 to 5.
RATING_LABELS = {"5": _l("very satisfied"), "4": _l("satisfied"), "3": _l("average"), "2": _l("unsatisfied"),
                 "1": _l("very unsatisfied")}
# How precisely a site is placed (Site.precision, dispatch/geo/places.py).
PRECISION_LABELS = {"exact": _l("exact position"), "district": _l("to within the district"),
                    "city": _l("to within the city"), "province": _l("province only"),
                    "country": _l("country only")}
# How often a contract's fee is invoiced (Contract.billing_period; billing.services.contract_billing).
BILLING_PERIOD_LABELS = {"monthly": _l("Monthly"), "quarterly": _l("Quarterly"), "yearly": _l("Yearly")}
# What a communication-log entry is about (their record sheet: 咨询 / 投诉 / 故障 / 建议).
NOTE_KIND_LABELS = {"consultation": _l("Consultation"), "complaint": _l("Complaint"), "fault": _l("Fault"),
                    "suggestion": _l("Suggestion")}
# Why a call is on the managers' attention list (Escalation.reason; dispatch/services/escalation.py).
ESCALATION_REASON_LABELS = {"reopened": _l("Reopened: not solved"), "unsatisfied": _l("Customer unsatisfied"),
                            "authority": _l("Complaint escalated to a higher authority"),
                            "safety": _l("Safety risk"), "overdue": _l("Open far past its target")}
LABELS = {"channel": CHANNEL_LABELS, "priority": PRIORITY_LABELS, "category": CATEGORY_LABELS,
          "call_status": CALL_STATUS_LABELS, "visit_status": VISIT_STATUS_LABELS, "rating": RATING_LABELS,
          "precision": PRECISION_LABELS, "billing_period": BILLING_PERIOD_LABELS, "note_kind": NOTE_KIND_LABELS,
          "escalation_reason": ESCALATION_REASON_LABELS}


# ----------------------------------------------------------------------------- people


class WorkingHours(Model):
    """One working span of a technician on a weekday (0 = Monday), local time. end < start runs past midnight."""

    __tablename__ = "working_hours"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    weekday: Mapped[int] = mapped_column(Integer)
    start: Mapped[time] = mapped_column(Time)
    end: Mapped[time] = mapped_column(Time)

    user: Mapped[User] = relationship(back_populates="working_hours")

    __table_args__ = (CheckConstraint("weekday >= 0 and weekday <= 6", name="weekday_range"),)


class TimeOff(Model):
    __tablename__ = "time_off"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(200), default="")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    __table_args__ = (CheckConstraint("ends_at > starts_at", name="time_off_order"),)


# ----------------------------------------------------------------------------- customers


def trigram_index(name: str, column: str) -> Index:
    """A substring search's index (migration 0018): on PostgreSQL a GIN index of the column's trigrams (pg_trgm),
    which answers `ILIKE '%term%'`; SQLite has no such index, and keeps an always-empty one under the same name
    (WHERE 0: nothing to write or read), so one model describes the schema of both engines."""
    return Index(name, column, postgresql_using="gin", postgresql_ops={column: "gin_trgm_ops"},
                 sqlite_where=text("0"))


class Customer(Model):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    phone: Mapped[str] = mapped_column(String(40), index=True)
    contact_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    # The buyer's tax id (纳税人识别号), printed on its invoices where known.
    tax_id: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    sites: Mapped[list[Site]] = relationship(back_populates="customer", order_by="Site.id")
    equipment: Mapped[list[Equipment]] = relationship(back_populates="customer", order_by="Equipment.id")
    contracts: Mapped[list[Contract]] = relationship(back_populates="customer", order_by="Contract.starts_on")

    __table_args__ = (trigram_index("ix_customers_name_trgm", "name"), trigram_index("ix_customers_phone_trgm", "phone"))


class Site(Model):
    __tablename__ = "sites"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    address: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[float] = mapped_column(Float)
    longitude: Mapped[float] = mapped_column(Float)
    distance_km: Mapped[float] = mapped_column(Float)
    remote: Mapped[bool] = mapped_column(Boolean, default=False)
    geocoded_by: Mapped[str | None] = mapped_column(String(40))
    # What the address was understood as (dispatch/geo/): the place in its own script and in Latin
    # letters, and how precise the position is ("district", "city" or "exact" coordinates).
    place: Mapped[str | None] = mapped_column(String(200))
    place_latin: Mapped[str | None] = mapped_column(String(200))
    precision: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="sites")


class Equipment(Model):
    __tablename__ = "equipment"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    serial_number: Mapped[str] = mapped_column(String(200))
    warranty_until: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    customer: Mapped[Customer] = relationship(back_populates="equipment")
    site: Mapped[Site] = relationship()

    __table_args__ = (UniqueConstraint("model", "serial_number", name="uq_equipment_model_serial"),
                      trigram_index("ix_equipment_serial_number_trgm", "serial_number"))


contract_equipment = Table(
    "contract_equipment",
    db.metadata,
    Column("contract_id", ForeignKey("contracts.id"), primary_key=True),
    Column("equipment_id", ForeignKey("equipment.id"), primary_key=True),
)


class Contract(Model):
    """A maintenance contract (合同服务). No equipment listed means all of the customer's equipment."""

    __tablename__ = "contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    number: Mapped[str] = mapped_column(String(60), unique=True)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    covers_parts: Mapped[bool] = mapped_column(Boolean, default=False)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The contract's fee, invoiced once per billing period ("monthly", "quarterly" or "yearly").
    fee: Mapped[Decimal | None] = mapped_column(Money)
    billing_period: Mapped[str | None] = mapped_column(String(10))

    customer: Mapped[Customer] = relationship(back_populates="contracts")
    equipment: Mapped[list[Equipment]] = relationship(secondary=contract_equipment, order_by="Equipment.id")

    __table_args__ = (CheckConstraint("ends_on >= starts_on", name="contract_period_order"),
                      CheckConstraint("billing_period is null or billing_period in ('monthly','quarterly','yearly')",
                                      name="billing_period_known"))

    def covers(self, equipment: Equipment | None, on: date) -> bool:
        if self.cancelled_at is not None or not (self.starts_on <= on <= self.ends_on):
            return False
        if not self.equipment:
            return True
        return equipment is not None and any(e.id == equipment.id for e in self.equipment)


# ----------------------------------------------------------------------------- repair calls


class RepairCall(Model):
    """One repair call (报修), from intake to customer-confirmed closure."""

    __tablename__ = "repair_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(30), unique=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    equipment_id: Mapped[int | None] = mapped_column(ForeignKey("equipment.id"))
    parent_call_id: Mapped[int | None] = mapped_column(ForeignKey("repair_calls.id"))
    channel: Mapped[str] = mapped_column(String(20))
    problem_type: Mapped[str] = mapped_column(String(100), index=True)
    priority: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(Text)
    on_site: Mapped[bool] = mapped_column(Boolean, default=True)
    required_skill: Mapped[str | None] = mapped_column(String(60))
    status: Mapped[str] = mapped_column(String(20), default=CallStatus.NEW, index=True)
    category: Mapped[str] = mapped_column(String(10), index=True)
    category_reason: Mapped[str] = mapped_column(String(300))
    category_overridden: Mapped[bool] = mapped_column(Boolean, default=False)
    contract_id: Mapped[int | None] = mapped_column(ForeignKey("contracts.id"))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    booking_deadline: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    resolution_deadline: Mapped[datetime] = mapped_column(UTCDateTime)
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    booked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A cancelled call keeps why and when (nothing is deleted); the audit trail keeps who.
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    feedback_comment: Mapped[str | None] = mapped_column(Text)
    # The follow-up call's first question (回访: solved?) and when it was asked; None until then.
    solved: Mapped[bool | None] = mapped_column(Boolean)
    feedback_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The last time the call was reopened (the progress-update clock restarts from it).
    reopened_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    customer: Mapped[Customer] = relationship()
    site: Mapped[Site] = relationship()
    equipment: Mapped[Equipment | None] = relationship()
    contract: Mapped[Contract | None] = relationship()
    created_by: Mapped[User | None] = relationship()
    notes: Mapped[list[CallNote]] = relationship(back_populates="call", order_by="CallNote.at")
    visits: Mapped[list[Visit]] = relationship(back_populates="call", order_by="Visit.start")

    __table_args__ = (
        CheckConstraint("category in ('charged','contract','free')", name="category_known"),
        CheckConstraint("priority in ('urgent','high','normal','low')", name="priority_known"),
        Index("ix_repair_calls_status_booking_deadline", "status", "booking_deadline"),
        # Every filter and sort the lists offer (migration 0018): a status, category or priority, newest first
        # (keyset paging on id); a customer's archive by day; the clocks the desk home and "overdue" read.
        Index("ix_repair_calls_status_id", "status", "id"),
        Index("ix_repair_calls_category_id", "category", "id"),
        Index("ix_repair_calls_priority_id", "priority", "id"),
        Index("ix_repair_calls_customer_received", "customer_id", "received_at"),
        Index("ix_repair_calls_equipment_id", "equipment_id"),  # a search by serial number reaches calls by it
        Index("ix_repair_calls_site_id", "site_id"),  # a site's calls (earlier visits at the same place)
        # The board's queue of site visits to book, nearest booking deadline first (plans.waiting_calls). The
        # condition is written as SQLAlchemy writes `on_site.is_(True)` on each engine, so the planner uses it.
        Index("ix_repair_calls_waiting", "booking_deadline", "id",
              sqlite_where=text("status IN ('new', 'reopened') AND on_site IS 1"),
              postgresql_where=text("status IN ('new', 'reopened') AND on_site IS true")),
        Index("ix_repair_calls_status_response_deadline", "status", "response_deadline"),
        Index("ix_repair_calls_status_resolution_deadline", "status", "resolution_deadline"),
        Index("ix_repair_calls_status_completed_at", "status", "completed_at"),
        trigram_index("ix_repair_calls_number_trgm", "number"),
        trigram_index("ix_repair_calls_problem_type_trgm", "problem_type"),
        trigram_index("ix_repair_calls_description_trgm", "description"),
    )

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_CALL_STATUSES


class CallNote(Model):
    """The communication log of a call: what was said, on which channel, what was promised."""

    __tablename__ = "call_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"))
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    channel: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    next_follow_up: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The record sheet's fields: what it is about (NOTE_KIND_LABELS), what was promised and by when, and a
    # complaint's flags that put the call on the managers' attention list at once.
    kind: Mapped[str | None] = mapped_column(String(20))
    promise: Mapped[str | None] = mapped_column(Text)
    promised_by: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_authority: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    safety_risk: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())

    call: Mapped[RepairCall] = relationship(back_populates="notes")
    author: Mapped[User | None] = relationship()

    # A call's log in time order, and its latest entry to the customer (followup.py), from one index; the
    # follow-ups promised (the desk home) from another.
    __table_args__ = (Index("ix_call_notes_call_at", "call_id", "at"),
                      Index("ix_call_notes_next_follow_up", "next_follow_up"))


def _default_window(context: Any) -> tuple[datetime, datetime]:
    """The default arrival window around the start of a visit being inserted (the column default)."""
    start = context.get_current_parameters()["start"]
    return arrival_window(start if start.tzinfo else start.replace(tzinfo=UTC))


class Visit(Model):
    """A booked technician visit; its slip (服务派工单) carries slip_number."""

    __tablename__ = "visits"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("repair_calls.id"), index=True)
    technician_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    slip_number: Mapped[str] = mapped_column(String(30), unique=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime)
    end: Mapped[datetime] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(20), default=VisitStatus.SCHEDULED)
    cancel_reason: Mapped[str | None] = mapped_column(Text)
    override_reason: Mapped[str | None] = mapped_column(Text)
    print_count: Mapped[int] = mapped_column(Integer, default=0)  # prints of the dispatch slip
    # Prints of the signed service voucher (服务凭证), counted apart: the customer's first is no reprint.
    voucher_print_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # A second technician on the same call on purpose (booked with "additional": true).
    additional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # A start after the booking deadline because the customer asked for that day (with override_reason).
    customer_requested: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # The technicians this visit was taken from (a reassignment), so the first one's phone can say so.
    former_technician_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    # "service" (the usual visit) or "return" (bringing a carried-back item back to the customer).
    kind: Mapped[str] = mapped_column(String(10), default="service", server_default="service")
    # An urgent call's visit is also phoned to the technician (紧急问题需同步电话通知处理人): when and by whom.
    phoned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    phoned_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # The arrival window promised to the customer (API.md): window_start <= start < window_end. Booking sets
    # it; a visit inserted without one is promised the default window around its start.
    window_start: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda ctx: _default_window(ctx)[0])
    window_end: Mapped[datetime] = mapped_column(UTCDateTime, default=lambda ctx: _default_window(ctx)[1])
    # Pinned by a dispatcher: re-planning never moves it (dispatch.scheduling.freeze).
    pinned: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    # When its technician or start last changed after booking (a dispatcher or a re-plan), and when it last
    # changed technician: the technicians' "your day changed" and the board's "slip to reprint".
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reassigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    slip_printed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the slip's last print

    call: Mapped[RepairCall] = relationship(back_populates="visits")
    technician: Mapped[User] = relationship(foreign_keys=[technician_id])
    phoned_by: Mapped[User | None] = relationship(foreign_keys=[phoned_by_id])

    __table_args__ = (
        CheckConstraint('"end" > start', name="visit_order"),
        CheckConstraint("window_start <= start AND start < window_end", name="visit_in_window"),
        Index("ix_visits_technician_start", "technician_id", "start"),
        # A day's or a week's visits (the board, the slips): the start bounded on both sides (visits.overlapping).
        Index("ix_visits_start_end_status", "start", "end", "status"),
        # "Your day changed": the visits changed since the technician last said OK.
        Index("ix_visits_changed_at", "changed_at"),
        Index("ix_visits_call_created", "call_id", "created_at", "id"),  # a call's first booking (reports)
        # One live visit per call, unless booked as an additional technician on purpose.
        Index("uq_visits_one_live_per_call", "call_id", unique=True,
              sqlite_where=text(ONE_LIVE_VISIT_WHERE), postgresql_where=text(ONE_LIVE_VISIT_WHERE)),
    )


# ----------------------------------------------------------------------------- plumbing


class GeocodeCache(Model):
    __tablename__ = "geocode_cache"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider: Mapped[str] = mapped_column(String(40))
    query: Mapped[str] = mapped_column(String(500))
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)
    display_name: Mapped[str | None] = mapped_column(String(500))
    # The place as understood: {"place", "place_latin", "precision", "code", "candidates"} (dispatch/geo/).
    details: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (UniqueConstraint("provider", "query", name="uq_geocode_cache_provider_query"),)
