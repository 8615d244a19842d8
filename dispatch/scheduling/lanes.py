"""The board's day and week as data: a lane per technician (visits in time order with the travel legs
between them, base to base) and a week grid of visits per technician and day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm.attributes import set_committed_value

from ..core.extensions import db
from ..core.i18n import _
from ..core.models import User
from ..core.timeutil import local_tz
from ..models import TimeOff, Visit, VisitStatus, WorkingHours
from ..services.users import technicians
from .booking import slip_to_reprint
from .calendars import time_off_between, working_hours_rows
from .freeze import is_frozen
from .plans import centre, travel_model
from .ranking import Point
from .visits import VISIT_ROW, day_window, overlapping, visits_on


@dataclass
class Leg:
    km: float
    minutes: int


@dataclass
class LaneItem:
    visit: Visit
    leg: Leg  # travel from the previous stop (base or visit)
    reprint: bool = False  # its slip was printed before its last change ("slip to reprint")
    frozen: bool = False  # re-planning leaves it where it is (pinned, on the way, on site, done)


@dataclass
class Lane:
    technician: User
    items: list[LaneItem] = field(default_factory=list)
    back: Leg | None = None
    hours: str = ""
    off: list[TimeOff] = field(default_factory=list)

    @property
    def total_km(self) -> float:
        return round(sum(i.leg.km for i in self.items) + (self.back.km if self.back else 0), 1)


def hours_text(tech: User, weekday: int) -> str:
    spans = [f"{w.start:%H:%M}–{w.end:%H:%M}" for w in working_hours_rows(tech) if w.weekday == weekday]
    return ", ".join(spans) if spans else _("off")


def _load_hours(techs: list[User]) -> None:
    """Every technician's working hours in one statement (not one per lane: 200 technicians, 200 statements)."""
    rows: dict[int, list[WorkingHours]] = {t.id: [] for t in techs}
    for w in db.session.scalars(select(WorkingHours).where(WorkingHours.user_id.in_(list(rows)))):
        rows[w.user_id].append(w)
    for t in techs:
        set_committed_value(t, "working_hours", rows[t.id])


# The board shows the technicians a page at a time (in name order): with 200 technicians a day holds a thousand
# visits, and one page of all of them is neither quick nor readable.
LANES_PER_PAGE = 25


@dataclass
class LanePage:
    number: int  # 1-based
    pages: int
    first: int  # the position of the first technician shown (1-based; 0 when there is none)
    last: int
    total: int


def technician_page(page: int) -> tuple[list[User], LanePage]:
    """The active technicians of page `page` of the board (a page out of range: the nearest one)."""
    techs = technicians()
    pages = max(1, -(-len(techs) // LANES_PER_PAGE))
    number = min(max(page, 1), pages)
    shown = techs[(number - 1) * LANES_PER_PAGE:number * LANES_PER_PAGE]
    first = (number - 1) * LANES_PER_PAGE
    return shown, LanePage(number, pages, first + 1 if shown else 0, first + len(shown), len(techs))


def _visits_of(lo: datetime, hi: datetime, techs: list[User] | None) -> list[Visit]:
    """The visits of these technicians in [lo, hi) (as visits_on), or every technician's (None)."""
    if techs is None:
        return visits_on(lo, hi)
    return list(db.session.scalars(
        select(Visit).options(*VISIT_ROW)
        .where(overlapping(lo, hi), Visit.status != VisitStatus.CANCELLED,
               Visit.technician_id.in_([t.id for t in techs]))
        .order_by(Visit.technician_id, Visit.start)))


def day_lanes(day: date, techs: list[User] | None = None) -> list[Lane]:
    """A lane per technician (`techs`, or every active one) for the day."""
    model = travel_model()
    home = centre()
    lo, hi = day_window(day)
    visits = _visits_of(lo, hi, techs)
    techs = technicians() if techs is None else techs
    _load_hours(techs)
    offs = time_off_between(lo, hi)
    lanes = []
    for tech in techs:
        base: Point = home
        if tech.base_latitude is not None and tech.base_longitude is not None:
            base = (tech.base_latitude, tech.base_longitude)
        lane = Lane(tech, hours=hours_text(tech, day.weekday()), off=[o for o in offs if o.user_id == tech.id])
        here: Point = base
        for v in (v for v in visits if v.technician_id == tech.id):
            point = (v.call.site.latitude, v.call.site.longitude)
            km = model.km(here, point)
            lane.items.append(LaneItem(v, Leg(round(km, 1), round(model.minutes(km))), reprint=slip_to_reprint(v),
                                       frozen=is_frozen(v)))
            here = point
        if lane.items:
            km = model.km(here, base)
            lane.back = Leg(round(km, 1), round(model.minutes(km)))
        lanes.append(lane)
    return lanes


def week_grid(day: date, techs: list[User] | None = None) -> tuple[list[date], list[tuple[User, list[list[Visit]]]]]:
    """The week (Monday to Sunday) around `day`: its days, and per technician (`techs`, or every active one) a
    list of visits per day."""
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    lo, hi = day_window(monday, days=7)
    visits = _visits_of(lo, hi, techs)
    techs = technicians() if techs is None else techs
    tz = local_tz()
    rows = []
    for tech in techs:
        cells: list[list[Visit]] = [[] for _ in days]
        for v in visits:
            if v.technician_id == tech.id:
                index = (v.start.astimezone(tz).date() - monday).days
                if 0 <= index < 7:
                    cells[index].append(v)
        rows.append((tech, cells))
    return days, rows
