"""Backups of the database: SQLite through sqlite3's online backup API (consistent while the app serves:
it copies pages under SQLite's own locking), PostgreSQL through pg_dump / pg_restore (custom format)."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import URL, make_url


class BackupError(Exception):
    """A backup or restore that could not be done, with a message for the operator."""


def default_path(url: URL, directory: str | os.PathLike[str]) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    suffix = "sqlite3" if url.get_backend_name() == "sqlite" else "dump"
    return Path(directory) / f"dispatch-{stamp}.{suffix}"


def _sqlite_file(url: URL) -> str:
    if not url.database or url.database == ":memory:":
        raise BackupError("an in-memory SQLite database cannot be backed up")
    return url.database


def _pg_env(url: URL) -> tuple[list[str], dict[str, str]]:
    """Connection arguments for the pg tools; the password goes in the environment, never the command."""
    args = ["--dbname", url.database or ""]
    if url.host:
        args += ["--host", url.host]
    if url.port:
        args += ["--port", str(url.port)]
    if url.username:
        args += ["--username", url.username]
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return args, env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise BackupError(f"{name} was not found on PATH: install the PostgreSQL client tools "
                          "(the same major version as the server)")
    return found


def _run(command: list[str], env: dict[str, str], say: Callable[[str], None]) -> None:
    say("running: " + " ".join(command))
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise BackupError(f"{Path(command[0]).name} failed ({done.returncode}): {done.stderr.strip()}")


def create(database_url: str, path: Path, say: Callable[[str], None] = print) -> Path:
    url = make_url(database_url)
    path.parent.mkdir(parents=True, exist_ok=True)
    if url.get_backend_name() == "sqlite":
        source_file = _sqlite_file(url)
        if path.exists():
            raise BackupError(f"{path} exists already: choose a new file")
        say(f"copying {source_file} -> {path} (SQLite online backup)")
        source = sqlite3.connect(source_file)
        target = sqlite3.connect(path)
        try:
            with target:
                source.backup(target)
        finally:
            target.close()
            source.close()
        return path
    if url.get_backend_name() == "postgresql":
        args, env = _pg_env(url)
        _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(path), *args], env, say)
        return path
    raise BackupError(f"no backup method for {url.get_backend_name()}")


def restore(database_url: str, path: Path, say: Callable[[str], None] = print) -> None:
    """Replace the database's contents with the backup's. Stop the app first."""
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        target_file = _sqlite_file(url)
        say(f"restoring {path} -> {target_file} (SQLite online backup)")
        source = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            if source.execute("PRAGMA integrity_check").fetchone()[0] != "ok":
                raise BackupError(f"{path} is not an intact SQLite database")
            target = sqlite3.connect(target_file)
            try:
                with target:
                    source.backup(target)
            finally:
                target.close()
        except sqlite3.DatabaseError as exc:
            raise BackupError(f"{path} is not a SQLite database: {exc}") from exc
        finally:
            source.close()
        return
    if url.get_backend_name() == "postgresql":
        args, env = _pg_env(url)
        _run([_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
              "--exit-on-error", *args, str(path)], env, say)
        return
    raise BackupError(f"no restore method for {url.get_backend_name()}")
