"""The contact policy (reads only): may this message go to this customer on this channel, now?

Order of checks: do-not-contact / erased → consent for the channel → an address → the care tone →
frequency caps (per day, care per 30 days, commercial per 30 days, each counted separately) → quiet hours
(SMS only: not refused, held until the quiet hours end). DOMAIN.md §4: care must not be too frequent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

from django.db import connection, models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import Shop
from huitouke.core.prepared import Prepared
from huitouke.core.timeutil import SHANGHAI, day_start
from huitouke.customers.models import Consent, Customer, CustomerEmail, CustomerPhone
from huitouke.customers.selectors import current_consents
from huitouke.engagement.library import CARE_KINDS, NOTICE, Kind, tone_problems
from huitouke.engagement.models import CONSENT_CHANNEL, CareSettings, Message, MessageChannel, MessageStatus

CAP_WINDOW_DAYS = 30
# Messages that count against the caps: on their way or gone. Suppressed and failed ones reached no one.
COUNTED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT, MessageStatus.DELIVERED)


class Suppression(models.TextChoices):
    DO_NOT_CONTACT = "do_not_contact", _("Customer is marked do-not-contact")
    ERASED = "erased", _("Customer's personal data was erased")
    NO_CONSENT = "no_consent", _("No consent for this channel")
    OPTED_OUT = "opted_out", _("Customer refused this channel")
    NO_ADDRESS = "no_address", _("No phone or e-mail for this channel")
    TONE = "tone", _("Care message with commercial or probing words")
    DAILY_CAP = "daily_cap", _("Daily message cap reached")
    CARE_CAP = "care_cap", _("30-day care message cap reached")
    COMMERCIAL_CAP = "commercial_cap", _("30-day commercial message cap reached")


@dataclass(frozen=True)
class Decision:
    reason: str = ""  # a Suppression value, or "" when the message may go
    detail: str = ""
    recipient: str = ""
    send_at: dt.datetime | None = None  # not before this (quiet hours)

    @property
    def allowed(self) -> bool:
        return not self.reason


def care_settings(*, shop: Shop) -> CareSettings:
    """The shop's contact policy, or the defaults (unsaved) when it has none."""
    return CareSettings.objects.filter(shop=shop).first() or CareSettings(shop=shop)


def quiet_until(*, settings: CareSettings, now: dt.datetime) -> dt.datetime | None:
    """When `now` is in the shop's quiet hours (Shanghai), the moment they end; else None."""
    local = now.astimezone(SHANGHAI)
    start, end = settings.quiet_start_hour, settings.quiet_end_hour
    hour = local.hour
    in_quiet = (hour >= start or hour < end) if start > end else (start <= hour < end)
    if not in_quiet:
        return None
    day = local.date() + dt.timedelta(days=1) if start > end and hour >= start else local.date()
    return dt.datetime.combine(day, dt.time(end), tzinfo=SHANGHAI)


_SMS_NUMBER = Prepared(lambda shop_id, customer_id: CustomerPhone.objects.filter(
    shop_id=shop_id, customer_id=customer_id, e164__isnull=False).order_by("-is_primary", "id").values_list("e164")[:1])


def recipient_for(*, shop: Shop, customer: Customer, channel: str) -> str:
    if channel == MessageChannel.SMS:  # compiled once (core.prepared): every queued SMS reads it
        found = _SMS_NUMBER.rows(shop_id=shop.pk, customer_id=customer.pk)
        return found[0][0] if found else ""
    if channel == MessageChannel.EMAIL:
        return CustomerEmail.objects.for_shop(shop).filter(customer=customer).order_by("id").values_list(
            "email", flat=True).first() or ""
    return ""  # a WeChat task goes to the associate, who knows the customer's account


def _counted(shop: Shop, customer: Customer, since: dt.date, until: dt.date) -> models.QuerySet[Message]:
    # Service notices answer the customer's own purchase: they neither count against the caps nor use them up.
    return (Message.objects.for_shop(shop).filter(customer=customer, day__gte=since, day__lte=until, status__in=COUNTED)
            .exclude(kind=NOTICE))


def cap_reason(*, shop: Shop, customer: Customer, kind: str, day: dt.date, settings: CareSettings) -> str:
    """The cap this message would break, or ""."""
    if _counted(shop, customer, day, day).count() >= settings.daily_cap:
        return Suppression.DAILY_CAP
    window = _counted(shop, customer, day - dt.timedelta(days=CAP_WINDOW_DAYS - 1), day)
    if kind == Kind.COMMERCIAL:
        if window.filter(kind=Kind.COMMERCIAL).count() >= settings.commercial_cap_30d:
            return Suppression.COMMERCIAL_CAP
    elif window.filter(kind__in=CARE_KINDS).count() >= settings.care_cap_30d:
        return Suppression.CARE_CAP
    return ""


def decide(
    *, shop: Shop, customer: Customer, kind: str, channel: str, text: str, day: dt.date, now: dt.datetime,
    settings: CareSettings | None = None,
) -> Decision:
    """Whether (and from when) the message may go; the first reason that stops it otherwise."""
    if customer.is_erased:
        return Decision(Suppression.ERASED)
    if customer.do_not_contact:
        return Decision(Suppression.DO_NOT_CONTACT)
    consent = current_consents(shop=shop, customer=customer).get(CONSENT_CHANNEL[channel])
    if consent is None and kind != NOTICE:  # a notice rests on the membership terms; a refusal still stops it
        return Decision(Suppression.NO_CONSENT)
    if consent is not None and not consent.granted:
        return Decision(Suppression.OPTED_OUT, f"{consent.source} ({consent.at:%Y-%m-%d})")
    recipient = recipient_for(shop=shop, customer=customer, channel=channel)
    if channel != MessageChannel.WECHAT_TASK and not recipient:
        return Decision(Suppression.NO_ADDRESS)
    if kind == NOTICE:  # she is at the till and expects it now: no tone check, caps or quiet hours
        return Decision(recipient=recipient, send_at=now)
    problems = tone_problems(text, kind=kind)
    if problems:
        return Decision(Suppression.TONE, "、".join(f"{p.text}({p.reason})" for p in problems))
    settings = settings or care_settings(shop=shop)  # read only when needed: a notice at the till skips it
    reason = cap_reason(shop=shop, customer=customer, kind=kind, day=day, settings=settings)
    if reason:
        return Decision(reason)
    earliest = max(now, day_start(day))  # a message planned for a later day waits for that day
    held = quiet_until(settings=settings, now=earliest) if channel == MessageChannel.SMS else None
    return Decision(recipient=recipient, send_at=held or earliest, detail=f"held until {held:%Y-%m-%d %H:%M}" if held else "")


CHUNK = 5000  # ids per IN (…) list
WHOLE_SHOP_AT = 50_000  # from this many customers on, one pass over the shop's rows beats IN lists


class Contactable(Protocol):
    """What the set-based policy reads of a customer: a Customer, or a lighter row read in bulk."""

    pk: int
    do_not_contact: bool

    @property
    def is_erased(self) -> bool: ...


def _per_customer(rows: models.QuerySet, ids: list[int]) -> Iterator[tuple]:
    """`rows` (a values_list starting with customer_id) for these customers: IN lists of CHUNK ids, or for a
    large audience the whole shop in one raw query (the caller keys by customer, extra rows are never read;
    raw because Django's per-value converters cost more than the query for a million rows)."""
    if len(ids) >= WHOLE_SHOP_AT:
        sql, params = rows.query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            while batch := cursor.fetchmany(20_000):
                yield from batch
        return
    for start in range(0, len(ids), CHUNK):
        yield from rows.filter(customer_id__in=ids[start:start + CHUNK])


def _utc_day(at: dt.datetime | str) -> str:
    """The UTC day of a consent's time as `decide` prints it, from a raw value: SQLite gives naive UTC (or text),
    PostgreSQL an aware datetime."""
    if isinstance(at, str):
        return at[:10]
    return f"{(at.astimezone(dt.UTC) if at.tzinfo else at):%Y-%m-%d}"


def decide_many(
    *, shop: Shop, customers: Sequence[Contactable], kind: str, channel: str, texts: Mapping[int, str],
    day: dt.date, now: dt.datetime, settings: CareSettings | None = None,
) -> dict[int, Decision]:
    """`decide` for many customers at once (a campaign): the same checks in the same order, a few grouped
    queries for the whole audience instead of several per customer."""
    settings = settings or care_settings(shop=shop)
    ids = [c.pk for c in customers]
    consent_channel = CONSENT_CHANNEL[channel]
    since = day - dt.timedelta(days=CAP_WINDOW_DAYS - 1)
    same_class = {"kind": Kind.COMMERCIAL} if kind == Kind.COMMERCIAL else {"kind__in": CARE_KINDS}
    consents: dict[int, tuple[bool, str, dt.datetime | str]] = {}
    for customer_id, granted, source, at in _per_customer(
        Consent.objects.for_shop(shop).filter(channel=consent_channel).order_by("customer_id", "at", "id")
        .values_list("customer_id", "granted", "source", "at"), ids,
    ):
        consents[customer_id] = (granted, source, at)  # the newest wins
    if channel == MessageChannel.SMS:
        addresses = (CustomerPhone.objects.for_shop(shop).filter(e164__isnull=False)
                     .order_by("customer_id", "is_primary", "-id").values_list("customer_id", "e164"))
    elif channel == MessageChannel.EMAIL:
        addresses = (CustomerEmail.objects.for_shop(shop).order_by("customer_id", "-id")
                     .values_list("customer_id", "email"))
    else:
        addresses = None
    # the last per customer wins: the primary phone first, then the oldest
    recipients: dict[int, str] = dict(_per_customer(addresses, ids)) if addresses is not None else {}
    counted = (Message.objects.for_shop(shop).filter(status__in=COUNTED, day__gte=since, day__lte=day)
               .exclude(kind=NOTICE))  # service notices use up no care caps
    today_counts: dict[int, int] = dict(_per_customer(
        counted.filter(day=day).values_list("customer_id").annotate(n=models.Count("id")).order_by(), ids))
    window_counts: dict[int, int] = dict(_per_customer(
        counted.filter(**same_class).values_list("customer_id").annotate(n=models.Count("id")).order_by(), ids))
    class_cap, class_reason = ((settings.commercial_cap_30d, Suppression.COMMERCIAL_CAP) if kind == Kind.COMMERCIAL
                               else (settings.care_cap_30d, Suppression.CARE_CAP))
    earliest = max(now, day_start(day))
    held = quiet_until(settings=settings, now=earliest) if channel == MessageChannel.SMS else None
    go_at, go_detail = held or earliest, f"held until {held:%Y-%m-%d %H:%M}" if held else ""
    tone_cache: dict[str, str] = {}
    decisions = {}
    for customer in customers:
        cid = customer.pk
        consent = consents.get(cid)
        recipient = recipients.get(cid, "")
        text = texts[cid]
        if text not in tone_cache:
            problems = tone_problems(text, kind=kind)
            tone_cache[text] = "、".join(f"{p.text}({p.reason})" for p in problems)
        if customer.is_erased:
            decisions[cid] = Decision(Suppression.ERASED)
        elif customer.do_not_contact:
            decisions[cid] = Decision(Suppression.DO_NOT_CONTACT)
        elif consent is None:
            decisions[cid] = Decision(Suppression.NO_CONSENT)
        elif not consent[0]:
            decisions[cid] = Decision(Suppression.OPTED_OUT, f"{consent[1]} ({_utc_day(consent[2])})")
        elif channel != MessageChannel.WECHAT_TASK and not recipient:
            decisions[cid] = Decision(Suppression.NO_ADDRESS)
        elif tone_cache[text]:
            decisions[cid] = Decision(Suppression.TONE, tone_cache[text])
        elif today_counts.get(cid, 0) >= settings.daily_cap:
            decisions[cid] = Decision(Suppression.DAILY_CAP)
        elif window_counts.get(cid, 0) >= class_cap:
            decisions[cid] = Decision(class_reason)
        else:
            decisions[cid] = Decision("", go_detail, recipient, go_at)
    return decisions
