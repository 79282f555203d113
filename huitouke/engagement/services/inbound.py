"""What providers report back: customers' replies (T, TD or 退订 refuses the shop's SMS: a consent entry) and
delivery reports (sent → delivered, or failed)."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.customers.selectors import customer_by_phone
from huitouke.customers.services import record_consent
from huitouke.engagement.models import InboundSms, Message, MessageStatus

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
    if message.status != MessageStatus.SENT:
        return message
    if delivered:
        message.status, message.delivered_at = MessageStatus.DELIVERED, at or timezone.now()
    else:
        message.status, message.reason, message.detail = MessageStatus.FAILED, "undelivered", error[:500]
    message.save(update_fields=["status", "delivered_at", "reason", "detail"])
    return message
