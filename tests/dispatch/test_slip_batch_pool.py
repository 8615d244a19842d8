"""A day's batch of 50 slips (issue 16): the stored slips as they are, the others laid out in the warm pool
of render processes, all in one PDF in the day's order. Real processes, real WeasyPrint, read back with
pypdf."""

from __future__ import annotations

import io
import os
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader

from dispatch.slips import pool
from tests.dispatch.test_slips import DAY, book
from tests.factories import make_user

RARE = "喆堃赟"  # not in the CJK subset: printed from the full font, in the render processes too


@pytest.fixture
def render_pool(app: Any, monkeypatch: Any) -> Iterator[None]:
    monkeypatch.setitem(app.config, "SLIP_RENDER_PROCESSES", 2)
    pool.shutdown()
    try:
        yield
    finally:
        pool.shutdown()


def pages_of(data: bytes) -> list[str]:
    return ["".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(data)).pages]


def test_fifty_slips_in_the_pool_each_on_its_own_page_in_order(render_pool: None, dispatcher: Any,
                                                               api: Any) -> None:
    technicians = [make_user("technician", username=f"t{n}", name=f"Tech {n}") for n in range(5)]
    visits = [book(dispatcher, tech, hour, customer_name=f"{RARE}客户{n}{hour}")
              for n, tech in enumerate(technicians) for hour in range(7, 17)]
    assert len(visits) == 50  # the batch's order: by technician, then by start (visits_on)
    numbers = [v.slip_number for v in visits]
    names = [v.call.customer.name for v in visits]
    desk = api(dispatcher)
    for i in (0, 17, 18, 49):  # some stored already, between runs of others to render
        r = desk.get(f"/api/v1/visits/{visits[i].id}/slip.pdf")
        assert r.status_code == 200 and r.headers["X-Slip-Source"] == "rendered"

    r = desk.get(f"/api/v1/slips.pdf?date={DAY}")
    assert r.status_code == 200, r.get_data(as_text=True)
    assert r.headers["X-Slip-Count"] == "50" and r.headers["X-Slip-Stored"] == "4"
    pages = pages_of(r.data)
    assert len(pages) == 50
    for page, number, name in zip(pages, numbers, names, strict=True):
        assert number in page and name in page  # rare characters included
        assert sum(n in page for n in numbers) == 1
    workers = pool.worker_pids()
    assert len(workers) == 2 and os.getpid() not in workers  # laid out in the render processes

    # The same day again: the same slips, the same pages (the pool is kept, warm).
    again = desk.get(f"/api/v1/slips.pdf?date={DAY}")
    assert pages_of(again.data) == pages and pool.worker_pids() == workers


def test_a_technicians_day_all_stored_is_put_together_without_rendering(render_pool: None, dispatcher: Any,
                                                                        technician: Any, api: Any) -> None:
    visits = [book(dispatcher, technician, hour) for hour in (8, 10, 12, 14, 16)]
    desk = api(dispatcher)
    for visit in visits:
        assert desk.get(f"/api/v1/visits/{visit.id}/slip.pdf").status_code == 200
    r = desk.get(f"/api/v1/slips.pdf?date={DAY}&technician_id={technician.id}")
    assert r.headers["X-Slip-Stored"] == "5"
    pages = pages_of(r.data)
    assert [v.slip_number in page for v, page in zip(visits, pages, strict=True)] == [True] * 5
    assert pool.worker_pids() == []  # nothing was left to lay out: no pool was even started
