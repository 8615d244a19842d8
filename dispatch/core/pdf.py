"""The PDF engine: HTML templates rendered to PDF in-process by WeasyPrint.

Generic: a document is a template under templates/ (`DocumentType`) rendered with its items; the
engine knows nothing of what it prints. Each package builds its documents' plain data and calls
`render_document` (dispatch/slips/documents.py for the slip).

The URL fetcher serves only our own static files: a document never reaches the network or the disk
outside static/, whatever ends up in its HTML.
"""

from __future__ import annotations

import functools
import gc
import mimetypes
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from flask import Response, current_app, has_app_context, has_request_context, render_template, request

# Relative URLs in a document ("/static/css/print.css") resolve against this origin; the fetcher
# answers for it alone. `.invalid` is reserved (RFC 2606): it can never be a real host.
DOCUMENT_ORIGIN = "https://documents.invalid"
STATIC_PREFIX = "/static/"


@dataclass(frozen=True)
class DocumentType:
    """One kind of document: its template (rendered with `items`, a list of the document's data), its
    title and print stylesheets (under static/)."""

    name: str
    template: str
    title: str
    stylesheets: tuple[str, ...] = ("css/print.css",)


class RefusedURL(ValueError):
    """A document asked for something other than one of our static files."""


def fetch_static(url: str, static_folder: str | Path) -> tuple[bytes, str]:
    """The bytes and MIME type of one of our static files, for `url` = DOCUMENT_ORIGIN + /static/...

    Everything else (file://, http(s) to any other host, a path outside static/) is refused."""
    parts = urlsplit(url)
    origin = f"{parts.scheme}://{parts.netloc}".lower()
    if origin != DOCUMENT_ORIGIN or not parts.path.startswith(STATIC_PREFIX):
        raise RefusedURL(f"Documents may only load our own static files, not {url!r}.")
    root = Path(static_folder).resolve()
    target = (root / unquote(parts.path[len(STATIC_PREFIX):])).resolve()
    if not target.is_relative_to(root) or not target.is_file():
        raise RefusedURL(f"There is no static file {parts.path!r}.")
    mime = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
    return target.read_bytes(), mime


_weasy: dict[str, Any] = {}
_weasy_lock = threading.Lock()


def _weasyprint() -> Any:
    """WeasyPrint imported once per process, on the first document (the import alone costs ~0.5 s)."""
    if "module" not in _weasy:
        with _weasy_lock:
            if "module" not in _weasy:
                import weasyprint

                _weasy["module"] = weasyprint
    return _weasy["module"]


_per_thread = threading.local()


def font_config() -> Any:
    """One font configuration per thread, kept: it holds Pango's font map, which is not shared
    between threads, and building it costs more than a slip. It knows the CJK subset built at install
    time when there is one (dispatch/core/pdf_fonts.py); the full font stays the fallback."""
    config = getattr(_per_thread, "font_config", None)
    if config is None:
        _weasyprint()
        from weasyprint.text.fonts import FontConfiguration

        from .pdf_fonts import register, subset_path

        config = FontConfiguration()
        subset = subset_path(current_app.config if has_app_context() else None)
        if subset is not None and not register(config, subset) and has_app_context():
            current_app.logger.warning("the CJK font subset %s could not be loaded: the full font prints", subset)
        _per_thread.font_config = config
    return config


def static_fetcher(static_folder: str | Path) -> Any:
    """A WeasyPrint URL fetcher that serves static files and data: URIs (inline images), nothing else."""
    _weasyprint()
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class StaticOnlyFetcher(URLFetcher):  # type: ignore[misc]
        def fetch(self, url: str, headers: Any = None) -> Any:
            if url.startswith("data:"):
                return super().fetch(url, headers)  # decoded in memory by urllib's DataHandler
            body, mime = fetch_static(url, static_folder)
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return StaticOnlyFetcher(fail_on_errors=False)


_stylesheets: dict[tuple[str, str, float], Any] = {}


def _stylesheet(static_folder: str, name: str, fetcher: Any) -> Any:
    """Parsed once per file version and shared by all threads (print CSS has no @font-face, the one
    part of a stylesheet tied to a thread's font configuration)."""
    path = Path(static_folder) / name
    key = (static_folder, name, path.stat().st_mtime)
    css = _stylesheets.get(key)
    if css is None:
        weasyprint = _weasyprint()
        css = weasyprint.CSS(string=path.read_text(encoding="utf-8"),
                             base_url=f"{DOCUMENT_ORIGIN}{STATIC_PREFIX}{name}", url_fetcher=fetcher,
                             font_config=font_config())
        _stylesheets[key] = css
    return css


_gc_lock = threading.Lock()
_gc_pauses = 0


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused for the length of a render.

    A render builds a large tree of boxes; the collector's full passes over it cost about a third
    of a 50-slip batch (bench/bench_slips.py) and find nothing to free while the render runs.
    What the render leaves behind is collected as usual once the collector is back on."""
    global _gc_pauses
    with _gc_lock:
        if _gc_pauses == 0 and not gc.isenabled():
            paused_here = False  # someone else turned it off: leave it alone
        else:
            paused_here = True
            _gc_pauses += 1
            gc.disable()
    try:
        yield
    finally:
        if paused_here:
            with _gc_lock:
                _gc_pauses -= 1
                if _gc_pauses == 0:
                    gc.enable()


def html_to_pdf(html: str, stylesheets: Sequence[str] = ("css/print.css",),
                static_folder: str | None = None) -> bytes:
    """Render HTML (already built from trusted templates) to PDF bytes, in this process. `static_folder`
    defaults to the app's; a render process without an app (dispatch/slips/pool.py) names it."""
    weasyprint = _weasyprint()
    static_folder = static_folder or current_app.static_folder or ""
    fetcher = static_fetcher(static_folder)
    sheets = [_stylesheet(static_folder, name, fetcher) for name in stylesheets]
    with _gc_paused():
        document = weasyprint.HTML(string=html, base_url=DOCUMENT_ORIGIN + "/", url_fetcher=fetcher)
        pdf: bytes = document.write_pdf(stylesheets=sheets, font_config=font_config())
    return pdf



def document_html(doc: DocumentType, items: Sequence[Any], **context: Any) -> str:
    """A document's HTML, ready for `html_to_pdf` here or in a render process."""
    return render_template(doc.template, items=list(items), title=doc.title, **context)


def render_document(doc: DocumentType, items: Sequence[Any], **context: Any) -> bytes:
    """One PDF of a document: each item of `items` is one copy (one page when it fits)."""
    return html_to_pdf(document_html(doc, items, **context), doc.stylesheets)


def public_url(path: str) -> str:
    """The absolute URL of one of our pages, for a printed document's QR code: PUBLIC_BASE_URL, else the
    host the request came to (a document printed from a CLI says localhost)."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    if not base:
        base = request.host_url if has_request_context() else "http://localhost/"
    return base.rstrip("/") + path


@functools.lru_cache(maxsize=2048)
def qr_svg(url: str) -> str:
    """A QR code as inline SVG markup (no image file, no fetch); the same URL's is made once."""
    import segno

    svg: str = segno.make(url, error="m").svg_inline(scale=1, border=2, omitsize=True, dark="#000")
    return svg


def pdf_response(content: bytes, filename: str) -> Response:
    """A PDF answered inline under its own name, never cached (a print may be counted, and documents hold
    customers' details)."""
    response = Response(content, mimetype="application/pdf")
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response
