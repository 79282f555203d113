"""Who a targeted action (a coupon batch, later a campaign) goes to: a customer list or an analytics segment."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from huitouke.analytics.models.scores import CustomerScore, Segment
from huitouke.core.errors import Invalid
from huitouke.core.models import Shop


def audience_ids(*, shop: Shop, customer_ids: list[int] | None, segment: str | None) -> tuple[list[int], str]:
    """(customer ids, a description of the audience); exactly one of list or segment is given."""
    if (customer_ids is None) == (segment is None):
        raise Invalid(_("give either customer_ids or segment"), field="segment")
    if customer_ids is not None:
        return sorted(set(customer_ids)), f"{len(set(customer_ids))} listed customers"
    if segment not in Segment.values:
        raise Invalid(_("segment must be one of %(choices)s"), field="segment",
                      params={"choices": ", ".join(Segment.values)})
    ids = list(
        CustomerScore.objects.filter(shop=shop, segment=segment, customer__erased_at__isnull=True)
        .values_list("customer_id", flat=True).order_by("customer_id")
    )
    return ids, f"segment {Segment(segment).label} ({len(ids)})"
