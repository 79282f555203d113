"""Campaigns: audience (segment, tier, tag or list) → preview (count, sample texts, SMS segments and cost, who is
suppressed and why) → schedule → send into the outbox → results against a random hold-out group.

Set-based for a million customers: the audience is one query, customers are read as raw rows, texts filled once
per distinct 称呼 and associate, the contact policy is a few grouped queries (policy.decide_many), and members
and messages are written column-wise with core.bulk (`huitouke bench campaign` measures it)."""

from __future__ import annotations

import datetime as dt
import random
from collections import Counter
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from huitouke.core import bulk
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
from huitouke.engagement.services.preview import campaign_texts
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
        raise Invalid(gettext_lazy("name the campaign"), field="name")
    if kind not in library.Kind.values:
        raise Invalid(gettext_lazy("kind must be one of %(choices)s"), field="kind",
                      params={"choices": ", ".join(library.Kind.values)})
    if channel not in MessageChannel.values:
        raise Invalid(gettext_lazy("channel must be one of %(choices)s"), field="channel",
                      params={"choices": ", ".join(MessageChannel.values)})
    if not template.strip():
        raise Invalid(gettext_lazy("write the message"), field="template")
    _check_template(template)
    if not 0 <= holdout_percent <= MAX_HOLDOUT_PERCENT:
        raise Invalid(gettext_lazy("the hold-out group is 0–%(max_holdout_percent)s%% of the audience"),
                      field="holdout_percent",
                      params={"max_holdout_percent": MAX_HOLDOUT_PERCENT})
    if price_per_segment < 0:
        raise Invalid(gettext_lazy("a price cannot be negative"), field="price_per_segment")
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
            raise NotFound(gettext_lazy("no such tier in this shop"), field="audience_value")
        rows = loyalty_selectors.members(shop=shop, tier_id=value).filter(customer__erased_at__isnull=True)
        return sorted(rows.values_list("customer_id", flat=True))
    if campaign.audience_kind == AudienceKind.TAG:
        rows = CustomerTag.objects.for_shop(shop).filter(tag__name=str(value), customer__erased_at__isnull=True)
        ids = sorted(set(rows.values_list("customer_id", flat=True)))
        if not ids and not CustomerTag.objects.for_shop(shop).filter(tag__name=str(value)).exists():
            raise NotFound(gettext_lazy("no customer is tagged %(value)r"), field="audience_value",
                           params={"value": value})
        return ids
    if campaign.audience_kind == AudienceKind.LIST:
        if not isinstance(value, list) or not all(isinstance(v, int) for v in value):
            raise Invalid(gettext_lazy("a customer list is a list of customer ids"), field="audience_value")
        wanted = sorted(set(value))
        return sorted(i for chunk in range(0, len(wanted), BATCH)
                      for i in live.filter(pk__in=wanted[chunk:chunk + BATCH]).values_list("id", flat=True))
    raise Invalid(gettext_lazy("audience must be one of %(choices)s"), field="audience_kind",
                  params={"choices": ", ".join(AudienceKind.values)})


def split(ids: list[int], *, percent: int, seed: int) -> tuple[list[int], list[int]]:
    """(send, hold-out): a random `percent` of the audience, fixed by the campaign's seed, is kept out."""
    holdout = set(random.Random(seed).sample(ids, round(len(ids) * percent / 100)))
    return [i for i in ids if i not in holdout], sorted(holdout)


class Person(NamedTuple):
    """What planning reads of a customer, in bulk: building a Customer instance per row costs more than the query."""

    pk: int
    name: str
    gender: str
    registered_by_id: int | None
    do_not_contact: bool
    erased_at: object

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None


PERSON_COLUMNS = ("id", "name", "gender", "registered_by", "do_not_contact", "erased_at")


def _people(shop: Shop, ids: list[int]) -> list[Person]:
    """The audience's customers in id order, as raw rows (core.bulk.rows_where_in)."""
    rows = bulk.rows_where_in(Customer, PERSON_COLUMNS, equal={"shop": shop.pk}, field="id", values=ids)
    rows.sort()
    return [Person(pk, name, gender, associate, bool(dnc), erased) for pk, name, gender, associate, dnc, erased in rows]


@dataclass
class Plan:
    """What a campaign sends to its send group, one entry per person: the text as she reads it and the
    contact policy's decision."""

    people: list[Person]
    texts: dict[int, str]  # before the SMS signature (the care-tone check reads these)
    outgoing: dict[int, str]
    decisions: dict[int, Decision]


def _plan(shop: Shop, campaign: Campaign, ids: list[int], day: dt.date, now: dt.datetime) -> Plan:
    people = _people(shop, ids)
    associates = dict(Staff.objects.filter(shop=shop).values_list("id", "display_name"))
    texts = campaign_texts(shop=shop, template=campaign.template,
                           people=[(p.pk, p.name, p.gender, associates.get(p.registered_by_id)) for p in people])
    outgoing_cache: dict[str, str] = {}
    outgoing = {}
    for pk, text in texts.items():
        if text not in outgoing_cache:
            outgoing_cache[text] = outgoing_text(shop=shop, kind=campaign.kind, channel=campaign.channel, text=text)
        outgoing[pk] = outgoing_cache[text]
    decisions = decide_many(shop=shop, customers=people, kind=campaign.kind, channel=campaign.channel,
                            texts=texts, day=day, now=now, settings=care_settings(shop=shop))
    return Plan(people, texts, outgoing, decisions)


def preview_campaign(*, shop: Shop, campaign: Campaign, now: dt.datetime | None = None, sample: int = 5,
                     ) -> dict[str, Any]:
    """What sending now would do, without saving anything."""
    now = now or timezone.now()
    when = max(now, campaign.scheduled_for or now)
    ids = audience(shop=shop, campaign=campaign)
    send_ids, holdout_ids = split(ids, percent=campaign.holdout_percent, seed=campaign.seed)
    plan = _plan(shop, campaign, send_ids, local_day(when), when)
    customers, texts, outgoing, decisions = plan.people, plan.texts, plan.outgoing, plan.decisions
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
        raise Conflict(gettext_lazy("the campaign is already %(status)s"), field="status",
                       params={"status": campaign.status})
    problems = library.tone_problems(campaign.template, kind=campaign.kind)
    if problems:
        raise Invalid(gettext_lazy("a care message must not contain: %(words)s"), field="template",
                      params={"words": "、".join(p.text for p in problems)})
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
        raise Conflict(gettext_lazy("the campaign was already sent"), field="status")
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
    bulk.insert_rows(CampaignMember, {"shop": [shop.pk] * len(ids), "campaign": [campaign.pk] * len(ids),
                                      "customer": ids, "holdout": [i in holdout for i in ids]}, len(ids))
    day = local_day(now)
    plan = _plan(shop, campaign, send_ids, day, now)
    queued = _enqueue(shop, campaign, plan, day, now)
    suppressed = len(plan.people) - queued
    campaign.status, campaign.sent_at = CampaignStatus.SENT, now
    campaign.audience_count, campaign.holdout_count = len(ids), len(holdout_ids)
    campaign.queued_count, campaign.suppressed_count = queued, suppressed
    campaign.save(update_fields=["status", "sent_at", "audience_count", "holdout_count", "queued_count",
                                 "suppressed_count"])
    return campaign


def _enqueue(shop: Shop, campaign: Campaign, plan: Plan, day: dt.date, now: dt.datetime) -> int:
    """One outbox row per person of the send group (core.bulk: column-wise, values in database form);
    returns how many are queued rather than suppressed."""
    as_datetime, n = bulk.datetime_adapter(), len(plan.people)
    decisions = [plan.decisions[p.pk] for p in plan.people]
    send_at = {at: as_datetime(at) for at in {d.send_at for d in decisions}}  # adapted once per distinct moment
    queued, suppressed = MessageStatus.QUEUED, MessageStatus.SUPPRESSED
    bulk.insert_rows(Message, {
        "shop": [shop.pk] * n, "customer": [p.pk for p in plan.people], "rule": [campaign.rule] * n,
        "kind": [campaign.kind] * n, "channel": [campaign.channel] * n, "day": [bulk.date_adapter()(day)] * n,
        "text": [plan.outgoing[p.pk] for p in plan.people], "associate": [p.registered_by_id for p in plan.people],
        "created_at": [as_datetime(now)] * n,
        "idempotency_key": [idempotency_key(customer_id=p.pk, rule=campaign.rule, day=day) for p in plan.people],
        "recipient": [d.recipient for d in decisions], "reason": [d.reason for d in decisions],
        "detail": [d.detail[:500] for d in decisions],
        "status": [queued if d.allowed else suppressed for d in decisions],
        "next_attempt_at": [send_at[d.send_at] for d in decisions],
    }, n)
    return sum(d.allowed for d in decisions)


def send_due_campaigns(*, shop: Shop | None = None, now: dt.datetime | None = None) -> list[Campaign]:
    """Send the scheduled campaigns whose time has come (called by `care run`)."""
    now = now or timezone.now()
    due = Campaign.objects.filter(status=CampaignStatus.SCHEDULED, scheduled_for__lte=now)
    if shop is not None:
        due = due.filter(shop=shop)
    return [send_campaign(shop=c.shop, campaign_id=c.pk, now=now) for c in due.select_related("shop").order_by("id")]
