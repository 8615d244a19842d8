"""The monthly service report (PDF with the dashboard's charts, and CSV) and the archive export of a period's
closed calls with their notes and documents (CSV).

CSV files are UTF-8 with a byte-order mark (Excel opens Chinese right); headers in the reader's language;
dates YYYY-MM-DD and times HH:MM in the company's time zone; rates as per cent with one decimal.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from typing import Any

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from dispatch.core.extensions import db
from dispatch.core.i18n import _, _l, label
from dispatch.core.pdf import DocumentType, render_document
from dispatch.core.timeutil import localtime_text, utcnow
from dispatch.models import CallStatus, RepairCall
from dispatch.slips.data import company_info
from technicians.models import CarryBack, WorkRecord

from . import charts
from .kpis import Figures, bucket_labels, compute, percent
from .periods import Period

BOM = "\ufeff"

MONTHLY = DocumentType("monthly_report", "pdf/monthly_report.html", _l("Monthly service report"),  # type: ignore[arg-type]
                       stylesheets=("css/print.css",))


def to_csv(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(["" if v is None else v for v in row])
    return BOM + out.getvalue()


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


def _share(value: float | None) -> str:
    return "" if value is None else f"{value * 100:.1f}%"


def figure_rows(figures: Figures, previous: Figures) -> list[tuple[str, str, str]]:
    """(what, this period, previous period) for the report's table and CSV."""
    rows = [
        (_("Calls received"), str(figures.calls), str(previous.calls)),
        (_("Booked within deadline"), _share(figures.booked_within_deadline_rate),
         _share(previous.booked_within_deadline_rate)),
        (_("Median minutes to booking"), _number(figures.median_minutes_to_booking),
         _number(previous.median_minutes_to_booking)),
        (_("First response within target"), _share(figures.first_response_within_target_rate),
         _share(previous.first_response_within_target_rate)),
        (_("Closure rate"), _share(figures.closure_rate), _share(previous.closure_rate)),
        (_("Satisfied (CSAT)"), _share(figures.csat), _share(previous.csat)),
        (_("Unsatisfied"), _share(figures.unsatisfied_rate), _share(previous.unsatisfied_rate)),
        (_("Ratings given"), str(figures.rated), str(previous.rated)),
        (_("Median hours to resolution"), _number(figures.median_resolution_hours),
         _number(previous.median_resolution_hours)),
    ]
    for category, count in figures.by_category.items():
        rows.append((_("Calls: %(category)s", category=label(category, "category")), str(count),
                     str(previous.by_category.get(category, 0))))
    for category, minutes in figures.labor_minutes_by_category.items():
        rows.append((_("Hours of work: %(category)s", category=label(category, "category")),
                     _number(round(minutes / 60, 1)),
                     _number(round(previous.labor_minutes_by_category.get(category, 0) / 60, 1))))
    rows.append((_("Hours of internal admin work"), _number(round(figures.admin_minutes / 60, 1)),
                 _number(round(previous.admin_minutes / 60, 1))))
    return rows


def monthly_csv(period: Period) -> str:
    figures, previous = compute(period), compute(period.previous())
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_("Monthly service report"), period.start.strftime("%Y-%m")])
    writer.writerow([])
    writer.writerow([_("Figure"), _("This month"), _("Previous month")])
    writer.writerows(figure_rows(figures, previous))
    writer.writerow([])
    writer.writerow([_("Problem type"), _("Calls")])
    writer.writerows(figures.top_problem_types(len(figures.by_problem_type)))
    writer.writerow([])
    writer.writerow([_("Time to resolution"), _("Calls")])
    names = bucket_labels()
    writer.writerows((names[key], n) for key, n in figures.resolution_distribution.items())
    writer.writerow([])
    writer.writerow([_("Technician"), _("Visits"), _("First-time fix rate"), _("Minutes on site"),
                     _("Average minutes on site"), _("Average rating"), _("Carry-backs")])
    for tech in figures.technicians:
        writer.writerow([tech.name, tech.visits, _share(tech.first_time_fix_rate), tech.minutes_on_site,
                         _number(tech.average_minutes_on_site), _number(tech.average_rating), tech.carry_backs])
    if figures.alerts:
        writer.writerow([])
        writer.writerow([_("Alerts")])
        writer.writerows([alert.message] for alert in figures.alerts)
    return BOM + out.getvalue()


def monthly_pdf(period: Period) -> bytes:
    figures, previous = compute(period), compute(period.previous())
    return render_document(MONTHLY, [figures], figures=figures, previous=previous,
                           rows=figure_rows(figures, previous), charts=charts.all_charts(figures, previous),
                           month=period.start.strftime("%Y-%m"), company=company_info(), percent=percent,
                           printed_at=localtime_text(utcnow()),
                           phone=current_app.config.get("COMPANY_PHONE") or "")


# ----------------------------------------------------------------------------- the archive


def closed_calls(period: Period) -> list[RepairCall]:
    start, end = period.window
    return list(db.session.scalars(
        select(RepairCall).where(RepairCall.status == CallStatus.CLOSED, RepairCall.closed_at >= start,
                                 RepairCall.closed_at < end)
        .options(selectinload(RepairCall.notes), selectinload(RepairCall.visits),
                 selectinload(RepairCall.customer), selectinload(RepairCall.site))
        .order_by(RepairCall.closed_at, RepairCall.id)))


def archive_csv(period: Period) -> str:
    """A period's closed calls, one row each, with their communication log and the numbers of their
    documents (dispatch slips, work records, carry-back receipts)."""
    calls = closed_calls(period)
    ids = [c.id for c in calls]
    records: dict[int, list[WorkRecord]] = {}
    carry_backs: dict[int, list[str]] = {}
    if ids:
        for record in db.session.scalars(select(WorkRecord).where(WorkRecord.call_id.in_(ids))
                                         .order_by(WorkRecord.completed_at)):
            records.setdefault(record.call_id, []).append(record)
        for call_id, number in db.session.execute(select(CarryBack.call_id, CarryBack.number)
                                                  .where(CarryBack.call_id.in_(ids)).order_by(CarryBack.number)):
            carry_backs.setdefault(call_id, []).append(number)
    header = [_("Call no."), _("Received"), _("Closed"), _("Customer"), _("Site"), _("Channel"), _("Problem type"),
              _("Priority"), _("Category"), _("Description"), _("Technicians"), _("Dispatch slips"),
              _("Carry-back receipts"), _("Work done"), _("Rating"), _("Customer's comment"), _("Notes")]
    rows = []
    for call in calls:
        visits = [v for v in call.visits]
        technicians = sorted({v.technician.name for v in visits if v.status != "cancelled"})
        notes = "\n".join(f"{localtime_text(n.at)} {label(n.channel, 'channel')}: {n.text}" for n in call.notes)
        work = "\n".join(r.work_summary for r in records.get(call.id, []))
        rows.append([call.number, localtime_text(call.received_at), localtime_text(call.closed_at),
                     call.customer.name, call.site.address, label(call.channel, "channel"), call.problem_type,
                     label(call.priority, "priority"), label(call.category, "category"), call.description,
                     ", ".join(technicians), ", ".join(v.slip_number for v in visits),
                     ", ".join(carry_backs.get(call.id, [])), work,
                     label(str(call.rating), "rating") if call.rating is not None else _("not rated"),
                     call.feedback_comment or "", notes])
    return to_csv(header, rows)
