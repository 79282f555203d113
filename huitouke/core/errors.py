"""Domain errors. Services raise these; one handler per interface turns them into a 4xx."""

from __future__ import annotations

from collections.abc import Mapping

from django.utils import translation
from django.utils.functional import Promise


class DomainError(Exception):
    """A business rule refused the request; the message is for a person to read.

    ``message`` is English: the API, the CLI and the logs speak it, so integrations can rely on it.
    Pass a lazily translated text (``gettext_lazy``) with ``%(name)s`` placeholders and their ``params``,
    and ``localized()`` gives the same message in the active language for the web UI.
    """

    status = 400
    code = "invalid"

    def __init__(
        self, message: str | Promise, *, field: str | None = None, code: str | None = None,
        params: Mapping[str, object] | None = None,
    ) -> None:
        self._text = message
        self.params = dict(params or {})
        with translation.override("en"):
            english = self._filled(str(message))
        super().__init__(english)
        self.message = english
        self.field = field
        if code:
            self.code = code

    def _filled(self, text: str) -> str:
        return text % self.params if self.params else text

    def localized(self) -> str:
        """The message in the active language (the web UI); untranslated texts stay English."""
        return self._filled(str(self._text))

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


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
