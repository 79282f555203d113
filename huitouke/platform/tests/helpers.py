"""Builders for platform tests: an operator (a shop) with signed merchants, members and group-buys."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from huitouke.core.timeutil import SHANGHAI
from huitouke.platform.services.actors import Terms
from huitouke.platform.services.balance import sign_merchant

SIGNED = dt.datetime(2026, 1, 5, 9, 0, tzinfo=SHANGHAI)


def at(year: int, month: int, day: int, hour: int = 12, minute: int = 0) -> dt.datetime:
    return dt.datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def terms(**changes) -> Terms:
    base = {
        "discount_rate": Decimal("0.85"), "valid_from": dt.date(2026, 1, 1), "valid_until": dt.date(2026, 12, 31),
        "commission_rate": Decimal("0.05"),
    }
    return Terms(**{**base, **changes})


def signed(shop, name: str = "老王火锅", *, stores=("朝阳店", "海淀店"), now=SIGNED, **term_changes):
    return sign_merchant(shop=shop, name=name, stores=stores, terms=terms(**term_changes), now=now)
