"""The admin's account pages: create, edit, disable; disabling or a new password ends sessions."""

from __future__ import annotations

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User


def test_admin_creates_a_technician_account(client, login, admin):
    login(admin)
    response = client.post("/admin/users/new", data={
        "username": "li.na", "name": "Li Na 李娜", "role": "technician", "phone": "13900009999",
        "password": "s3cret-pass-9", "active": "y"})
    assert response.status_code == 302
    user = db.session.scalars(db.select(User).where(User.username == "li.na")).one()
    assert user.role == "technician" and user.name == "Li Na 李娜"
    assert [(w.weekday, w.start.hour, w.end.hour) for w in user.working_hours] == [(d, 8, 17) for d in range(5)]
    assert client.get("/admin/users").data.count("Li Na 李娜".encode()) == 1


def test_duplicate_username_and_short_password_are_form_errors(client, login, admin, dispatcher):
    login(admin)
    response = client.post("/admin/users/new", data={"username": "dan", "name": "Other", "role": "dispatcher",
                                                     "password": "long-enough-1"})
    assert response.status_code == 409
    assert b"already taken" in response.data
    response = client.post("/admin/users/new", data={"username": "new1", "name": "N", "role": "dispatcher",
                                                     "password": "short"})
    assert response.status_code == 422
    assert b"at least 12" in response.data.lower() or b"least 12" in response.data
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.username == "new1")) == 0


def test_disabling_a_user_ends_their_session_and_is_audited(app, client, login, admin, dispatcher):
    other = app.test_client()
    login(dispatcher, other)
    assert other.get("/").status_code == 200
    login(admin)
    response = client.post(f"/admin/users/{dispatcher.id}", data={"username": "dan", "name": "Dan Dispatcher",
                                                                   "role": "dispatcher"})  # active unticked
    assert response.status_code == 302
    assert other.get("/").status_code == 302  # sent to the login page
    event = db.session.scalars(db.select(AuditEvent).where(AuditEvent.action == "user.updated")).one()
    assert event.before["active"] is True and event.after["active"] is False
    assert event.actor_id == admin.id


def test_new_password_logs_the_user_out_everywhere(app, client, login, admin, dispatcher, api):
    other = app.test_client()
    login(dispatcher, other)
    token_client = api(dispatcher)
    assert token_client.get("/api/v1/me").status_code == 200
    login(admin)
    client.post(f"/admin/users/{dispatcher.id}", data={"username": "dan", "name": "Dan Dispatcher",
                                                        "role": "dispatcher", "active": "y",
                                                        "password": "brand-new-pass"})
    assert other.get("/").status_code == 302
    assert token_client.get("/api/v1/me").status_code == 401


def test_admin_cannot_lock_themselves_out(client, login, admin):
    login(admin)
    response = client.post(f"/admin/users/{admin.id}", data={"username": "ada", "name": "Ada", "role": "admin"})
    assert response.status_code == 409
    db.session.refresh(admin)
    assert admin.active


def test_only_admin_reaches_account_pages(client, login, manager):
    login(manager)
    assert client.get("/admin/users").status_code == 403


def test_an_account_created_disabled_cannot_log_in(client, login, admin):
    login(admin)
    response = client.post("/admin/users/new", data={"username": "temp", "name": "Temp", "role": "dispatcher",
                                                     "password": "long-enough-1"})  # active unticked
    assert response.status_code == 302
    user = db.session.scalars(db.select(User).where(User.username == "temp")).one()
    assert user.active is False
    actions = db.session.scalars(db.select(AuditEvent.action).where(AuditEvent.entity_id == user.id,
                                                                    AuditEvent.entity_type == "users")
                                .order_by(AuditEvent.id)).all()
    assert actions == ["user.created", "user.updated"]
    assert client.post("/admin/users/new", data={"username": "nopass", "name": "N", "role": "dispatcher",
                                                 "active": "y"}).status_code == 422


def test_admin_opens_and_saves_every_roles_account(client, login, admin, manager, dispatcher, technician, finance):
    """The edit page of a technician used to be a 500 (`current_app` in the template): every role's page
    opens and saves; a technician's links to their calendar."""
    login(admin)
    for user in (admin, manager, dispatcher, technician, finance):
        page = client.get(f"/admin/users/{user.id}")
        assert page.status_code == 200, (user.role, page.data[:300])
        html = page.get_data(as_text=True)
        assert f'value="{user.username}"' in html and "readonly" in html
        assert (f'href="/technicians#tech-{user.id}"' in html) == (user.role == "technician")
        saved = client.post(f"/admin/users/{user.id}", data={
            "username": user.username, "name": user.name + " (edited)", "role": user.role,
            "phone": "021-6888 1234", "active": "y"})
        assert saved.status_code == 302, (user.role, saved.data[:300])
        db.session.refresh(user)
        assert user.name.endswith("(edited)") and user.phone == "021-6888 1234" and user.active
    listing = client.get("/admin/users").get_data(as_text=True)
    assert all(f"{u.name}</a>" in listing for u in (admin, manager, dispatcher, technician, finance))


def test_admin_disables_a_departed_technician(app, client, login, admin, technician, api):
    phone = app.test_client()
    login(technician, phone)
    token_client = api(technician)
    assert phone.get("/t/").status_code == 200 and token_client.get("/api/v1/me/visits").status_code == 200
    login(admin)
    page = client.get(f"/admin/users/{technician.id}")
    assert page.status_code == 200
    saved = client.post(f"/admin/users/{technician.id}", data={
        "username": "tom", "name": technician.name, "role": "technician"})  # "Active" unticked
    assert saved.status_code == 302
    db.session.refresh(technician)
    assert technician.active is False
    assert phone.get("/t/").status_code == 302 and token_client.get("/api/v1/me/visits").status_code == 401
    assert "disabled" in client.get("/admin/users?role=technician").get_data(as_text=True)


def test_markup_is_not_a_phone_number(client, login, api, admin, technician):
    login(admin)
    response = client.post(f"/admin/users/{technician.id}", data={
        "username": "tom", "name": technician.name, "role": "technician", "phone": "<b>123</b>", "active": "y"})
    assert response.status_code == 422
    assert "is not a phone number" in response.get_data(as_text=True)
    assert "<b>123</b>" not in response.get_data(as_text=True)  # escaped where it is shown back
    response = client.post("/admin/users/new", data={"username": "new.tech", "name": "New", "role": "technician",
                                                     "password": "long-enough-1", "phone": "<b>123</b>"})
    assert response.status_code == 422
    response = api(admin).post("/api/v1/users", json={"username": "api.tech", "name": "Api", "role": "technician",
                                                      "password": "long-enough-1", "phone": "<b>123</b>"})
    assert response.status_code == 422 and "phone" in response.get_json()["error"]["fields"]
    db.session.refresh(technician)
    assert technician.phone != "<b>123</b>"
    assert db.session.scalar(db.select(db.func.count(User.id)).where(User.username.in_(["new.tech", "api.tech"]))) == 0
