"""The delivery worker: claim due messages, hand each to its provider once, mark the outcome.

Exactly once: a message is claimed (status "sending" + a claim token, committed) before the provider call
and marked after it, only by the holder of the claim. A worker killed between the two leaves the message
"sending"; after the lease a later run asks the provider whether it went (the console sink can tell). When
the provider cannot tell, the message is marked failed ("interrupted") for a person to check, never resent:
a care message twice is worse than one missing. Provider errors are retried with exponential back-off.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from huitouke.core.models import Shop
from huitouke.engagement.channels import Adapter, SendError, SendResult, adapter_for
from huitouke.engagement.library import NOTICE
from huitouke.engagement.models import ChannelConfig, Message, MessageChannel, MessageStatus
from huitouke.engagement.policy import care_settings, quiet_until

log = logging.getLogger(__name__)

LEASE = dt.timedelta(minutes=10)  # a "sending" claim older than this belongs to a dead worker
MAX_ATTEMPTS = 5
BACKOFF_BASE = dt.timedelta(minutes=1)
BACKOFF_CAP = dt.timedelta(hours=1)


def backoff(attempts: int) -> dt.timedelta:
    """1, 2, 4, 8 … minutes after the 1st, 2nd, 3rd, 4th failed attempt, at most an hour."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_CAP)


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    held: int = 0
    recovered: int = 0
    message_ids: list[int] = field(default_factory=list)


AdapterFactory = Callable[[Message], Adapter]


class _Adapters:
    """One adapter per (shop, channel) for a run, from the shop's channel configuration."""

    def __init__(self) -> None:
        self._cache: dict[tuple[int, str], Adapter] = {}

    def __call__(self, message: Message) -> Adapter:
        key = (message.shop_id, message.channel)
        if key not in self._cache:
            config = ChannelConfig.objects.filter(shop_id=message.shop_id, channel=message.channel).first()
            self._cache[key] = adapter_for(shop=message.shop, channel=message.channel, config=config)
        return self._cache[key]


def _due(shop: Shop | None) -> object:
    messages = Message.objects.all()
    return messages.filter(shop=shop) if shop is not None else messages


def claim_due(*, shop: Shop | None, limit: int, now: dt.datetime) -> list[Message]:
    """Mark up to `limit` due messages as this run's (status sending + token) and commit, before any send.

    PostgreSQL: SELECT … FOR UPDATE SKIP LOCKED, so workers share the queue; SQLite: the IMMEDIATE
    transaction serialises claimers."""
    token = uuid.uuid4().hex
    with transaction.atomic():
        due = _due(shop).filter(status=MessageStatus.QUEUED, next_attempt_at__lte=now).order_by("next_attempt_at", "id")
        if connection.features.has_select_for_update_skip_locked:
            due = due.select_for_update(skip_locked=True)
        ids = list(due.values_list("id", flat=True)[:limit])
        Message.objects.filter(id__in=ids).update(
            status=MessageStatus.SENDING, claim_token=token, claimed_at=now, attempts=F("attempts") + 1
        )
    return list(Message.objects.filter(id__in=ids, claim_token=token).select_related("shop").order_by("id"))


def _finish(message: Message, **values: object) -> bool:
    """Write the outcome only while this run still holds the claim."""
    values.setdefault("claim_token", "")
    return bool(Message.objects.filter(pk=message.pk, claim_token=message.claim_token,
                                       status=MessageStatus.SENDING).update(**values))


def mark_sent(message: Message, result: SendResult, *, provider: str, now: dt.datetime) -> bool:
    return _finish(message, status=MessageStatus.SENT, provider=provider,
                   provider_message_id=result.provider_message_id[:100], sent_at=now, reason="", detail="")


def _mark_failed_attempt(message: Message, error: SendError, *, provider: str, now: dt.datetime) -> str:
    if error.retryable and message.attempts < MAX_ATTEMPTS:
        _finish(message, status=MessageStatus.QUEUED, provider=provider, reason="provider_error",
                detail=str(error)[:500], next_attempt_at=now + backoff(message.attempts))
        return "retrying"
    _finish(message, status=MessageStatus.FAILED, provider=provider,
            reason="provider_error" if error.retryable else "rejected", detail=str(error)[:500])
    return "failed"


def recover_interrupted(*, shop: Shop | None, now: dt.datetime, adapters: AdapterFactory) -> int:
    """Settle messages whose worker died mid-send (claim older than LEASE) without sending them twice."""
    stale = list(_due(shop).filter(status=MessageStatus.SENDING, claimed_at__lt=now - LEASE).select_related("shop"))
    for message in stale:
        adapter = adapters(message)
        sent = adapter.was_sent(message)
        if sent is True:
            _finish(message, status=MessageStatus.SENT, provider=adapter.provider, sent_at=now,
                    provider_message_id=message.idempotency_key[:100], detail="confirmed after an interrupted run")
        elif sent is False:
            _finish(message, status=MessageStatus.QUEUED, next_attempt_at=now,
                    detail="interrupted before the provider had it; queued again")
        else:
            _finish(message, status=MessageStatus.FAILED, provider=adapter.provider, reason="interrupted",
                    detail="the worker stopped while handing this to the provider, which cannot tell whether it "
                           "arrived; not resent: check the provider's send log")
    return len(stale)


def _hold_for_quiet_hours(message: Message, now: dt.datetime, settings_by_shop: dict) -> bool:
    """A retry or a late claim must not send an SMS at night either: put it back until the morning. A service
    notice answers her own purchase a moment ago, so it goes at once."""
    if message.channel != MessageChannel.SMS or message.kind == NOTICE:
        return False
    if message.shop_id not in settings_by_shop:
        settings_by_shop[message.shop_id] = care_settings(shop=message.shop)
    until = quiet_until(settings=settings_by_shop[message.shop_id], now=now)
    if until is None:
        return False
    _finish(message, status=MessageStatus.QUEUED, next_attempt_at=until, attempts=F("attempts") - 1,
            detail=f"held until {until:%Y-%m-%d %H:%M}")
    return True


def deliver_due(
    *, shop: Shop | None = None, limit: int = 100, now: dt.datetime | None = None,
    adapters: AdapterFactory | None = None,
) -> DeliveryReport:
    """Deliver what is due (all shops when `shop` is None). `now` is injectable for tests."""
    now = now or timezone.now()
    adapters = adapters or _Adapters()
    report = DeliveryReport(recovered=recover_interrupted(shop=shop, now=now, adapters=adapters))
    settings_by_shop: dict = {}
    for message in claim_due(shop=shop, limit=limit, now=now):
        report.message_ids.append(message.pk)
        if _hold_for_quiet_hours(message, now, settings_by_shop):
            report.held += 1
            continue
        provider = ""
        try:
            adapter = adapters(message)
            provider = adapter.provider
            result = adapter.send(message)
        except SendError as error:
            outcome = _mark_failed_attempt(message, error, provider=provider, now=now)
            setattr(report, outcome, getattr(report, outcome) + 1)
            log.warning("message %s: %s (%s)", message.pk, error, outcome)
            continue
        except Exception as error:  # a bug or an unexpected SDK error: retry later, keep the reason
            outcome = _mark_failed_attempt(message, SendError(f"{type(error).__name__}: {error}", retryable=True),
                                           provider=provider, now=now)
            setattr(report, outcome, getattr(report, outcome) + 1)
            log.exception("message %s: unexpected error", message.pk)
            continue
        mark_sent(message, result, provider=provider, now=now)
        report.sent += 1
    return report


def next_due_at(*, shop: Shop | None = None) -> dt.datetime | None:
    """When the next queued message becomes due (for the worker task to come back then)."""
    return _due(shop).filter(status=MessageStatus.QUEUED).order_by("next_attempt_at").values_list(
        "next_attempt_at", flat=True).first()
