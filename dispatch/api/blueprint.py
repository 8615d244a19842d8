"""The desk API's blueprint and what its modules share: reading ids out of a body, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..core.errors import Invalid
from ..core.extensions import db
from ..core.openapi import build_spec
from ..core.security import public
from ..core.validate import is_id

bp = Blueprint("api", __name__, url_prefix="/api/v1")


def load_by_id(model: Any, object_id: Any, what: str, field: str) -> Any:
    """The record a body names by id: a missing or unknown id is a field error (422), not a 404,
    because the URL was right and the body was not."""
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise Invalid(f"{field} must be the id of a {what}.", fields={field: "required id"})
    obj = db.session.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise Invalid(f"There is no {what} with id {object_id}.", code="unknown_id", fields={field: "unknown id"})
    return obj


@bp.get("/openapi.json")
@public
def openapi() -> Any:


    return jsonify(build_spec())
