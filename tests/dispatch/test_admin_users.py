"""The admin's account pages: create, edit, disable; disabling or a new password ends sessions."""

from __future__ import annotations

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User


def test_admin_creates_a_technician_account(client, login, admin):
    login(admin)
    response = client.post("/admin/users/new", data={
        "username": "li.na", "name": "Li Na 李娜", "role": "technician", "phone": "13900009999",
        "password": "s3cret-pass", "active": "y"})
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
    assert b"at least 8" in response.data.lower() or b"least 8" in response.data
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
                                                                    AuditEvent.entity_type == "users")).all()
    assert actions == ["user.created", "user.updated"]
    assert client.post("/admin/users/new", data={"username": "nopass", "name": "N", "role": "dispatcher",
                                                 "active": "y"}).status_code == 422
