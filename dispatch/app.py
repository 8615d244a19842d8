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
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", asset_dir("translations"))
    if app.config.get("TRUSTED_PROXIES"):
        # Behind n reverse proxies (docs/DEPLOY.md): the client's address, scheme and host are the ones the
        # proxies pass on, so the login throttle counts per real client, not per proxy.
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["TRUSTED_PROXIES"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)  # type: ignore[method-assign]
    register_extensions(app)
    register_blueprints(app)
    register_hooks(app)
    register_errorhandlers(app)
    register_template_helpers(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    from .core import i18n
    from .core.auth import load_user
    from .core.database import configure_engine, set_write_intent
    from .core.extensions import csrf, db, login_manager, migrate

    db.init_app(app)
    i18n.init_app(app)
    migrate.init_app(app, db, directory=asset_dir("migrations"), render_as_batch=True, compare_type=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = i18n._l("Please log in to see this page.")
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
            abort(400, i18n._("Text may not contain NUL characters."))

    @app.teardown_request
    def _end_write_intent(_exc: BaseException | None) -> None:
        # The intent lives in a context variable; a caller running the app in its own thread (the test
        # client) must not inherit it, or its next transaction would take SQLite's write lock and hold it.
        set_write_intent(False)


def register_blueprints(app: Flask) -> None:
    import billing.api
    import billing.invoice_api
    import billing.invoice_views
    import billing.money_api
    import billing.money_views
    import billing.views
    import technicians.api
    import technicians.carry_back_api
    import technicians.carry_back_views
    import technicians.pwa
    import technicians.views
    import technicians.workshop_api
    import technicians.workshop_views  # noqa: F401  (the workshop's pages hang on the technicians blueprint)

    # The desk's pages ("desk") and its API ("api") are one blueprint each whose routes live in a module
    # per noun: importing those modules here, by name, attaches their routes before registration.
    from . import admin, board, calendar_views, overruns, visits_api
    from .api import blueprint as desk_api
    from .api import calls as _api_calls  # noqa: F401
    from .api import customers as _api_customers  # noqa: F401
    from .api import followup as _api_followup  # noqa: F401
    from .api import users as _api_users  # noqa: F401
    from .core import account, i18n_views, login
    from .core.apiutil import DatabaseIdConverter
    from .core.extensions import csrf
    from .core.openapi import register_openapi
    from .core.security import protect
    from .reports import api as reports_api
    from .reports import views as reports_views
    from .scheduling import replan_api, replan_views
    from .slips import api as slips_api
    from .views import blueprint as desk_views
    from .views import calls as _calls  # noqa: F401
    from .views import customers as _customers  # noqa: F401
    from .views import followup as _followup  # noqa: F401
    from .views import intake as _intake  # noqa: F401

    app.url_map.converters["int"] = DatabaseIdConverter  # before any rule: ids past the column's range 404
    pages = [login.bp, account.bp, i18n_views.bp, desk_views.bp, admin.bp, board.bp, slips_api.bp,
             billing.views.bp, billing.invoice_views.bp, billing.money_views.bp,
             technicians.views.bp, technicians.pwa.bp, technicians.carry_back_views.bp, reports_views.bp,
             calendar_views.bp, overruns.bp, replan_views.bp]
    apis = [login.api_bp, desk_api.bp, visits_api.bp,
            billing.api.bp, billing.invoice_api.bp, billing.money_api.bp,
            technicians.api.bp, technicians.carry_back_api.bp, technicians.workshop_api.bp, reports_api.bp,
            calendar_views.api_bp, overruns.api_bp, replan_api.bp]
    for bp in pages:
        app.register_blueprint(bp)
    for bp in apis:
        app.register_blueprint(bp)
        # API writes are checked in apiutil.api_authenticate: tokens need no CSRF, cookies do.
        csrf.exempt(bp)
    register_openapi(app, visits_api.OPENAPI, replan_api.OPENAPI, slips_api.OPENAPI, billing.api.OPENAPI, billing.invoice_api.OPENAPI, billing.money_api.OPENAPI,
                     technicians.api.OPENAPI,
                     technicians.carry_back_api.OPENAPI, technicians.workshop_api.OPENAPI, reports_api.OPENAPI)
    protect(app)


def register_hooks(app: Flask) -> None:
    """What one package lends another, wired here instead of by importing a module."""
    from technicians.documents import voucher_for

    from .slips.data import register_voucher_provider

    register_voucher_provider(app, voucher_for)
    from billing.panels import charges_panel
    from technicians.panels import work_panel

    from .views.calls import register_call_panel

    for panel in (work_panel, charges_panel):  # the desk's call page: what was done on site, and the money
        register_call_panel(app, panel)
    from technicians.workshop_views import call_panel as carry_back_panel
    from technicians.workshop_views import customer_panel as service_file_panel

    from .views.customers import register_customer_panel

    register_call_panel(app, carry_back_panel)  # where a carried-back product is, for the customer on the phone
    register_customer_panel(app, service_file_panel)  # the customer's service file (客户服务档案)
    from technicians.evidence import check_signed_records

    from .core.audit_chain import register_evidence_check

    register_evidence_check(app, check_signed_records)  # `flask audit verify` re-checks signed records
    from .scheduling import replan_worker

    replan_worker.init_app(app)  # the day re-planned in the background after each booking


def register_errorhandlers(app: Flask) -> None:
    from .core.apiutil import register_api_errors
    from .core.headers import register_security_headers

    register_api_errors(app)
    register_security_headers(app)


def register_template_helpers(app: Flask) -> None:
    import billing.models
    import technicians.models
    import technicians.pwa

    from . import models as desk_models
    from .core import i18n, ui
    from .core import models as core_models

    ui.init_app(app)
    from .geo.distance import site_place
    app.jinja_env.filters["site_place"] = site_place
    i18n.register_labels(app, core_models.LABELS, desk_models.LABELS, billing.models.LABELS,
                         technicians.models.LABELS)
    i18n.register_js_messages(app, ui.JS_MESSAGES, technicians.pwa.JS_MESSAGES)


def register_commands(app: Flask) -> None:
    from .cli import register

    register(app)
