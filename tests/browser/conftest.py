"""Real-browser fixtures: Playwright driving the system Chromium against the live test server."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
        "--no-first-run", "--disable-gpu", "--disable-quic"]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True,
         "has_touch": True}


def pytest_collection_modifyitems(items: list[Any]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium is not at {CHROMIUM}: run `make test`, which installs it (apt-get install chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any, live_server: str) -> Iterator[Any]:
    """A desktop page (1366 x 900) with base_url set to the live server."""
    context = browser.new_context(base_url=live_server, viewport={"width": 1366, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


@pytest.fixture
def phone(browser: Any, live_server: str) -> Iterator[Any]:
    """A phone page: 390 x 844, touch, mobile."""
    context = browser.new_context(base_url=live_server, **PHONE)
    pg = context.new_page()
    pg.set_default_timeout(10_000)
    yield pg
    context.close()


@pytest.fixture
def browser_login() -> Any:
    """Log in through the real login form."""

    def _login(pg: Any, user: Any, password: str | None = None) -> None:
        from tests.factories import PASSWORD

        pg.goto("/login")
        pg.fill("input[name=username]", user.username)
        pg.fill("input[name=password]", password or PASSWORD)
        pg.click("button[type=submit]")
        pg.wait_for_load_state("networkidle")

    return _login


@pytest.fixture
def shot() -> Any:
    """Save a screenshot under test-artifacts/ (for people to look at; not compared)."""

    def _shot(pg: Any, name: str) -> Path:
        ARTIFACTS.mkdir(exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        pg.screenshot(path=str(path), full_page=True)
        return path

    return _shot
