"""The archive (DOMAIN.md step 7, issue 13): a customer's calls of any period, years back, found by customer
and the local day they came in, on the calls page and through the API."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from tests.factories import make_call, make_customer

SHANGHAI = timezone(timedelta(hours=8))


def _calls(dispatcher: Any) -> dict[str, Any]:
    acme = make_customer(dispatcher, name="Acme Archive 档案", phone="021-5550 1111")
    other = make_customer(dispatcher, name="Other Works", phone="021-5550 2222")
    return {
        "old": make_call(dispatcher, acme, received_at=datetime(2023, 12, 20, 23, 30, tzinfo=SHANGHAI)),
        "edge": make_call(dispatcher, acme, received_at=datetime(2024, 1, 1, 0, 10, tzinfo=SHANGHAI)),
        "recent": make_call(dispatcher, acme, received_at=datetime(2026, 11, 2, 9, 0, tzinfo=SHANGHAI)),
        "other": make_call(dispatcher, other, received_at=datetime(2024, 1, 1, 10, 0, tzinfo=SHANGHAI)),
    }


def test_api_finds_a_customers_calls_of_a_period_years_back(api, dispatcher):
    calls = _calls(dispatcher)
    client = api(dispatcher)
    found = client.get("/api/v1/calls?q=Acme&from=2023-12-01&to=2024-01-01").get_json()["items"]
    # Local days, both ends included: 2024-01-01 00:10 in Shanghai is still 2023-12-31 in UTC, and counts.
    assert {c["id"] for c in found} == {calls["old"].id, calls["edge"].id}
    only_day = client.get("/api/v1/calls?from=2024-01-01&to=2024-01-01").get_json()["items"]
    assert {c["id"] for c in only_day} == {calls["edge"].id, calls["other"].id}
    assert {c["id"] for c in client.get("/api/v1/calls?from=2026-11-01").get_json()["items"]} == {calls["recent"].id}


def test_api_refuses_dates_it_cannot_read(api, dispatcher):
    client = api(dispatcher)
    for bad in ("from=2024-13-01", "to=yesterday", "from=1899-01-01"):
        r = client.get(f"/api/v1/calls?{bad}")
        assert r.status_code == 422, bad
        assert r.get_json()["error"]["message"]


def test_calls_page_filters_by_the_day_received(client, login, dispatcher):
    calls = _calls(dispatcher)
    login(dispatcher)
    page = client.get("/calls?q=Acme&received_from=2023-12-01&received_to=2024-01-01").get_data(as_text=True)
    assert calls["old"].number in page and calls["edge"].number in page
    assert calls["recent"].number not in page and calls["other"].number not in page
    # A date it cannot read is shown on its field; the list still answers, unfiltered by it.
    bad = client.get("/calls?received_from=2024-02-30")
    assert bad.status_code == 200
    assert calls["recent"].number in bad.get_data(as_text=True)
    zh = client.get("/calls", headers={"Accept-Language": "zh-CN"}).get_data(as_text=True)
    assert "受理日期从" in zh
