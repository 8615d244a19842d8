"""The category of a repair call at the edges of warranties and contracts (DOMAIN.md, API.md).

Every call is received at a fixed past moment, so "today" is the call date and never the test run's date.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from dispatch.core.errors import Invalid
from dispatch.core.extensions import db
from dispatch.core.timeutil import utcnow
from dispatch.services.contracts import create_contract
from tests.factories import make_call, make_customer, make_equipment, make_site

CALL_DAY = date(2026, 6, 10)  # a Wednesday
RECEIVED = datetime.fromisoformat("2026-06-10T10:00:00+08:00")
DAY = timedelta(days=1)


@pytest.fixture
def place() -> Any:
    customer = make_customer(name="Pudong Grand Hotel")
    return customer, make_site(customer)


def contract(customer: Any, starts: date, ends: date, equipment: list[Any] | None = None,
             number: str = "MC-0042", cancelled: bool = False) -> Any:
    c = create_contract(None, customer, number=number, starts_on=starts, ends_on=ends,  # type: ignore[arg-type]
                        equipment_ids=[e.id for e in equipment or []], covers_parts=False)
    if cancelled:
        c.cancelled_at = utcnow()
    db.session.commit()
    return c


def call_on(dispatcher: Any, customer: Any, site: Any, equipment: Any, received: datetime = RECEIVED) -> Any:
    return make_call(dispatcher, customer=customer, site=site, equipment=equipment, received_at=received)


def test_warranty_ending_on_the_call_date_is_free(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=CALL_DAY)
    call = call_on(dispatcher, customer, site, unit)
    assert call.category == "free"
    assert call.category_reason == "free: under warranty until 2026-06-10"
    assert call.contract is None


def test_warranty_ended_yesterday_is_charged(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=CALL_DAY - DAY)
    call = call_on(dispatcher, customer, site, unit)
    assert call.category == "charged"
    assert call.category_reason == "charged: warranty ended 2026-06-09, no contract"


def test_warranty_ended_yesterday_but_under_contract_is_contract(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=CALL_DAY - DAY)
    mc = contract(customer, CALL_DAY - 30 * DAY, CALL_DAY + 300 * DAY, [unit])
    call = call_on(dispatcher, customer, site, unit)
    assert call.category == "contract"
    assert call.contract_id == mc.id
    assert call.category_reason.startswith("contract: covered by MC-0042")


def test_no_warranty_no_contract_is_charged(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=None)
    call = call_on(dispatcher, customer, site, unit)
    assert (call.category, call.category_reason) == ("charged", "charged: no warranty, no contract")


def test_contract_starting_tomorrow_is_charged(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site)
    contract(customer, CALL_DAY + DAY, CALL_DAY + 365 * DAY, [unit])
    assert call_on(dispatcher, customer, site, unit).category == "charged"


def test_contract_starting_today_and_ending_today_both_count(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site)
    contract(customer, CALL_DAY, CALL_DAY, [unit])
    assert call_on(dispatcher, customer, site, unit).category == "contract"


def test_contract_ending_today_is_contract_and_ended_yesterday_is_charged(dispatcher, place):
    customer, site = place
    covered = make_equipment(customer, site)
    lapsed = make_equipment(customer, site)
    contract(customer, CALL_DAY - 365 * DAY, CALL_DAY, [covered], number="MC-1")
    contract(customer, CALL_DAY - 365 * DAY, CALL_DAY - DAY, [lapsed], number="MC-2")
    assert call_on(dispatcher, customer, site, covered).category == "contract"
    assert call_on(dispatcher, customer, site, lapsed).category == "charged"


def test_warranty_and_contract_both_is_free(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=CALL_DAY + 100 * DAY)
    contract(customer, CALL_DAY - 10 * DAY, CALL_DAY + 100 * DAY, [unit])
    call = call_on(dispatcher, customer, site, unit)
    assert call.category == "free"
    assert call.contract is None


def test_contract_listing_other_equipment_does_not_cover(dispatcher, place):
    customer, site = place
    listed = make_equipment(customer, site, serial="LISTED-1")
    other = make_equipment(customer, site, serial="OTHER-1")
    contract(customer, CALL_DAY - 10 * DAY, CALL_DAY + 10 * DAY, [listed])
    assert call_on(dispatcher, customer, site, other).category == "charged"
    assert call_on(dispatcher, customer, site, listed).category == "contract"


def test_contract_with_no_equipment_listed_covers_all_of_the_customers_equipment(dispatcher, place):
    customer, site = place
    first = make_equipment(customer, site)
    mc = contract(customer, CALL_DAY - 10 * DAY, CALL_DAY + 10 * DAY, [])
    later = make_equipment(customer, site)  # registered after the contract: still covered
    for unit in (first, later, None):
        call = call_on(dispatcher, customer, site, unit)
        assert (call.category, call.contract_id) == ("contract", mc.id)


def test_cancelled_contract_is_charged(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site)
    contract(customer, CALL_DAY - 10 * DAY, CALL_DAY + 10 * DAY, [unit], cancelled=True)
    assert call_on(dispatcher, customer, site, unit).category == "charged"


def test_another_customers_contract_never_applies(dispatcher, place):
    customer, site = place
    unit = make_equipment(customer, site)
    neighbour = make_customer(name="Neighbour Ltd")
    contract(neighbour, CALL_DAY - 10 * DAY, CALL_DAY + 10 * DAY, [])  # covers all of the neighbour's
    assert call_on(dispatcher, customer, site, unit).category == "charged"
    # ... and a contract of this customer cannot list the neighbour's equipment either.
    neighbour_site = make_site(neighbour)
    theirs = make_equipment(neighbour, neighbour_site)
    with pytest.raises(Invalid) as err:
        create_contract(None, customer, number="MC-X", starts_on=CALL_DAY,  # type: ignore[arg-type]
                        ends_on=CALL_DAY, equipment_ids=[theirs.id])
    assert "equipment_ids" in err.value.fields
    db.session.rollback()


def test_call_date_is_the_local_date_not_the_utc_date(dispatcher, place):
    """07:30 in Shanghai on the 11th is 23:30 UTC on the 10th: the call is on the 11th."""
    customer, site = place
    received = datetime.fromisoformat("2026-06-11T07:30:00+08:00")
    assert received.astimezone(UTC).date() == date(2026, 6, 10)
    ended = make_equipment(customer, site, warranty_until=date(2026, 6, 10))
    call = call_on(dispatcher, customer, site, ended, received=received)
    assert call.category == "charged"  # the UTC date would still have said "free"

    starts = make_equipment(customer, site)
    contract(customer, date(2026, 6, 11), date(2027, 6, 10), [starts])
    assert call_on(dispatcher, customer, site, starts, received=received).category == "contract"


def test_api_categorises_with_the_local_call_date(api, dispatcher, place):
    """The same edge through POST /api/v1/calls, with received_at given in UTC."""
    customer, site = place
    unit = make_equipment(customer, site, warranty_until=date(2026, 6, 11))
    client = api(dispatcher)
    r = client.post("/api/v1/calls", json={
        "customer_id": customer.id, "site_id": site.id, "equipment_id": unit.id, "channel": "phone",
        "problem_type": "not cooling", "priority": "normal", "description": "Warm air.",
        "received_at": "2026-06-11T16:30:00Z"})  # 00:30 on the 12th in Shanghai
    assert r.status_code == 201, r.get_json()
    data = r.get_json()
    assert data["category"] == "charged"
    assert data["received_at"] == "2026-06-12T00:30:00+08:00"
    r = client.post("/api/v1/calls", json={
        "customer_id": customer.id, "site_id": site.id, "equipment_id": unit.id, "channel": "phone",
        "problem_type": "not cooling", "priority": "normal", "description": "Warm air.",
        "received_at": "2026-06-11T15:59:00Z"})  # 23:59 on the 11th in Shanghai
    assert r.get_json()["category"] == "free"
    assert r.get_json()["category_reason"] == "free: under warranty until 2026-06-11"
