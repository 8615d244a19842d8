def test_dispatcher_logs_in_through_the_form(page, dispatcher, browser_login):
    browser_login(page, dispatcher)
    assert page.url.endswith("/")
    assert "Dan Dispatcher" in page.content()


def test_wrong_password_stays_on_login(page, dispatcher, browser_login):
    browser_login(page, dispatcher, password="wrong-password")
    assert "/login" in page.url
    assert "Wrong username or password" in page.content()
