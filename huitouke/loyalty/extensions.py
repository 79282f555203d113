"""Extension points of the loyalty app that upper apps (engagement) register into from AppConfig.ready().

- batch listeners: a coupon batch with an announcement is handed to whoever sends messages, so the
  customers hear about their coupon (loyalty itself never sends anything).
"""

from __future__ import annotations

from collections.abc import Callable

BatchListener = Callable[..., None]
_BATCH_LISTENERS: dict[str, BatchListener] = {}


def register_batch_listener(name: str, listener: BatchListener) -> None:
    """`listener(shop=..., batch=..., coupon_ids=[...])` runs after a batch was issued, in its transaction."""
    _BATCH_LISTENERS[name] = listener


def batch_issued(*, shop, batch, coupon_ids: list[int]) -> None:
    for listener in _BATCH_LISTENERS.values():
        listener(shop=shop, batch=batch, coupon_ids=coupon_ids)
