"""What a list of visits shows of each one (the phone's offline snapshot, GET /me/visits): work record, events,
signature, the call's bill, the equipment's earlier visits. Read for all the listed visits at once, so the
statements a list sends do not grow with its visits (issue 16); one visit is a list of one.

The rules stay where they are defined (billing's charge sheet, progress.earlier_visits_of); this module only
reads their inputs in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import defer

from billing.models import ChargeKind, ChargeLine
from billing.services.charges import ChargeSheet, charge_sheets
from dispatch.core.extensions import db
from dispatch.core.models import User
from dispatch.models import Contract, Equipment, RepairCall, Visit

from ..models import Signature, VisitEvent, VisitEventKind, WorkRecord
from .progress import earlier_visits_of


@dataclass
class VisitsRead:
    """Everything the listed visits show, by visit id (the bills by call id)."""

    records: dict[int, WorkRecord]
    events: dict[int, list[VisitEvent]]
    signatures: dict[int, Signature]
    earlier: dict[int, list[Visit]]
    sheets: dict[int, ChargeSheet]
    # What the rows reach through lazy many-to-one relationships (equipment, contract, a follow-up call, who
    # took a payment), read in bulk into the session; held here because the session only keeps weak references.
    kept: list[Any] = field(default_factory=list)

    def sheet(self, visit: Visit) -> ChargeSheet:
        return self.sheets[visit.call_id]

    def parts(self, visit: Visit) -> list[ChargeLine]:
        """The parts recorded on the visit (work.visit_parts), from its call's bill."""
        return [ln for ln in self.sheet(visit).lines if ln.visit_id == visit.id and ln.kind == ChargeKind.PART]

    def arrived_at(self, visit: Visit) -> datetime | None:
        """The latest arrival (progress.event_time(visit, "arrived"))."""
        return max((e.at for e in self.events.get(visit.id, []) if e.kind == VisitEventKind.ARRIVED), default=None)


def _by_id(model: Any, ids: Iterable[int | None]) -> list[Any]:
    wanted = sorted({i for i in ids if i is not None})
    if not wanted:
        return []
    return list(db.session.scalars(select(model).where(model.id.in_(wanted))))


def read_visits(visits: Sequence[Visit]) -> VisitsRead:
    """Read what `visits` show, in a fixed number of statements (their calls, customers and sites are
    expected loaded with them, as scheduling.visits.VISIT_ROW does)."""
    calls = list({v.call_id: v.call for v in visits}.values())
    kept: list[Any] = [*_by_id(Equipment, (c.equipment_id for c in calls)),
                       *_by_id(Contract, (c.contract_id for c in calls))]
    earlier = earlier_visits_of(visits)
    older = [v for found in earlier.values() for v in found]
    kept += _by_id(RepairCall, (v.call_id for v in older))
    shown = sorted({v.id for v in visits} | {v.id for v in older})
    records: dict[int, WorkRecord] = {}
    events: dict[int, list[VisitEvent]] = {v.id: [] for v in visits}
    signatures: dict[int, Signature] = {}
    if shown:
        records = {r.visit_id: r for r in db.session.scalars(select(WorkRecord).where(WorkRecord.visit_id.in_(shown)))}
    if visits:
        ids = list(events)
        for event in db.session.scalars(select(VisitEvent).where(VisitEvent.visit_id.in_(ids))
                                        .order_by(VisitEvent.at, VisitEvent.id)):
            events[event.visit_id].append(event)
        signatures = {s.visit_id: s for s in db.session.scalars(
            select(Signature).options(defer(Signature.image_png)).where(Signature.visit_id.in_(ids)))}
    kept += _by_id(RepairCall, (r.follow_up_call_id for r in records.values()))
    sheets = charge_sheets(calls)
    kept += _by_id(User, (p.collected_by_id for sheet in sheets.values() for p in sheet.payments))
    return VisitsRead(records=records, events=events, signatures=signatures, earlier=earlier, sheets=sheets,
                      kept=kept)
