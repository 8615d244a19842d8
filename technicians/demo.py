"""The demo technician's day (seed-demo): a visit finished and signed this morning, one on site now
(from dispatch's demo), one still to come, one tomorrow, and some admin time. Built through the services."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import datetime, time, timedelta

from sqlalchemy import select

from billing.services.parts import parse_part_lines
from dispatch.core.extensions import db
from dispatch.core.models import Role, User
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import Customer, Visit, VisitStatus
from dispatch.scheduling import booking
from dispatch.services import calls as desk

from .models import VisitEvent
from .services import admin_work, payments, progress, signoff, work


def _signature_png() -> str:
    """A small scribble as a real PNG (what the signature pad would send)."""
    width, height = 240, 80
    rows = []
    for y in range(height):
        row = bytearray([0]) + bytearray([255] * width)
        for x in range(20, 220):
            wave = int(40 + 22 * ((x % 60) - 30) / 30 * (1 if (x // 60) % 2 else -1))
            if abs(y - wave) <= 1:
                row[1 + x] = 16
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"".join(rows))) + chunk(b"IEND", b""))
    return base64.b64encode(png).decode()


def seed() -> None:
    tech = db.session.scalar(select(User).where(User.username == "technician"))
    manager = db.session.scalar(select(User).where(User.role == Role.MANAGER).order_by(User.id))
    customer = db.session.scalar(select(Customer).where(Customer.name == "Minhang Office Tower"))
    if tech is None or manager is None or customer is None:
        return
    site, equipment = customer.sites[0], customer.equipment[0] if customer.equipment else None
    now = utcnow()
    local_now = now.astimezone(local_tz())
    morning = datetime.combine(local_today(), time(9, 0), tzinfo=local_tz())

    # Finished and signed this morning (or 3 hours ago, whichever is earlier): charged work, paid on site.
    start = min(morning, local_now - timedelta(hours=4)).replace(minute=0, second=0, microsecond=0)
    while booking.overlapping_visit(tech.id, start, start + timedelta(hours=1, minutes=30)) is not None:
        start -= timedelta(hours=1)  # the desk's demo may hold this hour (early in the morning it does)
    call = desk.create_call(manager, customer=customer, site=site, equipment=equipment, channel="phone",
                            problem_type="UPS fault", priority="high",
                            description="UPS beeps and shows fault F03 after the night's power dip.",
                            required_skill="electrical", received_at=start - timedelta(hours=2))
    visit = booking.book_visit(manager, call, tech, start, start + timedelta(hours=1, minutes=30),
                                  override_reason="demo: this morning's visit")
    progress.on_my_way(tech, visit)
    progress.arrive(tech, visit)
    work.complete(tech, visit, work_summary="Replaced two swollen batteries, reset fault F03, ran a "
                                            "10-minute load test: holds 100 % load.",
                  labor_minutes=70, parts=parse_part_lines([{"sku": "UPS-BAT-12V9", "quantity": 2}]),
                  outcome="fixed")
    db.session.flush()
    payments.take_payment(tech, visit, amount="200.00", method="card")
    signoff.sign(tech, visit, signer_name="Ms. Tang", image_png_base64=_signature_png())
    # The steps happened during the visit, not at seeding time.
    steps = {"on_my_way": start - timedelta(minutes=25), "arrived": start + timedelta(minutes=5),
             "completed": start + timedelta(minutes=80), "signed": start + timedelta(minutes=85)}
    for event in db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id == visit.id)):
        event.at = steps.get(event.kind, event.at)

    # Visits the desk's demo put on site directly: give them their arrival, for the labor clock.
    for on_site in db.session.scalars(select(Visit).where(Visit.technician_id == tech.id,
                                                          Visit.status == VisitStatus.ON_SITE)):
        if progress.event_time(on_site, "arrived") is None:
            db.session.add(VisitEvent(visit=on_site, kind="arrived", at=on_site.start + timedelta(minutes=5),
                                      actor_id=tech.id))

    # Tomorrow morning: a planned check.
    tomorrow = morning + timedelta(days=1)
    later = desk.create_call(manager, customer=customer, site=site, equipment=equipment, channel="phone",
                             problem_type="inspection", priority="low",
                             description="Check the new batteries after a day of service.", received_at=now)
    while booking.overlapping_visit(tech.id, tomorrow, tomorrow + timedelta(hours=1)) is not None:
        tomorrow += timedelta(hours=1)  # the first free hour: the desk's demo may have booked the morning
    booking.book_visit(manager, later, tech, tomorrow, tomorrow + timedelta(hours=1),
                          override_reason="demo: planned follow-up check")

    admin_work.log_admin_work(tech, technician=None, day=local_today(), activity="tools", minutes=30,
                            notes="Calibrated the clamp meter.")
    admin_work.log_admin_work(tech, technician=None, day=local_today() - timedelta(days=1), activity="training",
                            minutes=90, notes="Refrigerant handling refresher.")
    db.session.flush()
