"""Extension points of the orders app that upper apps register into from their AppConfig.ready() (a lower app
never imports an upper one).

- refund-reason listeners: an import hands over the platform's refund reason text of each refunded order
  it read (退款原因), in the import's transaction, so the quality app can map it to a reason code. Orders
  knows nothing of reason codes.
- purchases listeners: run after a shop's purchase figures were recomputed (an import, an order written or
  changed, a customer merge), so an app can drop what it derived from the purchases (analytics' stored
  cohort and model-check tables).
- packed listeners: an order was packed (it moved to `shipped`: recorded so by the API, or marked packed).
  Loyalty slips a gift into a repeat customer's parcel. A listener may return a JSON-ready proposal for
  the packer (e.g. which gift to add); orders itself knows nothing of gifts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from huitouke.core.models import Shop


@dataclass(frozen=True)
class ImportedRefundReason:
    order_id: int
    text: str  # the platform's wording, as written in the export
    refunded_amount: Decimal  # the order's refunded amount as imported (> 0)


RefundReasonListener = Callable[..., None]
_REFUND_REASON_LISTENERS: dict[str, RefundReasonListener] = {}


def register_refund_reason_listener(name: str, listener: RefundReasonListener) -> None:
    """`listener(shop=..., reasons=[ImportedRefundReason, ...])` runs once per import batch that has any."""
    _REFUND_REASON_LISTENERS[name] = listener


def refund_reasons_imported(*, shop, reasons: Sequence[ImportedRefundReason]) -> None:
    if not reasons:
        return
    for listener in list(_REFUND_REASON_LISTENERS.values()):
        listener(shop=shop, reasons=reasons)


PurchasesListener = Callable[..., None]
_PURCHASES_LISTENERS: dict[str, PurchasesListener] = {}


def register_purchases_listener(name: str, listener: PurchasesListener) -> None:
    """`listener(shop=...)` runs after the shop's purchases changed."""
    _PURCHASES_LISTENERS[name] = listener


def purchases_changed(*, shop: Shop) -> None:
    for listener in _PURCHASES_LISTENERS.values():
        listener(shop=shop)


PackedListener = Callable[..., dict[str, Any] | None]
_PACKED_LISTENERS: dict[str, PackedListener] = {}


def register_packed_listener(name: str, listener: PackedListener) -> None:
    """`listener(shop=..., order=...)` runs once per packed order, in the transaction that packs it."""
    _PACKED_LISTENERS[name] = listener


def order_packed(*, shop, order) -> dict[str, Any]:
    """Run every packed listener; their proposals by listener name (listeners with nothing to say left out)."""
    proposals = {}
    for name, listener in list(_PACKED_LISTENERS.items()):
        proposal = listener(shop=shop, order=order)
        if proposal is not None:
            proposals[name] = proposal
    return proposals
