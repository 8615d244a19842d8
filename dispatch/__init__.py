"""Field-service dispatch: the application factory."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def _asset_dir(name: str) -> str:
    """templates/ and static/ sit beside the packages in a checkout, and inside dispatch_assets/ when installed."""
    here = ROOT / name
    if here.is_dir():
        return str(here)
    from importlib.resources import files

    return str(files("dispatch_assets") / name)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    app = Flask(
        __name__,
        template_folder=_asset_dir("templates"),
        static_folder=_asset_dir("static"),
        instance_path=os.environ.get("DISPATCH_INSTANCE_PATH") or str(ROOT / "instance"),
        instance_relative_config=True,
    )
    from .config import from_environment

    app.config.update(from_environment(app.instance_path, config))
    register_extensions(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from .database import configure_engine, set_write_intent
    from .extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=_asset_dir("migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.session_protection = "basic"
    with app.app_context():
        configure_engine(db.engine)

    @app.before_request
    def _write_intent() -> None:
        from flask import request

        # A GET that writes (a counted slip print) marks its view with `writes = True`.
        view = app.view_functions.get(request.endpoint or "")
        set_write_intent(request.method not in ("GET", "HEAD", "OPTIONS") or getattr(view, "writes", False))

    @app.before_request
    def _refuse_nul_characters() -> None:
        from itertools import chain

        from flask import abort, request

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
    from . import admin, auth, board, slips, views, visits_api
    from . import api as dispatch_api
    from .apiutil import DatabaseIdConverter, register_api_errors
    from .extensions import csrf
    from .security import protect

    app.url_map.converters["int"] = DatabaseIdConverter  # before any rule: ids past the column's range 404
    blueprints = [auth.bp, auth.api_bp, views.bp, admin.bp, board.bp, dispatch_api.bp, visits_api.bp, slips.bp]
    for group in _optional_blueprints():
        blueprints.extend(group)
    for bp in blueprints:
        app.register_blueprint(bp)
        if bp.name.endswith("_api") or bp.name == "api":
            # API writes are checked in apiutil.api_authenticate: tokens need no CSRF, cookies do.
            csrf.exempt(bp)
    protect(app)
    register_api_errors(app)


def _optional_blueprints() -> list[list[Any]]:
    """Blueprints of the technicians and billing packages, registered when they exist."""
    found = []
    for package in ("billing", "technicians"):
        try:
            module = __import__(package, fromlist=["blueprints"])
        except ImportError:
            continue
        blueprints = getattr(module, "blueprints", None)
        if blueprints:
            found.append(blueprints())
    return found


def register_errorhandlers(app: Flask) -> None:
    """Error pages and the API error shape are registered with the blueprints (apiutil)."""


def register_template_helpers(app: Flask) -> None:
    from . import ui

    ui.init_app(app)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
