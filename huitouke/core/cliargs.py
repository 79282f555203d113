"""Small parsers shared by the management commands."""

from __future__ import annotations

import datetime as dt

from django.core.management.base import CommandError


def iso_date(text: str, *, option: str) -> dt.date:
    """A YYYY-MM-DD command-line date, or a CommandError naming the option."""
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"{option} must be a date like 2025-06-30 (YYYY-MM-DD), not {text!r}") from exc
