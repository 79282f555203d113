"""Putting messages into the outbox: the contact policy decides; every refusal is kept with its reason."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid
from huitouke.core.models import Shop, Staff
from huitouke.core.prepared import Prepared
from huitouke.customers.models import Customer
from huitouke.engagement import library
from huitouke.engagement.models import CareSettings, Message, MessageChannel, MessageStatus
from huitouke.engagement.policy import decide

_BY_KEY = Prepared(lambda shop_id, key: Message.objects.filter(shop_id=shop_id, idempotency_key=key).order_by())


def idempotency_key(*, customer_id: int, rule: str, day: dt.date) -> str:
    """One message per customer, rule and day: a rule that runs twice enqueues once."""
    return f"{customer_id}:{rule}:{day.isoformat()}"


def outgoing_text(*, shop: Shop, kind: str, channel: str, text: str) -> str:
    """What the customer will read: SMS carry the 【店名】 signature, and commercial SMS the opt-out line."""
    if channel == MessageChannel.SMS:
        return library.sms_text(text, shop_name=shop.name, commercial=kind == library.Kind.COMMERCIAL)
    return text


def enqueue_message(
    *, shop: Shop, customer: Customer, rule: str, kind: str, channel: str, text: str, day: dt.date,
    now: dt.datetime | None = None, associate: Staff | None = None, settings: CareSettings | None = None,
    survey_link: Callable[[], str] | None = None, key: str | None = None,
) -> Message:
    """Queue one message, or record it as suppressed with the reason; a repeat of the same key returns the
    first row unchanged. A feedback message's `survey_link()` goes after the text, past the tone check; it is
    called only for a message that may go, so a suppressed one leaves no survey behind. `key` replaces the
    customer + rule + day key for a message about one event (a purchase notice: one per purchase, however
    many a day)."""
    if customer.shop_id != shop.pk:
        raise Invalid(_("customer belongs to another shop"), field="customer")
    if kind not in library.Kind.values and kind != library.NOTICE:
        raise Invalid(_("unknown kind '%(kind)s'"), field="kind", params={"kind": kind})
    if channel not in MessageChannel.values:
        raise Invalid(_("unknown channel '%(channel)s'"), field="channel", params={"channel": channel})
    key = key or idempotency_key(customer_id=customer.pk, rule=rule, day=day)
    existing = _BY_KEY.first(shop_id=shop.pk, key=key)  # compiled once (core.prepared): a till notice reads it
    if existing:
        return existing
    now = now or timezone.now()
    decision = decide(shop=shop, customer=customer, kind=kind, channel=channel, text=text, day=day, now=now,
                      settings=settings)
    row = Message(
        shop=shop, customer=customer, rule=rule, kind=kind, channel=channel, day=day,
        text=outgoing_text(shop=shop, kind=kind, channel=channel, text=library.with_survey_link(
            text, survey_link() if survey_link is not None and decision.allowed else "")),
        associate=associate,
        idempotency_key=key, recipient=decision.recipient, created_at=now,
        status=MessageStatus.QUEUED if decision.allowed else MessageStatus.SUPPRESSED,
        reason=decision.reason, detail=decision.detail[:500], next_attempt_at=decision.send_at,
    )
    try:
        with transaction.atomic():
            row.save()
    except IntegrityError:  # another run enqueued the same key meanwhile
        return Message.objects.for_shop(shop).get(idempotency_key=key)
    return row
