"""Background jobs of the analytics app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import task

from huitouke.analytics.services import refresh_scores
from huitouke.core.models import Shop


@task()
def refresh_shop_scores(shop_id: int) -> dict:
    """Recompute one shop's customer scores as of today; returns the run's counts and message."""
    run = refresh_scores(shop=Shop.objects.get(pk=shop_id))
    return {"run": run.pk, "customers": run.customers, "message": run.message}
