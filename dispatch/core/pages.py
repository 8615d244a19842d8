"""The request edge of an HTML page, as `api_view` is for the API.

`page_view` runs the handler, commits once when it returns, and rolls back on any error. A handler
that re-shows a form with a domain error's messages wraps the service call in `form_errors(...)`:
the transaction is rolled back (nothing half-saved), the messages go next to the fields through
`populate_errors`, and what matches no field comes back for the top of the form.

    @bp.post("/calls/<int:call_id>/notes")
    @allow(DESK)
    @page_view
    def add_note(call_id):
        call = services.get_call_or_404(call_id)
        form = NoteForm()
        if form.validate_on_submit():
            with form_errors(form) as messages:
                services.add_note(current_user, call, ...)
                flash(...)
                return redirect(...)
        return render_template(..., messages=messages), 422
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask import flash, g, redirect, request, session
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy.exc import IntegrityError
from werkzeug.wrappers import Response

from .apiutil import SAFE_METHODS, remember_request, stored_request
from .errors import BadRequest, DomainError, Invalid
from .extensions import db
from .i18n import _
from .models import IdempotentRequest

F = TypeVar("F", bound=Callable[..., Any])


KEY_FIELD = "idempotency_key"
KEY_PREFIX = "page:"  # a page's keys apart from the API's: their stored answers are redirects, not JSON
MAX_KEY = 200 - len(KEY_PREFIX)


def page_view(handler: F | None = None, *, key_field: str = KEY_FIELD) -> Any:
    """Commit once after the handler returns; roll back on any exception (and let it propagate).

    A write sent with a key (the `Idempotency-Key` header, or the hidden form field `key_field`) is done
    once, through the API's store of answers: the first redirect is kept with the write, in the same
    transaction, and a repeat (a double tap, a reload that posts the form again) gets that redirect and
    its messages again, with nothing done twice. A refused write (a form re-shown with errors, or any
    DomainError caught by `form_errors`) keeps no answer, so the corrected form may reuse its key. Use as `@page_view` or `@page_view(key_field=...)`."""
    if handler is None:
        return functools.partial(page_view, key_field=key_field)

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        key = _page_key(key_field)
        if key is not None:
            previous = stored_request(key)
            if previous is not None:
                return _replay(previous)
        flashed = len(session.get("_flashes", [])) if "_flashes" in session else 0
        try:
            result = handler(*args, **kwargs)
            if key is not None and isinstance(result, Response) and 300 <= result.status_code < 400 \
                    and not g.get("page_refused"):
                answer = {"location": result.headers["Location"], "flashes": session.get("_flashes", [])[flashed:]}
                remember_request(key, "", result.status_code, json.dumps(answer, ensure_ascii=False))
            db.session.commit()
        except IntegrityError:
            db.session.rollback()
            _withdraw_flashes(flashed)
            if key is not None:
                previous = stored_request(key)  # the same form sent twice at the same moment
                if previous is not None:
                    return _replay(previous)
            raise
        except BaseException:
            db.session.rollback()
            _withdraw_flashes(flashed)
            raise
        return result

    return wrapper


def _page_key(key_field: str) -> str | None:
    """The write's idempotency key with the pages' prefix; None for reads, anonymous users or no key."""
    if request.method in SAFE_METHODS or not current_user.is_authenticated:
        return None
    key = (request.headers.get("Idempotency-Key") or request.form.get(key_field) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY:
        raise BadRequest(_("The idempotency key must be at most %(n)d characters.", n=MAX_KEY),
                         code="bad_idempotency_key")
    return KEY_PREFIX + key


def _replay(previous: IdempotentRequest) -> Any:
    if previous.path != request.path or previous.method != request.method:
        raise Invalid(_("This form was already sent to another page. Reload it and try again."),
                      code="idempotency_key_reused")
    answer = json.loads(previous.response_body)
    for category, message in answer.get("flashes", []):
        flash(message, category)
    return redirect(answer["location"], code=previous.status_code)


def _withdraw_flashes(count: int) -> None:
    """Messages flashed by a request whose work was rolled back must not show on the next page."""
    if "_flashes" in session and len(session["_flashes"]) > count:
        session["_flashes"] = session["_flashes"][:count]


def populate_errors(exc: DomainError, *forms: FlaskForm, aliases: dict[str, str] | None = None) -> list[str]:
    """Put a domain error's field messages on the matching fields of the forms; return the error's
    message and the field messages that match no field, for the top of the page."""
    loose = []
    for name, message in (exc.fields or {}).items():
        name = (aliases or {}).get(name, name)
        for form in forms:
            if name in form._fields:
                field = form._fields[name]
                field.errors = [*list(field.errors or []), message]
                break
        else:
            loose.append(_("%(field)s: %(problem)s", field=name, problem=message))
    return [exc.message, *loose]


class FormMessages(list[str]):
    """The messages for the top of a form; empty while nothing went wrong. `status` is the domain
    error's (422, 409, ...) for the re-rendered page."""

    status: int = 200


@contextmanager
def form_errors(*forms: FlaskForm, aliases: dict[str, str] | None = None) -> Iterator[FormMessages]:
    """Run service calls whose DomainError belongs on the form: roll back, put the messages on the
    fields, and carry on after the block (the handler re-renders the form, usually with 422).
    403 and 404 are not form errors: they propagate to the error pages."""
    messages = FormMessages()
    try:
        yield messages
    except DomainError as exc:
        if exc.status in (401, 403, 404):
            raise
        db.session.rollback()
        g.page_refused = True  # page_view keeps no answer for a repeat: the corrected form may reuse its key
        messages.status = exc.status
        messages.extend(populate_errors(exc, *forms, aliases=aliases))
