"""Display filters for the web UI: money, percentages, masked personal data."""

from __future__ import annotations

from decimal import Decimal

from django import template

from huitouke.core import pii
from huitouke.core.i18n import localized_text
from huitouke.core.money import ZERO

register = template.Library()


@register.filter
def yuan(value: Decimal | None) -> str:
    """¥1,234.50 (two decimals, comma grouping in every language)."""
    return f"¥{(value or ZERO):,.2f}"


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    """A 0..1 share as a percentage: 0.4213 → 42.1%."""
    return f"{(value or 0) * 100:.{int(digits)}f}%"


@register.filter
def masked_name(value: str) -> str:
    return pii.mask_name(value)


@register.filter
def masked_email(value: str) -> str:
    return pii.mask_email(value)


@register.filter
def masked_address(value: str) -> str:
    return pii.mask_address(value)


@register.filter
def localized(value: str) -> str:
    """A stored English text (an import problem's reason, a till verdict) in the page's language."""
    return localized_text(value or "")
