"""The stored slip (issue 16): a visit's slip PDF is rendered once per content and then served from the
database; a change of what it prints (a reschedule, a customer's phone, a reprint, the language) renders
it anew; a booking or a change warms it in the background. Read back with pypdf."""

from __future__ import annotations

import io
import threading
from datetime import timedelta
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from dispatch.core.extensions import db
from dispatch.models import Visit
from dispatch.scheduling.booking import reschedule_visit
from dispatch.slips import store, warm
from dispatch.slips.data import slip_data
from dispatch.slips.store import SlipPdf
from tests.dispatch.test_booking_api import _slot, works_at
from tests.dispatch.test_slips import SHANGHAI, at, book, printed
from tests.factories import make_call

ZH = {"Accept-Language": "zh-CN"}


def fresh(visit_id: int) -> Visit:
    visit = db.session.get(Visit, visit_id)
    assert visit is not None
    return visit


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def rows(visit: Visit) -> list[SlipPdf]:
    db.session.commit()  # a fresh read: what other requests and the warming thread committed since
    return list(db.session.scalars(select(SlipPdf).where(SlipPdf.visit_id == visit.id).order_by(SlipPdf.id)))


def get_slip(client: Any, visit: Visit, **kw: Any) -> tuple[str, str, bytes]:
    r = client.get(f"/api/v1/visits/{visit.id}/slip.pdf", **kw)
    assert r.status_code == 200, r.get_data(as_text=True)
    return r.headers["X-Slip-Source"], text_of(r.data), r.data


def test_the_same_content_is_rendered_once_and_then_served_stored(dispatcher: Any, technician: Any,
                                                                   api: Any) -> None:
    visit = book(dispatcher, technician, 10, customer_name="上海测试设备有限公司")
    desk = api(dispatcher)
    source, text, first = get_slip(desk, visit)
    assert source == "rendered" and visit.slip_number in text and "上海测试设备有限公司" in text
    (row,) = rows(visit)
    assert row.pdf == first and row.locale == "en" and len(row.fingerprint) == 64
    for _ in range(2):
        source, _text, again = get_slip(desk, visit)
        assert source == "stored" and again == first
    (same,) = rows(visit)
    assert (same.id, same.rendered_at) == (row.id, row.rendered_at)  # not rendered, not written again
    # the technician's own GET reads the same stored slip (same content, same language)
    assert get_slip(api(technician), visit)[0] == "stored"


def test_a_reschedule_prints_the_new_time(dispatcher: Any, technician: Any, api: Any) -> None:
    visit = book(dispatcher, technician, 10)
    desk = api(dispatcher)
    _source, text, _pdf = get_slip(desk, visit)
    assert "2026-11-20 10:00 – 11:00" in text
    (before,) = rows(visit)
    stale = before.fingerprint

    reschedule_visit(dispatcher, fresh(visit.id), start=at(15), end=at(16))
    db.session.commit()
    source, text, _pdf = get_slip(desk, visit)
    assert source == "rendered"
    assert "2026-11-20 15:00 – 16:00" in text and "10:00 – 11:00" not in text
    (after,) = rows(visit)  # the visit's row in this language was replaced, not added to
    assert after.fingerprint != stale
    assert get_slip(desk, visit)[0] == "stored"


def test_a_customer_edit_prints_the_new_phone(dispatcher: Any, technician: Any, api: Any) -> None:
    visit = book(dispatcher, technician, 10)
    desk = api(dispatcher)
    assert "13812345678" in get_slip(desk, visit)[1]
    customer = fresh(visit.id).call.customer
    customer.phone = "13900001111"
    db.session.commit()
    source, text, _pdf = get_slip(desk, visit)
    assert source == "rendered" and "13900001111" in text and "13812345678" not in text


def test_the_print_number_and_the_language_are_part_of_the_content(dispatcher: Any, technician: Any,
                                                                    api: Any) -> None:
    """The reprint mark changes per print: it is in the fingerprint, so a reprint is never served the
    first print's PDF; the first print itself is the slip already stored (print 1 of 1 reads the same)."""
    visit = book(dispatcher, technician, 10)
    desk = api(dispatcher)
    assert get_slip(desk, visit)[0] == "rendered"
    printed(desk, visit)
    source, text, _pdf = get_slip(desk, visit)
    assert source == "stored" and "Reprint" not in text
    printed(desk, visit)
    source, text, _pdf = get_slip(desk, visit)
    assert source == "rendered" and "Reprint 2" in text
    assert get_slip(desk, visit)[0] == "stored"

    source, text, _pdf = get_slip(desk, visit, headers=ZH)  # a Chinese browser: labels in Chinese first
    compact = "".join(text.split())
    assert source == "rendered" and compact.index("服务派工单") < compact.index("Dispatchslip") and "补打2" in compact
    assert get_slip(desk, visit, headers=ZH)[0] == "stored"
    assert sorted(row.locale for row in rows(visit)) == ["en", "zh_CN"]  # one per language, both kept


def test_storing_the_same_fingerprint_twice_keeps_one_row(dispatcher: Any, technician: Any, app: Any) -> None:
    visit = book(dispatcher, technician, 10)
    with app.test_request_context():
        data = slip_data(fresh(visit.id))
        fp = store.fingerprint(data, "en")
        assert fp == store.fingerprint(data, "en") and fp != store.fingerprint(data, "zh_CN")
        store.save(visit.id, "en", fp, b"%PDF-first")
        store.save(visit.id, "en", fp, b"%PDF-second")  # another request's render of the same content
        db.session.commit()
        assert store.stored([(visit.id, fp)]) == {(visit.id, fp): b"%PDF-first"}
    assert len(rows(visit)) == 1


@pytest.mark.concurrency
def test_first_reads_at_the_same_moment_store_one_row(dispatcher: Any, technician: Any, api: Any) -> None:
    visit = book(dispatcher, technician, 10)
    url, number = f"/api/v1/visits/{visit.id}/slip.pdf", visit.slip_number
    clients = [api(dispatcher), api(technician), api(dispatcher)]
    barrier = threading.Barrier(len(clients))
    results: list[Any] = [None] * len(clients)

    def read(i: int) -> None:
        barrier.wait()
        results[i] = clients[i].get(url)

    threads = [threading.Thread(target=read, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [r.status_code for r in results] == [200, 200, 200], [r.get_data(as_text=True) for r in results]
    assert all(number in text_of(r.data) for r in results)
    assert len(rows(visit)) == 1


@pytest.mark.concurrency
def test_a_booking_and_a_reschedule_warm_the_slip(app: Any, dispatcher: Any, technician: Any, api: Any,
                                                  monkeypatch: Any) -> None:
    monkeypatch.setitem(app.config, "SLIP_WARM", True)
    start, end = _slot(3)
    later = (start + timedelta(hours=2), end + timedelta(hours=2))
    works_at(technician, start, later[1])
    call = make_call(dispatcher)
    db.session.commit()
    desk = api(dispatcher)
    r = desk.post(f"/api/v1/calls/{call.id}/visits",
                  json={"technician_id": technician.id, "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 201, r.json
    visit = fresh(r.json["id"])
    assert warm.wait_idle(120)
    assert [row.locale for row in rows(visit)] == ["en"]  # rendered in the background, before any GET
    source, text, _pdf = get_slip(desk, visit)
    assert source == "stored" and visit.slip_number in text

    r = desk.patch(f"/api/v1/visits/{visit.id}", json={"start": later[0].isoformat(), "end": later[1].isoformat()})
    assert r.status_code == 200, r.json
    assert warm.wait_idle(120)
    source, text, _pdf = get_slip(desk, visit)
    assert source == "stored"  # warmed again after the change
    assert later[0].astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M – ") in text
    assert start.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M – ") not in text
    assert len(rows(visit)) == 1


def test_warming_is_off_under_testing_unless_asked(app: Any, monkeypatch: Any) -> None:
    assert app.testing and not warm.enabled(app)
    monkeypatch.setitem(app.config, "SLIP_WARM", True)
    assert warm.enabled(app)


def test_slips_rendered_long_ago_are_dropped_and_rendered_again_when_asked(dispatcher: Any, technician: Any,
                                                                          api: Any) -> None:
    old_visit = book(dispatcher, technician, 10)
    desk = api(dispatcher)
    assert get_slip(desk, old_visit)[0] == "rendered"
    (row,) = rows(old_visit)
    db.session.execute(SlipPdf.__table__.update().where(SlipPdf.id == row.id)
                       .values(rendered_at=row.rendered_at - timedelta(days=31)))
    db.session.commit()
    # storing any other slip prunes the month-old one
    assert get_slip(desk, book(dispatcher, technician, 13))[0] == "rendered"
    assert rows(old_visit) == []
    # nothing of record was lost: the slip is simply rendered again
    source, text, _pdf = get_slip(desk, old_visit)
    assert source == "rendered" and old_visit.slip_number in text
