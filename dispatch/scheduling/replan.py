"""Re-planning the visits not yet started (issue 14), on the database: what may move, the proposal, and
applying it without ever breaking a rule or a booking made meanwhile.

A re-plan covers the local days [day, day + horizon_days). Every active technician's plan holds FIXED stops:
the frozen visits (on the way, on site, done, pinned, or already due: freeze.is_frozen), every live visit
outside the range, a second technician's visit on a call (it moves with the first only by hand) and the
visits of the range that cannot move. The MOVABLE ones are the range's scheduled visits not yet due, each
kept inside its promised window, its call's received time and its technician's hours; one that is on time
stays on time (its window is cut at the booking deadline, so a re-plan never needs a 超时说明). The pure
engine (optimise.replan, OR-Tools) does the planning; this module loads, fingerprints and writes.

The fingerprint is a hash of everything a proposal was computed from (the visits, their calls' deadlines
and sites, the technicians' skills, bases, hours and time off). `apply` runs one re-plan at a time
(PostgreSQL: an advisory lock of its own; SQLite: the BEGIN IMMEDIATE write lock, which holds back every
other writer), loads the state again, and writes only when the fingerprint is unchanged; else 409
schedule_changed. On PostgreSQL, where a booking may commit while the re-plan writes, each moved visit is
taken only if its row is still as loaded, an overlap with a new booking trips the exclusion constraint,
and the day is read again after writing: any new visit or broken rule withdraws the whole re-plan
(schedule_changed). Row locks on users or visits would close circles with the audit trail's lock, so
none are taken. `optimise_day` (the API, the page and the background run) computes holding no lock, then
applies in one short transaction, and when the schedule changed in between, computes once more from the
new state before giving up with schedule_changed.

Writing moves never trips the database's overlap rule (PostgreSQL's visits_no_overlap is checked per
statement, not deferred): the moved visits are first set aside (status "cancelled", which the constraint
ignores, inside the transaction and never committed), then written at their new places, which the rules'
checker has already found free of each other and of every fixed stop.

A proposal travels to the page's Apply button and back to the API as a signed token (`proposal_token`):
exactly the moves shown are applied, or none.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from typing import Any

from blinker import Namespace
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from ..core import audit
from ..core.database import write_transaction
from ..core.errors import Conflict, Invalid
from ..core.extensions import db
from ..core.i18n import _
from ..core.models import User
from ..core.timeutil import local_today, utcnow
from ..models import LIVE_VISIT_STATUSES, RepairCall, Visit, VisitStatus
from . import optimise
from .booking import RETURN, after_deadline, mark_changed
from .freeze import is_frozen
from .optimise import MovableVisit
from .plans import plans_from_db, travel_model
from .ranking import Stop, TechnicianPlan
from .rules import Violation, check_schedule
from .visits import day_window

MAX_HORIZON_DAYS = 14
_PARKED = VisitStatus.CANCELLED  # set aside while the moves are written; never committed
_SALT = "dispatch.scheduling.replan"
_PG_LOCK_KEY = 0x7265706C616E  # "replan": re-plans apply one at a time (pg_advisory_xact_lock)

signals = Namespace()
# Sent after every computed proposal, before it is applied (sender: None; proposal=...): an observer's hook.
computed = signals.signal("replan-computed")

# One solver at a time in a process: two re-plans would only share the 2 cores and each find less.
_solver_lock = threading.Lock()


class ScheduleChanged(Conflict):
    code = "schedule_changed"

    def __init__(self, message: str | None = None) -> None:
        super().__init__(message or _("The schedule changed while the re-plan was worked out (a booking, a move "
                                      "or a technician on the way). Look at the fresh proposal and apply it "
                                      "again."))


@dataclass(frozen=True)
class MoveLine:
    """One visit that changes technician or start, for people to read."""

    visit_id: int
    slip_number: str
    from_technician_id: int
    from_technician_name: str
    from_start: datetime
    to_technician_id: int
    to_technician_name: str
    to_start: datetime
    duration: timedelta


@dataclass
class Proposal:
    day: date
    horizon_days: int
    status: str  # the engine's: "improved", "unchanged" or "infeasible"
    km_before: float
    km_after: float
    late_before: int
    late_after: int
    moves: list[MoveLine]
    fingerprint: str
    visit_ids: list[int] = field(default_factory=list)  # the movable visits it was computed for
    violations: list[Violation] = field(default_factory=list)  # the current plan's when infeasible (by slip)
    seconds: float = 0.0
    applied: bool = False


@dataclass
class _State:
    """What a re-plan is computed from, loaded in a few queries."""

    lo: datetime
    hi: datetime
    now: datetime
    plans: list[TechnicianPlan]
    movable: list[MovableVisit]
    visits: dict[int, Visit]  # every live visit loaded, by id
    fingerprint: str

    @property
    def names(self) -> dict[Any, str]:
        return {p.id: p.name for p in self.plans}


@dataclass(frozen=True)
class _Run:
    """The audit trail's entity for a re-plan run: the schedule of a day (entity_id YYYYMMDD)."""

    id: int
    __tablename__ = "schedule"


# ----------------------------------------------------------------------------- the state


def _range(day: date | None, horizon_days: int) -> tuple[date, datetime, datetime]:
    if not 1 <= horizon_days <= MAX_HORIZON_DAYS:
        raise Invalid(_("%(field)s must be from %(lo)d to %(hi)d.", field="horizon_days", lo=1, hi=MAX_HORIZON_DAYS),
                      fields={"horizon_days": _("from %(lo)d to %(hi)d", lo=1, hi=MAX_HORIZON_DAYS)})
    day = day or local_today()
    lo, hi = day_window(day, horizon_days)
    return day, lo, hi


def _deadline(visit: Visit) -> datetime | None:
    """When a start counts as late: the call's booking deadline; none for a return visit (the clock was met
    long ago) or a day the customer asked for."""
    if visit.kind == RETURN or visit.customer_requested:
        return None
    return visit.call.booking_deadline


def _movable(visit: Visit, now: datetime) -> MovableVisit:
    deadline = _deadline(visit)
    window_end = visit.window_end
    if deadline is not None and visit.start <= deadline:
        # on time now, on time after: the window closes a minute after the deadline
        window_end = min(window_end, deadline.replace(second=0, microsecond=0) + timedelta(minutes=1))
    call = visit.call
    return MovableVisit(id=visit.id, point=(call.site.latitude, call.site.longitude), duration=visit.end - visit.start,
                        required_skill=call.required_skill, window_start=visit.window_start, window_end=window_end,
                        technician_id=visit.technician_id, start=visit.start, received_at=call.received_at,
                        deadline=deadline, label=visit.slip_number)


def _stamp(value: datetime | None) -> str | None:
    return value.astimezone(UTC).isoformat() if value is not None else None


def _fingerprint(lo: datetime, hi: datetime, plans: list[TechnicianPlan], visits: list[Visit],
                 movable: list[MovableVisit]) -> str:
    moving = {m.id: m for m in movable}
    state = {
        "range": [_stamp(lo), _stamp(hi)],
        "technicians": [[p.id, sorted(p.skills), list(p.base), sorted(f"{w}|{s}|{e}" for w, s, e in p.hours),
                         sorted([_stamp(a), _stamp(b)] for a, b in p.time_off)] for p in plans],
        "visits": [[v.id, v.technician_id, _stamp(v.start), _stamp(v.end), str(v.status), bool(v.pinned),
                    _stamp(v.window_start), _stamp(v.window_end), bool(v.additional), v.call_id,
                    v.call.site.latitude, v.call.site.longitude, v.call.required_skill, _stamp(v.call.received_at),
                    _stamp(_deadline(v)), v.id in moving] for v in visits],
    }
    return hashlib.sha256(json.dumps(state, sort_keys=True, default=str).encode()).hexdigest()


def _load(lo: datetime, hi: datetime, now: datetime) -> _State:
    """Every active technician's plan (fixed stops only) and the movable visits of [lo, hi)."""
    plans = plans_from_db(lo, hi)
    known = {p.id for p in plans}
    visits = list(db.session.scalars(
        select(Visit).options(joinedload(Visit.call).joinedload(RepairCall.site))
        .execution_options(populate_existing=True)
        .where(Visit.status.in_([s.value for s in LIVE_VISIT_STATUSES]),
               Visit.start < hi + timedelta(days=1), Visit.end > lo - timedelta(days=1))
        .order_by(Visit.id)))
    per_call = Counter(v.call_id for v in visits if v.status != VisitStatus.COMPLETED)
    movable = [_movable(v, now) for v in visits
               if v.status == VisitStatus.SCHEDULED and not is_frozen(v, now) and lo <= v.start < hi
               and v.technician_id in known and not v.additional and per_call[v.call_id] == 1]
    moving = {m.id for m in movable}
    fixed: dict[Any, list[Stop]] = {}
    for v in visits:
        if v.id not in moving:
            fixed.setdefault(v.technician_id, []).append(
                Stop(v.start, v.end, (v.call.site.latitude, v.call.site.longitude), v.slip_number))
    for plan in plans:
        plan.visits = sorted(fixed.get(plan.id, []), key=lambda s: s.start)
    return _State(lo, hi, now, plans, movable, {v.id: v for v in visits},
                  _fingerprint(lo, hi, plans, visits, movable))


# ----------------------------------------------------------------------------- proposing


def _solver_seconds(on_demand: bool) -> float:
    cfg = current_app.config
    if on_demand:
        return float(cfg.get("REPLAN_ON_DEMAND_SECONDS") or optimise.REPLAN_SECONDS_ON_DEMAND)
    return float(cfg.get("REPLAN_SECONDS") or optimise.REPLAN_SECONDS_AFTER_BOOKING)


def _solve(state: _State, day: date, horizon_days: int, seconds: float) -> Proposal:
    with _solver_lock:
        result = optimise.replan(state.plans, state.movable, travel_model(), time_limit_seconds=seconds,
                                 now=state.now)
    names, by_id = state.names, {m.id: m for m in state.movable}
    moves = [MoveLine(m.visit_id, by_id[m.visit_id].label, m.from_technician_id, names[m.from_technician_id],
                      m.from_start, m.to_technician_id, names[m.to_technician_id], m.to_start,
                      by_id[m.visit_id].duration)
             for m in sorted(result.moves, key=lambda m: (m.from_start, m.visit_id))]
    return Proposal(day, horizon_days, result.status, round(result.km_before, 1), round(result.km_after, 1),
                    result.late_before, result.late_after, moves, state.fingerprint,
                    visit_ids=[m.id for m in state.movable],
                    # named by slip number, as people know the visits
                    violations=[replace(v, visit_id=by_id[v.visit_id].label if v.visit_id in by_id else v.visit_id)
                                for v in result.violations_before] if result.status == "infeasible" else [],
                    seconds=round(result.seconds, 2))


def propose(day: date | None, *, horizon_days: int = 1, now: datetime | None = None,
            seconds: float | None = None) -> Proposal:
    """The re-plan of [day, day + horizon_days) as it would be now: the moves, km and late visits before and
    after. Reads only; the solver runs for `seconds` (default REPLAN_ON_DEMAND_SECONDS)."""
    day, lo, hi = _range(day, horizon_days)
    state = _load(lo, hi, now or utcnow())
    return _solve(state, day, horizon_days, _solver_seconds(True) if seconds is None else seconds)


# ----------------------------------------------------------------------------- applying


def _one_replan_at_a_time() -> None:
    """PostgreSQL: a transaction-scoped advisory lock of the re-plans' own, so a second re-plan waits here
    and then sees the first one's moves. Nothing else waits on it, so it closes no circle of locks with the
    bookings and the audit trail. SQLite: the transaction already holds the write lock."""
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})


def _assignments(state: _State, proposal: Proposal) -> dict[Any, tuple[Any, datetime]]:
    movable = {m.id: m for m in state.movable}
    out = {m.id: (m.technician_id, m.start) for m in state.movable}
    for move in proposal.moves:
        if move.visit_id not in movable or move.to_technician_id not in state.names or move.to_start < state.now:
            raise ScheduleChanged()
        out[move.visit_id] = (move.to_technician_id, move.to_start)
    return out


def _broken(state: _State, assignments: dict[Any, tuple[Any, datetime]] | None = None) -> set[tuple[str, Any]]:
    """The rules the state breaks, with the movable visits at `assignments` (default: where they are)."""
    where = assignments or {m.id: (m.technician_id, m.start) for m in state.movable}
    found = check_schedule(state.plans, optimise.scheduled(state.plans, state.movable, where), travel_model())
    return {(v.code, v.visit_id) for v in found}


def _check_rules(state: _State, assignments: dict[Any, tuple[Any, datetime]]) -> set[tuple[str, Any]]:
    """The rules' checker on what is about to be written: nothing may break a rule the current plan kept.
    Returns the rules the current plan breaks already (none, unless the engine said "infeasible")."""
    before = _broken(state)
    broken = _broken(state, assignments) - before
    if broken:
        current_app.logger.warning("re-plan refused by the rules: %s", sorted(map(str, broken)))
        raise Conflict(_("The re-plan would break a rule of a technician's day (%(rule)s); nothing was changed.",
                         rule=sorted(broken)[0][0]), code="replan_breaks_rules")
    return before


def _set_aside(visit: Visit) -> None:
    """Take a moved visit out of the overlap rule for the rest of the transaction, only if it is still as it
    was loaded: a cancel, a move, a pin or a technician on the way committed meanwhile (PostgreSQL waits
    for it, then checks the row again) leaves it alone, and the re-plan is refused."""
    result = db.session.execute(
        update(Visit).where(Visit.id == visit.id, Visit.status == VisitStatus.SCHEDULED,
                            Visit.technician_id == visit.technician_id, Visit.start == visit.start,
                            Visit.end == visit.end, Visit.pinned.is_(False))
        .values(status=_PARKED).execution_options(synchronize_session="evaluate"))
    if getattr(result, "rowcount", 1) != 1:
        raise ScheduleChanged()


def _write(actor: User | None, state: _State, proposal: Proposal) -> list[MoveLine]:
    """Set the moved visits aside, then write each at its new place; mark and audit every one."""
    names, by_id = state.names, {m.id: m for m in state.movable}
    moved = [(state.visits[m.visit_id], m) for m in proposal.moves]
    lines = []
    try:
        with db.session.begin_nested():
            for visit, _move in moved:
                _set_aside(visit)
            for visit, move in moved:
                before = audit.snapshot(visit, "technician_id", "start", "end")
                former, former_start = visit.technician_id, visit.start
                if move.to_technician_id != former:
                    technician = db.session.get(User, move.to_technician_id)
                    assert technician is not None  # an active technician's plan: checked in _assignments
                    visit.technician, visit.technician_id = technician, technician.id
                visit.start, visit.end = move.to_start, move.to_start + by_id[visit.id].duration
                visit.status = VisitStatus.SCHEDULED
                if visit.override_reason and not after_deadline(visit.call, visit.start):
                    visit.override_reason, visit.customer_requested = None, False  # on time now: no 超时说明
                mark_changed(visit, former_technician_id=former)
                audit.record(actor, visit, "visit.replanned", before={**before, "status": "scheduled"},
                             after={**audit.snapshot(visit, "technician_id", "start", "end"), "status": "scheduled"})
                lines.append(MoveLine(visit.id, visit.slip_number, former, names[former], former_start,
                                      visit.technician_id, names[visit.technician_id], visit.start,
                                      visit.end - visit.start))
            db.session.flush()
    except IntegrityError:
        # a visit booked meanwhile where one of ours goes (PostgreSQL's visits_no_overlap)
        raise ScheduleChanged() from None
    return lines


def apply(actor: User | None, proposal: Proposal, *, now: datetime | None = None) -> Proposal:
    """Carry out exactly this proposal in the current transaction, or raise ScheduleChanged (409) when
    anything it was computed from changed since. Audited: each move ("visit.replanned") and the run
    ("schedule.replanned"). The caller commits."""
    _, lo, hi = _range(proposal.day, proposal.horizon_days)
    now = now or utcnow()
    _one_replan_at_a_time()
    state = _load(lo, hi, now)
    if state.fingerprint != proposal.fingerprint:
        raise ScheduleChanged()
    if not proposal.moves:
        return proposal
    kept_broken = _check_rules(state, _assignments(state, proposal))
    lines = _write(actor, state, proposal)
    # Read the day again, as written and with whatever others committed meanwhile (PostgreSQL): a visit
    # booked, or one moved where it now breaks a rule with ours, and the whole re-plan is withdrawn.
    written = _load(lo, hi, now)
    if set(written.visits) != set(state.visits) or _broken(written) - kept_broken:
        raise ScheduleChanged()
    day = proposal.day
    audit.record(actor, _Run(day.year * 10000 + day.month * 100 + day.day), "schedule.replanned",
                 before={"km": proposal.km_before, "late": proposal.late_before},
                 after={"km": proposal.km_after, "late": proposal.late_after, "moves": len(lines),
                        "days": proposal.horizon_days, "visits": proposal.visit_ids})
    proposal.moves, proposal.applied = lines, True
    return proposal


def optimise_day(actor: User | None, day: date | None, *, apply_it: bool, horizon_days: int = 1,
                 background: bool = False, attempts: int = 2) -> Proposal:
    """The re-plan as the API, the page and the background run it: computed holding no lock, then (with
    `apply_it`) applied in one short write transaction; when the schedule changed in between, computed again
    from the new state, up to `attempts` times, then ScheduleChanged.

    Starts a unit of work: the current transaction is ended first (nothing may have been written in it)."""
    day, lo, hi = _range(day, horizon_days)
    seconds = _solver_seconds(not background)
    for _attempt in range(attempts):
        db.session.rollback()  # no transaction (SQLite: no write lock) while the solver runs
        now = utcnow()
        state = _load(lo, hi, now)
        db.session.rollback()
        proposal = _solve(state, day, horizon_days, seconds)
        computed.send(None, proposal=proposal)
        if not apply_it or not proposal.moves:
            return proposal
        try:
            with write_transaction():  # SQLite: BEGIN IMMEDIATE, the write lock before the state is read again
                return apply(actor, proposal, now=now)
        except ScheduleChanged:
            db.session.rollback()
    raise ScheduleChanged()


# ----------------------------------------------------------------------------- the proposal as a token


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)


def proposal_token(proposal: Proposal) -> str:
    """The proposal, signed, for the Apply button (and the API's "proposal"): exactly its moves, or none."""
    return _serializer().dumps({
        "d": proposal.day.isoformat(), "h": proposal.horizon_days, "f": proposal.fingerprint, "s": proposal.status,
        "k": [proposal.km_before, proposal.km_after], "l": [proposal.late_before, proposal.late_after],
        "v": proposal.visit_ids,
        "m": [[m.visit_id, m.to_technician_id, int(m.to_start.timestamp())] for m in proposal.moves]})


def proposal_from_token(token: str | None) -> Proposal:
    """The proposal a token carries; 422 invalid_proposal for anything we did not sign."""
    try:
        data = _serializer().loads(token or "")
        moves = [MoveLine(int(vid), "", 0, "", datetime.min.replace(tzinfo=UTC), int(tech), "",
                          datetime.fromtimestamp(int(stamp), UTC), timedelta(0)) for vid, tech, stamp in data["m"]]
        return Proposal(date.fromisoformat(data["d"]), int(data["h"]), str(data["s"]), float(data["k"][0]),
                        float(data["k"][1]), int(data["l"][0]), int(data["l"][1]), moves, str(data["f"]),
                        visit_ids=[int(v) for v in data["v"]])
    except (BadSignature, KeyError, TypeError, ValueError, IndexError):
        raise Invalid(_("This is not a proposal we made. Work out the re-plan again and apply that."),
                      code="invalid_proposal", fields={"proposal": _("not a proposal we made")}) from None
