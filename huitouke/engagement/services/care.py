"""Running the care rules for a day: enqueue what they want (or, for a plan, the same run rolled back)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import asdict, dataclass

from django.db import transaction
from django.utils import timezone

from huitouke.core.models import Shop
from huitouke.customers.models import Channel
from huitouke.engagement.extensions import feedback_link
from huitouke.engagement.models import MessageChannel
from huitouke.engagement.policy import care_settings
from huitouke.engagement.rules import due_on
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.preview import associate_of, preview_text


@dataclass(frozen=True)
class PlannedMessage:
    customer_id: int
    customer: str
    rule: str
    kind: str
    channel: str
    text: str
    status: str  # queued, suppressed (or sent … when an earlier run already enqueued it)
    reason: str
    detail: str
    send_at: str | None

    def as_dict(self) -> dict:
        return asdict(self)


def channel_for(customer) -> str:
    """Her preferred channel when it is one we send on (WeChat becomes a task for her associate), else SMS."""
    preferred = customer.preferred_channel
    if preferred == Channel.WECHAT:
        return MessageChannel.WECHAT_TASK
    return preferred if preferred in (MessageChannel.SMS, MessageChannel.EMAIL) else MessageChannel.SMS


def _link_for(shop: Shop, order) -> Callable[[], str]:
    return lambda: feedback_link(shop=shop, order=order)


def run_rules(*, shop: Shop, day: dt.date, now: dt.datetime | None = None, dry_run: bool = False) -> list[PlannedMessage]:
    """Enqueue the day's care messages; `dry_run` does exactly the same and rolls it back (so caps between
    two rules for one customer show as they would), which is what `care plan` prints."""
    now = now or timezone.now()
    settings = care_settings(shop=shop)
    planned: list[PlannedMessage] = []
    with transaction.atomic():
        for due in due_on(shop=shop, day=day):
            text = preview_text(shop=shop, customer=due.customer, kind=due.kind, occasion=due.occasion)
            message = enqueue_message(
                shop=shop, customer=due.customer, rule=due.rule, kind=due.kind, channel=channel_for(due.customer),
                text=text, day=day, now=now, associate=associate_of(due.customer), settings=settings,
                survey_link=_link_for(shop, due.order) if due.order is not None else None,
            )
            planned.append(PlannedMessage(
                customer_id=due.customer.pk, customer=due.customer.name, rule=due.rule, kind=due.kind,
                channel=message.channel, text=message.text, status=message.status, reason=message.reason,
                detail=message.detail,
                send_at=message.next_attempt_at.isoformat() if message.status == "queued" and message.next_attempt_at
                else None,
            ))
        if dry_run:
            transaction.set_rollback(True)
    return planned
