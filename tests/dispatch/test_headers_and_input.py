"""Issue 15, "Headers and limits" and "Bad input that still gives a 500": security headers on every answer,
the body size limit, 405's Allow, lone surrogates and invalid UTF-8 in JSON, money as a JSON float,
currencies, and ids past what a column holds."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dispatch.core.config import from_environment
from dispatch.core.headers import CONTENT_SECURITY_POLICY
from dispatch.core.timeutil import utcnow
from tests.factories import make_call

HUGE_ID = 2**63
CSP_PARTS = ("default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
             "frame-ancestors 'none'", "base-uri 'self'", "form-action 'self'")


# ----------------------------------------------------------------------------- headers


def test_every_answer_has_nosniff_and_referrer_policy(client, api, dispatcher):
    for response in (client.get("/login"), client.get("/static/css/app.css"),
                     api(None).get("/api/v1/calls"), api(dispatcher).get("/api/v1/calls")):
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Referrer-Policy"] == "strict-origin-when-cross-origin"


def test_pages_have_a_strict_content_security_policy(client, login, dispatcher):
    for response in (client.get("/login"), login(dispatcher).get("/calls")):
        assert response.status_code == 200
        policy = response.headers["Content-Security-Policy"]
        assert policy == CONTENT_SECURITY_POLICY
        for part in CSP_PARTS:
            assert part in policy
        assert "unsafe-inline" not in policy and "unsafe-eval" not in policy


def test_pages_carry_no_inline_script_or_style(client, login, admin, dispatcher):
    """What the policy would block: no <script> without src, no on...= handler, no style= attribute."""
    import re

    pages = [(admin, "/admin/users"), (dispatcher, "/calls"), (dispatcher, "/calls/new")]
    for user, url in pages:
        html = login(user).get(url).get_data(as_text=True)
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", html), url
        assert not re.search(r"\son[a-z]+=", html), url
        assert not re.search(r"\sstyle=", html), url
        assert "<style" not in html, url
    users = login(admin).get("/admin/users").get_data(as_text=True)
    assert "data-autosubmit" in users and "js/autosubmit.js" in users
    assert 'name="htmx-config"' in users and "includeIndicatorStyles" in users


def test_no_store_on_signed_in_pages_and_json_not_on_static(client, login, api, dispatcher):
    assert api(dispatcher).get("/api/v1/calls").headers["Cache-Control"] == "no-store"
    assert api(None).get("/api/v1/calls").headers["Cache-Control"] == "no-store"  # JSON, even an error
    assert login(dispatcher).get("/calls").headers["Cache-Control"] == "no-store"
    static = client.get("/static/css/app.css")
    assert "no-store" not in static.headers.get("Cache-Control", "")
    assert "Content-Security-Policy" not in static.headers


def test_hsts_only_in_production(app, client, monkeypatch):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    monkeypatch.setitem(app.config, "ENV", "production")
    assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=31536000")


def test_dispatch_env_production_is_production(monkeypatch, tmp_path):
    monkeypatch.setenv("DISPATCH_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 40)
    assert from_environment(str(tmp_path))["ENV"] == "production"


# ----------------------------------------------------------------------------- limits


def test_body_over_max_content_length_is_413_in_the_json_shape(app, api, dispatcher, monkeypatch):
    assert app.config["MAX_CONTENT_LENGTH"] == 16 * 1024 * 1024  # the default
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024)
    r = api(dispatcher).post("/api/v1/customers", data=b'{"name": "' + b"x" * 4096 + b'"}',
                             headers={"Content-Type": "application/json"})
    assert r.status_code == 413
    assert r.get_json()["error"]["code"] == "too_large"
    assert r.get_json()["error"]["message"]


def test_max_content_length_comes_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("MAX_CONTENT_LENGTH", "2048")
    assert from_environment(str(tmp_path))["MAX_CONTENT_LENGTH"] == 2048


def test_405_carries_allow(client, api, dispatcher):
    r = api(dispatcher).delete("/api/v1/calls")
    assert r.status_code == 405 and r.get_json()["error"]["code"] == "method_not_allowed"
    assert "GET" in r.headers["Allow"] and "POST" in r.headers["Allow"]
    page = client.put("/login")
    assert page.status_code == 405 and "POST" in page.headers["Allow"]


# ----------------------------------------------------------------------------- bad input


def _raw(client, method, url, data: bytes, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return client.open(url, method=method, data=data, headers=headers)


def test_lone_surrogate_is_400_even_anonymous(client):
    r = _raw(client, "POST", "/api/v1/auth/token", b'{"username": "\\ud800", "password": "x"}')
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "malformed_json"


def test_lone_surrogate_anywhere_in_the_body_is_400(api, dispatcher):
    c = api(dispatcher)
    for body in (b'{"name": "Ann \\udfff", "phone": "13800000000"}',
                 b'{"name": "Ann", "tags": ["ok", {"deep": "\\ud800"}]}',
                 b'{"\\ud800": 1}'):
        r = c.post("/api/v1/customers", data=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, body
        assert r.get_json()["error"]["code"] == "malformed_json"
    # a real pair (an emoji as \\ud83d\\ude00) is a character: no refusal on that ground
    r = c.post("/api/v1/customers", data=b'{"name": "Ann \\ud83d\\ude00"}',
               headers={"Content-Type": "application/json"})
    assert r.status_code < 500 and r.get_json().get("error", {}).get("code") != "malformed_json"


def test_invalid_utf8_is_400_not_stored_as_replacement(api, dispatcher):
    r = api(dispatcher).post("/api/v1/customers", data=b'{"name": "Ann \xff\xfe", "phone": "13800000000"}',
                             headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.get_json()["error"]["code"] == "malformed_json"


def test_money_as_a_json_float_is_422(api, finance):
    c = api(finance)
    r = c.put("/api/v1/prices", json={"call_out_fee": 1.5, "labor_rate_per_hour": "120.00", "tax_rate": "0.13",
                                      "currency": "CNY"})
    assert r.status_code == 422
    assert "call_out_fee" in r.get_json()["error"]["fields"]
    ok = c.put("/api/v1/prices", json={"call_out_fee": "1.50", "labor_rate_per_hour": 120, "tax_rate": "0.13",
                                       "currency": "CNY"})
    assert ok.status_code == 200 and ok.get_json()["call_out_fee"] == "1.50"


def test_currency_must_be_iso_4217(api, finance):
    c = api(finance)
    base = {"call_out_fee": "80.00", "labor_rate_per_hour": "120.00", "tax_rate": "0.13"}
    for bad in ("ABC", "QQQ", "C1Y", "CNYY"):
        r = c.put("/api/v1/prices", json={**base, "currency": bad})
        assert r.status_code == 422, bad
        assert "currency" in r.get_json()["error"]["fields"]
    for good in ("USD", "EUR", "HKD"):
        assert c.put("/api/v1/prices", json={**base, "currency": good}).status_code == 200, good


@pytest.mark.parametrize("huge", [HUGE_ID, 2**64, 2**31])
def test_huge_ids_in_booking_and_reschedule_are_not_500(api, dispatcher, huge):
    from dispatch.core.extensions import db

    call = make_call(dispatcher)
    db.session.commit()
    c = api(dispatcher)
    start = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    end = start + timedelta(hours=1)
    r = c.post(f"/api/v1/calls/{call.id}/visits",
               json={"technician_id": huge, "start": start.isoformat(), "end": end.isoformat()})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_technician"
    assert c.post(f"/api/v1/calls/{huge}/visits", json={"technician_id": 1, "start": start.isoformat(),
                                                         "end": end.isoformat()}).status_code == 404
    assert c.patch(f"/api/v1/visits/{huge}", json={"technician_id": 1}).status_code == 404
    r = c.get(f"/api/v1/visits?technician_id={huge}")
    assert r.status_code == 422 and "technician_id" in r.get_json()["error"]["fields"]


def test_huge_technician_id_in_a_reschedule_is_422(api, dispatcher, technician):
    from dispatch.core.extensions import db
    from dispatch.scheduling import booking

    call = make_call(dispatcher)
    start = (utcnow() + timedelta(hours=3)).replace(second=0, microsecond=0)
    visit = booking.book_visit(dispatcher, call, technician, start, start + timedelta(hours=1))
    db.session.commit()
    r = api(dispatcher).patch(f"/api/v1/visits/{visit.id}", json={"technician_id": HUGE_ID})
    assert r.status_code == 422 and r.get_json()["error"]["code"] == "unknown_technician"


def test_the_chart_page_is_the_one_inline_style_exception(login, manager):
    """pygal's SVG carries <style> and style="": the dashboard alone allows inline style, never inline script."""
    r = login(manager).get("/reports/")
    assert r.status_code == 200 and "<svg" in r.get_data(as_text=True)
    policy = r.headers["Content-Security-Policy"]
    assert "style-src 'self' 'unsafe-inline'" in policy
    assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy
    assert not __import__("re").search(r"<script(?![^>]*\bsrc=)[^>]*>", r.get_data(as_text=True))
