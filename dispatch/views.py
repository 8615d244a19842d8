"""The desk's pages: calls, customers and their sites, equipment and contracts."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template

from .security import DESK, allow

bp = Blueprint("desk", __name__)


@bp.get("/")
@allow(DESK)
def home() -> Any:
    return render_template("dispatch/home.html")
