"""What kind of request this is: the API answers JSON (and speaks Accept-Language only), pages answer HTML."""

from __future__ import annotations

from flask import request

API_PREFIX = "/api/"


def is_api_request() -> bool:
    return request.path.startswith(API_PREFIX)
