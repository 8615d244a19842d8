"""Shell commands: `users create|set-password|disable|enable|list`, `seed-demo`. One group per domain;
each commits once."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from .core.database import write_transaction
from .core.errors import DomainError
from .core.extensions import db
from .core.i18n import _

users = AppGroup("users", help="Manage user accounts.")


@users.command("create")
@click.argument("username")
@click.option("--role", required=True, type=click.Choice(["admin", "manager", "dispatcher", "technician", "finance"]))
@click.option("--password", required=True, help="At least 12 characters, not a common password.")
@click.option("--name", default=None, help="Full name shown on slips and pages.")
@click.option("--skills", default="", help="Comma-separated skills, for technicians.")
def create_user_command(username: str, role: str, password: str, name: str | None, skills: str) -> None:
    """Create a user."""
    from .services.users import create_user

    with write_transaction():
        try:
            user = create_user(None, username=username, password=password, name=name or username, role=role,
                               skills=[s.strip() for s in skills.split(",") if s.strip()])
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    click.echo(_("Created %(role)s %(username)s (id %(id)s).", role=user.role,
                 username=user.username, id=user.id))


@users.command("set-password")
@click.argument("username")
@click.option("--password", required=True, help="At least 12 characters, not a common password.")
@click.option("--no-change-required", is_flag=True,
              help="Do not make the user choose their own password at the next login (your own account).")
def set_password_command(username: str, password: str, no_change_required: bool) -> None:
    """Reset a user's password: their sessions and tokens end, and they choose their own at the next login."""
    from .services.users import change_password, user_by_username

    with write_transaction():
        user = user_by_username(username)
        if user is None:
            raise click.ClickException(_("No user %(username)s.", username=username))
        try:
            change_password(None, user, password, must_change=not no_change_required)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    click.echo(_("Password changed for %(username)s.", username=username))


def _set_active(username: str, active: bool, reason: str | None) -> None:
    """Disable or enable an account as the admin's page does (audited; disabling ends sessions and tokens)."""
    from .services.users import update_user, user_by_username

    with write_transaction():
        user = user_by_username(username)
        if user is None:
            raise click.ClickException(_("No user %(username)s.", username=username))
        if user.active == active:
            db.session.rollback()
            click.echo(_("%(username)s is already active.", username=username) if active
                       else _("%(username)s is already disabled.", username=username))
            return
        try:
            update_user(None, user, active=active, reason=reason or _("from the command line"))
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    click.echo(_("Enabled %(username)s (%(name)s); they can log in again.", username=username, name=user.name)
               if active else _("Disabled %(username)s (%(name)s); their sessions and tokens have ended.",
                                username=username, name=user.name))


@users.command("disable")
@click.argument("username")
@click.option("--reason", default=None, help="Why, for the audit trail (e.g. left the company).")
def disable_user_command(username: str, reason: str | None) -> None:
    """Disable an account: the user can no longer log in; their sessions and API tokens end now."""
    _set_active(username, False, reason)


@users.command("enable")
@click.argument("username")
@click.option("--reason", default=None, help="Why, for the audit trail.")
def enable_user_command(username: str, reason: str | None) -> None:
    """Enable a disabled account again (with the password it had)."""
    _set_active(username, True, reason)


@users.command("list")
@click.option("--role", default=None, type=click.Choice(["admin", "manager", "dispatcher", "technician", "finance"]))
def list_users_command(role: str | None) -> None:
    """The accounts: username, role, name, and whether they are disabled."""
    from .core.i18n import label
    from .services.users import accounts

    for user in accounts(role):
        state = "" if user.active else "  " + _("(disabled)")
        click.echo(f"{user.username:<20} {label(user.role, 'role'):<12} {user.name}{state}")


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Fill an empty database with a believable demo (does nothing if it is already there)."""
    from .seed import seed_demo

    with write_transaction():
        created = seed_demo()
        db.session.commit()
    click.echo(_("Demo data loaded.") if created else _("Demo data already present; nothing changed."))


@click.command("bench-data")
@click.option("--calls", required=True, type=click.IntRange(min=1), help="How many repair calls (over three years).")
@click.option("--seed", default=16, show_default=True, help="The same seed makes the same data.")
@click.option("--password", default="bench-password", show_default=True,
              help="The password of the bench.* accounts it creates.")
def bench_data_command(calls: int, seed: int, password: str) -> None:
    """Fill the migrated database with generated volume for the benches (bulk inserts, one transaction):
    customers, calls in every status, visits, work, money. Logins: bench.dispatcher, bench.tech001, ..."""
    from .benchdata import generate

    with write_transaction():
        try:
            summary = generate(calls, seed=seed, password=password, say=click.echo)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
        except ValueError as exc:
            db.session.rollback()
            raise click.ClickException(str(exc)) from None
    click.echo(_("Bench data: %(calls)s calls, %(rows)s rows in %(seconds)s s.", calls=summary.calls,
                 rows=sum(summary.rows.values()), seconds=round(summary.seconds, 1)))


sites = AppGroup("sites", help="Customers' sites on the map.")


@sites.command("relocate")
def relocate_sites_command() -> None:
    """Place again the sites the offline geocoder placed (after an upgrade of it); those it cannot place
    now are listed, for a dispatcher to correct on the site's page."""
    from .geo.distance import site_place
    from .services.sites import relocate_geocoded_sites

    with write_transaction():
        done = relocate_geocoded_sites(None)
        db.session.commit()
        for site, problem in done:
            click.echo(f"{site.id:>6}  {site.address}  ->  {problem or site_place(site)}")


audit = AppGroup("audit", help="The audit trail and the signed records.")


@audit.command("verify")
def audit_verify_command() -> None:
    """Walk the hash-chained audit trail and re-check every signed record (vouchers, carry-back receipts and
    returns) against its stored hash. Exit code 1 and the first broken link when anything was changed."""
    from .core.audit_chain import verify

    count, problems = verify(db.session)
    db.session.rollback()
    for problem in problems:
        click.echo(_("Broken: %(problem)s", problem=str(problem)), err=True)
    if problems:
        raise SystemExit(1)
    click.echo(_("Audit trail intact: %(count)s events; every signed record matches its hash.", count=count))


backup = AppGroup("backup", help="Back up and restore the database (SQLite file or PostgreSQL).")


@backup.command("create")
@click.argument("path", required=False, type=click.Path(dir_okay=False))
def backup_create_command(path: str | None) -> None:
    """Write a consistent copy of the database to PATH (default: instance/backups/dispatch-<UTC time>).
    Safe while the app is serving."""
    from pathlib import Path

    from flask import current_app

    from .core.backup import BackupError, create, default_path

    url = db.engine.url
    target = Path(path) if path else default_path(url, Path(current_app.instance_path) / "backups")
    db.session.remove()
    try:
        done = create(url.render_as_string(hide_password=False), target, say=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(_("Backup written: %(path)s", path=str(done)))


@backup.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, exists=True))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def backup_restore_command(path: str, yes: bool) -> None:
    """Replace the database's contents with the backup at PATH. Stop the app first; run
    `flask audit verify` after."""
    from pathlib import Path

    from .core.backup import BackupError, restore

    url = db.engine.url
    if not yes:
        click.confirm(_("Replace everything in %(database)s with %(path)s?",
                        database=url.render_as_string(hide_password=True), path=path), abort=True)
    db.session.remove()
    db.engine.dispose()
    try:
        restore(url.render_as_string(hide_password=False), Path(path), say=click.echo)
    except BackupError as exc:
        raise click.ClickException(str(exc)) from exc
    db.engine.dispose()
    click.echo(_("Restored from %(path)s. Check it with: flask --app dispatch audit verify", path=path))


def register(app: Flask) -> None:
    app.cli.add_command(audit)
    app.cli.add_command(backup)
    app.cli.add_command(users)
    app.cli.add_command(sites)
    app.cli.add_command(seed_demo_command)
    app.cli.add_command(bench_data_command)
