"""The schema is made only by Alembic, and the migrations agree with the models."""

from __future__ import annotations

from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from dispatch.core.extensions import db

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def test_there_is_exactly_one_head() -> None:
    config = Config(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    heads = ScriptDirectory.from_config(config).get_heads()
    assert len(heads) == 1, f"several migration heads: {heads}"


def test_upgraded_database_matches_the_models(app) -> None:
    with db.engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": True})
        diff = compare_metadata(context, db.metadata)
    assert diff == [], f"models and migrations disagree: {diff}"


def test_downgrade_to_base_and_back(app, tmp_path) -> None:
    """Every revision has a working downgrade(), on a scratch database of the same engine."""
    from flask_migrate import downgrade, upgrade

    from dispatch import create_app

    if db.engine.dialect.name == "sqlite":
        url = "sqlite:///" + str(tmp_path / "scratch.sqlite3")
    else:
        import uuid

        import psycopg

        name = "dispatch_scratch_" + uuid.uuid4().hex[:8]
        with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{name}"')
        url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    scratch = create_app({"TESTING": True, "DATABASE_URL": url, "SECRET_KEY": "x"})
    try:
        with scratch.app_context():
            upgrade()
            downgrade(revision="base")
            upgrade()
            tables = set(db.inspect(db.engine).get_table_names())
            assert {"users", "repair_calls", "visits", "audit_events"} <= tables
            db.engine.dispose()
    finally:
        if url.startswith("postgresql"):
            import psycopg

            with psycopg.connect("postgresql://postgres@127.0.0.1:5432/postgres", autocommit=True) as c:
                c.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
