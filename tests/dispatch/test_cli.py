"""The shell commands of API.md, Operations: `users create`, `users set-password`, `seed-demo`."""

from __future__ import annotations

from collections import Counter

from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent, User
from dispatch.models import Contract, Customer, RepairCall


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
    assert short.exit_code != 0 and "at least 8 characters" in short.output
    role = runner.invoke(args=["users", "create", "x", "--role", "king", "--password", "long-enough-1"])
    assert role.exit_code != 0 and "king" in role.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_users_create_technician_with_skills(runner):
    result = runner.invoke(args=["users", "create", "li", "--role", "technician", "--password", "tech-pass-1",
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
