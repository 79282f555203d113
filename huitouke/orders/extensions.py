"""Extension points of the orders app that upper apps register into (a lower app never imports an upper one).

- purchases listeners: run after a shop's purchase figures were recomputed (an import, an order written or
  changed, a customer merge), so an app can drop what it derived from the purchases (analytics' stored
  cohort and model-check tables).
"""

from __future__ import annotations

from collections.abc import Callable

from huitouke.core.models import Shop

PurchasesListener = Callable[..., None]
_PURCHASES_LISTENERS: dict[str, PurchasesListener] = {}


def register_purchases_listener(name: str, listener: PurchasesListener) -> None:
    """`listener(shop=...)` runs after the shop's purchases changed."""
    _PURCHASES_LISTENERS[name] = listener


def purchases_changed(*, shop: Shop) -> None:
    for listener in _PURCHASES_LISTENERS.values():
        listener(shop=shop)
