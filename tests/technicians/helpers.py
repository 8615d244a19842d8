"""A visit booked for today for the on-site tests, and PNG images to sign with."""

from __future__ import annotations

import base64
import struct
import zlib
from datetime import datetime, time, timedelta

from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.core.timeutil import local_today, local_tz, utcnow
from dispatch.models import RepairCall, Visit
from dispatch.scheduling import booking


def today_visit(actor: User, call: RepairCall, technician: User, minutes: int = 60) -> Visit:
    """A visit that starts today (local time), halfway between midnight and now: always 'today'."""
    midnight = datetime.combine(local_today(), time.min, tzinfo=local_tz())
    now = utcnow()
    start = (midnight + (now - midnight) / 2).replace(microsecond=0)
    visit = booking.book_visit(actor, call, technician, start, start + timedelta(minutes=minutes))
    db.session.commit()
    return visit


def png(width: int = 8, height: int = 4, shade: int = 0) -> bytes:
    """A real (tiny) PNG image."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([shade]) * width for _ in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def png_b64(shade: int = 0) -> str:
    return base64.b64encode(png(shade=shade)).decode()
