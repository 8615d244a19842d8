"""Billing: prices, the parts catalogue, charges of a call by category, on-site payments."""

from __future__ import annotations

from typing import Any


def blueprints() -> list[Any]:
    from . import api, models, views  # noqa: F401  (models: the tables belong to the app's metadata)

    return [views.bp, api.bp]
