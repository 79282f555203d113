"""The SMS a member gets when a merchant records (or reverses) what she spent: amount and points.

It goes through the engagement outbox in the same transaction as the record, keyed by the consumption, so a
committed record has exactly one notice and a retried request adds none. A reversal is a record of its own
and gets its own notice (a correction: "taken back"), never a second "earned" one. The outbox signs it with
the operator's name (【平台名】) and its worker hands it to the configured sink (the console by default).
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huitouke.core.models import Shop
from huitouke.core.timeutil import local_day
from huitouke.engagement.library import NOTICE
from huitouke.engagement.models import Message, MessageChannel
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.platform.models import Consumption, Member
from huitouke.platform.services.actors import customer_of

RULE = "platform_consumption"

# In the message library's style: short, one SMS with the 【平台名】 signature, no selling words.
TEXTS: dict[str, str] = {
    Consumption.Kind.RECORD: "您在{商户}消费{金额}元，获得{积分}积分，现有{余额}积分，可兑换礼品。",
    Consumption.Kind.REVERSAL: "您在{商户}的消费{金额}元已更正，{积分}积分已扣回，现有{余额}积分。",
}


def notice_text(*, kind: str, merchant: str, amount: Decimal, points: int, balance: int) -> str:
    """The notice before the signature; the amount and points are shown without sign."""
    return TEXTS[kind].format(商户=merchant, 金额=f"{abs(amount):.2f}", 积分=abs(points), 余额=balance)


def notice_key(consumption: Consumption) -> str:
    return f"platform:consumption:{consumption.pk}"


def queue_notice(
    *, shop: Shop, consumption: Consumption, member: Member, merchant_name: str, now: dt.datetime,
) -> Message:
    """Queue (or find) the one SMS about this consumption; call inside the transaction that wrote it."""
    text = notice_text(kind=consumption.kind, merchant=merchant_name, amount=consumption.amount,
                       points=consumption.points, balance=member.points_balance)
    return enqueue_message(
        shop=shop, customer=customer_of(shop, member), rule=RULE, kind=NOTICE, channel=MessageChannel.SMS,
        text=text, day=local_day(now), now=now, key=notice_key(consumption),
    )
