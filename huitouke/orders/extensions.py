"""Extension points of the orders app that upper apps register into from AppConfig.ready().

- packed listeners: an order was packed (it moved to `shipped`: recorded so by the API, or marked packed).
  Loyalty slips a gift into a repeat customer's parcel. A listener may return a JSON-ready proposal for
  the packer (e.g. which gift to add); orders itself knows nothing of gifts.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

PackedListener = Callable[..., dict[str, Any] | None]
_PACKED_LISTENERS: dict[str, PackedListener] = {}


def register_packed_listener(name: str, listener: PackedListener) -> None:
    """`listener(shop=..., order=...)` runs once per packed order, in the transaction that packs it."""
    _PACKED_LISTENERS[name] = listener


def order_packed(*, shop, order) -> dict[str, Any]:
    """Run every packed listener; their proposals by listener name (listeners with nothing to say left out)."""
    proposals = {}
    for name, listener in _PACKED_LISTENERS.items():
        proposal = listener(shop=shop, order=order)
        if proposal is not None:
            proposals[name] = proposal
    return proposals
