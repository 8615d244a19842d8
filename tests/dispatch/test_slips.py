"""The slip endpoints: GET /api/v1/visits/{id}/slip.pdf and GET /api/v1/slips.pdf (reads, never counted),
POST .../slip/prints and /api/v1/slips/prints and the pages' print buttons (counted), read back with pypdf."""

from __future__ import annotations

import io
import threading
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import Visit
from dispatch.scheduling.booking import book_visit
from dispatch.slips.data import Voucher, VoucherLine, register_voucher_provider, voucher_provider
from tests.factories import make_call, make_customer, make_equipment, make_site, make_user

SHANGHAI = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 11, 20)


def at(hour: int, day: date = DAY) -> datetime:
    return datetime(day.year, day.month, day.day, hour, tzinfo=SHANGHAI).astimezone(UTC)


def pdf_text(response: Any) -> tuple[str, PdfReader]:
    assert response.status_code == 200, response.get_data(as_text=True)
    assert response.mimetype == "application/pdf"
    reader = PdfReader(io.BytesIO(response.data))
    return "\n".join(page.extract_text() for page in reader.pages), reader


def book(actor: Any, technician: Any, hour: int, customer_name: str | None = None, day: date = DAY,
         **call: Any) -> Visit:
    customer = make_customer(name=customer_name, contact_name="王小明")
    site = make_site(customer, address="上海市浦东新区世纪大道100号")
    equipment = make_equipment(customer, site, model="Daikin VRV IV", serial=None,
                               warranty_until=date(2027, 3, 31))
    received = at(8, day) - timedelta(hours=1)
    repair = make_call(actor, customer=customer, site=site, equipment=equipment, received_at=received, **call)
    visit = book_visit(actor, repair, technician, at(hour, day), at(hour + 1, day))
    db.session.commit()
    return visit


def printed(client: Any, visit: Visit) -> dict[str, Any]:
    """One deliberate print through the API: count it, then the PDF (GET) shows it."""
    r = client.post(f"/api/v1/visits/{visit.id}/slip/prints")
    assert r.status_code == 201, r.json
    return r.json


def test_a_slip_prints_the_visit_and_counts_reprints(dispatcher: Any, technician: Any, api: Any) -> None:
    visit = book(dispatcher, technician, 10, customer_name="上海测试设备有限公司")
    client = api(dispatcher)
    assert printed(client, visit) == {"visit_id": visit.id, "document": "slip", "print_count": 1, "reprint": False,
                                      "pdf": f"/api/v1/visits/{visit.id}/slip.pdf"}
    response = client.get(f"/api/v1/visits/{visit.id}/slip.pdf")
    text, reader = pdf_text(response)
    assert len(reader.pages) == 1
    call = visit.call
    for fact in (visit.slip_number, call.number, "上海测试设备有限公司", "上海市浦东新区世纪大道100号",
                 "Free service", "免费服务", "free: under warranty until 2027-03-31", "Daikin VRV IV",
                 call.equipment.serial_number, "13812345678", "王小明", technician.name,
                 "2026-11-20 10:00 – 11:00"):
        assert fact in text, fact
    assert "Reprint" not in text
    assert f"/t/visits/{visit.id}" not in text  # the QR code is a drawing, not text
    assert "no-store" in response.headers["Cache-Control"]

    assert printed(client, visit)["print_count"] == 2
    second, _ = pdf_text(client.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    assert printed(client, visit) == {"visit_id": visit.id, "document": "slip", "print_count": 3, "reprint": True,
                                      "pdf": f"/api/v1/visits/{visit.id}/slip.pdf"}
    third, _ = pdf_text(client.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    assert "Reprint 2" in second and "Reprint 3" in third
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).print_count == 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "visits",
                                                         AuditEvent.entity_id == visit.id,
                                                         AuditEvent.action == "visit.slip_printed")
                                .order_by(AuditEvent.id)).all()
    assert [(e.before, e.after) for e in events] == [
        ({"print_count": 0}, {"print_count": 1}), ({"print_count": 1}, {"print_count": 2}),
        ({"print_count": 2}, {"print_count": 3})]
    assert {e.actor_id for e in events} == {dispatcher.id}


def test_reading_a_slip_counts_nothing(dispatcher: Any, technician: Any, api: Any, client: Any, login: Any) -> None:
    """Any link, preview or crawler may GET the PDF: only a print button (a POST) counts."""
    visit = book(dispatcher, technician, 10)
    desk = api(dispatcher)
    for _ in range(4):
        text, _reader = pdf_text(desk.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
        assert "Reprint" not in text
        pdf_text(desk.get(f"/api/v1/slips.pdf?date={DAY}"))
    login(dispatcher)
    pdf_text(client.get(f"/api/v1/visits/{visit.id}/slip.pdf"))  # the browser session's GET too
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).print_count == 0
    assert not db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("visit.%_printed"))).all()
    # a GET on the print URL is no print either
    assert desk.get(f"/api/v1/visits/{visit.id}/slip/prints").status_code == 405


def test_print_roles_and_csrf(app: Any, dispatcher: Any, technician: Any, finance: Any, api: Any, client: Any,
                              login: Any, monkeypatch: Any) -> None:
    other = make_user("technician", username="otto", name="Otto Other")
    mine, theirs = book(dispatcher, technician, 10), book(dispatcher, other, 10)
    assert api(technician).post(f"/api/v1/visits/{mine.id}/slip/prints").status_code == 201
    assert api(technician).post(f"/api/v1/visits/{theirs.id}/slip/prints").status_code == 404
    assert api(finance).post(f"/api/v1/visits/{mine.id}/slip/prints").status_code == 403
    assert api(None).post(f"/api/v1/visits/{mine.id}/slip/prints").status_code == 401
    assert api(technician).post("/api/v1/slips/prints", json={"date": str(DAY),
                                                              "technician_id": other.id}).status_code == 404
    bad = api(dispatcher).post("/api/v1/slips/prints", json={"date": "9999-12-31"})
    assert bad.status_code == 422 and "date" in bad.json["error"]["fields"]
    # a browser session without its CSRF token prints nothing (a bearer token needs none)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    assert api(technician).post(f"/api/v1/visits/{mine.id}/slip/prints").status_code == 201
    login(dispatcher)
    assert client.post(f"/api/v1/visits/{mine.id}/slip/prints").status_code == 400
    assert client.post(f"/board/visits/{mine.id}/print").status_code == 400
    db.session.expire_all()
    assert db.session.get(Visit, mine.id).print_count == 2 and db.session.get(Visit, theirs.id).print_count == 0


def test_the_voucher_has_its_own_counter(dispatcher: Any, technician: Any, api: Any) -> None:
    """The slip went out three times before the job; the customer's first voucher is no reprint."""
    from tests.billing.helpers import call_of, catalogue
    from tests.technicians.helpers import png_b64, today_visit

    catalogue(dispatcher)
    visit = today_visit(dispatcher, call_of("contract", dispatcher), technician)
    desk = api(dispatcher)
    for n in (1, 2, 3):
        assert printed(desk, visit) == {"visit_id": visit.id, "document": "slip", "print_count": n,
                                        "reprint": n >= 2, "pdf": f"/api/v1/visits/{visit.id}/slip.pdf"}
    text, _ = pdf_text(desk.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    assert "Dispatch slip" in text and "Reprint 3" in text
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    work = {"work_summary": "Replaced the run capacitor.", "labor_minutes": 45, "outcome": "fixed",
            "parts": [{"sku": "CAP-45-5", "quantity": 1}]}
    assert tech.post(f"/api/v1/visits/{visit.id}/complete", json=work).status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/signature",
                  json={"signer_name": "Mr Gao", "image_png_base64": png_b64(), "technician_confirmed": True})
    assert r.status_code == 201, r.json

    first = printed(desk, visit)
    assert first["document"] == "voucher" and first["print_count"] == 1 and first["reprint"] is False
    text, _ = pdf_text(desk.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    assert "Service voucher" in text and "Reprint" not in text
    assert printed(desk, visit)["print_count"] == 2
    text, _ = pdf_text(desk.get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    assert "Service voucher" in text and "Reprint 2" in text
    db.session.expire_all()
    stored = db.session.get(Visit, visit.id)
    assert (stored.print_count, stored.voucher_print_count) == (3, 2)
    shown = desk.get(f"/api/v1/visits/{visit.id}").json
    assert (shown["print_count"], shown["voucher_print_count"]) == (3, 2)
    actions = [e.action for e in db.session.scalars(select(AuditEvent).where(
        AuditEvent.entity_type == "visits", AuditEvent.entity_id == visit.id,
        AuditEvent.action.like("visit.%_printed")).order_by(AuditEvent.id))]
    assert actions == ["visit.slip_printed"] * 3 + ["visit.voucher_printed"] * 2


def test_a_technician_prints_only_their_own(dispatcher: Any, technician: Any, finance: Any, api: Any,
                                             client: Any) -> None:
    other = make_user("technician", username="otto", name="Otto Other")
    mine = book(dispatcher, technician, 10)
    theirs = book(dispatcher, other, 10)
    tech = api(technician)
    text, _ = pdf_text(tech.get(f"/api/v1/visits/{mine.id}/slip.pdf"))
    assert mine.slip_number in text
    refused = tech.get(f"/api/v1/visits/{theirs.id}/slip.pdf")
    assert refused.status_code == 404 and refused.json["error"]["code"] == "not_found"
    assert tech.get(f"/api/v1/slips.pdf?technician_id={other.id}&date={DAY}").status_code == 404
    # Without technician_id a technician gets their own day, never everyone's.
    text, reader = pdf_text(tech.get(f"/api/v1/slips.pdf?date={DAY}"))
    assert len(reader.pages) == 1 and mine.slip_number in text and theirs.slip_number not in text
    assert tech.post(f"/api/v1/visits/{theirs.id}/slip/prints").status_code == 404
    db.session.expire_all()
    assert db.session.get(Visit, theirs.id).print_count == 0  # a refused print is not counted
    assert api(finance).get(f"/api/v1/visits/{mine.id}/slip.pdf").status_code == 403
    assert client.get(f"/api/v1/visits/{mine.id}/slip.pdf").status_code == 401
    assert api(dispatcher).get("/api/v1/visits/999999/slip.pdf").status_code == 404


def test_a_days_slips_are_one_pdf_with_one_page_per_visit(dispatcher: Any, technician: Any, api: Any) -> None:
    other = make_user("technician", username="otto", name="Otto Other")
    # The day is the local day: 00:00-01:00 in Shanghai is 16:00-17:00 UTC the day before.
    visits = [book(dispatcher, technician, 0), book(dispatcher, technician, 9), book(dispatcher, technician, 13),
              book(dispatcher, other, 11)]
    book(dispatcher, technician, 10, day=DAY + timedelta(days=1))  # other days are not printed
    book(dispatcher, technician, 22, day=DAY - timedelta(days=1))
    client = api(dispatcher)

    text, reader = pdf_text(client.get(f"/api/v1/slips.pdf?technician_id={technician.id}&date={DAY}"))
    assert len(reader.pages) == 3
    for page, visit in zip(reader.pages, visits[:3], strict=True):  # in time order, one each
        assert visit.slip_number in page.extract_text()

    one = client.post("/api/v1/slips/prints", json={"date": str(DAY), "technician_id": technician.id})
    assert one.status_code == 201 and one.json["count"] == 3
    assert one.json["pdf"] == f"/api/v1/slips.pdf?date={DAY}&technician_id={technician.id}"
    everyone = client.post("/api/v1/slips/prints", json={"date": str(DAY)})
    assert everyone.status_code == 201 and everyone.json["count"] == 4
    assert [p["print_count"] for p in everyone.json["prints"]] == [2, 2, 2, 1]
    response = client.get(everyone.json["pdf"])
    text, reader = pdf_text(response)
    assert len(reader.pages) == 4 and response.headers["X-Slip-Count"] == "4"
    assert all(v.slip_number in text for v in visits)
    db.session.expire_all()
    assert [db.session.get(Visit, v.id).print_count for v in visits] == [2, 2, 2, 1]
    assert printed(client, visits[3])["print_count"] == 2
    text, _ = pdf_text(client.get(f"/api/v1/visits/{visits[3].id}/slip.pdf"))
    assert "Reprint 2" in text

    text, reader = pdf_text(client.get("/api/v1/slips.pdf?date=2026-01-05"))
    assert len(reader.pages) == 1 and "No visits booked for any technician on 2026-01-05." in text


def test_day_slips_default_to_today_and_refuse_bad_input(dispatcher: Any, technician: Any, api: Any) -> None:
    repair = make_call(dispatcher)
    start = datetime.now(UTC) + timedelta(minutes=5)
    visit = book_visit(dispatcher, repair, technician, start, start + timedelta(minutes=30))
    db.session.commit()
    client = api(dispatcher)
    if start.astimezone(SHANGHAI).date() == datetime.now(SHANGHAI).date():  # not at 23:55 local time
        text, _ = pdf_text(client.get("/api/v1/slips.pdf"))
        assert visit.slip_number in text
    bad = client.get("/api/v1/slips.pdf?date=20-11-2026")
    assert bad.status_code == 422 and "date" in bad.json["error"]["fields"]
    for extreme in ("9999-12-31", "0001-01-01"):
        bad = client.get(f"/api/v1/slips.pdf?date={extreme}")
        assert bad.status_code == 422 and "date" in bad.json["error"]["fields"]
    bad = client.get("/api/v1/slips.pdf?technician_id=abc")
    assert bad.status_code == 422 and "technician_id" in bad.json["error"]["fields"]
    assert client.get(f"/api/v1/slips.pdf?technician_id={dispatcher.id}").status_code == 404
    for unknown in ("424242", "0", "-3", "99999999999999999999"):
        assert client.get(f"/api/v1/slips.pdf?technician_id={unknown}").status_code == 404


def test_after_sign_off_the_slip_is_the_voucher(app: Any, dispatcher: Any, technician: Any, api: Any) -> None:
    """The technicians package fills the voucher through the hook; here a provider registered by hand."""
    visit = book(dispatcher, technician, 10)
    digest = "ab" * 32

    def provider(v: Visit) -> Voucher | None:
        if v.id != visit.id:
            return None
        return Voucher(
            work_summary="Cleaned the condenser, recharged R410A.", labor_minutes=75, signer_name="王小明",
            signed_at=at(11), content_sha256=digest,
            parts=[VoucherLine("R410A refrigerant 1 kg", 2, Decimal("60.00"), Decimal("120.00"), "R410A")],
            amounts=[("Parts", Decimal("120.00"))], total=Decimal("0.00"),
            amount_note="Free service (warranty): no charge.", outcome="fixed")

    previous = voucher_provider()
    register_voucher_provider(app, provider)
    try:
        text, reader = pdf_text(api(dispatcher).get(f"/api/v1/visits/{visit.id}/slip.pdf"))
    finally:
        register_voucher_provider(app, previous)
    assert len(reader.pages) == 1
    for fact in ("Service voucher", "服务凭证", "Cleaned the condenser", "75 min", "R410A refrigerant 1 kg",
                 "120.00", "王小明", "2026-11-20 11:00:00", digest, "Free service (warranty): no charge.",
                 visit.slip_number, visit.call.number):
        assert fact in text, fact


@pytest.mark.concurrency
def test_prints_at_the_same_moment_are_each_counted(dispatcher: Any, technician: Any, api: Any) -> None:
    visit = book(dispatcher, technician, 10)
    url = f"/api/v1/visits/{visit.id}/slip/prints"
    clients = [api(dispatcher), api(technician), api(dispatcher)]
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def work(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].post(url)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status_code for r in results) == [201, 201, 201]
    assert sorted(r.json["print_count"] for r in results) == [1, 2, 3]
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).print_count == 3
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "visit.slip_printed")).all()
    assert sorted((e.before["print_count"], e.after["print_count"]) for e in events) == [(0, 1), (1, 2), (2, 3)]


def test_a_cancelled_visit_prints_marked_and_leaves_the_days_batch(dispatcher: Any, technician: Any,
                                                                     api: Any) -> None:
    from dispatch.scheduling.booking import cancel_visit

    kept, cancelled = book(dispatcher, technician, 9), book(dispatcher, technician, 14)
    cancel_visit(dispatcher, cancelled, "customer away")
    db.session.commit()
    client = api(dispatcher)
    text, _ = pdf_text(client.get(f"/api/v1/visits/{cancelled.id}/slip.pdf"))
    assert cancelled.slip_number in text and "Cancelled" in text
    text, reader = pdf_text(client.get(f"/api/v1/slips.pdf?technician_id={technician.id}&date={DAY}"))
    assert len(reader.pages) == 1 and kept.slip_number in text and cancelled.slip_number not in text


def _csrf(page: str) -> str:
    import re

    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "no CSRF token on the page"
    return match.group(1)


def test_the_board_prints_through_buttons_that_post(dispatcher: Any, technician: Any, client: Any,
                                                    login: Any) -> None:
    other = make_user("technician", username="otto", name="Otto Other")
    visits = [book(dispatcher, technician, 9), book(dispatcher, technician, 13), book(dispatcher, other, 11)]
    login(dispatcher)
    board = client.get(f"/board?date={DAY}").get_data(as_text=True)
    # no GET link counts a print any more: small forms that POST, opening the PDF in a new tab
    assert "/slip.pdf" not in board and "/slips.pdf" not in board
    assert f'action="/board/visits/{visits[0].id}/print" target="_blank"' in board
    assert 'action="/board/slips/print" target="_blank"' in board and 'id="print-day-slips"' in board
    token = _csrf(board)

    one = client.post(f"/board/visits/{visits[0].id}/print", data={"csrf_token": token})
    assert one.status_code == 303 and one.headers["Location"].endswith(f"/api/v1/visits/{visits[0].id}/slip.pdf")
    text, _ = pdf_text(client.get(one.headers["Location"]))
    assert visits[0].slip_number in text and "Reprint" not in text

    # the board's button: every technician's slips of the day, one PDF, each counted once
    day = client.post("/board/slips/print", data={"csrf_token": token, "date": str(DAY)})
    assert day.status_code == 303 and day.headers["Location"].endswith(f"/api/v1/slips.pdf?date={DAY}")
    text, reader = pdf_text(client.get(day.headers["Location"]))
    assert len(reader.pages) == 3 and all(v.slip_number in text for v in visits)
    db.session.expire_all()
    assert [db.session.get(Visit, v.id).print_count for v in visits] == [2, 1, 1]
    lane = client.post("/board/slips/print", data={"csrf_token": token, "date": str(DAY),
                                                   "technician_id": str(other.id)})
    assert lane.headers["Location"].endswith(f"/api/v1/slips.pdf?date={DAY}&technician_id={other.id}")
    db.session.expire_all()
    assert [db.session.get(Visit, v.id).print_count for v in visits] == [2, 1, 2]
    # a wrong day is a message on the board, not a 500, and counts nothing
    bad = client.post("/board/slips/print", data={"csrf_token": token, "date": "9999-12-31"})
    assert bad.status_code == 302
    db.session.expire_all()
    assert [db.session.get(Visit, v.id).print_count for v in visits] == [2, 1, 2]


def test_the_call_page_shows_the_booked_visit_with_a_print_button(dispatcher: Any, technician: Any, client: Any,
                                                                  login: Any) -> None:
    visit = book(dispatcher, technician, 10)
    login(dispatcher)
    page = client.get(f"/calls/{visit.call_id}").get_data(as_text=True)
    assert f'action="/board/visits/{visit.id}/print"' in page
    r = client.post(f"/board/visits/{visit.id}/print", data={"csrf_token": _csrf(page)})
    assert r.status_code == 303
    # The PDF works with the browser session (no token), as the tab the button opens does.
    text, _ = pdf_text(client.get(r.headers["Location"]))
    assert visit.slip_number in text
    db.session.expire_all()
    assert db.session.get(Visit, visit.id).print_count == 1



def test_the_call_pages_visits_table_prints_through_a_counting_post(dispatcher: Any, technician: Any,
                                                                    client: Any, login: Any) -> None:
    """Each visit row of the call page's Visits table prints through the board's counting POST; no GET link
    there calls itself a print; a cancelled visit offers none."""
    from dispatch.scheduling.booking import cancel_visit

    gone = book(dispatcher, technician, 9)
    call = gone.call
    cancel_visit(dispatcher, gone, "customer away")
    live = book_visit(dispatcher, call, technician, at(14), at(15))
    db.session.commit()
    login(dispatcher)
    page = client.get(f"/calls/{call.id}").get_data(as_text=True)
    start = page.index('id="visits"')
    visits_table = page[start:page.index("</section>", start)]
    assert f'action="/board/visits/{live.id}/print" target="_blank"' in visits_table
    assert 'class="link-button' in visits_table and "Print slip" in visits_table
    assert "/slip.pdf" not in visits_table  # a read is no print: nothing here GETs the PDF
    assert gone.slip_number in visits_table and f"/board/visits/{gone.id}/print" not in visits_table
    r = client.post(f"/board/visits/{live.id}/print", data={"csrf_token": _csrf(page)})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/api/v1/visits/{live.id}/slip.pdf")
    db.session.expire_all()
    assert db.session.get(Visit, live.id).print_count == 1
    zh = client.get(f"/calls/{call.id}", headers=ZH_PAGE).get_data(as_text=True)
    start = zh.index('id="visits"')
    assert f'action="/board/visits/{live.id}/print"' in zh[start:] and "打印派工单" in zh[start:]


ZH_PAGE = {"Accept-Language": "zh-CN"}


# ----------------------------------------------------------------------------- the printing user's language

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def _cjk(text: str) -> set[str]:
    return {ch for ch in text if "\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef"}


def _first(text: str, primary: str, second: str) -> bool:
    """Both are printed, `primary` first (the second language is the small line under it)."""
    return primary in text and second in text and text.index(primary) < text.index(second)


def _signed_contract_visit(api: Any, dispatcher: Any, technician: Any) -> Visit:
    from tests.billing.helpers import call_of, catalogue
    from tests.technicians.helpers import png_b64, today_visit

    catalogue(dispatcher)
    visit = today_visit(dispatcher, call_of("contract", dispatcher), technician)
    tech = api(technician)
    assert tech.post(f"/api/v1/visits/{visit.id}/arrive").status_code == 200
    work = {"work_summary": "更换运行电容，清洗过滤网。", "labor_minutes": 45, "outcome": "fixed",
            "parts": [{"sku": "CAP-45-5", "quantity": 1}]}
    assert tech.post(f"/api/v1/visits/{visit.id}/complete", json=work).status_code == 200
    r = tech.post(f"/api/v1/visits/{visit.id}/signature",
                  json={"signer_name": "高先生", "image_png_base64": png_b64(), "technician_confirmed": True})
    assert r.status_code == 201, r.json
    return visit


def test_slip_and_voucher_print_in_the_printing_users_language(app: Any, dispatcher: Any, technician: Any,
                                                               api: Any, monkeypatch: Any, tmp_path: Any) -> None:
    blank = book(dispatcher, technician, 10, customer_name="上海测试设备有限公司")
    signed = _signed_contract_visit(api, dispatcher, technician)
    client = api(dispatcher)

    def pdf(visit: Visit, headers: dict[str, str], name: str) -> str:
        response = client.get(f"/api/v1/visits/{visit.id}/slip.pdf", headers=headers)
        (tmp_path / f"{name}.pdf").write_bytes(response.data)  # to look at: pdftoppm -png -r 70
        return pdf_text(response)[0]

    # Chinese first for a Chinese user, English as the small second line (SLIP_LANGUAGES="zh_CN,en").
    zh = pdf(blank, ZH, "slip-zh")
    for primary, second in (("服务派工单", "Dispatch slip"), ("报修单号", "Call no."), ("预约时间", "Appointment"),
                            ("免费服务", "Free service"), ("客户签字", "Customer signature"), ("已修复", "Fixed"),
                            ("携回修护", "Carry-back")):
        assert _first(zh, primary, second), primary
    assert "第 1 页" in zh and "上海测试设备有限公司" in zh
    # English first for an English user, Chinese under it.
    en = pdf(blank, EN, "slip-en")
    for primary, second in (("Dispatch slip", "服务派工单"), ("Call no.", "报修单号"), ("Free service", "免费服务"),
                            ("Customer signature", "客户签字")):
        assert _first(en, primary, second), primary
    assert "Page 1" in en

    # The signed voucher: labels, the charge lines by kind, money in the locale's currency format.
    zh = pdf(signed, ZH, "voucher-zh")
    for primary, second in (("服务凭证", "Service voucher"), ("维修内容", "Work done"), ("合计", "Total"),
                            ("上门费", "Call-out fee"), ("签字人", "Signed by"), ("已修复", "Fixed")):
        assert _first(zh, primary, second), primary
    assert "更换运行电容" in zh and "高先生" in zh and "¥" in zh and "CN¥" not in zh
    assert "合同服务" in zh and "MC-0042" in zh  # the contract covers the call-out and the labor
    en = pdf(signed, EN, "voucher-en")
    for primary, second in (("Service voucher", "服务凭证"), ("Total", "合计"), ("Call-out fee", "上门费")):
        assert _first(en, primary, second), primary
    assert "CN¥" in en

    # One language only: SLIP_LANGUAGES="en" prints no Chinese label at all; what people typed stays.
    monkeypatch.setitem(app.config, "SLIP_LANGUAGES", "en")
    only = pdf(blank, EN, "slip-en-only")
    assert "Dispatch slip" in only and "Call no." in only
    typed = ("上海测试设备有限公司", "王小明", "上海市浦东新区世纪大道100号")
    assert all(t in only for t in typed)
    for t in typed:
        only = only.replace(t, "")
    assert not _cjk(only), _cjk(only)
    only = pdf(signed, EN, "voucher-en-only")
    for t in ("更换运行电容，清洗过滤网。", "高先生"):
        assert t in only
        only = only.replace(t, "")
    assert "Service voucher" in only and not _cjk(only), _cjk(only)
    # and a Chinese user's print with SLIP_LANGUAGES="zh_CN": Chinese alone
    monkeypatch.setitem(app.config, "SLIP_LANGUAGES", "zh_CN")
    zh_only = pdf(blank, ZH, "slip-zh-only")
    assert "服务派工单" in zh_only and "Dispatch slip" not in zh_only and "Call no." not in zh_only
