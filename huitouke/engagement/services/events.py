"""VIP events: invitations by loyalty tier, RSVP and attendance."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.core.timeutil import today
from huitouke.engagement.lookup import shop_row
from huitouke.engagement.models import Invitation, Rsvp, VipEvent
from huitouke.loyalty import selectors as loyalty_selectors
from huitouke.loyalty.services import programme

EVENTS_PER_YEAR = 4  # suggested at least


@transaction.atomic
def create_event(*, shop: Shop, title: str, starts_on: dt.date, place: str, tier_ids: list[int],
                 now: dt.datetime | None = None) -> VipEvent:
    if not title.strip():
        raise Invalid(_("give the event a title"), field="title")
    if not place.strip():
        raise Invalid(_("say where it takes place"), field="place")
    known = {tier.pk for tier in programme.ladder(shop=shop)}
    if not tier_ids:
        raise Invalid(_("invite at least one tier"), field="tier_ids")
    if set(tier_ids) - known:
        raise NotFound(_("no such tier in this shop"), field="tier_ids")
    return VipEvent.objects.create(shop=shop, title=title.strip()[:100], starts_on=starts_on, place=place.strip()[:200],
                                   tier_ids=sorted(set(tier_ids)), created_at=now or timezone.now())


def event_by_id(*, shop: Shop, event_id: int) -> VipEvent:
    return shop_row(VipEvent, shop=shop, pk=event_id, label="event")


@transaction.atomic
def invite_tiers(*, shop: Shop, event_id: int, now: dt.datetime | None = None) -> int:
    """Invite every live member of the event's tiers not invited yet; returns how many were added."""
    event = event_by_id(shop=shop, event_id=event_id)
    already = set(Invitation.objects.for_shop(shop).filter(event=event).values_list("customer_id", flat=True))
    now = now or timezone.now()
    rows = [
        Invitation(shop=shop, event=event, customer_id=customer_id, tier_name=tier_name, invited_at=now)
        for tier_id in event.tier_ids
        for customer_id, tier_name in loyalty_selectors.members(shop=shop, tier_id=tier_id)
        .filter(customer__erased_at__isnull=True).values_list("customer_id", "tier__name")
        if customer_id not in already
    ]
    Invitation.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def _invitation(shop: Shop, event_id: int, customer_id: int) -> Invitation:
    invitation = (Invitation.objects.for_shop(shop).select_for_update()
                  .filter(event_id=event_id, customer_id=customer_id).first())
    if invitation is None:
        event_by_id(shop=shop, event_id=event_id)
        raise NotFound(_("this customer was not invited"), field="customer_id")
    return invitation


@transaction.atomic
def record_rsvp(*, shop: Shop, event_id: int, customer_id: int, answer: str,
                now: dt.datetime | None = None) -> Invitation:
    if answer not in (Rsvp.YES, Rsvp.NO):
        raise Invalid(_("answer yes or no"), field="answer")
    invitation = _invitation(shop, event_id, customer_id)
    invitation.rsvp, invitation.rsvp_at = answer, now or timezone.now()
    invitation.save(update_fields=["rsvp", "rsvp_at"])
    return invitation


@transaction.atomic
def record_attendance(*, shop: Shop, event_id: int, customer_id: int, attended: bool = True,
                      on: dt.date | None = None) -> Invitation:
    invitation = _invitation(shop, event_id, customer_id)
    if attended and invitation.event.starts_on > (on or today()):
        raise Conflict(_("the event has not taken place yet"), field="customer_id")
    invitation.attended = attended
    invitation.save(update_fields=["attended"])
    return invitation
