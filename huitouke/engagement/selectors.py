"""Engagement reads, always for one shop: the outbox, a customer's messages (360 timeline, export)."""

from __future__ import annotations

from typing import Any

from django.db.models import Count, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.customers.extensions import TimelineEntry
from huitouke.customers.models import Customer
from huitouke.engagement.models import Message


def messages(*, shop: Shop, status: str | None = None, customer_id: int | None = None) -> QuerySet[Message]:
    rows = Message.objects.for_shop(shop).order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=status)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def message_by_id(*, shop: Shop, message_id: int) -> Message:
    message = Message.objects.for_shop(shop).filter(pk=message_id).first()
    if message is None:
        raise NotFound(f"message {message_id} not found")
    return message


def status_counts(*, shop: Shop) -> dict[str, int]:
    return dict(Message.objects.for_shop(shop).values_list("status").annotate(n=Count("id")).order_by())


def _reason_label(reason: str) -> str:
    from huitouke.engagement.policy import Suppression

    labels = {**dict(Suppression.choices), "provider_error": _("Provider error"), "rejected": _("Rejected by the provider"),
              "interrupted": _("Interrupted: check the provider's log")}
    return str(labels.get(reason, reason))


def message_timeline_entries(*, shop: Shop, customer: Customer) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=m.sent_at or m.created_at, kind="message", title=f"{m.get_kind_display()} · {m.get_channel_display()}",
            detail={"text": m.text, "status": m.status, "status_label": m.get_status_display(), "reason": m.reason,
                    "reason_label": _reason_label(m.reason), "detail": m.detail},
            template="engagement/timeline/_message.html",
        )
        for m in messages(shop=shop, customer_id=customer.pk)[:200]
    ]


def message_export_data(*, shop: Shop, customer: Customer) -> list[dict[str, Any]]:
    return [
        {"day": m.day.isoformat(), "rule": m.rule, "kind": m.kind, "channel": m.channel, "text": m.text,
         "status": m.status, "reason": m.reason, "sent_at": m.sent_at.isoformat() if m.sent_at else None}
        for m in messages(shop=shop, customer_id=customer.pk)
    ]
