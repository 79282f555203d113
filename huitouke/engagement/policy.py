"""The contact policy (reads only): may this message go to this customer on this channel, now?

Order of checks: do-not-contact / erased → consent for the channel → an address → the care tone →
frequency caps (per day, care per 30 days, commercial per 30 days, each counted separately) → quiet hours
(SMS only: not refused, held until the quiet hours end). DOMAIN.md §4: care must not be too frequent.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import Shop
from huitouke.core.timeutil import SHANGHAI, day_start
from huitouke.customers.models import Customer, CustomerEmail, CustomerPhone
from huitouke.customers.selectors import current_consents
from huitouke.engagement.library import CARE_KINDS, Kind, tone_problems
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


def recipient_for(*, shop: Shop, customer: Customer, channel: str) -> str:
    if channel == MessageChannel.SMS:
        phone = (CustomerPhone.objects.for_shop(shop).filter(customer=customer, e164__isnull=False)
                 .order_by("-is_primary", "id").values_list("e164", flat=True).first())
        return phone or ""
    if channel == MessageChannel.EMAIL:
        return CustomerEmail.objects.for_shop(shop).filter(customer=customer).order_by("id").values_list(
            "email", flat=True).first() or ""
    return ""  # a WeChat task goes to the associate, who knows the customer's account


def _counted(shop: Shop, customer: Customer, since: dt.date, until: dt.date) -> models.QuerySet[Message]:
    return Message.objects.for_shop(shop).filter(customer=customer, day__gte=since, day__lte=until, status__in=COUNTED)


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
    settings = settings or care_settings(shop=shop)
    if customer.is_erased:
        return Decision(Suppression.ERASED)
    if customer.do_not_contact:
        return Decision(Suppression.DO_NOT_CONTACT)
    consent = current_consents(shop=shop, customer=customer).get(CONSENT_CHANNEL[channel])
    if consent is None:
        return Decision(Suppression.NO_CONSENT)
    if not consent.granted:
        return Decision(Suppression.OPTED_OUT, f"{consent.source} ({consent.at:%Y-%m-%d})")
    recipient = recipient_for(shop=shop, customer=customer, channel=channel)
    if channel != MessageChannel.WECHAT_TASK and not recipient:
        return Decision(Suppression.NO_ADDRESS)
    problems = tone_problems(text, kind=kind)
    if problems:
        return Decision(Suppression.TONE, "、".join(f"{p.text}({p.reason})" for p in problems))
    reason = cap_reason(shop=shop, customer=customer, kind=kind, day=day, settings=settings)
    if reason:
        return Decision(reason)
    earliest = max(now, day_start(day))  # a message planned for a later day waits for that day
    held = quiet_until(settings=settings, now=earliest) if channel == MessageChannel.SMS else None
    return Decision(recipient=recipient, send_at=held or earliest, detail=f"held until {held:%Y-%m-%d %H:%M}" if held else "")
