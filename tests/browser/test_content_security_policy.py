"""Issue 15: the Content-Security-Policy allows no inline script or style, and the pages still work under
it in a real browser (no violation reported; the role filter still sends its form on change)."""


def _watch(pg):
    violations: list[str] = []
    pg.on("console", lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None)
    return violations


def test_the_role_filter_sends_its_form_without_inline_script(page, admin, browser_login, shot):
    violations = _watch(page)
    browser_login(page, admin)
    page.goto("/admin/users")
    page.select_option("#role", "technician")
    page.wait_for_url("**/admin/users?role=technician*")
    shot(page, "csp-admin-users")
    assert violations == []


def test_desk_pages_run_under_the_policy(page, dispatcher, browser_login):
    violations = _watch(page)
    browser_login(page, dispatcher)
    for url in ("/calls", "/calls/new", "/board"):
        page.goto(url)
        page.wait_for_load_state("networkidle")
    assert violations == []
