"""A dispatcher opens "Optimise day" from the board, reads the moves and applies them."""

from __future__ import annotations

from typing import Any

from tests.dispatch.test_replan import crossed_day, live_visits


def test_optimise_the_day_from_the_board(page, browser_login, shot, app, monkeypatch, dispatcher):
    monkeypatch.setitem(app.config, "REPLAN_ON_DEMAND_SECONDS", 0.5)
    d = crossed_day(dispatcher)
    slips = [v.slip_number for v in d.crossed]
    numbers = [v.call.number for v in d.crossed]
    browser_login(page, dispatcher)
    page.goto(f"/board?date={d.day.isoformat()}")
    page.click("#optimise-day")
    page.wait_for_url("**/board/optimise?date=*")

    moves = page.locator("#optimise-moves .optimise-move")
    assert moves.count() == 2
    first = moves.filter(has_text=slips[0]).inner_text()
    assert "Wang Wei 10:00 →" in first and "Li Na" in first
    figures = page.locator("#optimise-figures")
    before, after = (float(figures.locator("tbody tr").first.locator("td").nth(i).inner_text()) for i in (0, 1))
    assert after < before - 50  # kilometres driven: now, re-planned
    page.screenshot(path="/tmp/optimise.png", full_page=True)
    shot(page, "optimise-1366")
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    page.click("#optimise-apply button[type=submit]")
    page.wait_for_url(f"**/board?date={d.day.isoformat()}")
    assert "Re-planned" in page.locator(".flash-success").inner_text()
    page.locator(f"#lane-{d.east.id}").get_by_text(numbers[0]).wait_for()
    assert numbers[1] in page.locator(f"#lane-{d.west.id}").inner_text()
    placed: dict[Any, Any] = {v.id: v.technician_id for v in live_visits(d.day)}
    assert placed[d.crossed[0].id] == d.east.id and placed[d.crossed[1].id] == d.west.id
    shot(page, "optimise-applied-board")
