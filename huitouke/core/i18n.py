"""Stored English texts shown in the page's language."""

from __future__ import annotations

from django.utils.functional import lazy
from django.utils.translation import gettext


def localized_text(text: str) -> str:
    """An English text kept in data (an import problem's reason, a till verdict) in the active language.

    Where the text is made, its fixed part is marked with ``gettext_noop``. A text with a detail after it
    ("missing required column: 订单状态", "… (until 10:30 UTC)") translates its head and keeps the detail.
    """
    whole = gettext(text)
    if whole != text:
        return whole
    for separator in (": ", " ("):
        head, found, detail = text.partition(separator)
        if found and (translated := gettext(head)) != head:
            return f"{translated}{separator}{detail}"
    return text


localized_text_lazy = lazy(localized_text, str)
"""``localized_text`` when the text is shown, not now: a stored reason inside a domain error's message
(``params={"reason": localized_text_lazy(verdict.reason)}``) reads English in ``.message`` and the page's
language in ``.localized()``."""
