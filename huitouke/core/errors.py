"""Domain errors. Services raise these; one handler per interface turns them into a 4xx."""

from __future__ import annotations


class DomainError(Exception):
    """A business rule refused the request; the message is for a person to read."""

    status = 400
    code = "invalid"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def as_dict(self) -> dict[str, str | None]:
        return {"code": self.code, "message": self.message, "field": self.field}


class Invalid(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    """Also used for other shops' objects, so their existence never leaks."""

    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Unauthorized(DomainError):
    """The caller did not prove who it is (a webhook without its key or signature)."""

    status = 401
    code = "unauthorized"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
