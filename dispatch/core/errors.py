"""Domain errors: services raise them, the API maps them to the error shape, pages to messages."""

from __future__ import annotations


class DomainError(Exception):
    status = 422
    code = "invalid"

    def __init__(self, message: str, *, code: str | None = None, fields: dict[str, str] | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        # More members of the API's error object beside code, message and fields (e.g. the matches of a
        # possible duplicate); the request edge fills them in, the service stays free of presentation.
        self.extra: dict[str, object] = {}
        if code:
            self.code = code
        if status:
            self.status = status

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "fields": self.fields}}


class Invalid(DomainError):
    status = 422
    code = "invalid"


class BadRequest(DomainError):
    status = 400
    code = "bad_request"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class TooManyRequests(DomainError):
    status = 429
    code = "too_many_attempts"
