"""Follow-up tasks (回访) for associates: created by rules or by staff, done with an outcome note; and the
profile spot checks of the quarterly archive contest."""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import asdict, dataclass

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.customers.models import Customer
from huitouke.engagement.lookup import shop_row
from huitouke.engagement.models import FollowUpTask, SpotCheck, TaskKind, TaskSource, TaskStatus
from huitouke.engagement.rules import tasks_due_on
from huitouke.engagement.services.preview import associate_of


def _check_staff(shop: Shop, staff: Staff | None, field: str) -> None:
    if staff is not None and staff.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such staff member in this shop"), field=field)


def create_task(
    *, shop: Shop, customer: Customer, kind: str, title: str, due_on: dt.date, owner: Staff | None = None,
    source: str = TaskSource.MANUAL, rule: str = "", source_key: str = "", now: dt.datetime | None = None,
) -> tuple[FollowUpTask, bool]:
    """(task, created). The owner defaults to her own associate; a repeated `source_key` returns the first task."""
    if customer.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such customer in this shop"), field="customer_id")
    if kind not in TaskKind.values:
        raise Invalid(gettext_lazy("kind must be one of %(choices)s"), field="kind",
                      params={"choices": ", ".join(TaskKind.values)})
    if not title.strip():
        raise Invalid(gettext_lazy("say what to do"), field="title")
    _check_staff(shop, owner, "owner_id")
    if source_key:
        existing = FollowUpTask.objects.for_shop(shop).filter(source_key=source_key).first()
        if existing:
            return existing, False
    task = FollowUpTask(
        shop=shop, customer=customer, kind=kind, title=title.strip()[:200], due_on=due_on,
        owner=owner or associate_of(customer), source=source, rule=rule, source_key=source_key,
        created_at=now or timezone.now(),
    )
    try:
        with transaction.atomic():
            task.save()
    except IntegrityError:  # a concurrent run created the same one
        return FollowUpTask.objects.for_shop(shop).get(source_key=source_key), False
    return task, True


def task_by_id(*, shop: Shop, task_id: int, lock: bool = False) -> FollowUpTask:
    return shop_row(FollowUpTask, shop=shop, pk=task_id, label="task", lock=lock)


@transaction.atomic
def close_task(
    *, shop: Shop, task_id: int, by: Staff | None, outcome: str, done: bool = True, now: dt.datetime | None = None,
) -> FollowUpTask:
    """Mark a task done (the outcome note is required: what did she say?) or cancelled."""
    task = task_by_id(shop=shop, task_id=task_id, lock=True)
    _check_staff(shop, by, "closed_by")
    if task.status != TaskStatus.OPEN:
        raise Conflict(gettext_lazy("the task is already %(status)s"), field="status",
                       params={"status": task.status})
    if done and not outcome.strip():
        raise Invalid(gettext_lazy("note the outcome of the follow-up"), field="outcome")
    task.status = TaskStatus.DONE if done else TaskStatus.CANCELLED
    task.outcome, task.closed_at, task.closed_by = outcome.strip(), now or timezone.now(), by
    task.save(update_fields=["status", "outcome", "closed_at", "closed_by"])
    return task


@transaction.atomic
def reassign_task(*, shop: Shop, task_id: int, owner: Staff) -> FollowUpTask:
    _check_staff(shop, owner, "owner_id")
    task = task_by_id(shop=shop, task_id=task_id)
    task.owner = owner
    task.save(update_fields=["owner"])
    return task


@dataclass(frozen=True)
class PlannedTask:
    customer_id: int
    customer: str
    rule: str
    kind: str
    title: str
    due_on: str
    owner: str
    created: bool  # False: an earlier run already created it

    def as_dict(self) -> dict:
        return asdict(self)


def run_task_rules(
    *, shop: Shop, day: dt.date, now: dt.datetime | None = None, dry_run: bool = False,
) -> list[PlannedTask]:
    """Create the day's follow-up tasks (idempotent per customer + rule + order or year); `dry_run` rolls back."""
    planned = []
    with transaction.atomic():
        for due in tasks_due_on(shop=shop, day=day):
            task, created = create_task(
                shop=shop, customer=due.customer, kind=due.kind, title=due.title, due_on=due.due_on,
                source=TaskSource.RULE, rule=due.rule, source_key=due.source_key, now=now,
            )
            planned.append(PlannedTask(
                customer_id=due.customer.pk, customer=due.customer.name, rule=due.rule, kind=task.kind,
                title=task.title, due_on=task.due_on.isoformat(),
                owner=task.owner.display_name if task.owner else "", created=created,
            ))
        if dry_run:
            transaction.set_rollback(True)
    return planned


def spot_check_sample(*, shop: Shop, associate: Staff, size: int, seed: int | None = None) -> list[Customer]:
    """A random sample of the profiles an associate registered, for a manager to check."""
    _check_staff(shop, associate, "associate_id")
    if size < 1:
        raise Invalid(gettext_lazy("sample at least one profile"), field="size")
    ids = list(Customer.objects.for_shop(shop).filter(registered_by=associate, erased_at__isnull=True)
               .order_by("id").values_list("id", flat=True))
    chosen = sorted(random.Random(seed).sample(ids, min(size, len(ids))))
    return list(Customer.objects.for_shop(shop).filter(pk__in=chosen).order_by("id"))


@transaction.atomic
def record_spot_check(
    *, shop: Shop, customer: Customer, checked_by: Staff | None, valid: bool, note: str = "",
    on: dt.date,
) -> SpotCheck:
    """A checked profile: valid (real, reachable, correct) or not; checking it again the same day corrects it."""
    if customer.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such customer in this shop"), field="customer_id")
    _check_staff(shop, checked_by, "checked_by")
    check, _ = SpotCheck.objects.update_or_create(
        shop=shop, customer=customer, checked_on=on,
        defaults={"associate_id": customer.registered_by_id, "checked_by": checked_by, "valid": valid,
                  "note": note[:300]},
    )
    return check
