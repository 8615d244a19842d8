"""The manager's numbers (issue 13): every figure on a seeded week whose answers are written here by hand,
the API's roles and bad input, the dashboard page, the monthly report (PDF read back with pypdf, CSV), the
daily summary and the archive export.

The week: Monday 2026-03-02 to Sunday 2026-03-08 (Asia/Shanghai; every time below is UTC, 02:00 UTC is
10:00 local). Six live calls, one cancelled, one in the week before:
  C1 phone  not cooling  charged   booked in 120 min (start inside)   answered in time  closed, rated 5, 8 h
  C2 phone  not cooling  contract  booked in 30 min, start later, customer asked   in time   closed, 4, 50 h
  C3 email  water leak   free      booked in 1560 min (late)          answered late     completed, reopened, 2
  C4 web    noise        charged   booked in 60 min                   in time           completed, unrated, 5 h
  C5 phone  noise        charged   not booked, deadline passed        not answered      new
  C6 phone  not cooling  charged   remote (no visit)                  in time           closed, 3, 1 h
  C7 cancelled (left out); C8 received 2026-03-01 (the previous period), closed, rated 5.
"""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal  # noqa: F401
from typing import Any

import pytest

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import RepairCall, Visit
from technicians.models import AdminWork, CarryBack, VisitEvent, WorkRecord
from tests.factories import make_call, make_customer, make_site, make_user


def at(day: int, hour: int, minute: int = 0, month: int = 3) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


_slips = iter(range(1, 1000))


def visit(call: RepairCall, tech: Any, created: datetime, start: datetime, *, customer_requested: bool = False,
          status: str = "completed") -> Visit:
    v = Visit(call_id=call.id, technician_id=tech.id, slip_number=f"RPT-{next(_slips):04d}", start=start,
              end=start + timedelta(hours=1), status=status, customer_requested=customer_requested,
              created_at=created, kind="service")
    db.session.add(v)
    db.session.flush()
    return v


def work(v: Visit, completed: datetime, labor: int, outcome: str, arrived: datetime | None = None) -> WorkRecord:
    record = WorkRecord(visit_id=v.id, call_id=v.call_id, work_summary=f"work on {v.slip_number}",
                        labor_minutes=labor, outcome=outcome, completed_at=completed)
    db.session.add(record)
    if arrived is not None:
        db.session.add(VisitEvent(visit_id=v.id, kind="arrived", at=arrived))
    db.session.flush()
    return record


def status_event(call: RepairCall, status: str, when: datetime) -> None:
    db.session.add(AuditEvent(entity_type="repair_calls", entity_id=call.id, action="call.status",
                              before={"status": "x"}, after={"status": status}, at=when))


@pytest.fixture
def week(dispatcher: Any) -> dict[str, Any]:
    alice = make_user("technician", username="alice", name="Alice")
    bob = make_user("technician", username="bob", name="Bob")
    customer = make_customer(dispatcher, name="Harbour Hotel")
    site = make_site(customer)

    def call(received: datetime, channel: str, problem: str, category: str, *, on_site: bool = True,
             priority: str = "normal") -> RepairCall:
        c = make_call(dispatcher, customer=customer, site=site, received_at=received, channel=channel,
                      problem_type=problem, priority=priority, on_site=on_site)
        c.category = category
        c.booking_deadline = received + timedelta(hours=24) if on_site else None
        c.response_deadline = received + timedelta(hours=2)
        return c

    c1 = call(at(2, 2), "phone", "not cooling", "charged")
    c1.responded_at, c1.completed_at, c1.closed_at, c1.status, c1.rating = at(2, 3), at(2, 10), at(2, 12), "closed", 5
    c2 = call(at(3, 2), "phone", "not cooling", "contract")
    c2.responded_at, c2.completed_at, c2.closed_at, c2.status, c2.rating = at(3, 2, 30), at(5, 4), at(5, 6), "closed", 4
    c3 = call(at(3, 6), "email", "water leak", "free")
    c3.responded_at, c3.status, c3.rating, c3.feedback_comment = at(3, 12), "reopened", 2, "Still leaking"
    c4 = call(at(4, 2), "web", "noise", "charged")
    c4.responded_at, c4.completed_at, c4.status = at(4, 3), at(4, 7), "completed"
    c5 = call(at(5, 2), "phone", "noise", "charged")
    c6 = call(at(6, 2), "phone", "not cooling", "charged", on_site=False)
    c6.responded_at, c6.completed_at, c6.closed_at, c6.status, c6.rating = at(6, 2, 10), at(6, 3), at(6, 4), "closed", 3
    c7 = call(at(6, 5), "phone", "not cooling", "charged")
    c7.status = "cancelled"
    c8 = call(at(1, 2), "walk_in", "smell", "charged")
    c8.responded_at, c8.completed_at, c8.closed_at, c8.status, c8.rating = at(1, 3), at(1, 5), at(1, 6), "closed", 5
    db.session.flush()

    v1 = visit(c1, alice, at(2, 4), at(2, 8))
    v2 = visit(c2, bob, at(3, 2, 30), at(5, 2), customer_requested=True)
    v3 = visit(c3, alice, at(4, 8), at(4, 9))
    v3b = visit(c3, bob, at(5, 0), at(5, 8))
    v4 = visit(c4, alice, at(4, 3), at(4, 6))
    v8 = visit(c8, bob, at(1, 2, 30), at(1, 3))
    work(v1, at(2, 10), 60, "fixed", arrived=at(2, 8, 10))
    work(v2, at(5, 4), 45, "fixed", arrived=at(5, 2, 30))
    work(v3, at(4, 10), 30, "carry_back")
    work(v3b, at(5, 9), 40, "fixed", arrived=at(5, 8))
    work(v4, at(4, 7), 50, "fixed", arrived=at(4, 6, 20))
    work(v8, at(1, 5), 20, "fixed")
    db.session.add(CarryBack(number="CB-RPT-1", visit_id=v3.id, call_id=c3.id, item="Pump",
                             promised_return_on=date(2026, 3, 10), taken_by_id=alice.id, created_at=at(4, 10)))
    status_event(c3, "completed", at(5, 9, 30))
    status_event(c3, "reopened", at(5, 10))
    db.session.add(AuditEvent(entity_type="repair_calls", entity_id=c3.id, action="call.feedback",
                              after={"rating": 2}, at=at(5, 10)))
    db.session.add_all([AdminWork(technician_id=alice.id, date=date(2026, 3, 3), activity="training", minutes=90),
                        AdminWork(technician_id=bob.id, date=date(2026, 3, 8), activity="tools", minutes=30),
                        AdminWork(technician_id=bob.id, date=date(2026, 3, 9), activity="tools", minutes=60)])
    db.session.add(c1)
    db.session.commit()
    return {"alice": alice, "bob": bob, "calls": [c1, c2, c3, c4, c5, c6, c7, c8]}


WEEK = {"from": "2026-03-02", "to": "2026-03-08"}


def test_kpis_compute_every_figure_as_api_md_defines_it(api, manager, week):
    r = api(manager).get("/api/v1/reports/kpis", query_string=WEEK)
    assert r.status_code == 200, r.get_json()
    k = r.get_json()
    assert k["calls"] == 6  # C1-C6: the cancelled C7 and last week's C8 are left out
    assert k["booked_within_deadline_rate"] == 0.6  # C1, C2 (customer asked), C4 of C1-C5
    assert k["median_minutes_to_booking"] == 90.0  # 30, 60, 120, 1560
    assert k["first_response_within_target_rate"] == 0.6667  # 4 of 6: C3 late, C5 not answered and past due
    assert k["closure_rate"] == 0.6  # closed C1, C2, C6 of completed C1, C2, C3 (reopened since), C4, C6
    assert k["csat"] == 0.5  # 5 and 4 of 5, 4, 2, 3
    assert k["unsatisfied_rate"] == 0.25  # the 2
    assert k["by_category"] == {"charged": 3 + 1, "contract": 1, "free": 1}
    assert k["by_problem_type"] == {"not cooling": 3, "noise": 2, "water leak": 1}
    assert k["admin_minutes"] == 120  # 90 + 30; the 60 on 9 March is outside
    assert k["cancelled"] == 1
    assert k["by_channel"] == {"phone": 4, "email": 1, "web": 1, "messaging": 0, "walk_in": 0}
    assert [d["phone"] for d in k["calls_per_day"]] == [1, 1, 0, 1, 1, 0, 0]
    assert k["ratings"] == {"1": 0, "2": 1, "3": 1, "4": 1, "5": 1}
    assert k["labor_minutes_by_category"] == {"charged": 110, "contract": 45, "free": 70}
    assert k["median_resolution_hours"] == 6.5  # 1, 5, 8, 50
    assert k["resolution_distribution"] == {"under_4h": 1, "4h_24h": 2, "1d_3d": 1, "3d_5d": 0, "5d_10d": 0,
                                            "over_10d": 0}
    assert {a["code"] for a in k["alerts"]} == {"closure_rate_low", "csat_low", "unsatisfied_high"}
    # the period of the same length before: 23 Feb - 1 Mar, only C8
    assert k["previous"]["from"] == "2026-02-23" and k["previous"]["to"] == "2026-03-01"
    assert k["previous"]["calls"] == 1 and k["previous"]["csat"] == 1.0 and k["previous"]["closure_rate"] == 1.0


def test_kpis_per_technician(api, finance, week):
    k = api(finance).get("/api/v1/reports/kpis", query_string=WEEK).get_json()
    alice, bob = k["technicians"]
    assert alice == {"technician_id": week["alice"].id, "name": "Alice", "visits": 3, "first_visits": 3,
                     "first_time_fixes": 2, "first_time_fix_rate": 0.6667, "minutes_on_site": 180,
                     "average_minutes_on_site": 60.0, "ratings": 2, "average_rating": 3.5, "carry_backs": 1}
    assert bob == {"technician_id": week["bob"].id, "name": "Bob", "visits": 2, "first_visits": 1,
                   "first_time_fixes": 1, "first_time_fix_rate": 1.0, "minutes_on_site": 150,
                   "average_minutes_on_site": 75.0, "ratings": 2, "average_rating": 3.0, "carry_backs": 0}


def test_no_alerts_when_the_targets_are_met_and_nothing_to_judge_is_null(api, admin, week):
    k = api(admin).get("/api/v1/reports/kpis", query_string={"from": "2026-03-01", "to": "2026-03-01"}).get_json()
    assert k["calls"] == 1 and k["closure_rate"] == 1.0 and k["csat"] == 1.0 and k["unsatisfied_rate"] == 0.0
    assert k["alerts"] == []
    empty = api(admin).get("/api/v1/reports/kpis", query_string={"from": "2025-01-01", "to": "2025-01-31"}).get_json()
    assert empty["calls"] == 0 and empty["csat"] is None and empty["closure_rate"] is None
    assert empty["median_minutes_to_booking"] is None and empty["alerts"] == []


@pytest.mark.parametrize("role", ["dispatcher", "technician"])
def test_kpis_refuse_other_roles(api, role):
    r = api(make_user(role)).get("/api/v1/reports/kpis", query_string=WEEK)
    assert r.status_code == 403


@pytest.mark.parametrize("query", [{"from": "2026-13-01"}, {"from": "2026-03-09", "to": "2026-03-01"},
                                   {"to": "yesterday"}, {"from": "1990-01-01", "to": "2026-01-01"}])
def test_kpis_bad_dates_are_422_with_a_message(api, manager, query):
    r = api(manager).get("/api/v1/reports/kpis", query_string=query)
    assert r.status_code == 422
    assert r.get_json()["error"]["message"]


def test_daily_summary(api, manager, week):
    d = api(manager).get("/api/v1/reports/daily", query_string={"date": "2026-03-05"}).get_json()
    assert d["received"] == 1 and d["visits_done"] == 2 and d["completed"] == 1 and d["reopened"] == 1
    assert d["ratings"] == 1 and d["unsatisfied"] == 1 and d["open_now"] == 2
    assert d["unsatisfied_calls"] == [{"id": week["calls"][2].id, "number": week["calls"][2].number, "rating": 2,
                                       "comment": "Still leaking"}]
    assert api(manager).get("/api/v1/reports/daily", query_string={"date": "5 March"}).status_code == 422


def test_dashboard_shows_charts_alerts_and_technicians(login, client, manager, week):
    login(manager)
    r = client.get("/reports/", query_string=WEEK)
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    assert html.count("<svg") >= 7 and "<script" not in html.split("<main", 1)[1].split("</main>", 1)[0]
    assert 'data-alert="closure_rate_low"' in html and 'data-alert="csat_low"' in html
    assert "Alice" in html and "66.7%" in html  # Alice's first-time fix rate
    assert "Calls per day by channel" in html and "The ten most frequent problem types" in html
    assert 'href="/reports/"' in html  # the Reports menu item leads here now
    zh = client.get("/reports/", query_string=WEEK, headers={"Accept-Language": "zh-CN"})
    assert zh.status_code == 200 and "报表" in zh.get_data(as_text=True) and zh.get_data(as_text=True).count("<svg") >= 7
    bad = client.get("/reports/", query_string={"from": "nonsense"})
    assert bad.status_code == 422 and "<svg" in bad.get_data(as_text=True)


def test_dashboard_refuses_the_desk_and_technicians(login, client, dispatcher):
    login(dispatcher)
    assert client.get("/reports/").status_code == 403


def test_monthly_csv_in_both_languages(api, manager, week):
    r = api(manager).get("/api/v1/reports/monthly.csv", query_string={"month": "2026-03"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    text = r.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    table = {row[0]: row[1:] for row in rows if row}
    # March holds C1-C6 (C7 cancelled) and C8 (1 March): 7 calls; February none
    assert table["Calls received"] == ["7", "0"]
    assert table["Closure rate"] == ["66.7%", ""]  # C1, C2, C6, C8 closed of 6 completed
    assert table["Satisfied (CSAT)"] == ["60.0%", ""]  # 5, 4, 5 of 5, 4, 2, 3, 5
    assert table["Alice"][:3] == ["3", "66.7%", "180"]
    zh = api(manager).get("/api/v1/reports/monthly.csv", query_string={"month": "2026-03", "lang": "zh_CN"})
    assert zh.status_code == 200
    assert api(manager).get("/api/v1/reports/monthly.csv", query_string={"month": "March"}).status_code == 422
    assert api(manager).get("/api/v1/reports/monthly.csv",
                            query_string={"month": "2026-03", "lang": "fr"}).status_code == 422


def test_monthly_pdf_reads_back_with_its_figures_and_charts(api, manager, week, tmp_path):
    from pypdf import PdfReader

    r = api(manager).get("/api/v1/reports/monthly.pdf", query_string={"month": "2026-03", "lang": "en"})
    assert r.status_code == 200 and r.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(r.data))
    text = "\n".join(page.extract_text() for page in reader.pages)
    assert "Monthly service report" in text and "2026-03" in text
    assert "Closure rate" in text and "66.7%" in text
    assert "Calls per day by channel" in text  # the charts' titles are the SVG's text, printed
    assert "The ten most frequent problem types" in text and "Alice" in text
    assert "Closure rate 66.7% is below the target of 95%." in text
    assert len(reader.pages) >= 3
    if shutil.which("pdftoppm"):
        (tmp_path / "report.pdf").write_bytes(r.data)
        subprocess.run(["pdftoppm", "-png", "-r", "40", "-f", "1", "-l", "2", str(tmp_path / "report.pdf"),
                        str(tmp_path / "page")], check=True, timeout=60)
        pages = sorted(tmp_path.glob("page*.png"))
        assert len(pages) == 2 and all(p.stat().st_size > 5000 for p in pages)


def test_archive_export_of_closed_calls_with_notes(api, manager, dispatcher, week):
    from dispatch.services.calls import add_note

    c1 = week["calls"][0]
    add_note(dispatcher, c1, channel="phone", text="Customer confirmed the unit cools again.")
    db.session.commit()
    r = api(manager).get("/api/v1/reports/archive.csv", query_string=WEEK)
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True).lstrip("\ufeff"))))
    assert [row["Call no."] for row in rows] == [week["calls"][i].number for i in (0, 1, 5)]
    first = rows[0]
    assert "Customer confirmed the unit cools again." in first["Notes"]
    assert first["Technicians"] == "Alice" and first["Rating"] == "very satisfied"
    assert first["Work done"].startswith("work on RPT-")
    assert api(manager).get("/api/v1/reports/archive.csv", query_string={"from": "x"}).status_code == 422
