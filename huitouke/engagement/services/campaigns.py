"""Campaigns: audience (segment, tier, tag or list) → preview (count, sample texts, SMS segments and cost, who is
suppressed and why) → schedule → send into the outbox → results against a random hold-out group.

Set-based for large audiences: the audience is one query, the contact policy a few grouped queries per 5,000
customers (policy.decide_many), members and messages are bulk inserts."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.pii import mask_name
from huitouke.core.timeutil import local_day
from huitouke.customers.models import Customer, CustomerTag
from huitouke.engagement import library
from huitouke.engagement.lookup import shop_row
from huitouke.engagement.models import (
    AudienceKind,
    Campaign,
    CampaignMember,
    CampaignStatus,
    Message,
    MessageChannel,
    MessageStatus,
)
from huitouke.engagement.policy import Decision, care_settings, decide_many
from huitouke.engagement.services.outbox import idempotency_key, outgoing_text
from huitouke.engagement.services.preview import preview_text
from huitouke.loyalty import selectors as loyalty_selectors
from huitouke.loyalty.services import programme
from huitouke.loyalty.services.audiences import audience_ids

MAX_HOLDOUT_PERCENT = 50
BATCH = 5000


def _check_template(template: str) -> None:
    library.render(template, {name: "x" for name in library.PLACEHOLDERS})  # raises on a bad placeholder


@transaction.atomic
def create_campaign(
    *, shop: Shop, name: str, template: str, audience_kind: str, audience_value: Any, kind: str = "commercial",
    channel: str = MessageChannel.SMS, holdout_percent: int = 10, price_per_segment: Decimal = Decimal("0.045"),
    created_by: Staff | None = None, seed: int | None = None, now: dt.datetime | None = None,
) -> Campaign:
    if not name.strip():
        raise Invalid("name the campaign", field="name")
    if kind not in library.Kind.values:
        raise Invalid(f"kind must be one of {', '.join(library.Kind.values)}", field="kind")
    if channel not in MessageChannel.values:
        raise Invalid(f"channel must be one of {', '.join(MessageChannel.values)}", field="channel")
    if not template.strip():
        raise Invalid("write the message", field="template")
    _check_template(template)
    if not 0 <= holdout_percent <= MAX_HOLDOUT_PERCENT:
        raise Invalid(f"the hold-out group is 0–{MAX_HOLDOUT_PERCENT}% of the audience", field="holdout_percent")
    if price_per_segment < 0:
        raise Invalid("a price cannot be negative", field="price_per_segment")
    campaign = Campaign(
        shop=shop, name=name.strip()[:100], kind=kind, channel=channel, template=template.strip(),
        audience_kind=audience_kind, audience_value=audience_value, holdout_percent=holdout_percent,
        price_per_segment=price_per_segment, created_by=created_by, created_at=now or timezone.now(),
        seed=seed if seed is not None else random.SystemRandom().randrange(2**31),
    )
    audience(shop=shop, campaign=campaign)  # refuses an unknown segment, tier or tag now, not at send time
    campaign.save()
    return campaign


def audience(*, shop: Shop, campaign: Campaign) -> list[int]:
    """The live customers of the audience, by id."""
    value = campaign.audience_value
    live = Customer.objects.for_shop(shop).filter(erased_at__isnull=True)
    if campaign.audience_kind == AudienceKind.SEGMENT:
        ids, _ = audience_ids(shop=shop, customer_ids=None, segment=str(value))
        return ids
    if campaign.audience_kind == AudienceKind.TIER:
        if not isinstance(value, int) or not any(t.pk == value for t in programme.ladder(shop=shop)):
            raise NotFound("no such tier in this shop", field="audience_value")
        rows = loyalty_selectors.members(shop=shop, tier_id=value).filter(customer__erased_at__isnull=True)
        return sorted(rows.values_list("customer_id", flat=True))
    if campaign.audience_kind == AudienceKind.TAG:
        rows = CustomerTag.objects.for_shop(shop).filter(tag__name=str(value), customer__erased_at__isnull=True)
        ids = sorted(set(rows.values_list("customer_id", flat=True)))
        if not ids and not CustomerTag.objects.for_shop(shop).filter(tag__name=str(value)).exists():
            raise NotFound(f"no customer is tagged {value!r}", field="audience_value")
        return ids
    if campaign.audience_kind == AudienceKind.LIST:
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise Invalid("a customer list is a list of customer ids", field="audience_value")
        wanted = sorted(set(value))
        return sorted(i for chunk in range(0, len(wanted), BATCH)
                      for i in live.filter(pk__in=wanted[chunk:chunk + BATCH]).values_list("id", flat=True))
    raise Invalid(f"audience must be one of {', '.join(AudienceKind.values)}", field="audience_kind")


def split(ids: list[int], *, percent: int, seed: int) -> tuple[list[int], list[int]]:
    """(send, hold-out): a random `percent` of the audience, fixed by the campaign's seed, is kept out."""
    holdout = set(random.Random(seed).sample(ids, round(len(ids) * percent / 100)))
    return [i for i in ids if i not in holdout], sorted(holdout)


def _customers(shop: Shop, ids: list[int]) -> list[Customer]:
    rows: list[Customer] = []
    for start in range(0, len(ids), BATCH):
        rows.extend(Customer.objects.for_shop(shop).filter(pk__in=ids[start:start + BATCH])
                    .select_related("registered_by").order_by("id"))
    return rows


def _texts_and_decisions(shop: Shop, campaign: Campaign, customers: list[Customer], day: dt.date,
                         now: dt.datetime) -> tuple[dict[int, str], dict[int, Decision]]:
    texts = {c.pk: preview_text(shop=shop, customer=c, kind=campaign.kind, template=campaign.template)
             for c in customers}
    decisions = decide_many(shop=shop, customers=customers, kind=campaign.kind, channel=campaign.channel,
                            texts=texts, day=day, now=now, settings=care_settings(shop=shop))
    return texts, decisions


def preview_campaign(*, shop: Shop, campaign: Campaign, now: dt.datetime | None = None, sample: int = 5,
                     ) -> dict[str, Any]:
    """What sending now would do, without saving anything."""
    now = now or timezone.now()
    when = max(now, campaign.scheduled_for or now)
    ids = audience(shop=shop, campaign=campaign)
    send_ids, holdout_ids = split(ids, percent=campaign.holdout_percent, seed=campaign.seed)
    customers = _customers(shop, send_ids)
    texts, decisions = _texts_and_decisions(shop, campaign, customers, local_day(when), when)
    outgoing = {cid: outgoing_text(shop=shop, kind=campaign.kind, channel=campaign.channel, text=text)
                for cid, text in texts.items()}
    allowed = [c for c in customers if decisions[c.pk].allowed]
    segments = sum(library.sms_segments(outgoing[c.pk]) for c in allowed) if campaign.channel == "sms" else 0
    suppressed = [c for c in customers if not decisions[c.pk].allowed]
    return {
        "audience": len(ids), "holdout": len(holdout_ids), "send": len(send_ids), "would_queue": len(allowed),
        "suppressed": dict(Counter(decisions[c.pk].reason for c in suppressed)),
        "suppressed_sample": [{"customer_id": c.pk, "name": mask_name(c.name), "reason": decisions[c.pk].reason,
                               "detail": decisions[c.pk].detail} for c in suppressed[:sample * 4]],
        "samples": [{"customer_id": c.pk, "name": mask_name(c.name), "text": outgoing[c.pk],
                     "segments": library.sms_segments(outgoing[c.pk]) if campaign.channel == "sms" else 0,
                     "tone_problems": library.tone_problems(texts[c.pk], kind=campaign.kind)}
                    for c in customers[:sample]],
        "sms_segments": segments,
        "cost": (Decimal(segments) * campaign.price_per_segment).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP),
    }


def _sendable(shop: Shop, campaign_id: int) -> Campaign:
    """The campaign, row-locked, when it may still be scheduled or sent: a draft or scheduled one whose text
    passes the care-tone check (a care campaign with commercial words is refused)."""
    campaign = shop_row(Campaign, shop=shop, pk=campaign_id, label="campaign", lock=True)
    if campaign.status not in (CampaignStatus.DRAFT, CampaignStatus.SCHEDULED):
        raise Conflict(f"the campaign is already {campaign.status}", field="status")
    problems = library.tone_problems(campaign.template, kind=campaign.kind)
    if problems:
        raise Invalid("a care message must not contain: " + "、".join(p.text for p in problems), field="template")
    return campaign


@transaction.atomic
def schedule_campaign(*, shop: Shop, campaign_id: int, at: dt.datetime) -> Campaign:
    """Schedule a draft (or move a scheduled one); a care campaign with commercial words is refused here."""
    campaign = _sendable(shop, campaign_id)
    campaign.status, campaign.scheduled_for = CampaignStatus.SCHEDULED, at
    campaign.save(update_fields=["status", "scheduled_for"])
    return campaign


@transaction.atomic
def cancel_campaign(*, shop: Shop, campaign_id: int) -> Campaign:
    campaign = shop_row(Campaign, shop=shop, pk=campaign_id, label="campaign", lock=True)
    if campaign.status == CampaignStatus.SENT:
        raise Conflict("the campaign was already sent", field="status")
    campaign.status = CampaignStatus.CANCELLED
    campaign.save(update_fields=["status"])
    return campaign


@transaction.atomic
def send_campaign(*, shop: Shop, campaign_id: int, now: dt.datetime | None = None) -> Campaign:
    """Freeze the audience and its hold-out group, and put one message per customer of the send group into the
    outbox (queued, or suppressed with the reason). Sending twice is refused; the worker delivers."""
    now = now or timezone.now()
    campaign = _sendable(shop, campaign_id)
    ids = audience(shop=shop, campaign=campaign)
    send_ids, holdout_ids = split(ids, percent=campaign.holdout_percent, seed=campaign.seed)
    holdout = set(holdout_ids)
    CampaignMember.objects.bulk_create(
        [CampaignMember(shop=shop, campaign=campaign, customer_id=i, holdout=i in holdout) for i in ids],
        batch_size=BATCH)
    day = local_day(now)
    queued = suppressed = 0
    for start in range(0, len(send_ids), BATCH):
        customers = _customers(shop, send_ids[start:start + BATCH])
        texts, decisions = _texts_and_decisions(shop, campaign, customers, day, now)
        rows = []
        for customer in customers:
            decision = decisions[customer.pk]
            rows.append(Message(
                shop=shop, customer=customer, rule=campaign.rule, kind=campaign.kind, channel=campaign.channel,
                day=day, text=outgoing_text(shop=shop, kind=campaign.kind, channel=campaign.channel,
                                            text=texts[customer.pk]),
                associate=customer.registered_by, created_at=now,
                idempotency_key=idempotency_key(customer_id=customer.pk, rule=campaign.rule, day=day),
                recipient=decision.recipient, reason=decision.reason, detail=decision.detail[:500],
                status=MessageStatus.QUEUED if decision.allowed else MessageStatus.SUPPRESSED,
                next_attempt_at=decision.send_at,
            ))
            queued += decision.allowed
            suppressed += not decision.allowed
        Message.objects.bulk_create(rows, batch_size=1000)
    campaign.status, campaign.sent_at = CampaignStatus.SENT, now
    campaign.audience_count, campaign.holdout_count = len(ids), len(holdout_ids)
    campaign.queued_count, campaign.suppressed_count = queued, suppressed
    campaign.save(update_fields=["status", "sent_at", "audience_count", "holdout_count", "queued_count",
                                 "suppressed_count"])
    return campaign


def send_due_campaigns(*, shop: Shop | None = None, now: dt.datetime | None = None) -> list[Campaign]:
    """Send the scheduled campaigns whose time has come (called by `care run`)."""
    now = now or timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_for__lte=now)
    if shop is not None:
        due = due.filter(shop=shop)
    return [send_campaign(shop=c.shop, campaign_id=c.pk, now=now) for c in due.select_related("shop").order_by("id")]
