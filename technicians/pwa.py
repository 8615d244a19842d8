"""The technician's phone as an installable web app: the web manifest and the service worker.

Both are served under /t/ so the worker's scope is the technician pages and nothing else. They hold no
data (the worker caches the pages the signed-in technician opens, on the phone itself), so they are
public: the browser re-fetches the worker on its own to look for updates, also after the session ended.

The worker's source is static/js/sw.js with placeholders filled in here: the scope, the app-shell files
to precache and a version made from their contents, so a new stylesheet or script installs a new
worker and the old shell cache is dropped. The shell holds no words: the pages and `/i18n.js` (the
strings of the scripts, JS_MESSAGES below) are saved per language by the worker, and the manifest speaks
the language of the request.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for

from dispatch.core.i18n import _, _l, force_locale, html_lang
from dispatch.core.security import public

SCOPE = "/t/"  # the technician pages (technicians.views); the worker controls these and nothing else
bp = Blueprint("pwa", __name__, url_prefix=SCOPE.rstrip("/"))

# App-shell files under static/, precached when the worker installs.
SHELL = (
    "css/app.css",
    "css/phone.css",
    "js/outbox.js",
    "js/visit.js",
    "js/carry_back.js",
    "css/carry_back.css",
    "vendor/htmx-2.0.11/htmx.min.js",
    "vendor/signature_pad-5.1.4/signature_pad.umd.min.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
)
# Not in the shell (they differ by language; the worker keeps them with the pages of that language).
I18N_SCRIPT = "/i18n.js"
THEME_COLOR = "#13294b"
BACKGROUND_COLOR = "#f4f6f9"

_built: dict[str, tuple[str, str]] = {}


def _static(name: str) -> Path:
    return Path(current_app.static_folder or "") / name


def _worker_source() -> tuple[str, str]:
    """(javascript, version) of the service worker; built once per process and static folder."""
    folder = current_app.static_folder or ""
    if folder in _built and not current_app.debug:
        return _built[folder]
    template = _static("js/sw.js").read_text(encoding="utf-8")
    digest = hashlib.sha256(template.encode())
    for name in SHELL:
        path = _static(name)
        if path.is_file():
            digest.update(name.encode())
            digest.update(path.read_bytes())
    with force_locale("en"):  # one worker for every language: the manifest's shape, not its words
        digest.update(json.dumps(manifest()).encode())
    version = digest.hexdigest()[:12]
    urls = [url_for("static", filename=name) for name in SHELL if _static(name).is_file()]
    source = (template.replace("__VERSION__", version)
              .replace("__PRECACHE__", json.dumps(urls))
              .replace("__I18N__", json.dumps(I18N_SCRIPT))
              .replace("__SCOPE__", SCOPE))
    _built[folder] = (source, version)
    return source, version


def manifest() -> dict[str, Any]:
    return {
        "name": _("%(company)s: technician", company=current_app.config.get("COMPANY_NAME") or _("Field service")),
        "short_name": _("Technician"),
        "description": _("Today's visits, work on site, payment and customer sign-off; works with a weak signal."),
        "lang": html_lang(),
        "start_url": SCOPE,
        "scope": SCOPE,
        "id": SCOPE,
        "display": "standalone",
        "orientation": "portrait",
        "theme_color": THEME_COLOR,
        "background_color": BACKGROUND_COLOR,
        "icons": [
            {"src": url_for("static", filename="icons/icon-192.png"), "sizes": "192x192", "type": "image/png",
             "purpose": "any maskable"},
            {"src": url_for("static", filename="icons/icon-512.png"), "sizes": "512x512", "type": "image/png",
             "purpose": "any maskable"},
        ],
    }


@bp.route("/sw.js")
@public
def service_worker() -> Response:
    source, version = _worker_source()
    response = Response(source, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = SCOPE
    # The browser checks for a new worker on navigation; never let an HTTP cache hide one.
    response.headers["Cache-Control"] = "no-cache"
    response.set_etag(version)
    response.make_conditional(request)
    return response


@bp.route("/manifest.webmanifest", endpoint="manifest")
@public
def manifest_file() -> Response:
    response = Response(json.dumps(manifest(), ensure_ascii=False, indent=1), mimetype="application/manifest+json")
    response.headers["Cache-Control"] = "no-cache"
    response.headers["Content-Language"] = html_lang()
    response.vary.add("Accept-Language")
    response.vary.add("Cookie")
    return response


@bp.app_context_processor
def _pwa_globals() -> dict[str, Any]:
    # templates/technicians/_pwa.html adds the manifest and scripts only when this blueprint is there.
    return {"pwa_enabled": True}



# Strings the phone's scripts show (outbox.js, visit.js, the worker's "no signal" page), by key: served by
# /i18n.js in the user's language and saved on the phone with the pages, so the outbox speaks it offline.
JS_MESSAGES: dict[str, object] = {
    "outbox.waiting_one": _l("%(n)s change waiting"),
    "outbox.waiting": _l("%(n)s changes waiting"),
    "outbox.hint": _l("saved on this phone, sent as soon as there is a signal"),
    "outbox.not_saved_title": _l("These changes were not saved"),
    "outbox.not_saved": _l("%(label)s: not saved."),
    "outbox.tapped": _l("(tapped %(time)s)"),
    "outbox.dismiss": _l("Dismiss"),
    "outbox.waiting_to_send": _l("%(label)s · waiting to send"),
    "outbox.pending": _l("waiting to send"),
    "outbox.refused": _l("The server refused this change (HTTP %(status)s)."),
    "outbox.problem": _l("%(field)s: %(problem)s"),
    "outbox.login_again": _l("Log in again to send them."),
    "outbox.change": _l("A change"),
    "outbox.payment_recorded": _l("Payment recorded: receipt %(receipt)s"),
    "outbox.signed": _l("Signed. Content hash %(hash)s"),
    "outbox.status_on_the_way": _l("On the way"),
    "outbox.status_on_site": _l("On site"),
    "outbox.status_completed": _l("Completed"),
    "outbox.sign_now": _l("The work is saved on this phone; the customer can sign now."),
    "outbox.sign_refused": _l("The work record was not saved, so there is nothing to sign yet: correct it "
                              "and record the work again."),
    "outbox.customer_sign_off": _l("Customer sign-off"),
    "outbox.no_parts": _l("none"),
    "outbox.carry_back_numbered": _l("Item taken back: receipt %(receipt)s"),
    "visit.not_signed": _l("The customer has not signed yet."),
    "carry_back.photo": _l("Photo %(n)s of the item"),
    "carry_back.remove": _l("Remove"),
    "carry_back.too_many": _l("At most %(n)s photos per item."),
    "carry_back.not_image": _l("%(name)s is not a photo this phone can read."),
    "offline.title": _l("No signal"),
    "offline.text": _l("This page was not saved on the phone before the connection dropped."),
    "offline.link": _l("Open today's visits"),
}
