"""Work on site and in the workshop: the technician's phone pages, sign-off, payment, admin time."""

from __future__ import annotations

import importlib
from typing import Any


def blueprints() -> list[Any]:
    from . import api, views
    from .documents import register_voucher

    found = [views.bp, api.bp]
    try:  # E3's installable-app blueprint (manifest, service worker), once it exists
        pwa = importlib.import_module(f"{__name__}.pwa")
    except ImportError:
        pwa = None
    if pwa is not None and hasattr(pwa, "bp"):
        found.append(pwa.bp)
    register_voucher()
    return found
