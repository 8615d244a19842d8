"""`/i18n.js`: the strings the scripts show, in the request's language, as a small script (no inline
script anywhere: the CSP forbids it). Pages include it before their own scripts; the technician's phone
caches it with the pages, per language."""

from __future__ import annotations

import json
from typing import Any

from flask import Blueprint, Response

from .i18n import js_messages, locale_name
from .security import ALL_ROLES, allow

bp = Blueprint("i18n", __name__)

SCRIPT = """(function () {
  "use strict";
  var messages = %s;
  // I18N.t("changes_waiting", {n: 2}): the message with %%(n)s-style placeholders filled in.
  window.I18N = {
    locale: %s,
    t: function (key, values) {
      var text = Object.prototype.hasOwnProperty.call(messages, key) ? messages[key] : key;
      return text.replace(/%%\\((\\w+)\\)[sd]/g, function (whole, name) {
        return values && Object.prototype.hasOwnProperty.call(values, name) ? String(values[name]) : whole;
      });
    }
  };
})();
"""


@bp.get("/i18n.js")
@allow(ALL_ROLES)
def script() -> Any:
    body = SCRIPT % (json.dumps(js_messages(), ensure_ascii=False, sort_keys=True), json.dumps(locale_name()))
    response = Response(body, mimetype="text/javascript")
    response.headers["Vary"] = "Accept-Language, Cookie"
    response.headers["Cache-Control"] = "private, no-cache"
    return response
