"""What providers report back: customers' replies (T, TD or 退订 refuses the shop's SMS: a consent entry) and
delivery reports (sent → delivered, or failed)."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.customers.selectors import customer_by_phone
from huitouke.customers.services import record_consent
from huitouke.engagement.models import EarlyReceipt, InboundSms, Message, MessageStatus

EARLY_RECEIPT_DAYS = 7  # a report still unmatched after a week is not for a message of ours
OPT_OUT_WORDS = frozenset({"T", "TD", "退订", "STOP", "UNSUBSCRIBE"})  # STOP: Twilio numbers abroad


def is_opt_out(text: str) -> bool:
    """"T", " td ", "退订。" are opt-outs; a sentence that merely contains a T is not."""
    return re.sub(r"[\s\W_]+", "", text or "").upper() in OPT_OUT_WORDS


@transaction.atomic
def receive_sms(*, shop: Shop, phone: str, text: str, now: dt.datetime | None = None) -> InboundSms:
    """Record an inbound SMS; an opt-out reply from a known customer records a refused SMS consent."""
    now = now or timezone.now()
    customer = customer_by_phone(shop=shop, phone=phone)
    opted_out = is_opt_out(text) and customer is not None and not customer.is_erased
    if opted_out:
        record_consent(shop=shop, customer=customer, channel="sms", granted=False,
                       source=f"SMS reply “{text.strip()[:20]}”", at=now)
    return InboundSms.objects.create(shop=shop, phone=phone[:20], text=text[:500], customer=customer,
                                     opted_out=opted_out, received_at=now)


@transaction.atomic
def record_receipt(
    *, shop: Shop, provider_message_id: str, delivered: bool, at: dt.datetime | None = None, error: str = "",
    idempotency_key: str = "",
) -> Message:
    """A provider's delivery report: a sent message becomes delivered, or failed ("undelivered") with the
    provider's error. Found by the provider's ID, else by our idempotency key when the provider echoes it
    (Aliyun's out_id). A repeated report changes nothing."""
    messages = Message.objects.for_shop(shop).select_for_update()
    message = messages.filter(provider_message_id=provider_message_id).exclude(provider_message_id="").first()
    if message is None and idempotency_key:
        message = messages.filter(idempotency_key=idempotency_key).first()
    if message is None:
        raise NotFound(_("no message with provider ID %(provider_message_id)r"), field="provider_message_id",
                       params={"provider_message_id": provider_message_id})
    _settle(message, delivered=delivered, at=at, error=error)
    return message


def _settle(message: Message, *, delivered: bool, at: dt.datetime | None, error: str) -> None:
    if message.status != MessageStatus.SENT:
        return
    if delivered:
        message.status, message.delivered_at = MessageStatus.DELIVERED, at or timezone.now()
    else:
        message.status, message.reason, message.detail = MessageStatus.FAILED, "undelivered", error[:500]
    message.save(update_fields=["status", "delivered_at", "reason", "detail"])


def keep_early_receipt(
    *, shop: Shop, provider_message_id: str, delivered: bool, at: dt.datetime | None = None, error: str = "",
    idempotency_key: str = "", now: dt.datetime | None = None,
) -> EarlyReceipt:
    """Keep a report whose message is not marked sent yet; the worker applies it when it marks the message.
    A report pushed again replaces the kept one (the provider's latest word stands)."""
    kept, _ = EarlyReceipt.objects.update_or_create(
        shop=shop, provider_message_id=provider_message_id[:100], defaults={
            "idempotency_key": idempotency_key[:120], "delivered": delivered, "at": at, "error": error[:500],
            "received_at": now or timezone.now()})
    return kept


def apply_early_receipts(*, shop_id: int, sent: list[tuple[int, str, str]]) -> int:
    """After the worker marked (message id, provider ID, idempotency key) sent: settle those whose report came
    first, and drop the reports. One query per marked group; returns how many were settled."""
    ids = [provider_id for _, provider_id, _ in sent if provider_id]
    keys = [key for _, _, key in sent if key]
    early = list(EarlyReceipt.objects.filter(shop_id=shop_id).filter(
        Q(provider_message_id__in=ids) | Q(idempotency_key__in=keys)))
    if not early:
        return 0
    by_provider_id = {receipt.provider_message_id: receipt for receipt in early}
    by_key = {receipt.idempotency_key: receipt for receipt in early if receipt.idempotency_key}
    settled = 0
    with transaction.atomic():
        for message_id, provider_id, key in sent:
            receipt = by_provider_id.get(provider_id) or by_key.get(key)
            if receipt is None:
                continue
            message = Message.objects.select_for_update().get(pk=message_id)
            _settle(message, delivered=receipt.delivered, at=receipt.at, error=receipt.error)
            settled += message.status != MessageStatus.SENT
        EarlyReceipt.objects.filter(pk__in=[receipt.pk for receipt in early]).delete()
    return settled


def drop_stale_early_receipts(*, shop: Shop, now: dt.datetime | None = None) -> int:
    cutoff = (now or timezone.now()) - dt.timedelta(days=EARLY_RECEIPT_DAYS)
    deleted, _ = EarlyReceipt.objects.filter(shop=shop, received_at__lt=cutoff).delete()
    return deleted
