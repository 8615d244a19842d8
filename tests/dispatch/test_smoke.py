from tests.factories import make_call


def test_login_page_renders(client):
    response = client.get("/login")
    assert response.status_code == 200
    assert b"Log in" in response.data


def test_call_gets_number_and_category(dispatcher):
    call = make_call(dispatcher)
    assert call.number.startswith("SC-")
    assert call.category == "charged"
    assert call.booking_deadline is not None
