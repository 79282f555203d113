"""Loyalty programme: tiers, the points ledger, coupons, gifts and checkout idempotency.

分钱分离: points are the loyalty currency, kept apart from price; discounts are events. The points
ledger is append-only: a balance is the sum of its entries, corrections are new entries.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped
from huitouke.core.money import MoneyField

# Foreign keys inside the app are RESTRICT, not PROTECT: a shop deleted as a whole takes its ledger rows
# with it, while deleting just a tier, template or gift that rows still point to is refused.


class TierBasis(models.TextChoices):
    LIFETIME_SPEND = "lifetime_spend", _("Lifetime net spend")
    TRAILING_SPEND = "trailing_spend", _("Net spend in the last 12 months")
    PURCHASES = "purchases", _("Number of purchases")


class ExpiryPolicy(models.TextChoices):
    NEVER = "never", _("Points never expire")
    END_OF_NEXT_YEAR = "end_of_next_year", _("At the end of the year after they were earned")
    AFTER_DAYS = "after_days", _("A number of days after they were earned")


class Programme(ShopScoped):
    """A shop's loyalty settings (one row per shop, created with defaults on first use)."""

    tier_basis = models.CharField(
        _("tier basis"), max_length=20, choices=TierBasis.choices, default=TierBasis.LIFETIME_SPEND
    )
    points_per_yuan = models.PositiveIntegerField(_("points per yuan of net spend"), default=10)
    expiry_policy = models.CharField(
        _("points expiry"), max_length=20, choices=ExpiryPolicy.choices, default=ExpiryPolicy.END_OF_NEXT_YEAR
    )
    expiry_days = models.PositiveIntegerField(_("days until points expire"), default=365)
    points_per_yuan_redeemed = models.PositiveIntegerField(
        _("points worth ¥1 at checkout (0: points buy gifts only)"), default=100
    )
    max_discount_percent = models.DecimalField(
        _("margin guard: most combined discount (%)"), max_digits=5, decimal_places=2, default=Decimal("30")
    )
    demotion_grace_days = models.PositiveIntegerField(_("grace before a tier goes down (days)"), default=90)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("loyalty programme")
        verbose_name_plural = _("loyalty programmes")
        constraints = [models.UniqueConstraint(fields=["shop"], name="programme_one_per_shop")]

    def __str__(self) -> str:
        return f"programme of shop {self.shop_id}"


class Tier(ShopScoped):
    """One rung of the shop's ladder; rank 0 is the entry tier every member starts in."""

    rank = models.PositiveSmallIntegerField(_("rank"))
    name = models.CharField(_("name"), max_length=40)
    min_spend = MoneyField(_("qualifying spend"), default=0)
    min_purchases = models.PositiveIntegerField(_("qualifying purchases"), default=0)
    discount_percent = models.DecimalField(_("member discount (%)"), max_digits=5, decimal_places=2, default=0)
    free_shipping = models.BooleanField(_("free shipping"), default=False)
    birthday_extra_percent = models.DecimalField(
        _("extra discount in the birthday month (%)"), max_digits=5, decimal_places=2, default=0
    )
    points_multiplier = models.DecimalField(_("points multiplier"), max_digits=4, decimal_places=2, default=1)

    class Meta:
        verbose_name = _("tier")
        verbose_name_plural = _("tiers")
        ordering = ["shop", "rank"]
        constraints = [models.UniqueConstraint(fields=["shop", "rank"], name="tier_unique_rank")]

    def __str__(self) -> str:
        return self.name


class Membership(ShopScoped):
    """A customer's place in the programme. Its row is the lock every points write takes first."""

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    tier = models.ForeignKey(Tier, on_delete=models.RESTRICT, related_name="+", verbose_name=_("tier"))
    tier_since = models.DateTimeField(_("in this tier since"), default=timezone.now)
    # Set by a yearly review that found the customer below her tier: she keeps it until this day.
    demotion_due_on = models.DateField(_("tier goes down on"), null=True, blank=True)
    # A cache of the sum of the customer's entries, written with each entry under the row lock.
    points_balance = models.BigIntegerField(_("points"), default=0)
    joined_at = models.DateTimeField(_("joined"), default=timezone.now)

    class Meta:
        verbose_name = _("membership")
        verbose_name_plural = _("memberships")
        constraints = [models.UniqueConstraint(fields=["shop", "customer"], name="membership_unique_customer")]
        indexes = [models.Index(fields=["shop", "tier"], name="membership_tier")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.tier_id}"


class TierChange(ShopScoped):
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    from_tier = models.ForeignKey(Tier, null=True, on_delete=models.RESTRICT, related_name="+")
    to_tier = models.ForeignKey(Tier, on_delete=models.RESTRICT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("tier change")
        verbose_name_plural = _("tier changes")
        indexes = [models.Index(fields=["shop", "customer", "at"], name="tier_change_customer")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.from_tier_id} → {self.to_tier_id}"


class PointsEntry(ShopScoped):
    """One line of the points ledger. Positive entries are lots that expire; negative ones consume lots
    first-in-first-out (`lot` names the lot an expiry or a refund reversal takes from first)."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REDEEM = "redeem", _("Redeemed")
        REVERSAL = "reversal", _("Reversed (refund)")
        EXPIRY = "expiry", _("Expired")
        ADJUSTMENT = "adjustment", _("Adjusted")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    delta = models.BigIntegerField(_("points"))
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    lot = models.ForeignKey("self", null=True, blank=True, on_delete=models.RESTRICT, related_name="+", db_index=False)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    gift = models.ForeignKey("Gift", null=True, blank=True, on_delete=models.RESTRICT, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    staff = models.ForeignKey("core.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    idempotency_key = models.CharField(max_length=120)
    created_at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("points entry")
        verbose_name_plural = _("points entries")
        constraints = [
            models.UniqueConstraint(fields=["shop", "idempotency_key"], name="points_entry_unique_key"),
            models.CheckConstraint(condition=~models.Q(delta=0), name="points_entry_not_zero"),
        ]
        indexes = [
            models.Index(fields=["shop", "customer", "id"], name="points_customer"),
            models.Index(fields=["shop", "kind", "expires_on"], name="points_expiring"),
            models.Index(fields=["shop", "order"], name="points_order"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.delta:+d}"


class DiscountKind(models.TextChoices):
    AMOUNT_OFF = "amount_off", _("Amount off")
    PERCENT_OFF = "percent_off", _("Percent off")


class Trigger(models.TextChoices):
    MANUAL = "manual", _("Issued by staff")
    GOOD_REVIEW = "good_review", _("Good review (好评送券)")
    FAVOURITE = "favourite", _("Shop favourited (收藏送券)")
    BIRTHDAY = "birthday", _("Birthday")
    BATCH = "batch", _("Targeted batch")


def default_roles() -> list[str]:
    return ["traffic", "edge", "potential"]


class CouponTemplate(ShopScoped):
    name = models.CharField(_("name"), max_length=80)
    kind = models.CharField(_("kind"), max_length=12, choices=DiscountKind.choices)
    amount_off = MoneyField(_("amount off"), null=True, blank=True)
    percent_off = models.DecimalField(_("percent off"), max_digits=5, decimal_places=2, null=True, blank=True)
    min_spend = MoneyField(_("minimum spend on eligible items"), default=0)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("valid for days after issue"), null=True, blank=True)
    eligible_roles = models.JSONField(_("product roles it applies to"), default=default_roles)
    # Profit products are never discounted unless the owner says so here, for this template.
    allow_profit_products = models.BooleanField(_("owner override: also discounts profit products"), default=False)
    per_customer_limit = models.PositiveIntegerField(_("coupons per customer"), default=1)
    stackable = models.BooleanField(_("stacks with the member discount"), default=False)
    trigger = models.CharField(_("issued on"), max_length=12, choices=Trigger.choices, default=Trigger.MANUAL)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon template")
        verbose_name_plural = _("coupon templates")
        ordering = ["shop", "-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "trigger"], name="coupon_template_trigger")]

    def __str__(self) -> str:
        return self.name


class CouponBatch(ShopScoped):
    """A targeted issue of one template to an audience (a segment or a customer list)."""

    template = models.ForeignKey(CouponTemplate, on_delete=models.RESTRICT, related_name="+")
    audience = models.CharField(_("audience"), max_length=200)
    announcement = models.TextField(_("announcement"), blank=True)
    issued = models.PositiveIntegerField(_("coupons issued"), default=0)
    skipped = models.PositiveIntegerField(_("customers skipped (limit reached)"), default=0)
    created_by = models.ForeignKey("core.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        verbose_name = _("coupon batch")
        verbose_name_plural = _("coupon batches")
        ordering = ["shop", "-created_at", "-id"]

    def __str__(self) -> str:
        return f"batch {self.pk}: {self.audience}"


class Coupon(ShopScoped):
    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        VOID = "void", _("Void")

    template = models.ForeignKey(CouponTemplate, on_delete=models.RESTRICT, related_name="coupons")
    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    code = models.CharField(_("code"), max_length=20)
    trigger = models.CharField(_("issued on"), max_length=12, choices=Trigger.choices)
    batch = models.ForeignKey(CouponBatch, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    valid_from = models.DateField(_("valid from"))
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    redeemed_at = models.DateTimeField(_("redeemed"), null=True, blank=True)
    order = models.ForeignKey(
        "orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    # The event that earned it (e.g. "review:123"), so the same review never earns two coupons.
    issue_key = models.CharField(max_length=120)

    class Meta:
        verbose_name = _("coupon")
        verbose_name_plural = _("coupons")
        constraints = [
            models.UniqueConstraint(fields=["shop", "code"], name="coupon_unique_code"),
            models.UniqueConstraint(fields=["shop", "issue_key"], name="coupon_unique_issue"),
        ]
        indexes = [
            models.Index(fields=["shop", "customer", "template"], name="coupon_customer"),
            models.Index(fields=["shop", "template", "status"], name="coupon_template_status"),
            models.Index(fields=["shop", "batch"], name="coupon_batch"),
        ]

    def __str__(self) -> str:
        return self.code


class Gift(ShopScoped):
    """A catalogue item: exchanged for points, and/or slipped into a repeat customer's parcel."""

    name = models.CharField(_("name"), max_length=80)
    points_cost = models.PositiveIntegerField(_("points to exchange (0: not exchangeable)"), default=0)
    stock = models.PositiveIntegerField(_("in stock"), default=0)
    for_parcels = models.BooleanField(_("surprise gift for parcels"), default=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("gift")
        verbose_name_plural = _("gifts")
        ordering = ["shop", "name"]

    def __str__(self) -> str:
        return self.name


class GiftGiven(ShopScoped):
    """A gift that went to a customer; one row per (customer, gift) so nobody gets the same surprise twice."""

    class Way(models.TextChoices):
        PARCEL = "parcel", _("Surprise in the parcel")
        POINTS = "points", _("Exchanged for points")

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("customer")
    )
    gift = models.ForeignKey(Gift, on_delete=models.RESTRICT, related_name="given")
    way = models.CharField(_("how"), max_length=8, choices=Way.choices)
    order = models.ForeignKey("orders.Order", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("gift given")
        verbose_name_plural = _("gifts given")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "customer", "gift"], condition=models.Q(way="parcel"), name="gift_parcel_once",
            ),
        ]
        indexes = [models.Index(fields=["shop", "customer"], name="gift_given_customer")]

    def __str__(self) -> str:
        return f"{self.gift_id} → {self.customer_id}"


class Checkout(ShopScoped):
    """A committed checkout, kept under its Idempotency-Key: a retry gets the first answer back."""

    idempotency_key = models.CharField(max_length=120)
    request_digest = models.CharField(max_length=64)
    order = models.ForeignKey("orders.Order", on_delete=models.RESTRICT, related_name="+", db_index=False)
    customer = models.ForeignKey("customers.Customer", on_delete=models.CASCADE, related_name="+", db_index=False)
    coupon = models.ForeignKey(Coupon, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    response = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "idempotency_key"], name="checkout_unique_key")]

    def __str__(self) -> str:
        return self.idempotency_key
