"""Background jobs of the orders app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import task

from huitouke.core.models import Shop
from huitouke.orders.services import refresh_customer_stats


@task()
def refresh_shop_customer_stats(shop_id: int) -> int:
    """Recompute every customer's purchase figures of one shop; returns how many were updated."""
    return refresh_customer_stats(shop=Shop.objects.get(pk=shop_id))


@task()
def run_queued_import(run_id: int) -> dict:
    """Import an uploaded export (queued by the web page); returns the run's counts."""
    from huitouke.orders.importing.services import run_queued

    run = run_queued(run_id)
    return {"status": run.status, "counts": run.counts, "problems": run.problems_count}
