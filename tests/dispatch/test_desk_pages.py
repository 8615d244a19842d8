"""The desk's HTML pages through the test client: intake, call page, customers, calls list."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.core.timeutil import local_today, localtime_text
from dispatch.models import CallNote, Contract, Customer, Equipment, RepairCall, Site
from tests.factories import make_call, make_customer, make_equipment, make_site


def count(model: Any) -> int:
    return db.session.scalar(select(func.count()).select_from(model)) or 0


def text_of(response: Any) -> str:
    return response.get_data(as_text=True)


def words_of(html: str) -> str:
    """What a person reads: the page without its tags (a date may sit in a span that keeps it on one line)."""
    return re.sub(r"<[^>]+>", "", html)


# ----------------------------------------------------------------------------- intake


def test_intake_saves_a_call_and_shows_number_category_reason_and_deadlines(client, login, dispatcher):
    login(dispatcher)
    customer = make_customer(name="Pudong Grand Hotel", phone="13812345678")
    site = make_site(customer)
    warranty_end = local_today() + timedelta(days=100)
    equipment = make_equipment(customer, site, serial="CH-1", warranty_until=warranty_end)

    # As you type: part of the name, and phone digits, both find the customer (a fragment, no layout).
    found = client.get("/calls/new/customers?q=grand")
    assert found.status_code == 200 and "Pudong Grand Hotel" in text_of(found) and "<html" not in text_of(found)
    assert "Pudong Grand Hotel" in text_of(client.get("/calls/new/customers?q=1234"))
    assert "Pudong Grand Hotel" not in text_of(client.get("/calls/new/customers?q=dental"))

    # Picking the customer loads their sites and equipment, with the warranty shown.
    panel = text_of(client.get(f"/calls/new/customer?customer_id={customer.id}"))
    assert "100 Century Avenue" in panel and "CH-1" in panel and f"under warranty until {warranty_end}" in words_of(panel)

    response = client.post("/calls/new", data={
        "customer_id": customer.id, "site_id": site.id, "equipment_id": equipment.id, "problem_type": "not cooling",
        "priority": "high", "channel": "phone", "description": "Chiller trips after 10 minutes.",
        "on_site": "y", "required_skill": "HVAC"})
    assert response.status_code == 302
    call = db.session.scalar(select(RepairCall))
    assert call.category == "free" and call.required_skill == "hvac" and call.equipment_id == equipment.id
    page = text_of(client.get(response.headers["Location"]))
    assert re.search(r"SC-\d{4}-\d{6}", page) and call.number in page
    assert f"free: under warranty until {warranty_end.isoformat()}" in words_of(page)
    assert localtime_text(call.booking_deadline) in page
    assert localtime_text(call.response_deadline) in page and localtime_text(call.resolution_deadline) in page
    assert "Book a visit by" in page and "left" in page


def test_intake_without_javascript_finds_picks_and_adds_inline(client, login, dispatcher):
    """The plain form posts: find, pick, add a site and equipment, then save, never leaving the page."""
    login(dispatcher)
    customer = make_customer(name="Jing'an Dental Clinic", phone="13611112222")
    found = client.post("/calls/new", data={"action": "find", "q": "dental", "description": "kept"})
    assert found.status_code == 200 and 'name="pick"' in text_of(found) and "kept" in text_of(found)

    picked = client.post("/calls/new", data={"pick": customer.id, "problem_type": "noise"})
    assert picked.status_code == 200 and "No site yet" in text_of(picked) and 'value="noise"' in text_of(picked)

    # Added inline, the site and equipment are checked and kept in the form: saved with the call, not before.
    added = client.post("/calls/new", data={"action": "add_site", "customer_id": customer.id,
                                            "ns-address": "1601 Nanjing West Road, Jing'an, Shanghai",
                                            "ns-latitude": "31.2243", "ns-longitude": "121.4480"})
    assert added.status_code == 200 and count(Site) == 0
    assert 'name="site_id" value="-1" checked' in text_of(added) and 'name="ps-address"' in text_of(added)

    kept = {"customer_id": customer.id, "site_id": "-1", "ps-address": "1601 Nanjing West Road, Jing'an, Shanghai",
            "ps-latitude": "31.2243", "ps-longitude": "121.4480"}
    with_kit = client.post("/calls/new", data={"action": "add_equipment", **kept, "ne-model": "Sirona C8",
                                               "ne-serial_number": "D-9"})
    assert with_kit.status_code == 200 and count(Equipment) == 0
    assert 'name="equipment_id" value="-1" data-site="-1" checked' in text_of(with_kit)
    assert "no warranty" in text_of(with_kit) or "charged: no warranty, no contract" in text_of(with_kit)

    # Through htmx the same actions answer with just the customer panel.
    fragment = client.post("/calls/new", headers={"HX-Request": "true"},
                           data={"action": "add_customer", "nc-name": "Café Zürich 北京烤鸭", "nc-phone": "010 1234 5678"})
    assert fragment.status_code == 200 and "<html" not in text_of(fragment)
    assert "Café Zürich 北京烤鸭" in text_of(fragment) and count(Customer) == 1

    saved = client.post("/calls/new", data={**kept, "equipment_id": "-1", "pe-model": "Sirona C8",
                                            "pe-serial_number": "D-9", "problem_type": "noise",
                                            "priority": "normal", "channel": "walk_in", "description": "Squeaks."})
    assert saved.status_code == 302
    call = db.session.scalar(select(RepairCall))
    site = db.session.scalar(select(Site).where(Site.customer_id == customer.id))
    equipment = db.session.scalar(select(Equipment).where(Equipment.serial_number == "D-9"))
    assert call.site_id == site.id and call.equipment_id == equipment.id and equipment.site_id == site.id
    assert call.category == "charged" and "charged: no warranty, no contract" in text_of(client.get(saved.headers["Location"]))


def test_intake_errors_rerender_with_messages_and_keep_input(client, login, dispatcher):
    login(dispatcher)
    customer = make_customer(name="Atlantis Trading")
    response = client.post("/calls/new", data={"action": "add_site", "customer_id": customer.id,
                                               "ns-address": "Nowhere street 1, Atlantis"})
    page = text_of(response)
    assert response.status_code == 422
    assert "could not be geocoded" in page and 'value="Nowhere street 1, Atlantis"' in page
    assert count(Site) == 0

    # Saving with nothing picked and nothing filled in: every problem named, nothing saved.
    response = client.post("/calls/new", data={"problem_type": "", "description": "", "q": "atl"})
    page = text_of(response)
    assert response.status_code == 422 and "pick the customer" in page.lower() and "This field is required." in page
    assert count(RepairCall) == 0

    site = make_site(customer)
    too_long = client.post("/calls/new", data={"customer_id": customer.id, "site_id": site.id, "problem_type": "x" * 101,
                                               "priority": "normal", "channel": "phone", "description": "ok 描述"})
    assert too_long.status_code == 422 and "100 characters" in text_of(too_long) and count(RepairCall) == 0
    assert "ok 描述" in text_of(too_long)

    # Another customer's site is refused, not used.
    other = make_customer(name="Other")
    other_site = make_site(other)
    wrong = client.post("/calls/new", data={"customer_id": customer.id, "site_id": other_site.id,
                                            "problem_type": "noise", "priority": "normal", "channel": "phone",
                                            "description": "d"})
    assert wrong.status_code == 422 and "Pick the site" in text_of(wrong) and count(RepairCall) == 0

    dup = client.post("/calls/new", data={"action": "add_customer", "nc-name": "", "nc-phone": "1" * 41})
    assert dup.status_code == 422 and count(Customer) == 2


# ----------------------------------------------------------------------------- customers and what they own


def test_customer_pages_duplicate_serial_and_contract_dates(client, login, dispatcher):
    login(dispatcher)
    created = client.post("/customers/new", data={"name": "Ярослав Сервис 株式会社", "phone": "13955556666",
                                                  "contact_name": "Ms. Tang"})
    assert created.status_code == 302
    customer = db.session.scalar(select(Customer))
    assert customer.name == "Ярослав Сервис 株式会社"

    assert client.post(f"/customers/{customer.id}/sites/new", data={"address": "Nowhere street 1, Atlantis"}
                       ).status_code == 422
    assert client.post(f"/customers/{customer.id}/sites/new",
                       data={"address": "3000 Humin Road, Minhang, Shanghai"}).status_code == 302
    site = db.session.scalar(select(Site))
    assert site.geocoded_by == "offline"

    assert client.post(f"/customers/{customer.id}/equipment/new", data={
        "site_id": site.id, "model": "Daikin VRV", "serial_number": "SN-1", "warranty_until": "2030-01-31"}
    ).status_code == 302
    dup = client.post(f"/customers/{customer.id}/equipment/new", data={
        "site_id": site.id, "model": "Daikin VRV", "serial_number": "SN-1"})
    assert dup.status_code == 422
    assert re.search(r'serial_number[^>]*aria-invalid="true"|aria-invalid="true"[^>]*serial_number', text_of(dup))
    assert "already registered" in text_of(dup) and count(Equipment) == 1

    wrong_order = client.post(f"/customers/{customer.id}/contracts/new", data={
        "number": "MC-0042", "starts_on": "2026-12-01", "ends_on": "2026-01-01"})
    assert wrong_order.status_code == 422 and "must be on or after the start date" in text_of(wrong_order)
    assert 'value="MC-0042"' in text_of(wrong_order) and count(Contract) == 0
    equipment = db.session.scalar(select(Equipment))
    assert client.post(f"/customers/{customer.id}/contracts/new", data={
        "number": "MC-0042", "starts_on": "2026-01-01", "ends_on": "2027-12-31", "equipment_ids": [equipment.id],
        "covers_parts": "y"}).status_code == 302

    assert client.post(f"/customers/{customer.id}/edit", data={"name": "x" * 201, "phone": "1"}).status_code == 422
    assert client.post(f"/customers/{customer.id}/edit", data={"name": "Renamed", "phone": "13955556666"}
                       ).status_code == 302
    make_call(dispatcher, customer=customer, site=site, equipment=equipment)
    page = text_of(client.get(f"/customers/{customer.id}"))
    assert "Renamed" in page and "under warranty until 2030-01-31" in page and "MC-0042" in page
    assert "parts included" in page and "Daikin VRV" in page and "SC-" in page
    assert "Renamed" in text_of(client.get("/customers?q=renam"))
    other = make_equipment(customer, site, model="Daikin VRV", serial="SN-2")
    clash = client.post(f"/equipment/{other.id}/edit", data={"site_id": site.id, "model": "Daikin VRV",
                                                           "serial_number": "SN-1"})
    assert clash.status_code == 422 and "already registered" in text_of(clash)
    db.session.expire_all()
    assert db.session.get(Equipment, other.id).serial_number == "SN-2"
    lost = client.post(f"/sites/{site.id}/edit", data={"address": "Nowhere street 1, Atlantis"})
    assert lost.status_code == 422 and 'value="Nowhere street 1, Atlantis"' in text_of(lost)
    moved = client.post(f"/sites/{site.id}/edit", data={"address": "Suzhou Industrial Park, Suzhou"})
    assert moved.status_code == 302
    db.session.expire_all()
    site = db.session.get(Site, site.id)
    assert site.address == "Suzhou Industrial Park, Suzhou" and site.remote  # ~80 km from the centre
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "site.updated")) is not None


# ----------------------------------------------------------------------------- call page


def test_category_override_is_manager_only_and_audited(client, login, dispatcher, manager):
    call = make_call(dispatcher)
    login(dispatcher)
    assert "Override category" not in text_of(client.get(f"/calls/{call.id}"))
    refused = client.post(f"/calls/{call.id}/category", data={"category": "free", "reason": "goodwill"})
    assert refused.status_code == 403
    db.session.refresh(call)
    assert call.category == "charged"

    login(manager)
    assert "Override category" in text_of(client.get(f"/calls/{call.id}"))
    no_reason = client.post(f"/calls/{call.id}/category", data={"category": "free", "reason": "  "})
    assert no_reason.status_code == 422 and "Say why" in text_of(no_reason)
    done = client.post(f"/calls/{call.id}/category", data={"category": "free", "reason": "goodwill after delay"})
    assert done.status_code == 302
    db.session.expire_all()
    assert db.session.get(RepairCall, call.id).category == "free"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "call.category_override"))
    assert event.reason == "goodwill after delay" and event.actor_id == manager.id
    page = text_of(client.get(f"/calls/{call.id}"))
    assert "overridden" in page and "goodwill after delay" in page


def test_notes_appear_and_feedback_closes(client, login, dispatcher):
    from dispatch.services.calls import set_call_status

    call = make_call(dispatcher)
    login(dispatcher)
    bad = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "text": ""})
    assert bad.status_code == 422 and count(CallNote) == 0
    ok = client.post(f"/calls/{call.id}/notes", data={"channel": "phone", "text": "Promised a call back 回访",
                                                      "next_follow_up": "2026-11-24T10:30"})
    assert ok.status_code == 302
    note = db.session.scalar(select(CallNote))
    assert localtime_text(note.next_follow_up) == "2026-11-24 10:30"
    page = text_of(client.get(f"/calls/{call.id}"))
    assert "Promised a call back 回访" in page and "2026-11-24 10:30" in page
    assert "Customer feedback" not in page

    set_call_status(dispatcher, call, "completed")
    db.session.commit()
    assert "Customer feedback" in text_of(client.get(f"/calls/{call.id}"))
    assert client.post(f"/calls/{call.id}/feedback", data={"rating": "4", "comment": "fast"}).status_code == 302
    db.session.expire_all()
    assert db.session.get(RepairCall, call.id).status == "closed"
    timeline = text_of(client.get(f"/calls/{call.id}"))
    assert "resolved - customer confirmed" in timeline and "Completed" in timeline


def test_desk_home_lists_what_needs_attention(client, login, dispatcher):
    from dispatch.core.timeutil import utcnow

    late = make_call(dispatcher, received_at=utcnow() - timedelta(hours=30), problem_type="late one")
    urgent = make_call(dispatcher, priority="urgent", problem_type="urgent one")
    promised = make_call(dispatcher, problem_type="promised one")
    later = make_call(dispatcher, problem_type="later one")
    from dispatch.services.calls import add_note

    add_note(dispatcher, promised, channel="phone", text="Will call back about the part",
             next_follow_up=utcnow() - timedelta(minutes=5))
    add_note(dispatcher, later, channel="phone", text="Call back the day after tomorrow",
             next_follow_up=utcnow() + timedelta(days=2))
    db.session.commit()
    login(dispatcher)
    page = text_of(client.get("/"))
    assert late.number in page and urgent.number in page and "overdue by" in page
    assert page.index(late.number) < page.index(urgent.number)  # overdue first
    follow_ups = page[page.index('id="follow-ups"'):]
    assert "Will call back about the part" in follow_ups and "day after tomorrow" not in follow_ups


# ----------------------------------------------------------------------------- calls list


def test_calls_list_filters_and_search(client, login, dispatcher):
    from dispatch.core.timeutil import utcnow
    from dispatch.services.calls import set_call_status

    customer = make_customer(name="Minhang Office Tower")
    site = make_site(customer)
    warranty = make_equipment(customer, site, warranty_until=local_today() + timedelta(days=10))
    free = make_call(dispatcher, customer=customer, site=site, equipment=warranty, priority="urgent")
    charged = make_call(dispatcher, problem_type="water leak", received_at=utcnow() - timedelta(hours=30))
    closed = make_call(dispatcher, problem_type="noise")
    set_call_status(dispatcher, closed, "cancelled", reason="duplicate")
    db.session.commit()
    login(dispatcher)

    def numbers(query: str) -> set[str]:
        response = client.get("/calls" + query)
        assert response.status_code == 200
        return {c.number for c in (free, charged, closed) if c.number in text_of(response)}

    assert numbers("") == {free.number, charged.number, closed.number}
    assert numbers("?status=open") == {free.number, charged.number}
    assert numbers("?status=cancelled") == {closed.number}
    assert numbers("?category=free") == {free.number}
    assert numbers("?priority=urgent") == {free.number}
    assert numbers("?overdue=1") == {charged.number}
    assert numbers("?q=leak") == {charged.number}
    assert numbers("?q=minhang") == {free.number}
    page = text_of(client.get("/calls"))
    assert page.index(closed.number) < page.index(charged.number) < page.index(free.number)  # newest first
    first = client.get("/calls?limit=2")
    assert closed.number in text_of(first) and free.number not in text_of(first)
    cursor = re.search(r'cursor=([\w-]+)', text_of(first)).group(1)
    assert free.number in text_of(client.get(f"/calls?limit=2&cursor={cursor}"))
    assert client.get("/calls?cursor=%%%").status_code == 422


@pytest.mark.parametrize("path", ["/", "/calls", "/calls/new", "/customers", "/calls/new/customers?q=ab"])
def test_desk_pages_refuse_finance_and_technicians(client, login, finance, technician, path):
    """Finance and technicians have no desk page, so no page shows them a customer's phone."""
    for user in (finance, technician):
        login(user)
        response = client.get(path)
        if path == "/":  # the site's root sends them to their own home instead
            assert response.status_code == 302 and response.headers["Location"] in ("/billing/to-invoice", "/t/")
            continue
        assert response.status_code == 403


def test_masked_phone_filter_for_roles_without_need(app, finance, dispatcher):
    from dispatch.core.security import mask_phone

    assert mask_phone("13812345678", finance) == "138****5678"
    assert mask_phone("13812345678", dispatcher) == "13812345678"


def test_intake_with_csrf_on_needs_the_pages_token(app, client, login, dispatcher):
    customer = make_customer(name="Xuhui Cold Storage")
    site = make_site(customer)
    login(dispatcher)
    saved = app.config["WTF_CSRF_ENABLED"]
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        page = text_of(client.get(f"/calls/new?customer_id={customer.id}"))
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        data = {"customer_id": customer.id, "site_id": site.id, "problem_type": "not cooling",
                "priority": "normal", "channel": "phone", "description": "Freezer at -5."}
        assert client.post("/calls/new", data=data).status_code == 400
        # htmx sends the token as a header; the inline "add" buttons work that way.
        added = client.post("/calls/new", headers={"HX-Request": "true", "X-CSRFToken": token},
                            data={"action": "add_equipment", "customer_id": customer.id, "site_id": site.id,
                                  "ne-model": "Bitzer", "ne-serial_number": "BZ-1"})
        assert added.status_code == 200 and "BZ-1" in text_of(added)
        assert client.post("/calls/new", data={**data, "csrf_token": token}).status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = saved
    assert count(RepairCall) == 1


def test_junk_ids_and_values_are_form_errors_not_500(client, login, dispatcher):
    customer = make_customer()
    site = make_site(customer)
    login(dispatcher)
    huge = "9" * 20
    base = {"problem_type": "noise", "priority": "normal", "channel": "phone", "description": "d"}
    for data in ({"customer_id": huge, "site_id": site.id}, {"customer_id": customer.id, "site_id": huge},
                 {"customer_id": customer.id, "site_id": site.id, "equipment_id": huge},
                 {"customer_id": customer.id, "site_id": "abc", "priority": "whenever"},
                 {"customer_id": customer.id, "site_id": site.id, "channel": "pigeon"},
                 {"pick": huge}, {"action": "add_site", "customer_id": customer.id, "ns-address": "x",
                                  "ns-latitude": "north"}):
        response = client.post("/calls/new", data={**base, **data})
        assert response.status_code in (200, 422), data
    assert count(RepairCall) == 0
    assert client.get(f"/calls/new/customer?customer_id={huge}").status_code == 404
    assert client.get(f"/calls/new?customer_id={huge}").status_code == 200
    assert client.get(f"/customers/{huge}").status_code == 404
    assert client.get("/calls?status=nonsense&priority=x&category=y&overdue=maybe").status_code == 200
    assert client.post(f"/customers/{customer.id}/contracts/new", data={
        "number": "MC-1", "starts_on": "2026-01-01", "ends_on": "2026-12-31", "equipment_ids": [huge]}
    ).status_code == 422
    assert client.post(f"/customers/{customer.id}/equipment/new", data={
        "site_id": huge, "model": "m", "serial_number": "s", "warranty_until": "2026-02-30"}).status_code == 422


def test_nul_characters_in_forms_and_queries_are_refused_not_stored(client, login, dispatcher):
    login(dispatcher)
    assert client.get("/calls?q=a%00b").status_code == 400
    response = client.post("/customers/new", data={"name": "Bad\x00Name", "phone": "13800000000"})
    assert response.status_code == 400
    assert b"NUL" in response.data


def test_each_intake_action_has_its_own_url(client, login, dispatcher):
    """The page's buttons post to their action's URL (formaction), with or without htmx."""
    login(dispatcher)
    customer = make_customer(name="Jing'an Dental Clinic", phone="13611112222")
    page = text_of(client.get("/calls/new"))
    for url in ("/calls/new/find", "/calls/new/customers"):
        assert f'formaction="{url}"' in page
    assert 'name="action"' not in page

    found = client.post("/calls/new/find", data={"q": "dental", "description": "kept"})
    assert found.status_code == 200 and 'formaction="/calls/new/pick"' in text_of(found) and "kept" in text_of(found)
    picked = client.post("/calls/new/pick", data={"pick": customer.id})
    assert picked.status_code == 200 and 'formaction="/calls/new/sites"' in text_of(picked)
    assert 'formaction="/calls/new/equipment"' in text_of(picked)

    added = client.post("/calls/new/sites", headers={"HX-Request": "true"},
                        data={"customer_id": customer.id, "ns-address": "1601 Nanjing West Road, Jing'an, Shanghai"})
    assert added.status_code == 200 and "<html" not in text_of(added) and 'value="-1" checked' in text_of(added)
    assert count(Site) == 0  # kept in the form until "Save call"
    site = make_site(customer)

    # Equipment needs the site it stands at: without one picked, the site choice is marked, nothing saved.
    no_site = client.post("/calls/new/equipment", data={"customer_id": customer.id, "ne-model": "Sirona C8",
                                                        "ne-serial_number": "D-9"})
    assert no_site.status_code == 422 and "Pick (or add) the site" in text_of(no_site) and count(Equipment) == 0
    kit = client.post("/calls/new/equipment", data={"customer_id": customer.id, "site_id": site.id,
                                                    "ne-model": "Sirona C8", "ne-serial_number": "D-9"})
    assert kit.status_code == 200 and "D-9" in text_of(kit) and count(Equipment) == 0

    new = client.post("/calls/new/customers", data={"nc-name": "Café Zürich", "nc-phone": "010 1234 5678"})
    assert new.status_code == 200 and "Café Zürich" in text_of(new) and count(Customer) == 1
    refused = client.post("/calls/new/customers", data={"nc-name": "", "nc-phone": "1"})
    assert refused.status_code == 422 and count(Customer) == 1


# ----------------------------------------------------------------------------- two languages

ZH = {"Accept-Language": "zh-CN,zh;q=0.9"}
EN = {"Accept-Language": "en"}


def test_calls_list_and_call_page_read_in_the_browsers_language(client, login, dispatcher):
    customer = make_customer(name="Pudong Grand Hotel", phone="13812345678")
    site = make_site(customer)
    warranty_end = local_today() + timedelta(days=100)
    equipment = make_equipment(customer, site, serial="CH-1", warranty_until=warranty_end)
    login(dispatcher)
    saved = client.post("/calls/new", headers=ZH, data={
        "customer_id": customer.id, "site_id": site.id, "equipment_id": equipment.id, "problem_type": "not cooling",
        "priority": "urgent", "channel": "phone", "description": "机房空调不制冷。", "on_site": "y"})
    assert saved.status_code == 302
    call = db.session.scalar(select(RepairCall))
    add_note = client.post(f"/calls/{call.id}/notes", headers=ZH, data={"channel": "phone", "text": "已回电"})
    assert add_note.status_code == 302

    listed = text_of(client.get("/calls", headers=ZH))
    assert 'lang="zh-CN"' in listed and call.number in listed
    for words in ("报修单", "新建报修", "全部状态", "服务类别", "预约上门时限", "待派工", "免费服务", "紧急", "剩余"):
        assert words in listed, words
    for code in (">new<", ">free<", ">urgent<", "Free service", "Book visit by", " left"):
        assert code not in listed, code

    page = words_of(text_of(client.get(f"/calls/{call.id}", headers=ZH)))
    for words in ("免费服务", f"保修期至 {warranty_end.isoformat()}", "预约上门时限", "首次响应时限", "解决时限",
                  "沟通记录", "电话", "已回电", "进度记录", "报修已登记：待派工，免费服务", "小时"):
        assert words in page, words
    assert re.search(r"周[一二三四五六日] \d{4}-\d\d-\d\d \d\d:\d\d", page)  # the weekday in Chinese
    for english in ("Book a visit by", "free: under warranty", "Communication log", "Phone", " left", "Wed ",
                    "Call registered"):
        assert english not in page, english

    english_page = text_of(client.get(f"/calls/{call.id}", headers=EN))
    assert 'lang="en"' in english_page
    english = words_of(english_page)
    for words in ("Free service", f"free: under warranty until {warranty_end.isoformat()}", "Book a visit by",
                  "Communication log", "Phone", "Urgent", "New", "left", "Call registered as"):
        assert words in english, words
    assert not re.search("[\u4e00-\u9fff]", english.replace("机房空调不制冷。", "").replace("已回电", "")
                         .replace("简体中文", ""))
    listed_en = text_of(client.get("/calls", headers=EN))
    assert "Book visit by" in listed_en and "Free service" in listed_en and "免费服务" not in listed_en


def test_form_errors_and_domain_errors_speak_chinese(client, login, dispatcher):
    login(dispatcher)
    empty = client.post("/calls/new", headers=ZH, data={"problem_type": "", "description": ""})
    assert empty.status_code == 422
    page = text_of(empty)
    assert "请先查找并选择客户" in page and "报修尚未保存" in page
    customer = make_customer(name="Atlantis Co.", phone="13800000000")
    lost = client.post(f"/customers/{customer.id}/sites/new", headers=ZH, data={"address": "Nowhere street 1"})
    assert lost.status_code == 422 and "在地图上找不到这个地址" in text_of(lost)
    wrong = client.post(f"/customers/{customer.id}/contracts/new", headers=ZH, data={
        "number": "MC-1", "starts_on": "2026-12-01", "ends_on": "2026-01-01"})
    assert wrong.status_code == 422 and "合同到期日期早于生效日期" in text_of(wrong)
    assert "不能早于生效日期" in text_of(wrong)  # the field's message names the field by its label, not its code
