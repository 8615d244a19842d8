"""Shell commands: `users create`, `seed-demo`. One group per domain; each commits once."""

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
@click.option("--password", required=True, help="At least 8 characters.")
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
@click.option("--password", required=True)
def set_password_command(username: str, password: str) -> None:
    """Change a user's password (their sessions and tokens end)."""
    from .services.users import change_password, user_by_username

    with write_transaction():
        user = user_by_username(username)
        if user is None:
            raise click.ClickException(_("No user %(username)s.", username=username))
        try:
            change_password(None, user, password)
            db.session.commit()
        except DomainError as exc:
            db.session.rollback()
            raise click.ClickException(exc.message) from None
    click.echo(_("Password changed for %(username)s.", username=username))


@click.command("seed-demo")
def seed_demo_command() -> None:
    """Fill an empty database with a believable demo (does nothing if it is already there)."""
    from .seed import seed_demo

    with write_transaction():
        created = seed_demo()
        db.session.commit()
    click.echo(_("Demo data loaded.") if created else _("Demo data already present; nothing changed."))


def register(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(seed_demo_command)
