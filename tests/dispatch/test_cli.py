"""The shell commands of API.md, Operations: `users create`, `users set-password`, `seed-demo`."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from dispatch.models import Contract, Customer, RepairCall
from tests.conftest import session_keys
from tests.factories import PASSWORD


def test_users_create_and_duplicate(runner, client):
    result = runner.invoke(args=["users", "create", "mei", "--role", "manager", "--password", "manager-pass-1",
                                 "--name", "Mei 美"])
    assert result.exit_code == 0, result.output
    assert "Created manager mei" in result.output
    user = db.session.scalar(select(User).where(User.username == "mei"))
    assert (user.role, user.name, user.active) == ("manager", "Mei 美", True)
    assert client.post("/api/v1/auth/token", json={"username": "mei", "password": "manager-pass-1"}).status_code == 200

    again = runner.invoke(args=["users", "create", "mei", "--role", "dispatcher", "--password", "another-pass-1"])
    assert again.exit_code != 0
    assert "The username 'mei' is taken." in again.output
    assert db.session.scalar(select(func.count(User.id))) == 1


def test_users_create_refuses_bad_input(runner):
    short = runner.invoke(args=["users", "create", "x", "--role", "admin", "--password", "short"])
    assert short.exit_code != 0 and "at least 12 characters" in short.output
    role = runner.invoke(args=["users", "create", "x", "--role", "king", "--password", "long-enough-1"])
    assert role.exit_code != 0 and "king" in role.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_users_create_technician_with_skills(runner):
    result = runner.invoke(args=["users", "create", "li", "--role", "technician", "--password", "tech-pass-123",
                                 "--skills", "hvac, Refrigeration"])
    assert result.exit_code == 0, result.output
    tech = db.session.scalar(select(User).where(User.username == "li"))
    assert tech.skills == ["hvac", "refrigeration"]
    assert len(tech.working_hours) == 5


def test_set_password_for_unknown_user(runner):
    result = runner.invoke(args=["users", "set-password", "ghost", "--password", "whatever-1"])
    assert result.exit_code != 0 and "No user ghost" in result.output


def test_seed_demo_is_idempotent_and_covers_every_status(runner, client):
    first = runner.invoke(args=["seed-demo"])
    assert first.exit_code == 0, first.output
    assert "Demo data loaded." in first.output
    db.session.expire_all()
    counts = {m.__name__: db.session.scalar(select(func.count()).select_from(m))
              for m in (User, Customer, RepairCall, Contract, AuditEvent)}

    second = runner.invoke(args=["seed-demo"])
    assert second.exit_code == 0, second.output
    assert "already present" in second.output
    db.session.expire_all()
    assert {m.__name__: db.session.scalar(select(func.count()).select_from(m))
            for m in (User, Customer, RepairCall, Contract, AuditEvent)} == counts

    statuses = Counter(db.session.scalars(select(RepairCall.status)))
    for status in ("new", "booked", "in_progress", "completed", "closed", "reopened", "cancelled"):
        assert statuses[status] >= 1, statuses
    categories = set(db.session.scalars(select(RepairCall.category)))
    assert categories == {"charged", "contract", "free"}
    assert {u.role for u in db.session.scalars(select(User))} == {"admin", "manager", "dispatcher", "technician",
                                                                  "finance"}
    # Every demo login of the README works.
    from dispatch.demo import DEMO_PASSWORDS

    for username, password in DEMO_PASSWORDS.items():
        r = client.post("/api/v1/auth/token", json={"username": username, "password": password})
        assert r.status_code == 200, username
        assert r.get_json()["role"] == username


def test_users_disable_and_enable(app, runner, client, api, technician):
    """`users disable NAME` ends the account's sessions and tokens as the admin's page does, audited;
    `users enable NAME` lets them log in again."""
    phone = app.test_client()
    keys = session_keys(technician)
    with phone.session_transaction() as session:
        session.update(keys)
    token_client = api(technician)
    assert phone.get("/t/").status_code == 200 and token_client.get("/api/v1/me/visits").status_code == 200

    result = runner.invoke(args=["users", "disable", "tom", "--reason", "left the company"])
    assert result.exit_code == 0, result.output
    assert "Disabled tom (Tom Technician)" in result.output
    db.session.expire_all()
    assert db.session.get(User, technician.id).active is False
    assert phone.get("/t/").status_code == 302  # to the login page
    assert token_client.get("/api/v1/me/visits").status_code == 401
    refused = client.post("/api/v1/auth/token", json={"username": "tom", "password": PASSWORD})
    assert refused.status_code == 401
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.updated")).one()
    assert event.actor_id is None and event.reason == "left the company"
    assert (event.before["active"], event.after["active"]) == (True, False)

    again = runner.invoke(args=["users", "disable", "tom"])
    assert again.exit_code == 0 and "already disabled" in again.output
    listed = runner.invoke(args=["users", "list", "--role", "technician"])
    assert "tom" in listed.output and "(disabled)" in listed.output

    enabled = runner.invoke(args=["users", "enable", "tom"])
    assert enabled.exit_code == 0 and "Enabled tom" in enabled.output
    db.session.expire_all()
    assert db.session.get(User, technician.id).active is True
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.updated")
                                .order_by(AuditEvent.id)).all()
    assert len(events) == 2 and events[1].reason == "from the command line"
    assert token_client.get("/api/v1/me/visits").status_code == 401  # old tokens stay ended
    assert client.post("/api/v1/auth/token", json={"username": "tom", "password": PASSWORD}).status_code == 200


def test_users_disable_unknown(runner):
    result = runner.invoke(args=["users", "disable", "ghost"])
    assert result.exit_code != 0 and "No user ghost" in result.output
