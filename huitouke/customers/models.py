"""The customer archive: one row per real person, hard + soft profile, identities, consent, tags."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import Platform, ShopQuerySet, ShopScoped, Staff, Store
from huitouke.core.money import MoneyField


class Gender(models.TextChoices):
    UNKNOWN = "", _("Unknown")
    FEMALE = "female", _("Female")
    MALE = "male", _("Male")


class Calendar(models.TextChoices):
    SOLAR = "solar", _("Solar (公历)")
    LUNAR = "lunar", _("Lunar (农历)")


class Channel(models.TextChoices):
    SMS = "sms", _("SMS")
    EMAIL = "email", _("E-mail")
    PHONE = "phone", _("Phone call")
    WECHAT = "wechat", _("WeChat / Wangwang")


class CustomerQuerySet(ShopQuerySet):
    def for_shop(self, shop) -> CustomerQuerySet:
        """The shop's customers; those merged into another person are folded away (see CustomerMerge)."""
        return self.filter(shop=shop, merged_into__isnull=True)

    def including_merged(self, shop) -> CustomerQuerySet:
        return self.filter(shop=shop)


class Customer(ShopScoped):
    # Hard profile (20% of completeness)
    name = models.CharField(_("name"), max_length=100)
    gender = models.CharField(_("gender"), max_length=10, choices=Gender.choices, blank=True, default="")
    birthday_calendar = models.CharField(
        _("birthday calendar"), max_length=5, choices=Calendar.choices, default=Calendar.SOLAR
    )
    birth_year = models.PositiveSmallIntegerField(_("birth year"), null=True, blank=True)
    birth_month = models.PositiveSmallIntegerField(_("birth month"), null=True, blank=True)
    birth_day = models.PositiveSmallIntegerField(_("birth day"), null=True, blank=True)
    birth_leap_month = models.BooleanField(_("lunar leap month"), default=False)
    approx_age = models.PositiveSmallIntegerField(_("approximate age"), null=True, blank=True)
    ethnicity = models.CharField(_("ethnicity"), max_length=30, blank=True)
    clothing_size = models.CharField(_("clothing size"), max_length=30, blank=True)
    # Soft profile (80% of completeness), learned over time
    occupation = models.CharField(_("occupation"), max_length=100, blank=True)
    family = models.CharField(_("family"), max_length=200, blank=True)
    personality = models.CharField(_("personality"), max_length=200, blank=True)
    shopping_habits = models.CharField(_("shopping habits"), max_length=300, blank=True)
    style_preferences = models.CharField(_("style preferences"), max_length=300, blank=True)
    hobbies = models.CharField(_("hobbies"), max_length=300, blank=True)
    lifestyle = models.CharField(_("lifestyle"), max_length=300, blank=True)
    preferred_channel = models.CharField(
        _("preferred contact channel"), max_length=10, choices=Channel.choices, blank=True
    )
    values = models.CharField(_("values"), max_length=300, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    # Registration
    registered_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("registered by")
    )
    registered_store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("registered at")
    )
    registered_at = models.DateTimeField(_("registered at"), default=timezone.now)
    do_not_contact = models.BooleanField(_("do not contact"), default=False)
    erased_at = models.DateTimeField(_("erased at"), null=True, blank=True)
    # Set when this record turned out to be the same person as another one; undoing the merge clears it.
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("merged into")
    )
    # Who brought her in (a customer of the same shop), and when that was recorded: the referral rule thanks
    # both and has her called within a week (engagement.rules).
    referred_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="referrals",
        verbose_name=_("referred by"),
    )
    referred_at = models.DateTimeField(_("referral recorded at"), null=True, blank=True)
    completeness = models.PositiveSmallIntegerField(_("profile completeness"), default=0)
    # Purchase figures kept current by the orders app (see orders.services.refresh_customer_stats)
    orders_count = models.PositiveIntegerField(_("purchases"), default=0)
    items_count = models.PositiveIntegerField(_("items"), default=0)
    purchase_days = models.PositiveIntegerField(_("visits"), default=0)
    net_spend = MoneyField(_("net spend"), default=0)
    first_purchase_at = models.DateTimeField(_("first purchase"), null=True, blank=True)
    last_purchase_at = models.DateTimeField(_("last purchase"), null=True, blank=True)

    objects = CustomerQuerySet.as_manager()

    class Meta:
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [
            models.Index(fields=["shop", "-last_purchase_at"], name="customer_recent"),
            models.Index(fields=["shop", "name"], name="customer_name"),
            models.Index(fields=["shop", "registered_at"], name="customer_registered"),
            # the referral rule's "recorded that day"; partial, so imports of customers without one pay nothing
            models.Index(fields=["shop", "referred_at"], name="customer_referred",
                         condition=Q(referred_at__isnull=False)),
            # a merge moves the absorbed customers' referrals: without it SQLite (no statistics) reads the
            # shop's customers through customer_registered to find them, ~7 ms a merge batch at 300k customers
            models.Index(fields=["shop", "referred_by"], name="customer_referrer",
                         condition=Q(referred_by__isnull=False)),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def is_erased(self) -> bool:
        return self.erased_at is not None

    @property
    def average_order_value(self):
        from huitouke.core.money import ZERO, money

        return money(self.net_spend / self.orders_count) if self.orders_count else ZERO


class CustomerPhone(ShopScoped):
    """A phone in E.164. Masked phones from exports (138****5678) are kept but never matched on."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="phones", db_index=False)
    e164 = models.CharField(_("phone (E.164)"), max_length=20, null=True, blank=True)
    masked = models.CharField(_("phone (masked)"), max_length=20)
    tail4 = models.CharField(max_length=4)  # searched through the (shop, tail4) index below
    is_primary = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("phone")
        verbose_name_plural = _("phones")
        constraints = [
            models.UniqueConstraint(
                fields=["shop", "e164"], condition=Q(e164__isnull=False), name="phone_unique_per_shop"
            )
        ]
        indexes = [
            models.Index(fields=["shop", "tail4"], name="phone_tail"),
            # (customer, shop) instead of the FK's own one-column index, here and on the other
            # per-customer tables: given `shop_id = ? AND customer_id IN (…)` (a merge moves the rows of
            # hundreds of customers at once) SQLite otherwise prefers the one-column shop index and walks
            # the whole shop; `customer_id = ?` alone (related managers, prefetches) still seeks this one.
            models.Index(fields=["customer", "shop"], name="phone_customer"),
        ]

    def __str__(self) -> str:
        return self.masked


class CustomerEmail(ShopScoped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="emails", db_index=False)
    email = models.EmailField(_("e-mail"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("e-mail")
        verbose_name_plural = _("e-mails")
        constraints = [models.UniqueConstraint(fields=["shop", "email"], name="email_unique_per_shop")]
        indexes = [models.Index(fields=["customer", "shop"], name="email_customer")]

    def __str__(self) -> str:
        return self.email


class PlatformIdentity(ShopScoped):
    """A buyer account on a platform (nickname or buyer ID), e.g. taobao:小鱼儿2019."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="identities", db_index=False)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    handle = models.CharField(_("buyer nickname / ID"), max_length=100)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("platform identity")
        verbose_name_plural = _("platform identities")
        constraints = [
            models.UniqueConstraint(fields=["shop", "platform", "handle"], name="identity_unique_per_shop")
        ]
        indexes = [models.Index(fields=["customer", "shop"], name="identity_customer")]
        # No index on the handle alone: nickname search is a substring match (LIKE '%…%'), which no
        # B-tree serves, and every import would pay for one more random index write per account.

    def __str__(self) -> str:
        return f"{self.platform}:{self.handle}"


class Address(ShopScoped):
    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="addresses", db_index=False)
    recipient = models.CharField(_("recipient"), max_length=100, blank=True)
    region = models.CharField(_("province / city / district"), max_length=100, blank=True)
    detail = models.CharField(_("street address"), max_length=300)
    postcode = models.CharField(_("postcode"), max_length=10, blank=True)
    is_default = models.BooleanField(_("default"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    # A merge leaves an address on the absorbed record when the kept one already has the same.
    MERGE_DEDUPE_ON = ("recipient", "region", "detail")

    class Meta:
        verbose_name = _("address")
        verbose_name_plural = _("addresses")
        indexes = [models.Index(fields=["customer", "shop"], name="address_customer")]

    def __str__(self) -> str:
        return f"{self.region} {self.detail}".strip()


class Consent(ShopScoped):
    """Append-only consent history per channel; the latest entry per channel is in force."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="consents")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    granted = models.BooleanField(_("granted"))
    at = models.DateTimeField(_("at"), default=timezone.now)
    source = models.CharField(_("source"), max_length=100, help_text=_("e.g. in-store form, import, API"))
    recorded_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["shop", "customer", "channel", "-at"], name="consent_latest")]

    def __str__(self) -> str:
        return f"{self.channel}={'yes' if self.granted else 'no'}"


class Tag(ShopScoped):
    name = models.CharField(_("name"), max_length=50)

    class Meta:
        verbose_name = _("tag")
        verbose_name_plural = _("tags")
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="tag_unique_per_shop")]

    def __str__(self) -> str:
        return self.name


class CustomerTag(ShopScoped):
    class Source(models.TextChoices):
        MANUAL = "manual", _("Set by staff")
        AUTO = "auto", _("Rule")

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="customer_tags")
    tag = models.ForeignKey(Tag, on_delete=models.CASCADE, related_name="customer_tags")
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.MANUAL)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("customer tag")
        verbose_name_plural = _("customer tags")
        constraints = [models.UniqueConstraint(fields=["shop", "customer", "tag"], name="customer_tag_unique")]

    def __str__(self) -> str:
        return self.tag.name


class CustomerMerge(ShopScoped):
    """Two records found to be one person: `absorbed`'s rows were moved to `kept`. Undo moves them back.

    `moved` lists exactly which rows moved ({"app_label.model": [ids]}), so an undo puts back those
    and nothing added since. An undone merge also keeps the two apart in later imports.
    """

    class Reason(models.TextChoices):
        SAME_PHONE = "same_phone", _("Same phone number")
        SAME_EMAIL = "same_email", _("Same e-mail")
        MANUAL = "manual", _("Merged by staff")

    kept = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="merges", verbose_name=_("kept"))
    absorbed = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+", verbose_name=_("merged"))
    reason = models.CharField(_("reason"), max_length=20, choices=Reason.choices)
    evidence = models.CharField(_("evidence"), max_length=100, blank=True, help_text=_("masked, e.g. 138****5678"))
    source = models.CharField(_("source"), max_length=100, blank=True, help_text=_("e.g. import #12"))
    moved = models.JSONField(default=dict)
    filled_fields = models.JSONField(default=list)
    created_at = models.DateTimeField(_("merged at"), default=timezone.now)
    created_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    undone_at = models.DateTimeField(_("undone at"), null=True, blank=True)
    undone_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("customer merge")
        verbose_name_plural = _("customer merges")
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["shop", "kept"], name="merge_kept"),
            models.Index(fields=["shop", "absorbed"], name="merge_absorbed"),
        ]

    def __str__(self) -> str:
        return f"{self.absorbed_id} → {self.kept_id} ({self.reason})"
