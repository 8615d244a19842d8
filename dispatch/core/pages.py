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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from flask_wtf import FlaskForm

from .errors import DomainError
from .extensions import db

F = TypeVar("F", bound=Callable[..., Any])


def page_view(handler: F) -> F:
    """Commit once after the handler returns; roll back on any exception (and let it propagate)."""

    @functools.wraps(handler)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            result = handler(*args, **kwargs)
            db.session.commit()
        except BaseException:
            db.session.rollback()
            raise
        return result

    return wrapper  # type: ignore[return-value]


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
            loose.append(f"{name}: {message}")
    return [exc.message, *loose]


class FormMessages(list[str]):
    """The messages for the top of a form; empty while nothing went wrong."""


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
        messages.extend(populate_errors(exc, *forms, aliases=aliases))
