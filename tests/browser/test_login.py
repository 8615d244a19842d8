def test_dispatcher_logs_in_through_the_form(page, dispatcher, browser_login):
    browser_login(page, dispatcher)
    assert page.url.endswith("/")
    assert "Dan Dispatcher" in page.content()


def test_wrong_password_stays_on_login(page, dispatcher, browser_login):
    browser_login(page, dispatcher, password="wrong-password")
    assert "/login" in page.url
    assert "Wrong username or password" in page.content()


def test_a_chinese_browser_logs_in_in_chinese(browser, live_server, dispatcher, browser_login, shot):
    """The browser says zh-CN: the login page, its refusal and the page after it read in Chinese."""
    context = browser.new_context(base_url=live_server, locale="zh-CN", viewport={"width": 390, "height": 844})
    try:
        pg = context.new_page()
        pg.set_default_timeout(10_000)
        browser_login(pg, dispatcher, password="wrong-password")
        assert "/login" in pg.url
        assert pg.locator("html").get_attribute("lang") == "zh-CN"
        assert "用户名或密码错误" in pg.content() and "Wrong username" not in pg.content()
        assert pg.locator("button[type=submit]").inner_text() == "登录"
        shot(pg, "login-refused-zh")
        browser_login(pg, dispatcher)
        assert pg.url.endswith("/") and "退出登录" in pg.content()
    finally:
        context.close()
