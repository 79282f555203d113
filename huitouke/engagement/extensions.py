"""Extension points of the engagement app that upper apps register into from their AppConfig.ready().

- delivery sources: the post-delivery feedback rule asks about an order once its delivery is known. A
  completed order (the buyer confirmed receipt) is known here; an upper app that records delivery times
  (quality's shipments) adds the orders delivered in a time window.
- feedback links: the feedback message carries the link an upper app makes for the order (quality's signed
  satisfaction link); without one the message goes without a link.
Engagement never imports the apps above it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable

DeliverySource = Callable[..., Iterable[int]]
FeedbackLink = Callable[..., str | None]
_DELIVERY_SOURCES: dict[str, DeliverySource] = {}
_FEEDBACK_LINKS: dict[str, FeedbackLink] = {}


def register_delivery_source(name: str, source: DeliverySource) -> None:
    """`source(shop=..., since=..., until=...)` returns ids of the shop's orders delivered in [since, until):
    better a `values_list("order_id", flat=True)` queryset, which the rule uses as a subquery."""
    _DELIVERY_SOURCES[name] = source


def register_feedback_link(name: str, link: FeedbackLink) -> None:
    """`link(shop=..., order=...)` returns the absolute URL of the order's feedback page, or None."""
    _FEEDBACK_LINKS[name] = link


def unregister_feedback_link(name: str) -> None:
    _FEEDBACK_LINKS.pop(name, None)


def delivered_order_ids(*, shop, since: dt.datetime, until: dt.datetime) -> list[Iterable[int]]:
    """Each delivery source's orders delivered in [since, until)."""
    return [source(shop=shop, since=since, until=until) for source in list(_DELIVERY_SOURCES.values())]


def feedback_link(*, shop, order) -> str:
    """The first link a registered provider gives for the order, or ""."""
    for link in list(_FEEDBACK_LINKS.values()):
        found = link(shop=shop, order=order)
        if found:
            return found
    return ""
