"""Background jobs of the engagement app (run by `huitouke worker`)."""

from __future__ import annotations

from django_tasks import default_task_backend, task

from huitouke.engagement.services.delivery import deliver_due, next_due_at

BATCH = 500


@task()
def deliver_due_messages() -> dict:
    """Deliver every due message in batches; when some wait (retries, quiet hours), come back at that time."""
    totals = {"sent": 0, "retrying": 0, "failed": 0, "held": 0, "recovered": 0}
    while True:
        report = deliver_due(limit=BATCH)
        for key in totals:
            totals[key] += getattr(report, key)
        if len(report.message_ids) < BATCH:
            break
    schedule_delivery()
    return totals


def schedule_delivery() -> None:
    """Queue the delivery job for when the next message is due (at once on backends that cannot defer)."""
    due = next_due_at()
    if due is None or not default_task_backend.supports_defer:
        return
    deliver_due_messages.using(run_after=due).enqueue()
