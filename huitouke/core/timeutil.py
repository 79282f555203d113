"""Calendar days are Asia/Shanghai days, whatever the server's clock says."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def local_day(moment: dt.datetime) -> dt.date:
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return moment.astimezone(SHANGHAI).date()


def aware(value: dt.datetime) -> dt.datetime:
    """Treat a naive datetime from an export as Shanghai wall-clock time."""
    return value.replace(tzinfo=SHANGHAI) if value.tzinfo is None else value


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=SHANGHAI)


def today() -> dt.date:
    return dt.datetime.now(SHANGHAI).date()
