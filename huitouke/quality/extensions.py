"""Extension points of the quality app that upper apps register into from their AppConfig.ready().

- low-rating listeners: a satisfaction answer with a star ≤ 2 or a recommend score ≤ 6 is flagged
  "needs follow-up" and each listener is called at once, in the same transaction, so the engagement part
  can open a complaint or a follow-up task for the customer's associate (it registers; we never import it).
"""

from __future__ import annotations

from collections.abc import Callable

LowRatingListener = Callable[..., None]
_LOW_RATING_LISTENERS: dict[str, LowRatingListener] = {}


def register_low_rating_listener(name: str, listener: LowRatingListener) -> None:
    """`listener(shop=..., survey=...)` runs when a low rating arrives; `survey.associate` may be None."""
    _LOW_RATING_LISTENERS[name] = listener


def unregister_low_rating_listener(name: str) -> None:
    _LOW_RATING_LISTENERS.pop(name, None)


def low_rating_received(*, shop, survey) -> None:
    for listener in list(_LOW_RATING_LISTENERS.values()):
        listener(shop=shop, survey=survey)
