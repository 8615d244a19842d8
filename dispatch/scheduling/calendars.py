"""The technicians' calendars: weekly working hours, time off, skills and base."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from ..core import audit
from ..core.errors import Conflict, Invalid, NotFound
from ..core.extensions import db
from ..core.i18n import _, weekday_name
from ..core.models import Role, User
from ..core.timeutil import utcnow
from ..models import TimeOff, Visit, VisitStatus, WorkingHours
from ..services.users import set_working_hours


def get_technician_or_404(technician_id: int) -> User:
    technician = db.session.get(User, technician_id)
    if technician is None or technician.role != Role.TECHNICIAN:
        raise NotFound(_("There is no technician %(id)s.", id=technician_id))
    return technician


def get_time_off_or_404(time_off_id: int) -> TimeOff:
    off = db.session.get(TimeOff, time_off_id)
    if off is None:
        raise NotFound(_("There is no time off %(id)s.", id=time_off_id))
    return off


def working_spans(hours: Iterable[tuple[int, time, time]], start: datetime, end: datetime,
                  tz: ZoneInfo) -> list[tuple[date, datetime, datetime]]:
    """The working spans (local day, start, end in UTC) that touch [start, end]. A span whose end is not
    after its start runs past midnight and belongs to the weekday it starts on."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    last = end.astimezone(tz).date()
    spans = []
    hours = list(hours)
    day = first
    while day <= last:
        for weekday, s, e in hours:
            if weekday != day.weekday():
                continue
            s_at = datetime.combine(day, s, tzinfo=tz).astimezone(UTC)
            e_day = day + timedelta(days=1) if e <= s else day
            e_at = datetime.combine(e_day, e, tzinfo=tz).astimezone(UTC)
            if e_at > start and s_at < end:
                spans.append((day, s_at, e_at))
        day += timedelta(days=1)
    spans.sort(key=lambda x: x[1])
    return spans


def check_base(latitude: float | None, longitude: float | None) -> None:
    """A base on the map (NaN is not)."""
    if (latitude is not None and not -90 <= latitude <= 90) or (longitude is not None and not -180 <= longitude <= 180):
        raise Invalid(_("The base is off the map: latitude -90..90, longitude -180..180."),
                      fields={"base_latitude" if latitude is not None and not -90 <= latitude <= 90
                              else "base_longitude": _("off the map")})


def parse_hours_text(texts: list[str]) -> list[tuple[int, time, time]]:
    """Weekly working hours as the technicians page writes them: one text per weekday like
    "08:00-12:00, 13:00-17:00" (empty: off; 22:00-06:00 runs past midnight)."""
    spans = []
    for weekday, text in enumerate(texts):
        for part in (p.strip() for p in (text or "").split(",")):
            if not part:
                continue
            try:
                a, b = (x.strip() for x in part.replace("–", "-").split("-"))
                spans.append((weekday, time.fromisoformat(a), time.fromisoformat(b)))
            except ValueError:
                raise Invalid(_("%(weekday)s: write hours like 08:00-17:00.", weekday=weekday_name(weekday)),
                              fields={f"hours_{weekday}": _("like 08:00-17:00")}) from None
    return spans


def update_technician(actor: User, technician: User, *, skills: Sequence[str] | None = None,
                      base_latitude: float | None = None, base_longitude: float | None = None,
                      clear_base: bool = False,
                      working_hours: Sequence[tuple[int, time, time]] | None = None) -> User:
    if technician.role != Role.TECHNICIAN:
        raise Invalid(_("%(name)s is not a technician.", name=technician.name), code="not_a_technician")
    check_base(base_latitude, base_longitude)
    before = _tech_snapshot(technician)
    if skills is not None:
        technician.skills = sorted({s.strip().lower() for s in skills if s.strip()})
    if clear_base:
        technician.base_latitude = technician.base_longitude = None
    elif base_latitude is not None or base_longitude is not None:
        if base_latitude is None or base_longitude is None:
            raise Invalid(_("Give both the latitude and the longitude of the base."),
                          fields={"base_latitude" if base_latitude is None else "base_longitude": _("required")})
        technician.base_latitude, technician.base_longitude = base_latitude, base_longitude
    if working_hours is not None:
        set_working_hours(technician, working_hours)
    db.session.flush()
    after = _tech_snapshot(technician)
    if before != after:
        audit.record(actor, technician, "technician.updated", before=before, after=after)
    return technician


def _tech_snapshot(t: User) -> dict[str, Any]:
    return {"skills": list(t.skills or []), "base_latitude": t.base_latitude, "base_longitude": t.base_longitude,
            "working_hours": [[w.weekday, w.start.strftime("%H:%M"), w.end.strftime("%H:%M")]
                              for w in sorted(t.working_hours, key=lambda w: (w.weekday, w.start))]}


def add_time_off(actor: User, technician: User, starts_at: datetime, ends_at: datetime,
                 reason: str = "") -> tuple[TimeOff, list[Visit]]:
    """Time off, and the live visits it now collides with (to move: the dispatcher decides)."""
    if technician.role != Role.TECHNICIAN:
        raise Invalid(_("%(name)s is not a technician.", name=technician.name), code="not_a_technician")
    if ends_at <= starts_at:
        raise Invalid(_("Time off must end after it starts."), fields={"ends_at": _("must be after the start")})
    off = TimeOff(user=technician, starts_at=starts_at, ends_at=ends_at, reason=(reason or "").strip()[:200])
    db.session.add(off)
    audit.record(actor, off, "time_off.created",
                 after={"user_id": technician.id, **audit.snapshot(off, "starts_at", "ends_at", "reason")})
    clashes = list(db.session.scalars(select(Visit).where(
        Visit.technician_id == technician.id, Visit.status.in_([VisitStatus.SCHEDULED, VisitStatus.ON_THE_WAY]),
        Visit.start < ends_at, Visit.end > starts_at).order_by(Visit.start)))
    return off, clashes


def cancel_time_off(actor: User, off: TimeOff, reason: str | None = None) -> TimeOff:
    if off.cancelled_at is not None:
        raise Conflict(_("This time off is already cancelled."), code="already_cancelled")
    off.cancelled_at = utcnow()
    audit.record(actor, off, "time_off.cancelled", before={"cancelled_at": None},
                 after={"cancelled_at": off.cancelled_at}, reason=reason)
    return off


def time_off_of(technician: User, since: datetime | None = None) -> list[TimeOff]:
    stmt = select(TimeOff).where(TimeOff.user_id == technician.id, TimeOff.cancelled_at.is_(None))
    if since is not None:
        stmt = stmt.where(TimeOff.ends_at > since)
    return list(db.session.scalars(stmt.order_by(TimeOff.starts_at)))


def time_off_between(start: datetime, end: datetime) -> list[TimeOff]:
    """Everyone's time off (not cancelled) that touches [start, end]."""
    return list(db.session.scalars(select(TimeOff).where(TimeOff.cancelled_at.is_(None), TimeOff.starts_at < end,
                                                         TimeOff.ends_at > start)))


def working_hours_rows(technician: User) -> list[WorkingHours]:
    return sorted(technician.working_hours, key=lambda w: (w.weekday, w.start))
