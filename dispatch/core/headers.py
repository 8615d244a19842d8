"""Security headers on every answer, set in one place (one after_request hook the factory registers).

Set by hand rather than with Flask-Talisman: the policy is six fixed headers that depend only on the
kind of answer (page, JSON, static file) and on DISPATCH_ENV; Talisman would also redirect to HTTPS and
rewrite session-cookie flags, which config.py already owns and a TLS-terminating proxy does in front.

- every answer: X-Content-Type-Options: nosniff, Referrer-Policy, X-Frame-Options: DENY;
- pages (text/html): a Content-Security-Policy with no inline script or style (templates keep their
  script in static/js and their styles in static/css classes) and frame-ancestors 'none';
- authenticated answers and every JSON answer: Cache-Control: no-store (a shared or back-button cache
  never keeps a customer's address or a token), unless the view set its own Cache-Control (a photo is
  "private, max-age=86400" for the phone); /static keeps its own caching;
- HTTPS only (Strict-Transport-Security) when ENV is production (DISPATCH_ENV=production).
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, has_request_context, request
from flask_login import current_user

CONTENT_SECURITY_POLICY = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data: blob:",  # the signature pad's preview (data:) and the phone's photo thumbnails (blob:)
    "frame-ancestors 'none'",
    "base-uri 'self'",
    "form-action 'self'",
))
# The one documented exception: a page that shows pygal's SVG charts inline (the manager's dashboard)
# carries pygal's <style> element and style="" attributes, which no nonce can cover; that page alone
# allows inline style (never inline script: its scripts are stripped).
INLINE_STYLE_POLICY = CONTENT_SECURITY_POLICY.replace("style-src 'self'", "style-src 'self' 'unsafe-inline'")
REFERRER_POLICY = "strict-origin-when-cross-origin"
HSTS = "max-age=31536000; includeSubDomains"


def _is_static() -> bool:
    static = current_app.static_url_path or "/static"
    return request.path.startswith(static.rstrip("/") + "/")


def security_headers(response: Any) -> Any:
    headers = response.headers
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", REFERRER_POLICY)
    headers.setdefault("X-Frame-Options", "DENY")
    if response.mimetype == "text/html":
        inline = bool(g.get("csp_inline_styles"))
        headers.setdefault("Content-Security-Policy", INLINE_STYLE_POLICY if inline else CONTENT_SECURITY_POLICY)
    if not _is_static():
        # A view that chose its caching (a photo kept a day on the phone, the service worker's
        # no-cache) keeps its choice; JSON is never cached.
        signed_in = bool(getattr(current_user, "is_authenticated", False))
        if response.mimetype == "application/json" or (signed_in and "Cache-Control" not in headers):
            headers["Cache-Control"] = "no-store"
    if current_app.config.get("ENV") == "production":
        headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def allow_inline_styles() -> None:
    """Markup that needs inline style (pygal's charts) calls this while the page renders."""
    if has_request_context():
        g.csp_inline_styles = True


def register_security_headers(app: Flask) -> None:
    app.after_request(security_headers)
