"""Background jobs of the analytics app (run by `huitouke worker`).

django-tasks has no periodic scheduler, so the nightly refresh is a cron line that queues one job per
shop (README): `30 2 * * * huitouke analytics refresh-all`. The worker then runs them one by one.
"""

from __future__ import annotations

from django_tasks import task

from huitouke.analytics.services import refresh_scores
from huitouke.core.models import Shop
from huitouke.core.services import enqueue_for_every_shop


@task()
def refresh_shop_scores(shop_id: int) -> dict:
    """Recompute one shop's customer scores as of today; returns the run's counts and message."""
    run = refresh_scores(shop=Shop.objects.get(pk=shop_id))
    return {"run": run.pk, "customers": run.customers, "message": run.message}


def enqueue_refresh_all() -> list[int]:
    """Queue a score refresh for every shop; the ids of the shops queued, in id order."""
    return enqueue_for_every_shop(refresh_shop_scores)
