"""API plumbing: bearer tokens, the error shape, JSON bodies, cursor paging, idempotent writes.

The error shape's `message` and field messages are in the request's language (the API: Accept-Language
alone); `code`, field names and enum values stay English."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
from collections.abc import Callable
from typing import Any

from flask import Response, current_app, g, request
from flask_login import current_user
from sqlalchemy import Select, select
from sqlalchemy.exc import DataError, IntegrityError
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from .auth import user_for_token
from .errors import BadRequest, DomainError, Invalid
from .extensions import csrf, db
from .i18n import _
from .models import IdempotentRequest
from .requests import is_api_request
from .validate import MAX_ID

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class DatabaseIdConverter(IntegerConverter):
    """`<int:...>` in every route: an id past what a column holds (PostgreSQL integer) is a plain 404,
    never an integer overflow in the database. (Werkzeug's own `max=` would answer 405 for writes.)"""

    def to_python(self, value: str) -> int:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number




def json_error(status: int, code: str, message: str, fields: dict[str, str] | None = None,
               extra: dict[str, Any] | None = None) -> Response:
    # UTF-8 as it is, like every other answer of the API (the messages may be Chinese).
    payload = {"error": {"code": code, "message": message, "fields": fields or {}, **(extra or {})}}
    return Response(json.dumps(payload, ensure_ascii=False, default=str), status=status, mimetype="application/json")


def error_payload(exc: DomainError) -> dict[str, Any]:
    """The error shape as a payload, for a handler that answers an error and still commits (a refused
    login counts its failure)."""
    return {"error": {"code": exc.code, "message": exc.message, "fields": exc.fields}}


def api_authenticate() -> Response | None:
    """Bearer token first; a browser session may use the API too, with its CSRF token on writes."""
    header = request.headers.get("Authorization", "")
    if header:
        scheme, _space, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return json_error(401, "unauthorized", _("Send Authorization: Bearer <token>."))
        user = user_for_token(token.strip())
        if user is None:
            return json_error(401, "invalid_token", _("The token is unknown, expired or revoked. Get a new one."))
        g._login_user = user  # what flask_login.current_user reads
        g.api_token_auth = True
        return None
    if current_user.is_authenticated and request.method not in SAFE_METHODS \
            and current_app.config.get("WTF_CSRF_ENABLED", True):
        csrf.protect()
    return None


def _no_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and a NaN slips past every range check.
    raise ValueError(f"{name} is not a JSON number")


def _has_lone_surrogate(value: Any) -> bool:
    """A "\\ud800" escape parses into a str no database or UTF-8 encoder takes: look through it all."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


def body() -> dict[str, Any]:
    """The JSON object sent, or a 400 that says what is wrong with it."""
    if not request.data:
        raise BadRequest(_("Send a JSON object in the request body."), code="malformed_json")
    try:
        # Strict UTF-8: bytes that are not UTF-8 are refused, never stored as U+FFFD.
        text = request.get_data().decode("utf-8")
    except UnicodeDecodeError:
        raise BadRequest(_("The body is not valid UTF-8."), code="malformed_json") from None
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(_("The body is not valid JSON: %(error)s.", error=str(exc)), code="malformed_json") from None
    except RecursionError:
        raise BadRequest(_("The body is nested too deeply."), code="malformed_json") from None
    if not isinstance(data, dict):
        raise BadRequest(_("The body must be a JSON object."), code="malformed_json")
    if _has_lone_surrogate(data):
        raise BadRequest(_("The body holds a lone UTF-16 surrogate (like \\ud800), which is no character."),
                         code="malformed_json")
    return data


def optional_body() -> dict[str, Any]:
    return body() if request.data else {}


def page_limit() -> int:
    raw = request.args.get("limit", "50")
    try:
        limit = int(raw)
    except ValueError:
        raise Invalid(_("%(field)s must be a whole number from %(min)s to %(max)s.", field="limit", min=1, max=200),
                      fields={"limit": _("not a number")}) from None
    if not 1 <= limit <= 200:
        raise Invalid(_("%(field)s must be from %(min)s to %(max)s.", field="limit", min=1, max=200),
                      fields={"limit": _("out of range")})
    return limit


def encode_cursor(value: int) -> str:
    return base64.urlsafe_b64encode(str(value).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = int(base64.urlsafe_b64decode(padded.encode()).decode())
    except (ValueError, UnicodeDecodeError):
        value = -1
    if not 0 <= value <= MAX_ID:  # a forged cursor must not reach the database as an overflowing integer
        raise Invalid(_("%(field)s is not one this API gave out.", field="cursor"),
                      fields={"cursor": _("unknown cursor")})
    return value


def paginate(stmt: Select[Any], id_column: Any, serialize: Callable[[Any], dict[str, Any]],
             descending: bool = True) -> dict[str, Any]:
    """Keyset paging on the id column: {"items": [...], "next": cursor or None}."""
    limit = page_limit()
    cursor = request.args.get("cursor")
    if cursor:
        after = decode_cursor(cursor)
        stmt = stmt.where(id_column < after if descending else id_column > after)
    stmt = stmt.order_by(id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    rows = list(db.session.scalars(stmt))
    more = len(rows) > limit
    rows = rows[:limit]
    return {"items": [serialize(r) for r in rows], "next": encode_cursor(rows[-1].id) if more and rows else None}


def api_view(handler: Callable[..., Any]) -> Callable[..., Any]:
    """The request edge of an API handler: one commit on success, rollback on any error,
    and `Idempotency-Key` replay for writes. The handler returns (payload, status)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = request.headers.get("Idempotency-Key", "").strip()
        # Keys are kept per user: the public endpoints (the token request) have no one to keep them for.
        replay_guard = key and request.method not in SAFE_METHODS and current_user.is_authenticated
        digest = hashlib.sha256(request.get_data()).hexdigest() if replay_guard else ""
        if replay_guard:
            if len(key) > 200:
                return json_error(400, "bad_idempotency_key",
                                  _("%(field)s must be at most %(n)d characters.", field="Idempotency-Key", n=200))
            previous = stored_request(key)
            if previous is not None:
                return _replay(previous, digest)
        try:
            result = handler(*args, **kwargs)
            payload, status = result if isinstance(result, tuple) else (result, 200)
            if isinstance(payload, Response):
                db.session.commit()
                return payload
            text = json.dumps(payload, ensure_ascii=False, default=str)
            if replay_guard:
                remember_request(key, digest, status, text)
            db.session.commit()
        except DomainError:
            db.session.rollback()
            if replay_guard:
                # A resend racing the first send may be refused by what the first one just saved (a
                # duplicate, an already-booked call): the caller asked once, so it gets the first answer.
                previous = stored_request(key)
                if previous is not None:
                    return _replay(previous, digest)
            raise
        except IntegrityError:
            db.session.rollback()
            if replay_guard:
                previous = stored_request(key)
                if previous is not None:
                    return _replay(previous, digest)
            # A unique row written by a request that ran at the same moment (the services check first;
            # the database has the last word): the caller may retry, this is no server fault.
            current_app.logger.info("integrity conflict", exc_info=True)
            return json_error(409, "conflict", _("This conflicts with something saved at the same moment. "
                                                 "Reload and try again."))
        except DataError:
            db.session.rollback()
            current_app.logger.warning("value refused by the database", exc_info=True)
            return json_error(422, "invalid", _("A value is out of the range the database can hold."))
        return Response(text, status=status, mimetype="application/json")

    return wrapper


def stored_request(key: str) -> IdempotentRequest | None:
    """The first answer the signed-in user got for this key (the API's and the pages' writes share it)."""
    return db.session.scalar(select(IdempotentRequest).where(
        IdempotentRequest.user_id == current_user.id, IdempotentRequest.key == key))


def remember_request(key: str, digest: str, status: int, text: str) -> None:
    """Keep the answer to a write sent with a key, in the write's own transaction (so both or neither stay)."""
    db.session.add(IdempotentRequest(user_id=current_user.id, key=key, method=request.method, path=request.path,
                                     body_sha256=digest, status_code=status, response_body=text))


def _replay(previous: IdempotentRequest, digest: str) -> Response:
    if previous.body_sha256 != digest or previous.path != request.path or previous.method != request.method:
        return json_error(422, "idempotency_key_reused",
                          _("This Idempotency-Key was already used for a different request."))
    response = Response(previous.response_body, status=previous.status_code, mimetype="application/json")
    response.headers["Idempotent-Replayed"] = "true"
    return response


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 413: "too_large", 429: "too_many_attempts"}


def http_message(exc: Any) -> str:
    """What a person reads for an HTTP error: the description the code gave (already translated), or,
    for Werkzeug's own English defaults, ours in the request's language."""
    if "description" in vars(exc) and exc.description:
        return str(exc.description)
    status = exc.code or 500
    if status == 400:
        return _("The request could not be understood.")
    if status == 401:
        return _("Log in first.")
    if status == 403:
        return _("Your role may not use this.")
    if status == 404:
        return _("There is nothing at this address.")
    if status == 405:
        return _("This address does not take %(method)s requests.", method=request.method)
    if status == 413:
        return _("What was sent is too large.")
    if status == 429:
        return _("Too many requests. Wait a moment and try again.")
    if status >= 500:
        return _("Something went wrong on our side; it has been logged.")
    return _("The request could not be handled (error %(status)s).", status=status)


def register_api_errors(app: Any) -> None:
    from werkzeug.exceptions import HTTPException

    @app.errorhandler(DomainError)
    def _domain_error(exc: DomainError) -> Any:
        db.session.rollback()
        if is_api_request():
            return json_error(exc.status, exc.code, exc.message, exc.fields, exc.extra)
        from flask import render_template

        return render_template("error.html", status=exc.status, message=exc.message), exc.status

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Any:
        from flask_wtf.csrf import CSRFError

        status = exc.code or 500
        csrf_failed = isinstance(exc, CSRFError)  # its description is Flask-WTF's English
        message = _("The CSRF token is missing or stale: reload the page.") if csrf_failed else http_message(exc)
        # What Werkzeug's exception carries for the client (405's Allow, 429's Retry-After, 401's
        # WWW-Authenticate) stays on our own error answer.
        kept = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
        if is_api_request():
            response = json_error(status, "csrf_failed" if csrf_failed else HTTP_CODES.get(status, "error"), message)
            response.headers.extend(kept)
            return response
        from flask import render_template

        return render_template("error.html", status=status, message=message), status, kept

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Any:
        db.session.rollback()
        current_app.logger.exception("unhandled error")
        if is_api_request():
            return json_error(500, "server_error", _("Something went wrong on our side; it has been logged."))
        from flask import render_template

        return render_template("error.html", status=500, message=_("Something went wrong on our side.")), 500
