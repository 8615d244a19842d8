"""The desk's blueprint and what its page modules share."""

from __future__ import annotations

from flask import Blueprint, request

bp = Blueprint("desk", __name__)


def is_htmx() -> bool:
    return request.headers.get("HX-Request") == "true"


def search_term() -> str:
    """What was typed into a search box, as far as a search uses it."""
    return (request.values.get("q") or "").strip()[:200]
