"""Small template helpers for the audit form."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def get(mapping: Any, key: str) -> Any:
    """`post|get:"a-greeting"`: a value by a computed key (QueryDict or dict)."""
    return mapping.get(key) if hasattr(mapping, "get") else None


@register.filter
def upto(top: int) -> range:
    """0, 1, …, top: the choices of a 0–N scale item."""
    return range(0, int(top) + 1)
