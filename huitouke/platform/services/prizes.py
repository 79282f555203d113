"""The prize catalogue and exchanging a member's points for a prize (points debited under her row lock,
stock taken by a conditional UPDATE, so neither goes below zero under concurrency)."""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop
from huitouke.platform.models import Member, MemberPoints, Prize
from huitouke.platform.services.common import check_key, moment


@transaction.atomic
def add_prize(*, shop: Shop, name: str, points_cost: int, stock: int) -> Prize:
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise Invalid(_("a prize needs a name of 1 to 100 characters"), field="name")
    if isinstance(points_cost, bool) or not isinstance(points_cost, int) or points_cost < 1:
        raise Invalid(_("the points price is a whole number above 0"), field="points_cost")
    if isinstance(stock, bool) or not isinstance(stock, int) or stock < 0:
        raise Invalid(_("the stock is a whole number, 0 or more"), field="stock")
    return Prize.objects.create(shop=shop, name=name, points_cost=points_cost, stock=stock)


def redeem_prize(*, shop: Shop, member: Member, prize: Prize | int, idempotency_key: str,
                 now: dt.datetime | None = None) -> MemberPoints:
    """Exchange points for one prize; a retry with the same key returns the first entry."""
    key, at = check_key(idempotency_key), moment(now)
    with write_turn(), transaction.atomic():
        locked = Member.objects.select_for_update().filter(shop=shop, pk=member.pk).first()
        if locked is None:
            raise NotFound(_("no such member"), field="member")
        earlier = MemberPoints.objects.filter(shop=shop, idempotency_key=key).first()
        if earlier is not None:
            if earlier.member_id != locked.pk or earlier.kind != MemberPoints.Kind.REDEEM:
                raise Conflict(_("this idempotency key was already used for another points entry"),
                               field="idempotency_key")
            return earlier
        prize_id = prize.pk if isinstance(prize, Prize) else prize
        chosen = Prize.objects.filter(shop=shop, pk=prize_id, active=True).first()
        if chosen is None:
            raise NotFound(_("no such prize"), field="prize")
        if locked.points_balance < chosen.points_cost:
            raise Conflict(_("%(points_balance)s points are fewer than the %(points_cost)s this prize costs"),
                           field="points", code="insufficient_points",
                           params={"points_balance": locked.points_balance, "points_cost": chosen.points_cost})
        if not Prize.objects.filter(pk=chosen.pk, stock__gt=0).update(stock=F("stock") - 1):
            raise Conflict(_("this prize is out of stock"), field="prize", code="out_of_stock")
        entry = MemberPoints.objects.create(shop=shop, member=locked, kind=MemberPoints.Kind.REDEEM,
                                            delta=-chosen.points_cost, prize=chosen, idempotency_key=key, at=at)
        locked.points_balance -= chosen.points_cost
        locked.save(update_fields=["points_balance"])
    return entry
