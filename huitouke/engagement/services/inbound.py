"""Replies from customers' phones: T, TD or 退订 refuses SMS from the shop (a consent entry, as the law asks)."""

from __future__ import annotations

import datetime as dt
import re

from django.db import transaction
from django.utils import timezone

from huitouke.core.models import Shop
from huitouke.customers.selectors import customer_by_phone
from huitouke.customers.services import record_consent
from huitouke.engagement.models import InboundSms

OPT_OUT_WORDS = frozenset({"T", "TD", "退订", "N", "STOP", "UNSUBSCRIBE"})


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
