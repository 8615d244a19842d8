"""Issue 15, backups: `flask backup create` copies a database with data, `flask backup restore` puts it into an
empty one, which then holds the same rows and passes `flask audit verify`. Same engine as the suite's
(PostgreSQL only when pg_dump and pg_restore are installed)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dispatch.core.extensions import db
from dispatch.core.models import AuditEvent
from dispatch.models import RepairCall
from tests.factories import make_call, make_user

ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@contextmanager
def scratch_database(engine_name: str, tmp_path: Path, label: str) -> Iterator[str]:
    if engine_name == "sqlite":
        yield "sqlite:///" + str(tmp_path / f"{label}.sqlite3")
        return
    import psycopg

    name = f"dispatch_{label}_" + uuid.uuid4().hex[:8]
    with psycopg.connect(ADMIN, autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(ADMIN, autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _invoke(app, *args: str):
    # The CLI runs in the app context it finds: the suite's own app is current, so push this one.
    with app.app_context():
        result = app.test_cli_runner().invoke(args=list(args))
        db.session.remove()
        return result


def _rows(app) -> dict[str, object]:
    with app.app_context():
        calls = sorted(db.session.execute(select(RepairCall.id, RepairCall.number)).all())
        events = sorted(db.session.execute(select(AuditEvent.id, AuditEvent.content_sha256)).all())
        count = db.session.scalar(select(func.count()).select_from(AuditEvent))
        db.session.remove()
        return {"calls": calls, "events": events, "count": count}


@pytest.mark.concurrency
def test_backup_then_restore_into_an_empty_database(app, tmp_path):
    from flask_migrate import upgrade

    from dispatch import create_app

    engine_name = db.engine.dialect.name
    if engine_name != "sqlite" and not (shutil.which("pg_dump") and shutil.which("pg_restore")):
        pytest.skip("pg_dump / pg_restore not installed")
    backup_file = tmp_path / "backups" / ("dispatch.sqlite3" if engine_name == "sqlite" else "dispatch.dump")
    with scratch_database(engine_name, tmp_path, "source") as source_url, \
            scratch_database(engine_name, tmp_path, "target") as target_url:
        source = create_app({"TESTING": True, "DATABASE_URL": source_url, "SECRET_KEY": "x", "DEFAULT_LOCALE": "en"})
        with source.app_context():
            upgrade()
            dispatcher = make_user("dispatcher", "backup-desk")
            for _ in range(3):
                make_call(dispatcher)
            db.session.commit()
            db.session.remove()
        before = _rows(source)
        assert len(before["calls"]) == 3 and before["count"] >= 3

        created = _invoke(source, "backup", "create", str(backup_file))
        assert created.exit_code == 0, created.output
        assert backup_file.is_file() and "Backup written" in created.output
        again = _invoke(source, "backup", "create", str(backup_file))
        if engine_name == "sqlite":  # never overwrite an earlier backup silently
            assert again.exit_code != 0 and "exists already" in again.output

        target = create_app({"TESTING": True, "DATABASE_URL": target_url, "SECRET_KEY": "x", "DEFAULT_LOCALE": "en"})
        restored = _invoke(target, "backup", "restore", "--yes", str(backup_file))
        assert restored.exit_code == 0, restored.output
        assert str(backup_file) in restored.output and target_url.rsplit("/", 1)[-1] in restored.output
        assert _rows(target) == before
        verified = _invoke(target, "audit", "verify")
        assert verified.exit_code == 0, verified.output
        assert "Audit trail intact" in verified.output
        for application in (source, target):
            with application.app_context():
                db.engine.dispose()


def test_restore_refuses_a_file_that_is_not_a_backup(runner, tmp_path):
    if db.engine.dialect.name != "sqlite":
        pytest.skip("restore is never pointed at the suite's own PostgreSQL database")
    junk = tmp_path / "junk.sqlite3"
    junk.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(args=["backup", "restore", "--yes", str(junk)])
    assert result.exit_code != 0
    assert "is not a SQLite database" in result.output or "not an intact" in result.output
