"""Request and response shapes of /api/v1/loyalty."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from ninja import Schema
from pydantic import Field

from huitouke.core.api import Id, MoneyIn, MoneyOut, StrictSchema

Sku = str


class CartLineIn(StrictSchema):
    sku: str = Field(..., min_length=1, max_length=64)
    quantity: int = Field(..., ge=1, le=10_000)
    unit_price: MoneyIn | None = Field(None, description="the product's price when left out")


class CheckoutIn(StrictSchema):
    customer_id: Id
    lines: list[CartLineIn] = Field(..., min_length=1, max_length=200)
    coupon_code: str = Field("", max_length=40)
    points: int = Field(0, ge=0, le=10**12, description="points to pay with")
    shipping: MoneyIn = Decimal("0")
    store: str = Field("", max_length=50, description="commit: the store slug the order is recorded in")
    order_number: str = Field("", max_length=64, description="commit: the till's own order number")


class DiscountOut(Schema):
    kind: str
    reason: str
    amount: str


class PricedLineOut(Schema):
    sku: str
    title: str
    role: str
    quantity: int
    unit_price: str
    gross: str
    discounts: list[DiscountOut]
    net: str


class QuoteOut(Schema):
    customer_id: int
    tier: str
    birthday_month: bool
    coupon_code: str | None
    lines: list[PricedLineOut]
    goods_total: str
    shipping: str
    discounts: list[DiscountOut]
    discount_total: str
    total: str
    points_available: int
    points_redeemed: int
    points_earned: int
    warnings: list[str]


class TierChangeOut(Schema):
    from_: str | None = Field(None, alias="from")
    to: str
    reason: str


class CommitOut(QuoteOut):
    order_id: int
    order_number: str
    points_balance: int
    tier_change: TierChangeOut | None
    replayed: bool = False


class TierOut(Schema):
    rank: int
    name: str
    min_spend: MoneyOut
    min_purchases: int
    discount_percent: Decimal
    free_shipping: bool
    birthday_extra_percent: Decimal
    points_multiplier: Decimal


class TierIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=40)
    min_spend: MoneyIn = Decimal("0")
    min_purchases: int = Field(0, ge=0, le=1_000_000)
    discount_percent: Decimal = Field(Decimal("0"), ge=0, lt=100, decimal_places=2)
    free_shipping: bool = False
    birthday_extra_percent: Decimal = Field(Decimal("0"), ge=0, lt=100, decimal_places=2)
    points_multiplier: Decimal = Field(Decimal("1"), gt=0, le=10, decimal_places=2)


class LadderIn(StrictSchema):
    tiers: list[TierIn] = Field(..., min_length=1, max_length=10)


class ProgrammeOut(Schema):
    tier_basis: str
    points_per_yuan: int
    expiry_policy: str
    expiry_days: int
    points_per_yuan_redeemed: int
    max_discount_percent: Decimal
    demotion_grace_days: int
    tiers: list[TierOut]


class ProgrammeIn(StrictSchema):
    tier_basis: str | None = None
    points_per_yuan: int | None = Field(None, ge=0, le=1000)
    expiry_policy: str | None = None
    expiry_days: int | None = Field(None, ge=1, le=36_500)
    points_per_yuan_redeemed: int | None = Field(None, ge=0, le=100_000)
    max_discount_percent: Decimal | None = Field(None, ge=0, le=100, decimal_places=2)
    demotion_grace_days: int | None = Field(None, ge=0, le=3650)


class CouponOut(Schema):
    code: str
    name: str
    status: str
    trigger: str
    valid_from: dt.date
    valid_until: dt.date | None


class NextTierOut(Schema):
    name: str
    missing: str = Field(..., description="yuan of spend (or purchases) still needed")
    basis: str


class MemberOut(Schema):
    customer_id: int
    tier: TierOut
    points: int
    coupons: list[CouponOut]
    next_tier: NextTierOut | None
    demotion_due_on: dt.date | None
    card_url: str


class PointsEntryOut(Schema):
    id: int
    at: dt.datetime
    kind: str
    delta: int
    expires_on: dt.date | None
    reason: str
    order_id: int | None


class PointsPage(Schema):
    count: int
    page: int
    page_size: int
    next_page: int | None
    previous_page: int | None
    items: list[PointsEntryOut]


class AdjustIn(StrictSchema):
    delta: int = Field(..., ge=-(10**12), le=10**12, description="points to add (or take, when negative)")
    reason: str = Field(..., min_length=1, max_length=300)


class GiftExchangeIn(StrictSchema):
    gift_id: Id


class RefundIn(StrictSchema):
    refunded_amount: MoneyIn = Field(..., description="the order's total refunded so far")


class RefundOut(Schema):
    order_id: int
    status: str
    refunded_amount: MoneyOut
    points_reversed: int
    points_balance: int


class TemplateIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=80)
    kind: str = Field(..., description="amount_off or percent_off")
    value: Decimal = Field(..., gt=0, lt=100_000_000, decimal_places=2, description="yuan off, or percent off")
    min_spend: MoneyIn = Decimal("0")
    valid_from: dt.date | None = None
    valid_until: dt.date | None = None
    valid_days: int | None = Field(None, ge=1, le=3650)
    eligible_roles: list[str] = Field(default_factory=lambda: ["traffic", "edge", "potential"])
    allow_profit_products: bool = False
    per_customer_limit: int = Field(1, ge=1, le=1000)
    stackable: bool = False
    trigger: str = "manual"


class TemplateOut(Schema):
    id: int
    name: str
    kind: str
    amount_off: MoneyOut | None
    percent_off: Decimal | None
    min_spend: MoneyOut
    valid_from: dt.date | None
    valid_until: dt.date | None
    valid_days: int | None
    eligible_roles: list[str]
    allow_profit_products: bool
    per_customer_limit: int
    stackable: bool
    trigger: str
    is_active: bool


class IssueIn(StrictSchema):
    template_id: Id
    customer_id: Id


class IssuedOut(Schema):
    code: str
    customer_id: int
    template_id: int
    valid_from: dt.date
    valid_until: dt.date | None
    created: bool


class ReviewIn(StrictSchema):
    customer_id: Id
    review_id: str = Field(..., min_length=1, max_length=80)
    stars: int = Field(..., ge=1, le=5)


class FavouriteIn(StrictSchema):
    customer_id: Id


class IssuedList(Schema):
    coupons: list[IssuedOut]


class BatchIn(StrictSchema):
    template_id: Id
    customer_ids: list[Id] | None = Field(None, max_length=100_000)
    segment: str | None = Field(None, max_length=20, description="an analytics segment, e.g. at_risk")
    announcement: str = Field("", max_length=500)


class BatchOut(Schema):
    id: int
    audience: str
    issued: int
    skipped: int


class GiftIn(StrictSchema):
    name: str = Field(..., min_length=1, max_length=80)
    stock: int = Field(..., ge=0, le=10_000_000)
    points_cost: int = Field(0, ge=0, le=10**9)
    for_parcels: bool = True


class GiftOut(Schema):
    id: int
    name: str
    stock: int
    points_cost: int
    for_parcels: bool
    is_active: bool


class ParcelGiftOut(Schema):
    gift: GiftOut | None
    message: str
