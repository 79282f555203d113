"""Coupon batches announced by SMS: loyalty hands a batch with an announcement to this listener
(registered in EngagementConfig.ready()); each coupon's customer gets a commercial SMS with her code,
through the outbox and its contact policy (consent, caps, quiet hours; 回T退订 added)."""

from __future__ import annotations

from django.utils import timezone

from huitouke.core.timeutil import local_day
from huitouke.engagement.library import Kind
from huitouke.engagement.models import MessageChannel
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.loyalty.models import Coupon


def announce_coupon_batch(*, shop, batch, coupon_ids: list[int]) -> int:
    """Queue (or record as suppressed, with the reason) one SMS per coupon; returns how many were queued."""
    now = timezone.now()
    queued = 0
    coupons = Coupon.objects.filter(shop=shop, pk__in=coupon_ids).select_related("customer").order_by("id")
    for coupon in coupons.iterator(chunk_size=2000):
        message = enqueue_message(
            shop=shop, customer=coupon.customer, rule=f"coupon-batch-{batch.pk}", kind=Kind.COMMERCIAL,
            channel=MessageChannel.SMS, text=f"{batch.announcement.strip()} 券码 {coupon.code}", day=local_day(now),
            now=now,
        )
        queued += message.status == "queued"
    return queued
