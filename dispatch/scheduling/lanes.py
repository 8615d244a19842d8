"""The board's day and week as data: a lane per technician (visits in time order with the travel legs
between them, base to base) and a week grid of visits per technician and day."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from ..core.i18n import _
from ..core.models import User
from ..core.timeutil import local_tz
from ..models import TimeOff, Visit
from ..services.users import technicians
from .calendars import time_off_between, working_hours_rows
from .plans import centre, travel_model
from .ranking import Point
from .visits import day_window, visits_on


@dataclass
class Leg:
    km: float
    minutes: int


@dataclass
class LaneItem:
    visit: Visit
    leg: Leg  # travel from the previous stop (base or visit)


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


def day_lanes(day: date) -> list[Lane]:
    model = travel_model()
    home = centre()
    lo, hi = day_window(day)
    techs = technicians()
    visits = visits_on(lo, hi)
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
            lane.items.append(LaneItem(v, Leg(round(km, 1), round(model.minutes(km)))))
            here = point
        if lane.items:
            km = model.km(here, base)
            lane.back = Leg(round(km, 1), round(model.minutes(km)))
        lanes.append(lane)
    return lanes


def week_grid(day: date) -> tuple[list[date], list[tuple[User, list[list[Visit]]]]]:
    """The week (Monday to Sunday) around `day`: its days, and per technician a list of visits per day."""
    monday = day - timedelta(days=day.weekday())
    days = [monday + timedelta(days=i) for i in range(7)]
    lo, hi = day_window(monday, days=7)
    visits = visits_on(lo, hi)
    tz = local_tz()
    rows = []
    for tech in technicians():
        cells: list[list[Visit]] = [[] for _ in days]
        for v in visits:
            if v.technician_id == tech.id:
                index = (v.start.astimezone(tz).date() - monday).days
                if 0 <= index < 7:
                    cells[index].append(v)
        rows.append((tech, cells))
    return days, rows
