"""Replay a bench day as the product runs it: the calls revealed one by one at their received_at, each
booked with the top suggestion (dispatch.scheduling.ranking.suggest) and promised an arrival window
(windows.arrival_window), then every visit not yet started re-planned (optimise.replan with the product's
budget after a booking), never moving a visit whose technician is already on the way or on site.
No database: the same engine functions the app calls.

Run: .venv/bin/python bench/replay_day.py ../shared/bench-days/day-50x10.json --export /tmp/schedule.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time as clock
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from days import load_day, plans_of, travel_model  # noqa: E402

from dispatch.scheduling.optimise import (  # noqa: E402
    REPLAN_SECONDS_AFTER_BOOKING,
    ROOM_SECONDS,
    MovableVisit,
    insert_with_room,
    replan,
    wants_room,
)
from dispatch.scheduling.ranking import Job, Stop, TechnicianPlan, TravelModel, suggest  # noqa: E402
from dispatch.scheduling.rules import span_of, spans_of  # noqa: E402
from dispatch.scheduling.windows import arrival_window  # noqa: E402


@dataclass
class Booked:
    call: dict[str, Any]
    technician_id: Any
    start: datetime
    window_start: datetime
    window_end: datetime

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.call["duration_minutes"])

    def stop(self) -> Stop:
        return Stop(self.start, self.end, tuple(self.call["location"]), self.call["id"])


@dataclass
class ReplayStats:
    replans: int = 0
    improved: int = 0
    moves: int = 0
    replan_seconds: float = 0.0
    max_replan_seconds: float = 0.0
    unbooked: int = 0
    room_tries: int = 0
    rooms: int = 0


def _plans_with(day: dict[str, Any], booked: list[Booked]) -> list[TechnicianPlan]:
    plans = plans_of(day)
    by_id = {p.id: p for p in plans}
    for b in sorted(booked, key=lambda b: b.start):
        by_id[b.technician_id].visits.append(b.stop())
    return plans


def started(plans: list[TechnicianPlan], booked: list[Booked], now: datetime, model: TravelModel) -> set[Any]:
    """The calls whose technician is on the way or on site at `now` (or done): the visit starts by now, or
    the technician must have left the stop before it (the base at the span's start, or the previous visit)."""
    by_id = {p.id: p for p in plans}
    out = set()
    per_tech: dict[Any, list[Booked]] = {}
    for b in booked:
        per_tech.setdefault(b.technician_id, []).append(b)
    for tech_id, mine in per_tech.items():
        plan = by_id[tech_id]
        mine.sort(key=lambda b: b.start)
        spans = spans_of(plan, mine[0].start - timedelta(days=1), mine[-1].end + timedelta(days=1), model)
        prev: Booked | None = None
        for b in mine:
            span = span_of(spans, b.start, b.end)
            same_route = prev is not None and span is not None and span_of([span], prev.start, prev.end) is not None
            here = tuple(prev.call["location"]) if same_route and prev is not None else plan.base
            if b.start - model.travel(here, tuple(b.call["location"])) <= now:
                out.add(b.call["id"])
            prev = b
    return out


def replay(day: dict[str, Any], *, replan_seconds: float = REPLAN_SECONDS_AFTER_BOOKING,
           room_seconds: float = 0.0, stats: ReplayStats | None = None) -> list[Booked]:
    """The day replayed; see the module's notes. `room_seconds` > 0 books the make-room placement
    (optimise.insert_with_room) when it beats the top suggestion: an experiment, off by default because the
    product does not offer make-room suggestions yet (the replay uses only what the product does)."""
    model = travel_model(day)
    stats = stats if stats is not None else ReplayStats()
    booked: dict[Any, Booked] = {}
    for c in day["calls"]:
        now = c["received"]
        plans = _plans_with(day, list(booked.values()))
        job = Job(point=tuple(c["location"]), duration=timedelta(minutes=c["duration_minutes"]),
                  priority=c["priority"], required_skill=c["required_skill"], deadline=c["deadline"])
        result = suggest(job, plans, model, now, limit=1)
        if not result.items:
            stats.unbooked += 1
            continue
        top = result.items[0]
        tech, start = top.technician_id, top.start
        if room_seconds > 0 and wants_room(top):
            fixed, movable = _split(day, booked, now, model)
            room = insert_with_room(job, fixed, movable, model, now, (tech, start), received_at=now,
                                    time_limit_seconds=room_seconds)
            stats.room_tries += 1
            if room is not None:
                stats.rooms += 1
                tech, start = room.technician_id, room.start
                for move in room.moves:
                    booked[move.visit_id].technician_id, booked[move.visit_id].start = move.to_technician_id, move.to_start
        window_start, window_end = arrival_window(start, not_before=now)
        booked[c["id"]] = Booked(c, tech, start, window_start, window_end)
        if replan_seconds <= 0:
            continue
        _replan(day, booked, now, model, replan_seconds, stats)
    return sorted(booked.values(), key=lambda b: (b.start, b.technician_id))


def _split(day: dict[str, Any], booked: dict[Any, Booked], now: datetime,
           model: TravelModel) -> tuple[list[TechnicianPlan], list[MovableVisit]]:
    """The plans with the frozen visits as fixed stops, and the visits a re-plan may move."""
    plans = _plans_with(day, list(booked.values()))
    frozen = started(plans, list(booked.values()), now, model)
    fixed = _plans_with(day, [b for b in booked.values() if b.call["id"] in frozen])
    movable = [MovableVisit(id=b.call["id"], point=tuple(b.call["location"]),
                            duration=timedelta(minutes=b.call["duration_minutes"]),
                            required_skill=b.call["required_skill"], window_start=b.window_start,
                            window_end=b.window_end, technician_id=b.technician_id, start=b.start,
                            received_at=b.call["received"], deadline=b.call["deadline"], label=b.call["id"])
               for b in booked.values() if b.call["id"] not in frozen]
    return fixed, movable


def _replan(day: dict[str, Any], booked: dict[Any, Booked], now: datetime, model: TravelModel,
            seconds: float, stats: ReplayStats) -> None:
    fixed, movable = _split(day, booked, now, model)
    if not movable:
        return
    result = replan(fixed, movable, model, time_limit_seconds=seconds, now=now)
    stats.replans += 1
    stats.replan_seconds += result.seconds
    stats.max_replan_seconds = max(stats.max_replan_seconds, result.seconds)
    if result.status == "improved":
        stats.improved += 1
        stats.moves += len(result.moves)
        for call_id, (tech, start) in result.assignments.items():
            booked[call_id].technician_id, booked[call_id].start = tech, start


def export_rows(day: dict[str, Any], booked: list[Booked]) -> list[dict[str, Any]]:
    tz = day["tz"]
    return [{"call_id": b.call["id"], "technician_id": b.technician_id, "start": b.start.astimezone(tz).isoformat(),
             "window_start": b.window_start.astimezone(tz).isoformat(),
             "window_end": b.window_end.astimezone(tz).isoformat()} for b in booked]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("dayfile", type=Path)
    parser.add_argument("--export", type=Path, help="write the final schedule here as JSON")
    parser.add_argument("--replan-seconds", type=float, default=REPLAN_SECONDS_AFTER_BOOKING,
                        help="re-planning budget after each booking (default: the product's)")
    parser.add_argument("--room-seconds", type=float, default=0.0,
                        help="experiment: book the make-room placement when it beats the top suggestion, with this "
                             f"budget (e.g. {ROOM_SECONDS:g}); default 0: off, as in the product")
    args = parser.parse_args()
    day = load_day(args.dayfile)
    stats = ReplayStats()
    t0 = clock.perf_counter()
    rows = export_rows(day, replay(day, replan_seconds=args.replan_seconds, room_seconds=args.room_seconds,
                                   stats=stats))
    print(f"{args.dayfile.name}: {len(rows)} of {len(day['calls'])} calls booked in {clock.perf_counter() - t0:.1f} s; "
          f"{stats.replans} re-plans, {stats.improved} improved, {stats.moves} moves; make room tried "
          f"{stats.room_tries}, taken {stats.rooms}", file=sys.stderr)
    text = json.dumps(rows, indent=1)
    if args.export:
        args.export.write_text(text + "\n")
    else:
        print(text)


if __name__ == "__main__":
    main()
