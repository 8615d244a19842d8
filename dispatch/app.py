"""The application factory: configuration, extensions, every blueprint by name, error handlers,
template helpers and commands, wired per app. Nothing here runs at import time.

This is one of the few modules allowed to import all three packages (DESIGN.md): `dispatch` itself
never imports `technicians` or `billing`; the factory plugs their blueprints and hooks into the app.
A broken import fails the start-up loudly instead of silently dropping a package's routes.
"""

from __future__ import annotations

import os
from itertools import chain
from pathlib import Path
from typing import Any

from flask import Flask, abort, request

ROOT = Path(__file__).resolve().parent.parent


def asset_dir(name: str) -> str:
    """templates/, static/ and migrations/ sit beside the packages in a checkout, and inside
    dispatch_assets/ when installed."""
    here = ROOT / name
    if here.is_dir():
        return str(here)
    from importlib.resources import files

    return str(files("dispatch_assets") / name)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    from .core.config import from_environment

    app = Flask(
        "dispatch",
        template_folder=asset_dir("templates"),
        static_folder=asset_dir("static"),
        instance_path=os.environ.get("DISPATCH_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
    )
    app.config.update(from_environment(app.instance_path, config))
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from .core.auth import load_user
    from .core.database import configure_engine, set_write_intent
    from .core.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=asset_dir("migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user)
    with app.app_context():
        configure_engine(db.engine)

    @app.before_request
    def _write_intent() -> None:
        # A GET that writes (a counted slip print) marks its view with `writes = True`.
        view = app.view_functions.get(request.endpoint or "")
        set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS") or getattr(view, "writes", False))

    @app.before_request
    def _refuse_nul_characters() -> None:
        # PostgreSQL cannot store NUL in text; refuse it at the door for every form and query string.
        values = chain(chain.from_iterable(request.args.listvalues()),
                       chain.from_iterable(request.form.listvalues()) if request.form else ())
        if any("\x00" in value for value in values):
            abort(400, "Text may not contain NUL characters.")

    @app.teardown_request
    def _end_write_intent(_exc: BaseException | None) -> None:
        # The intent lives in a context variable; a caller running the app in its own thread (the test
        # client) must not inherit it, or its next transaction would take SQLite's write lock and hold it.
        set_write_intent(False)


def register_blueprints(app: Flask) -> None:
    import billing.api
    import billing.views
    import technicians.api
    import technicians.pwa
    import technicians.views

    from . import admin, board, slips, views, visits_api
    from . import api as desk_api
    from .core import login
    from .core.apiutil import DatabaseIdConverter
    from .core.extensions import csrf
    from .core.security import protect

    app.url_map.converters["int"] = DatabaseIdConverter  # before any rule: ids past the column's range 404
    pages = [login.bp, views.bp, admin.bp, board.bp, slips.bp,
             billing.views.bp,
             technicians.views.bp, technicians.pwa.bp]
    apis = [login.api_bp, desk_api.bp, visits_api.bp,
            billing.api.bp,
            technicians.api.bp]
    for bp in pages:
        app.register_blueprint(bp)
    for bp in apis:
        app.register_blueprint(bp)
        # API writes are checked in apiutil.api_authenticate: tokens need no CSRF, cookies do.
        csrf.exempt(bp)
    protect(app)


def register_hooks(app: Flask) -> None:
    """What one package lends another, wired here instead of by importing a module."""
    from technicians.documents import voucher_for

    from .documents import register_voucher_provider

    register_voucher_provider(app, voucher_for)


def register_errorhandlers(app: Flask) -> None:
    from .core.apiutil import register_api_errors

    register_api_errors(app)


def register_template_helpers(app: Flask) -> None:
    from .core import ui

    ui.init_app(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
