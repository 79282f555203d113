"""Reads of the analytics app; every one takes the shop."""

from __future__ import annotations

from django.db.models import Count

from huitouke.analytics.models.scores import CustomerScore, ModelRun
from huitouke.core.models import Shop
from huitouke.customers.models import Customer


def score_of(*, shop: Shop, customer: Customer) -> CustomerScore | None:
    """The customer's latest score in this shop, or None when they have not bought (or no refresh ran)."""
    return CustomerScore.objects.filter(shop=shop, customer=customer).first()


def segment_counts(*, shop: Shop) -> dict[str, int]:
    """Customers per segment value, largest segment first."""
    rows = (
        CustomerScore.objects.filter(shop=shop)
        .values("segment")
        .annotate(n=Count("id"))
        .order_by("-n", "segment")
    )
    return {row["segment"]: row["n"] for row in rows}


def latest_run(*, shop: Shop) -> ModelRun | None:
    return ModelRun.objects.filter(shop=shop).order_by("-created_at", "-id").first()
