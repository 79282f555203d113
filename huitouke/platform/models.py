"""Platform mode: an operator (the Shop) signs merchants, verifies its members at their tills, records what
they spend, and bills a monthly commission from each merchant's prepaid balance.

Every table is scoped by the operator's shop; rows that belong to one merchant also carry the merchant, and
every merchant-facing read filters by it. Ledgers (prepaid balance, member points) are append-only with a
unique idempotency key; the cached balance on the owning row moves with each entry under that row's lock.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped, Staff
from huitouke.core.money import MoneyField


class Merchant(ShopScoped):
    """A merchant that signed the repeat-customer agreement. Its row is the lock for its balance ledger."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("name"), max_length=100)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.ACTIVE)
    suspended_reason = models.CharField(_("suspension reason"), max_length=200, blank=True)
    # A cache of the sum of the merchant's balance entries, written with each entry under the row lock.
    balance = MoneyField(_("prepaid balance"), default=Decimal("0.00"))
    low_since = models.DateTimeField(_("balance low since"), null=True, blank=True)
    topup_deadline = models.DateField(_("top-up deadline"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("merchant")
        verbose_name_plural = _("merchants")
        ordering = ["shop", "name"]
        constraints = [models.UniqueConstraint(fields=["shop", "name"], name="platform_merchant_unique_name")]

    def __str__(self) -> str:
        return self.name


class MerchantStore(ShopScoped):
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="stores")
    name = models.CharField(_("name"), max_length=100)
    address = models.CharField(_("address"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("merchant store")
        verbose_name_plural = _("merchant stores")
        ordering = ["shop", "merchant", "name"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "merchant", "name"], name="platform_store_unique_name"),
        ]

    def __str__(self) -> str:
        return self.name


class MerchantStaff(ShopScoped):
    """A merchant's login: a staff account of the operator's shop that acts for this merchant only."""

    staff = models.OneToOneField(Staff, on_delete=models.CASCADE, related_name="merchant_link")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="logins")

    class Meta:
        verbose_name = _("merchant login")
        verbose_name_plural = _("merchant logins")

    def __str__(self) -> str:
        return f"{self.staff} @ {self.merchant}"


class Member(ShopScoped):
    """A platform member, identified by phone (E.164). Its row is the lock for its points ledger."""

    phone_e164 = models.CharField(_("phone (E.164)"), max_length=20)
    points_balance = models.BigIntegerField(_("points balance"), default=0)
    # Her record in the operator's customer archive, made at her first SMS: the outbox, consent and
    # opt-out all live there.
    customer = models.ForeignKey("customers.Customer", null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+", verbose_name=_("customer record"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("member")
        verbose_name_plural = _("members")
        constraints = [models.UniqueConstraint(fields=["shop", "phone_e164"], name="platform_member_unique_phone")]

    def __str__(self) -> str:
        from huitouke.core.pii import mask_phone

        return mask_phone(self.phone_e164)


class GroupBuy(ShopScoped):
    """A member took part in a group-buy (团购) at a merchant: from then on she is eligible there."""

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="group_buys")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="group_buys")
    day = models.DateField(_("group-buy day"))
    reference = models.CharField(_("reference"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("group-buy")
        verbose_name_plural = _("group-buys")
        constraints = [
            models.UniqueConstraint(fields=["shop", "merchant", "member", "day"], name="platform_groupbuy_unique_day"),
        ]

    def __str__(self) -> str:
        return f"{self.member} @ {self.merchant} {self.day}"


class Method(models.TextChoices):
    PHONE = "phone", _("Phone number")
    BACKOFFICE = "backoffice", _("Merchant back-office")
    QR = "qr", _("QR code")


class Agreement(ShopScoped):
    """One version of a merchant's terms; the version in force at a moment is the newest one effective by then."""

    class Validity(models.TextChoices):
        FIXED = "fixed", _("Fixed dates")
        AFTER_GROUP_BUY = "after_group_buy", _("N days after the group-buy")

    class Commission(models.TextChoices):
        FLAT = "flat", _("Flat rate")
        TIERED = "tiered", _("Tiered by monthly volume")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="agreements")
    version = models.PositiveIntegerField(_("version"))
    # The share of the price a repeat customer pays: 0.85 is 8.5折.
    discount_rate = models.DecimalField(_("discount rate"), max_digits=5, decimal_places=4)
    excluded_items = models.JSONField(_("excluded items"), default=list, blank=True)
    validity = models.CharField(_("validity"), max_length=20, choices=Validity.choices, default=Validity.FIXED)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_until = models.DateField(_("valid until"), null=True, blank=True)
    valid_days = models.PositiveIntegerField(_("days after the group-buy"), null=True, blank=True)
    methods = models.JSONField(_("verification methods"), default=list)
    stores = models.ManyToManyField(
        MerchantStore, through="AgreementStore", blank=True, related_name="+", verbose_name=_("stores"),
    )
    commission = models.CharField(_("commission"), max_length=20, choices=Commission.choices, default=Commission.FLAT)
    commission_rate = models.DecimalField(_("commission rate"), max_digits=5, decimal_places=4, default=Decimal(0))
    # [[threshold yuan as string, rate as string], …] ascending; the month's whole volume takes the rate of
    # the highest threshold it reaches.
    commission_tiers = models.JSONField(_("commission tiers"), default=list, blank=True)
    most_favoured = models.BooleanField(_("most-favoured discount promised"), default=True)
    effective_from = models.DateTimeField(_("effective from"))
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    submitted_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = _("agreement version")
        verbose_name_plural = _("agreement versions")
        ordering = ["shop", "merchant", "version"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "merchant", "version"], name="platform_agreement_unique_version"),
        ]
        indexes = [models.Index(fields=["shop", "merchant", "effective_from"])]

    def __str__(self) -> str:
        return f"{self.merchant} v{self.version}"


class AgreementStore(ShopScoped):
    """A store an agreement version applies to (an explicit link table, so it carries the shop like every table)."""

    agreement = models.ForeignKey(Agreement, on_delete=models.CASCADE, related_name="+")
    store = models.ForeignKey(MerchantStore, on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("agreement store")
        verbose_name_plural = _("agreement stores")
        constraints = [
            models.UniqueConstraint(fields=["shop", "agreement", "store"], name="platform_agreement_store_unique"),
        ]


class BalanceEntry(ShopScoped):
    """One movement of a merchant's prepaid balance (yuan, signed). Append-only; never refunded."""

    class Kind(models.TextChoices):
        DEPOSIT = "deposit", _("Deposit at signing")
        TOPUP = "topup", _("Top-up")
        COMMISSION = "commission", _("Commission")
        ADJUSTMENT = "adjustment", _("Adjustment")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="balance_entries")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    amount = MoneyField(_("amount"))
    idempotency_key = models.CharField(max_length=120)
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    statement = models.ForeignKey("Statement", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("balance entry")
        verbose_name_plural = _("balance entries")
        ordering = ["shop", "merchant", "id"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "idempotency_key"], name="platform_balance_unique_key"),
        ]

    def __str__(self) -> str:
        return f"{self.merchant} {self.kind} {self.amount}"


class BalanceAlert(ShopScoped):
    """The balance fell below the minimum: the merchant must top up by the deadline (Chinese working days)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="alerts")
    balance = MoneyField(_("balance"))
    deadline = models.DateField(_("top-up deadline"))
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("balance alert")
        verbose_name_plural = _("balance alerts")
        ordering = ["shop", "-at"]

    def __str__(self) -> str:
        return f"{self.merchant} {self.balance} by {self.deadline}"


class Verification(ShopScoped):
    """Every verification at a till, whatever its outcome (the log the agreement's disputes rest on)."""

    class Outcome(models.TextChoices):
        ELIGIBLE = "eligible", _("Eligible")
        NOT_MEMBER = "not_member", _("Not a member")
        NO_GROUP_BUY = "no_group_buy", _("No group-buy at this merchant")
        EXPIRED = "expired", _("Discount expired")
        NOT_YET_VALID = "not_yet_valid", _("Discount not yet valid")
        EXCLUDED_STORE = "excluded_store", _("Store not covered")
        METHOD_NOT_ALLOWED = "method_not_allowed", _("Verification method not allowed")
        NO_AGREEMENT = "no_agreement", _("No agreement in force")
        SUSPENDED = "suspended", _("Merchant suspended")
        BAD_TOKEN = "bad_token", _("QR code forged or expired")
        LOCKED = "locked", _("Too many failed look-ups: locked")
        THROTTLED = "throttled", _("Too many look-ups: slow down")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="verifications")
    store = models.ForeignKey(MerchantStore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(_("method"), max_length=20, choices=Method.choices)
    member = models.ForeignKey(Member, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    phone_masked = models.CharField(_("phone (masked)"), max_length=20, blank=True)
    outcome = models.CharField(_("outcome"), max_length=30, choices=Outcome.choices)
    agreement = models.ForeignKey(Agreement, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    discount_rate = models.DecimalField(_("discount rate"), max_digits=5, decimal_places=4, null=True, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("verification")
        verbose_name_plural = _("verifications")
        indexes = [models.Index(fields=["shop", "merchant", "at"])]

    def __str__(self) -> str:
        return f"{self.merchant} {self.phone_masked} {self.outcome}"


class VerifyThrottle(ShopScoped):
    """Look-ups and misses per merchant login in the current window; the counter behind rate limit and lockout."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=60)
    window_start = models.DateTimeField()
    lookups = models.PositiveIntegerField(default=0)
    misses = models.PositiveIntegerField(default=0)
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["shop", "key"], name="platform_throttle_unique_key")]

    def __str__(self) -> str:
        return self.key


class Consumption(ShopScoped):
    """A repeat-customer purchase the merchant recorded (amount after discount), or the reversal of one.

    Corrections are a reversal (negative amount, `reverses` set) plus a new record, never an edit. It counts
    in the statement of the Shanghai month in which it completed.
    """

    class Kind(models.TextChoices):
        RECORD = "record", _("Record")
        REVERSAL = "reversal", _("Reversal")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="consumptions")
    member = models.ForeignKey(Member, on_delete=models.PROTECT, related_name="consumptions")
    store = models.ForeignKey(MerchantStore, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    verification = models.ForeignKey(Verification, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.RECORD)
    reverses = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal")
    amount = MoneyField(_("amount after discount"))
    items = models.JSONField(_("items"), default=list, blank=True)
    points = models.BigIntegerField(_("points"), default=0)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"))
    month = models.DateField(_("statement month"))  # first day of the Shanghai month of completed_at
    idempotency_key = models.CharField(max_length=120)
    staff = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.CharField(_("reason"), max_length=300, blank=True)
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("consumption")
        verbose_name_plural = _("consumptions")
        constraints = [
            models.UniqueConstraint(fields=["shop", "merchant", "idempotency_key"], name="platform_consumption_key"),
        ]
        indexes = [models.Index(fields=["shop", "merchant", "month"])]

    def __str__(self) -> str:
        return f"{self.merchant} {self.amount} {self.completed_at:%Y-%m-%d}"


class MemberPoints(ShopScoped):
    """The platform's points ledger for its members (10 per yuan by default); append-only."""

    class Kind(models.TextChoices):
        EARN = "earn", _("Earned")
        REVERSAL = "reversal", _("Reversed")
        REDEEM = "redeem", _("Redeemed")
        ADJUSTMENT = "adjustment", _("Adjustment")

    member = models.ForeignKey(Member, on_delete=models.CASCADE, related_name="points")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    delta = models.BigIntegerField(_("points"))
    consumption = models.ForeignKey(Consumption, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    prize = models.ForeignKey("Prize", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=120)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("member points entry")
        verbose_name_plural = _("member points entries")
        constraints = [models.UniqueConstraint(fields=["shop", "idempotency_key"], name="platform_points_unique_key")]

    def __str__(self) -> str:
        return f"{self.member} {self.delta:+d}"


class Statement(ShopScoped):
    """A merchant's monthly statement: repeat-customer spend, the rate that applies, the commission."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="statements")
    month = models.DateField(_("month"))  # the first day
    agreement = models.ForeignKey(Agreement, on_delete=models.PROTECT, related_name="+")
    spend = MoneyField(_("repeat-customer spend"))
    rate = models.DecimalField(_("commission rate"), max_digits=5, decimal_places=4)
    commission = MoneyField(_("commission"))
    consumptions = models.PositiveIntegerField(_("consumption records"), default=0)
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    due_on = models.DateField(_("due on"))

    class Meta:
        verbose_name = _("statement")
        verbose_name_plural = _("statements")
        ordering = ["shop", "-month", "merchant"]
        constraints = [models.UniqueConstraint(fields=["shop", "merchant", "month"], name="platform_statement_month")]

    def __str__(self) -> str:
        return f"{self.merchant} {self.month:%Y-%m}"


class StatementLine(ShopScoped):
    """One consumption record on a statement: every figure traces back to its record."""

    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="lines")
    consumption = models.OneToOneField(Consumption, on_delete=models.PROTECT, related_name="statement_line")
    amount = MoneyField(_("amount"))

    class Meta:
        verbose_name = _("statement line")
        verbose_name_plural = _("statement lines")

    def __str__(self) -> str:
        return f"{self.statement} #{self.consumption_id}"


class Prize(ShopScoped):
    """A prize in the operator's catalogue that members exchange their points for."""

    name = models.CharField(_("name"), max_length=100)
    points_cost = models.PositiveBigIntegerField(_("points"))
    stock = models.PositiveIntegerField(_("in stock"), default=0)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("prize")
        verbose_name_plural = _("prizes")
        ordering = ["shop", "points_cost", "name"]

    def __str__(self) -> str:
        return self.name


class Dispute(ShopScoped):
    """A merchant disputes one line of its statement; the operator rejects it (the platform's record stands)
    or settles it with an adjustment entry in the balance ledger. Neither edits the statement or the record."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        REJECTED = "rejected", _("Rejected: the platform's record stands")
        ADJUSTED = "adjusted", _("Settled by an adjustment")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="disputes")
    line = models.ForeignKey(StatementLine, on_delete=models.PROTECT, related_name="disputes")
    reason = models.CharField(_("reason"), max_length=500)
    status = models.CharField(_("status"), max_length=20, choices=Status.choices, default=Status.OPEN)
    raised_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raised_at = models.DateTimeField(_("raised at"), default=timezone.now)
    # The spend the operator took off the statement, and the commission credited back for it.
    disputed_spend = MoneyField(_("spend taken off"), null=True, blank=True)
    adjustment = models.OneToOneField(BalanceEntry, null=True, blank=True, on_delete=models.PROTECT,
                                      related_name="dispute")
    note = models.CharField(_("resolution note"), max_length=500, blank=True)
    resolved_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)

    class Meta:
        verbose_name = _("dispute")
        verbose_name_plural = _("disputes")
        ordering = ["shop", "-raised_at"]
        constraints = [models.UniqueConstraint(fields=["shop", "line"], name="platform_dispute_one_per_line")]

    def __str__(self) -> str:
        return f"{self.merchant} line {self.line_id} ({self.status})"
