"""Customer satisfaction: a signed, single-use, expiring link and the answer behind it.

The token signs (shop id, survey id, nonce) with the site's SECRET_KEY and a salt of its own: it cannot be
forged or pointed at another survey and carries no personal data. It is refused once `expires_at` has passed
and once the survey has been answered. A low rating (any star ≤ 2 or recommend ≤ 6 by default; the shop's
quality settings move the cut-offs) flags the survey "needs follow-up" and calls the low-rating listeners
(quality.extensions) in the same transaction.
"""

from __future__ import annotations

import datetime as dt
import secrets
from dataclasses import dataclass

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff, Store
from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.quality.extensions import low_rating_received
from huitouke.quality.models import Survey
from huitouke.quality.services.settings import settings_of

SALT = "huitouke.quality.satisfaction"


class LinkRefused(NotFound):
    """A forged, mangled or expired link: a plain 404 (nothing about the survey leaks)."""


class AlreadyAnswered(Conflict):
    code = "already_answered"


def survey_token(survey: Survey) -> str:
    return signing.dumps([survey.shop_id, survey.pk, survey.nonce], salt=SALT, compress=True)


@transaction.atomic
def create_survey(
    *, shop: Shop, order: Order | None = None, customer: Customer | None = None, store: Store | None = None,
    associate: Staff | None = None,
) -> tuple[Survey, str]:
    """A survey for an order (after delivery) or a customer's store visit; returns it and its link token."""
    for obj, name in ((order, "order"), (customer, "customer"), (store, "store"), (associate, "associate")):
        if obj is not None and obj.shop_id != shop.pk:
            raise NotFound(_("no such %(name)s"), field=name, params={"name": name})
    if order is None and customer is None:
        raise Invalid(_("a survey is for an order or a customer"), field="order")
    if order is not None:
        customer = customer or order.customer
        store = store or Store.objects.get(pk=order.store_id)
    if associate is None and customer is not None and customer.registered_by_id is not None:
        associate = customer.registered_by  # her associate: the one a low rating's follow-up goes to
    days = settings_of(shop=shop).survey_link_days
    now = timezone.now()
    survey = Survey.objects.create(
        shop=shop, order=order, customer=customer, store=store, associate=associate,
        nonce=secrets.token_urlsafe(12), created_at=now, expires_at=now + dt.timedelta(days=days),
    )
    return survey, survey_token(survey)


@transaction.atomic
def survey_for_order(*, shop: Shop, order: Order) -> tuple[Survey, str]:
    """The order's open survey (not answered, not expired) and its token, else a new one: however often the
    order's link is asked for, the customer has one survey to answer."""
    if order.shop_id != shop.pk:
        raise NotFound(_("no such order"), field="order")
    found = Survey.objects.for_shop(shop).filter(
        order=order, answered_at__isnull=True, expires_at__gt=timezone.now()).order_by("-id").first()
    if found is not None:
        return found, survey_token(found)
    return create_survey(shop=shop, order=order)


def survey_from_token(token: str, *, now: dt.datetime | None = None) -> Survey:
    """The open survey behind a link; LinkRefused (404) if forged/expired, AlreadyAnswered (409) if used."""
    try:
        shop_id, survey_id, nonce = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError) as exc:
        raise LinkRefused(_("this link is not valid")) from exc
    survey = Survey.objects.for_shop(shop_id).select_related("shop").filter(pk=survey_id, nonce=nonce).first()
    if survey is None or (now or timezone.now()) >= survey.expires_at:
        raise LinkRefused(_("this link is not valid or has expired"))
    if survey.answered_at is not None:
        raise AlreadyAnswered(_("thank you: this survey has already been answered"))
    return survey


@dataclass(frozen=True)
class Answer:
    goods_stars: int
    service_stars: int
    delivery_stars: int | None
    recommend: int
    comment: str = ""


def is_low(answer: Answer, *, stars_at_most: int, recommend_at_most: int) -> bool:
    stars = [s for s in (answer.goods_stars, answer.service_stars, answer.delivery_stars) if s is not None]
    return any(s <= stars_at_most for s in stars) or answer.recommend <= recommend_at_most


def _check(answer: Answer) -> None:
    for name in ("goods_stars", "service_stars", "delivery_stars"):
        value = getattr(answer, name)
        if value is None and name == "delivery_stars":
            continue
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
            raise Invalid(_("give 1 to 5 stars"), field=name)
    if not isinstance(answer.recommend, int) or isinstance(answer.recommend, bool) or not 0 <= answer.recommend <= 10:
        raise Invalid(_("give a number from 0 to 10"), field="recommend")
    if len(answer.comment) > 2000:
        raise Invalid(_("the comment is limited to 2000 characters"), field="comment")


@transaction.atomic
def answer_survey(*, token: str, answer: Answer) -> Survey:
    """Record the customer's answer once; a low rating flags it and fires the low-rating listeners."""
    _check(answer)
    found = survey_from_token(token)
    survey = Survey.objects.select_for_update().get(pk=found.pk)
    if survey.answered_at is not None:  # a second tab submitting at the same moment
        raise AlreadyAnswered(_("thank you: this survey has already been answered"))
    survey.goods_stars, survey.service_stars = answer.goods_stars, answer.service_stars
    survey.delivery_stars, survey.recommend = answer.delivery_stars, answer.recommend
    survey.comment = answer.comment.replace("\x00", "").strip()
    survey.answered_at = timezone.now()
    cut_offs = settings_of(shop=found.shop)
    survey.needs_follow_up = is_low(answer, stars_at_most=cut_offs.low_rating_stars,
                                    recommend_at_most=cut_offs.low_rating_recommend)
    survey.save()
    if survey.needs_follow_up:
        low_rating_received(shop=found.shop, survey=survey)
    return survey


@transaction.atomic
def mark_followed_up(*, shop: Shop, survey_id: int) -> Survey:
    survey = Survey.objects.for_shop(shop).filter(pk=survey_id, needs_follow_up=True).first()
    if survey is None:
        raise NotFound(_("no such survey"))
    survey.followed_up_at = survey.followed_up_at or timezone.now()
    survey.save(update_fields=["followed_up_at"])
    return survey
