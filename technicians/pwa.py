"""The technician's phone as an installable web app: the web manifest and the service worker.

Both are served under /t/ so the worker's scope is the technician pages and nothing else. They hold no
data (the worker caches the pages the signed-in technician opens, on the phone itself), so they are
public: the browser re-fetches the worker on its own to look for updates, also after the session ended.

The worker's source is static/js/sw.js with placeholders filled in here: the scope, the app-shell files
to precache and a version made from their contents, so a new stylesheet or script installs a new
worker and the old shell cache is dropped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from flask import Blueprint, Response, current_app, request, url_for

from dispatch.core.security import public

SCOPE = "/t/"  # the technician pages (technicians.views); the worker controls these and nothing else
bp = Blueprint("pwa", __name__, url_prefix=SCOPE.rstrip("/"))

# App-shell files under static/, precached when the worker installs.
SHELL = (
    "css/app.css",
    "css/phone.css",
    "js/outbox.js",
    "js/visit.js",
    "vendor/htmx-2.0.11/htmx.min.js",
    "vendor/signature_pad-5.1.4/signature_pad.umd.min.js",
    "icons/icon-192.png",
    "icons/icon-512.png",
)
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
    digest.update(json.dumps(manifest()).encode())
    version = digest.hexdigest()[:12]
    urls = [url_for("static", filename=name) for name in SHELL if _static(name).is_file()]
    urls.append(url_for("pwa.manifest"))
    source = (template.replace("__VERSION__", version)
              .replace("__PRECACHE__", json.dumps(urls))
              .replace("__SCOPE__", SCOPE))
    _built[folder] = (source, version)
    return source, version


def manifest() -> dict[str, Any]:
    return {
        "name": f"{current_app.config.get('COMPANY_NAME') or 'Field Service'}: technician",
        "short_name": "Technician",
        "description": "Today's visits, work on site, payment and customer sign-off; works with a weak signal.",
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
    return response


@bp.app_context_processor
def _pwa_globals() -> dict[str, Any]:
    # templates/technicians/_pwa.html adds the manifest and scripts only when this blueprint is there.
    return {"pwa_enabled": True}
