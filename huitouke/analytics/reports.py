"""Stored report tables (models.reports.StoredReport): computed on first view or by a refresh, shown from
the table until the shop's purchases change."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from huitouke.analytics.models.reports import StoredReport
from huitouke.core.models import Shop

T = TypeVar("T")
GENERATION = StoredReport.GENERATION


def current_generation(shop: Shop) -> int:
    return StoredReport.objects.filter(shop=shop, kind=GENERATION).values_list("generation", flat=True).first() or 0


def forget_reports(*, shop: Shop) -> None:
    """The shop's purchases changed: every stored table is stale (a new generation) and deleted."""
    with transaction.atomic():
        if not StoredReport.objects.filter(shop=shop, kind=GENERATION).update(generation=F("generation") + 1):
            StoredReport.objects.get_or_create(shop=shop, kind=GENERATION, key="", defaults={"generation": 1})
        StoredReport.objects.filter(shop=shop).exclude(kind=GENERATION).delete()


def stored(
    *, shop: Shop, kind: str, key: str, compute: Callable[[], T], encode: Callable[[T], dict[str, Any]],
    decode: Callable[[dict[str, Any]], T],
) -> T:
    """The stored table of (kind, key), or `compute()` stored for the next view.

    The generation is read before computing: if the purchases change meanwhile, the table is stored under the
    old generation and never shown.
    """
    generation = current_generation(shop)
    row = StoredReport.objects.filter(shop=shop, kind=kind, key=key, generation=generation).first()
    if row is not None:
        return decode(row.data)
    value = compute()
    keep(shop=shop, kind=kind, key=key, data=encode(value), generation=generation)
    return value


def keep(*, shop: Shop, kind: str, key: str, data: dict[str, Any], generation: int) -> None:
    """Store a computed table (replacing an older one of the same inputs)."""
    try:
        with transaction.atomic():
            StoredReport.objects.update_or_create(
                shop=shop, kind=kind, key=key,
                defaults={"data": data, "generation": generation, "created_at": timezone.now()},
            )
    except IntegrityError:  # a concurrent view stored the same table first: theirs is as good
        pass
