"""The desk API's blueprint and what its modules share: reading ids out of a body, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify

from ..core.errors import Invalid
from ..core.extensions import db
from ..core.i18n import _, _l
from ..core.openapi import build_spec
from ..core.security import public
from ..core.validate import is_id

bp = Blueprint("api", __name__, url_prefix="/api/v1")

# The records a body names by id, as messages name them ("There is no customer with id 7.").
CUSTOMER, SITE, EQUIPMENT = _l("customer"), _l("site"), _l("equipment")


def load_by_id(model: Any, object_id: Any, what: Any, field: str) -> Any:
    """The record a body names by id: a missing or unknown id is a field error (422), not a 404,
    because the URL was right and the body was not. `what` names the record for people (`_l("customer")`)."""
    if not isinstance(object_id, int) or isinstance(object_id, bool):
        raise Invalid(_("%(field)s must be the id of a %(what)s.", field=field, what=what),
                      fields={field: _("required id")})
    obj = db.session.get(model, object_id) if is_id(object_id) else None
    if obj is None:
        raise Invalid(_("There is no %(what)s with id %(id)s.", what=what, id=object_id), code="unknown_id",
                      fields={field: _("unknown id")})
    return obj


@bp.get("/openapi.json")
@public
def openapi() -> Any:


    return jsonify(build_spec())
