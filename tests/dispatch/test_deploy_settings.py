"""Settings for running behind a proxy and with a shared counter store (docs/DEPLOY.md)."""

from __future__ import annotations

from typing import Any

from dispatch import create_app
from dispatch.core.extensions import db
from tests.dispatch.test_login_throttle import HERE, THERE, assert_throttled, token
from tests.factories import PASSWORD


def _instance(app: Any, **config: Any) -> Any:
    return create_app({"TESTING": True, "DATABASE_URL": app.config["DATABASE_URL"], "SECRET_KEY": "test-secret-key",
                       "WTF_CSRF_ENABLED": False, "GEOCODER": "offline", "DEFAULT_LOCALE": "en", **config})


def _forwarded(client: Any, username: str, password: str, client_address: str) -> Any:
    # The proxy (HERE) passes the real client's address on.
    return client.post("/api/v1/auth/token", json={"username": username, "password": password},
                       environ_base={"REMOTE_ADDR": HERE}, headers={"X-Forwarded-For": client_address})


def test_behind_a_trusted_proxy_the_throttle_counts_per_real_client(app, dispatcher):
    instance = _instance(app, TRUSTED_PROXIES=1)
    try:
        client = instance.test_client()
        for i in range(10):
            assert _forwarded(client, "dan", f"wrong-{i}", "192.0.2.1").status_code == 401
        assert_throttled(_forwarded(client, "dan", PASSWORD, "192.0.2.1"))
        # another client behind the same proxy is not locked out
        assert _forwarded(client, "dan", PASSWORD, "192.0.2.2").status_code == 200
    finally:
        with instance.app_context():
            db.engine.dispose()


def test_without_trusted_proxies_a_forged_forwarded_header_is_ignored(client, dispatcher):
    for i in range(10):
        assert _forwarded(client, "dan", f"wrong-{i}", f"192.0.2.{i + 1}").status_code == 401
    # every guess counted against the peer's own address, whatever it claimed to forward
    assert_throttled(_forwarded(client, "dan", PASSWORD, "192.0.2.99"))
    assert token(client, "dan", PASSWORD, address=THERE).status_code == 200


def test_an_unreachable_counter_store_is_503_not_500(app, dispatcher):
    # a port nothing listens on: the counts can't be kept, so no password is checked
    instance = _instance(app, REDIS_URL="redis://127.0.0.1:9/0")
    try:
        response = token(instance.test_client(), "dan", PASSWORD)
        assert response.status_code == 503, response.data[:300]
        assert response.get_json()["error"]["code"] == "unavailable"
    finally:
        with instance.app_context():
            db.engine.dispose()
