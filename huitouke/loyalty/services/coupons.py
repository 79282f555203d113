"""Coupon templates and issuing: by staff, for a good review (好评送券), for favouriting the shop
(收藏送券), on a birthday, or in a targeted batch for a segment or a customer list.

Codes are 12 characters from a 31-letter alphabet without look-alikes (0/O, 1/I/L): 31¹² ≈ 8·10¹⁷
codes, drawn with `secrets`, so they cannot be guessed. Each issue names the event that earned it
(`issue_key`, unique per shop): the same review or the same birthday never earns two coupons.
"""

from __future__ import annotations

import datetime as dt
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.money import ZERO, money
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer
from huitouke.loyalty.extensions import batch_issued
from huitouke.loyalty.models import Coupon, CouponBatch, CouponTemplate, DiscountKind, Trigger
from huitouke.orders.models import ProductRole

CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 12
GOOD_REVIEW_MIN_STARS = 4


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(code: str) -> str:
    return "".join(ch for ch in (code or "").upper() if ch.isalnum())


@dataclass(frozen=True)
class TemplateInput:
    name: str
    kind: str
    value: Decimal
    min_spend: Decimal = ZERO
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    valid_days: int | None = None
    eligible_roles: tuple[str, ...] = ("traffic", "edge", "potential")
    allow_profit_products: bool = False
    per_customer_limit: int = 1
    stackable: bool = False
    trigger: str = Trigger.MANUAL


def _checked_template(data: TemplateInput) -> dict[str, Any]:
    if not data.name.strip():
        raise Invalid(gettext_lazy("a coupon template needs a name"), field="name")
    if data.kind not in DiscountKind.values:
        raise Invalid(gettext_lazy("kind must be one of %(choices)s"), field="kind",
                      params={"choices": ", ".join(DiscountKind.values)})
    value = Decimal(data.value)
    if data.kind == DiscountKind.PERCENT_OFF and not Decimal(0) < value < Decimal(100):
        raise Invalid(gettext_lazy("a percent-off coupon takes 0.01 to 99.99 percent off"), field="value")
    if data.kind == DiscountKind.AMOUNT_OFF and money(value) <= ZERO:
        raise Invalid(gettext_lazy("an amount-off coupon takes more than ¥0.00 off"), field="value")
    unknown = set(data.eligible_roles) - set(ProductRole.values)
    if not data.eligible_roles or unknown:
        raise Invalid(gettext_lazy("eligible_roles must be some of %(choices)s"), field="eligible_roles",
                      params={"choices": ", ".join(ProductRole.values)})
    if data.valid_from and data.valid_until and data.valid_until < data.valid_from:
        raise Invalid(gettext_lazy("valid_until is before valid_from"), field="valid_until")
    if data.valid_days is not None and data.valid_days <= 0:
        raise Invalid(gettext_lazy("valid_days must be 1 or more"), field="valid_days")
    if data.per_customer_limit < 1:
        raise Invalid(gettext_lazy("per_customer_limit must be 1 or more"), field="per_customer_limit")
    if data.trigger not in Trigger.values:
        raise Invalid(gettext_lazy("trigger must be one of %(choices)s"), field="trigger",
                      params={"choices": ", ".join(Trigger.values)})
    return {
        "name": data.name.strip()[:80], "kind": data.kind,
        "amount_off": money(value) if data.kind == DiscountKind.AMOUNT_OFF else None,
        "percent_off": value if data.kind == DiscountKind.PERCENT_OFF else None,
        "min_spend": money(data.min_spend), "valid_from": data.valid_from, "valid_until": data.valid_until,
        "valid_days": data.valid_days, "eligible_roles": sorted(set(data.eligible_roles)),
        "allow_profit_products": data.allow_profit_products, "per_customer_limit": data.per_customer_limit,
        "stackable": data.stackable, "trigger": data.trigger,
    }


@transaction.atomic
def create_template(*, shop: Shop, data: TemplateInput) -> CouponTemplate:
    return CouponTemplate.objects.create(shop=shop, **_checked_template(data))


def template_by_id(*, shop: Shop, template_id: int) -> CouponTemplate:
    template = CouponTemplate.objects.filter(shop=shop, pk=template_id).first()
    if template is None:
        raise NotFound(gettext_lazy("no such coupon template"), field="template_id")
    return template


def _validity(template: CouponTemplate, issued_on: dt.date) -> tuple[dt.date, dt.date | None]:
    start = max(template.valid_from or issued_on, issued_on)
    end = template.valid_until
    if template.valid_days:
        by_days = issued_on + dt.timedelta(days=template.valid_days - 1)
        end = min(end, by_days) if end else by_days
    return start, end


def _holds_limit(shop: Shop, template: CouponTemplate, customer_id: int) -> bool:
    held = Coupon.objects.filter(shop=shop, template=template, customer_id=customer_id).exclude(
        status=Coupon.Status.VOID
    ).count()
    return held >= template.per_customer_limit


def issue_coupon(
    *, shop: Shop, template: CouponTemplate, customer: Customer, issue_key: str, trigger: str | None = None,
    batch: CouponBatch | None = None, on: dt.date | None = None,
) -> tuple[Coupon, bool]:
    """Issue one coupon; (coupon, created). The same issue_key returns the first coupon."""
    if template.shop_id != shop.pk or customer.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such coupon template or customer in this shop"))
    on = on or today()
    with transaction.atomic():
        existing = Coupon.objects.filter(shop=shop, issue_key=issue_key).first()
        if existing is not None:
            return existing, False
        if not template.is_active:
            raise Conflict(gettext_lazy("coupon template %(template)s is switched off"), field="template_id",
                           params={"template": template.name})
        start, end = _validity(template, on)
        if end is not None and end < on:
            raise Conflict(gettext_lazy("coupon template %(template)s ended on %(end)s"), field="template_id",
                           params={"template": template.name, "end": end})
        if _holds_limit(shop, template, customer.pk):
            raise Conflict(
                gettext_lazy("the customer already holds %(per_customer_limit)s coupon(s) of %(template)s"),
                field="customer_id", code="coupon_limit",
                params={"per_customer_limit": template.per_customer_limit, "template": template.name},
            )
        return _create_with_fresh_code(
            shop=shop, template=template, customer_id=customer.pk, trigger=trigger or template.trigger,
            batch=batch, valid_from=start, valid_until=end, issue_key=issue_key[:120],
        ), True


def _create_with_fresh_code(**fields: Any) -> Coupon:
    for _attempt in range(5):  # a clash among 8·10¹⁷ codes is a once-in-a-lifetime event; retry anyway
        try:
            with transaction.atomic():
                return Coupon.objects.create(code=new_code(), **fields)
        except IntegrityError:
            same_event = Coupon.objects.filter(shop=fields["shop"], issue_key=fields["issue_key"]).first()
            if same_event is not None:  # a concurrent request for the same event won: its coupon it is
                return same_event
    raise Conflict(gettext_lazy("could not draw a free coupon code; try again"))


def _issue_for_trigger(shop: Shop, customer: Customer, trigger: str, event: str) -> list[Coupon]:
    """Every active template of this trigger issues one coupon for the event (a second call: none new)."""
    if customer.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such customer"), field="customer_id")
    issued = []
    for template in CouponTemplate.objects.filter(shop=shop, trigger=trigger, is_active=True).order_by("id"):
        try:
            coupon, created = issue_coupon(
                shop=shop, template=template, customer=customer, issue_key=f"{event}:t{template.pk}", trigger=trigger,
            )
        except Conflict:
            continue  # limit reached or template ended: this event earns nothing from it
        if created:
            issued.append(coupon)
    return issued


def record_good_review(*, shop: Shop, customer: Customer, review_id: str, stars: int) -> list[Coupon]:
    """好评送券: a review of GOOD_REVIEW_MIN_STARS or more earns the good-review coupons, once per review."""
    if not 1 <= stars <= 5:
        raise Invalid(gettext_lazy("stars must be 1 to 5"), field="stars")
    review_id = (review_id or "").strip()
    if not review_id:
        raise Invalid(gettext_lazy("review_id is required (the platform's review number)"), field="review_id")
    if stars < GOOD_REVIEW_MIN_STARS:
        return []
    return _issue_for_trigger(shop, customer, Trigger.GOOD_REVIEW, f"review:{review_id[:80]}")


def record_favourite(*, shop: Shop, customer: Customer) -> list[Coupon]:
    """收藏送券: favouriting the shop earns the favourite coupons once per customer."""
    return _issue_for_trigger(shop, customer, Trigger.FAVOURITE, f"favourite:{customer.pk}")


def issue_birthday_coupons(*, shop: Shop, on: dt.date | None = None) -> int:
    """Birthday coupons for customers whose (solar) birthday is `on`; once per customer and year."""
    on = on or today()
    customers = Customer.objects.for_shop(shop).filter(
        birth_month=on.month, birth_day=on.day, erased_at__isnull=True
    ).exclude(birthday_calendar="lunar")
    return sum(len(_issue_for_trigger(shop, c, Trigger.BIRTHDAY, f"birthday:{on.year}:{c.pk}")) for c in customers)


def issue_batch(
    *, shop: Shop, template: CouponTemplate, customer_ids: Iterable[int], audience: str, staff: Staff | None = None,
    announcement: str = "",
) -> CouponBatch:
    """One coupon per listed customer of this shop; those at the template's limit are counted as skipped."""
    ids = sorted(set(customer_ids))
    if not ids:
        raise Invalid(gettext_lazy("the audience is empty"), field="customer_ids")
    customers = list(Customer.objects.for_shop(shop).filter(pk__in=ids, erased_at__isnull=True))
    if len(customers) != len(ids):
        raise NotFound(gettext_lazy("some of these customers are not in this shop"), field="customer_ids")
    with transaction.atomic():
        batch = CouponBatch.objects.create(
            shop=shop, template=template, audience=audience[:200], announcement=announcement, created_by=staff,
        )
        coupon_ids = []
        for customer in customers:
            try:
                coupon, _ = issue_coupon(shop=shop, template=template, customer=customer, batch=batch,
                                         trigger=Trigger.BATCH, issue_key=f"batch:{batch.pk}:{customer.pk}")
                coupon_ids.append(coupon.pk)
                batch.issued += 1
            except Conflict:
                batch.skipped += 1
        batch.save(update_fields=["issued", "skipped"])
        if announcement.strip() and coupon_ids:
            batch_issued(shop=shop, batch=batch, coupon_ids=coupon_ids)
    return batch
