"""Quality (DOMAIN §7): mystery-shopper audits, customer satisfaction, refund reasons, churn reasons.

Every table carries the shop; every unique key includes it. Scores are computed by services on write
(`services.audits.score_answers`), never in a template.
"""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped, Staff, Store
from huitouke.core.money import MoneyField
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine

# Audit photos stay out of any public static or media URL: a staff view checks the shop and the auditor's
# stores before serving one.
photo_storage = FileSystemStorage(location=settings.VAR_DIR / "quality-photos")


def audit_photo_storage() -> FileSystemStorage:
    """The field names this callable, not the storage, so the migration does not bake in a machine's path."""
    return photo_storage


class QualitySettings(ShopScoped):
    """The shop's quality thresholds (one row per shop, created on first use)."""

    quality_ok_threshold = models.DecimalField(
        _("quality-OK threshold (%)"), max_digits=5, decimal_places=2, default=Decimal("90.00"),
        validators=[MinValueValidator(0), MaxValueValidator(100)],
    )
    delivery_promise_hours = models.PositiveIntegerField(
        _("ship within (hours after payment)"), default=48, validators=[MinValueValidator(1), MaxValueValidator(720)],
    )
    survey_link_days = models.PositiveIntegerField(
        _("satisfaction links valid for (days)"), default=30, validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    # A satisfaction answer at or below either cut-off is low: flagged and followed up at once (DOMAIN §7).
    low_rating_stars = models.PositiveSmallIntegerField(
        _("low rating: stars at most"), default=2, validators=[MinValueValidator(1), MaxValueValidator(4)],
    )
    low_rating_recommend = models.PositiveSmallIntegerField(
        _("low rating: likelihood to recommend at most"), default=6,
        validators=[MinValueValidator(0), MaxValueValidator(9)],
    )

    class Meta:
        verbose_name = _("quality settings")
        verbose_name_plural = _("quality settings")
        constraints = [models.UniqueConstraint(fields=["shop"], name="quality_settings_one_per_shop")]


class AuditorStore(ShopScoped):
    """A store an auditor may audit; an auditor sees nothing of the other stores."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="+", verbose_name=_("auditor"))
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))

    class Meta:
        verbose_name = _("auditor's store")
        verbose_name_plural = _("auditors' stores")
        constraints = [
            models.UniqueConstraint(fields=["shop", "staff", "store"], name="auditor_store_unique"),
        ]


class AuditTemplate(ShopScoped):
    """A checklist, versioned: editing a template that audits were submitted with makes a new version and
    retires the old one, so a submitted audit keeps the questions, weights and score it was given."""

    class Kind(models.TextChoices):
        ONLINE = "online", _("Online shop")
        OFFLINE = "offline", _("Offline boutique")

    key = models.SlugField(_("key"), max_length=50)
    version = models.PositiveIntegerField(_("version"), default=1)
    name = models.CharField(_("name"), max_length=100)
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    is_active = models.BooleanField(_("in use"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit template")
        verbose_name_plural = _("audit templates")
        ordering = ["shop", "key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["shop", "key", "version"], name="audit_template_unique_version"),
            models.UniqueConstraint(fields=["shop", "key"], condition=Q(is_active=True),
                                    name="audit_template_one_active_version"),
        ]

    def __str__(self) -> str:
        return self.name


class AuditSection(ShopScoped):
    template = models.ForeignKey(AuditTemplate, on_delete=models.CASCADE, related_name="sections")
    title = models.CharField(_("title"), max_length=100)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("audit section")
        verbose_name_plural = _("audit sections")
        ordering = ["template", "position", "id"]

    def __str__(self) -> str:
        return self.title


class ItemKind(models.TextChoices):
    YES_NO = "yes_no", _("Yes / no")
    SCALE = "scale", _("Scale 0–N")
    TEXT = "text", _("Free text")
    PHOTO = "photo", _("Photo")


SCORED_KINDS = (ItemKind.YES_NO, ItemKind.SCALE)


class AuditItem(ShopScoped):
    """One checklist question. Yes/no and scale items are scored with their weight; text and photo
    items are evidence (weight 0)."""

    template = models.ForeignKey(AuditTemplate, on_delete=models.CASCADE, related_name="items")
    section = models.ForeignKey(AuditSection, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(_("code"), max_length=50)
    text = models.CharField(_("question"), max_length=300)
    guidance = models.CharField(_("how to check"), max_length=300, blank=True)
    kind = models.CharField(_("kind"), max_length=10, choices=ItemKind.choices)
    weight = models.PositiveSmallIntegerField(_("weight"), default=1)
    scale_max = models.PositiveSmallIntegerField(_("scale maximum"), default=0)
    allow_na = models.BooleanField(_("N/A allowed"), default=True)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("audit item")
        verbose_name_plural = _("audit items")
        ordering = ["template", "section__position", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["shop", "template", "code"], name="audit_item_unique_code")]

    def __str__(self) -> str:
        return self.text

    @property
    def is_scored(self) -> bool:
        return self.kind in SCORED_KINDS and self.weight > 0


class Audit(ShopScoped):
    """One mystery-shopper visit (暗访) of a store, with its computed 0–100 score."""

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    template = models.ForeignKey(AuditTemplate, on_delete=models.PROTECT, related_name="+", verbose_name=_("template"))
    auditor = models.ForeignKey(Staff, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("auditor"))
    visited_at = models.DateTimeField(_("visited at"))
    associate = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("associate on duty")
    )
    associate_name = models.CharField(_("associate on duty (as seen)"), max_length=50, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    score = models.DecimalField(_("score"), max_digits=5, decimal_places=1, null=True)
    created_at = models.DateTimeField(_("submitted at"), default=timezone.now)

    class Meta:
        verbose_name = _("audit")
        verbose_name_plural = _("audits")
        ordering = ["-visited_at", "-id"]
        indexes = [models.Index(fields=["shop", "store", "visited_at"], name="audit_store_time")]

    def __str__(self) -> str:
        return f"{self.store} {self.visited_at:%Y-%m-%d} {self.score}"


class AuditAnswer(ShopScoped):
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="answers")
    item = models.ForeignKey(AuditItem, on_delete=models.PROTECT, related_name="+")
    not_applicable = models.BooleanField(_("N/A"), default=False)
    value = models.PositiveSmallIntegerField(_("value"), null=True, blank=True, help_text=_("yes=1/no=0, or 0–N"))
    text = models.TextField(_("text"), blank=True)
    # The item's share of the score, 0–1 (None: unscored or N/A); kept so the weakest items are one query.
    ratio = models.DecimalField(max_digits=5, decimal_places=4, null=True)

    class Meta:
        verbose_name = _("audit answer")
        verbose_name_plural = _("audit answers")
        constraints = [models.UniqueConstraint(fields=["shop", "audit", "item"], name="audit_answer_unique_item")]


class AuditPhoto(ShopScoped):
    audit = models.ForeignKey(Audit, on_delete=models.CASCADE, related_name="photos")
    item = models.ForeignKey(AuditItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    file = models.FileField(storage=audit_photo_storage, upload_to="%Y/%m/")
    content_type = models.CharField(max_length=50)
    size = models.PositiveIntegerField()
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("audit photo")
        verbose_name_plural = _("audit photos")


class CorrectiveAction(ShopScoped):
    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        DONE = "done", _("Done")
        VERIFIED = "verified", _("Verified")

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+", verbose_name=_("store"))
    audit = models.ForeignKey(Audit, null=True, blank=True, on_delete=models.SET_NULL, related_name="actions")
    item = models.ForeignKey(AuditItem, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    description = models.CharField(_("what to do"), max_length=300)
    owner = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+", verbose_name=_("owner"))
    due_date = models.DateField(_("due"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    done_at = models.DateTimeField(null=True, blank=True)
    verified_at = models.DateTimeField(null=True, blank=True)
    verified_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("corrective action")
        verbose_name_plural = _("corrective actions")
        ordering = ["status", "due_date", "id"]
        indexes = [models.Index(fields=["shop", "store", "status"], name="action_store_status")]


class Survey(ShopScoped):
    """A satisfaction survey sent to one customer (after delivery or a store visit) and her answer.

    The link signs (shop, survey id, nonce); it is valid until `expires_at` and answers once."""

    store = models.ForeignKey(Store, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    customer = models.ForeignKey(Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    order = models.ForeignKey(Order, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    associate = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    nonce = models.CharField(max_length=24)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    answered_at = models.DateTimeField(null=True, blank=True)
    goods_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    service_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    delivery_stars = models.PositiveSmallIntegerField(null=True, blank=True)
    recommend = models.PositiveSmallIntegerField(null=True, blank=True, help_text=_("0–10"))
    comment = models.TextField(blank=True)
    needs_follow_up = models.BooleanField(_("needs follow-up"), default=False)
    followed_up_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("satisfaction survey")
        verbose_name_plural = _("satisfaction surveys")
        indexes = [models.Index(fields=["shop", "answered_at"], name="survey_answered")]
        constraints = [models.UniqueConstraint(fields=["shop", "nonce"], name="survey_unique_nonce")]


class RefundReasonCode(models.TextChoices):
    QUALITY = "quality", _("Quality problem")
    NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
    SIZE = "size", _("Size")
    CHANGED_MIND = "changed_mind", _("Changed mind")
    LOGISTICS = "logistics", _("Logistics")
    OTHER = "other", _("Other")


QUALITY_REASONS = (RefundReasonCode.QUALITY, RefundReasonCode.NOT_AS_DESCRIBED)


class RefundReason(ShopScoped):
    """Why (part of) an order was refunded: per order line, or for the whole order (line empty)."""

    class Source(models.TextChoices):
        STAFF = "staff", _("Staff")
        API = "api", _("API")
        IMPORT = "import", _("Platform refund reason")

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    line = models.ForeignKey(OrderLine, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("reason"), max_length=20, choices=RefundReasonCode.choices)
    units = models.PositiveIntegerField(_("units refunded"), null=True, blank=True)
    amount = MoneyField(_("amount refunded"), null=True, blank=True)
    platform_text = models.CharField(_("platform's reason text"), max_length=200, blank=True)
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.STAFF)
    recorded_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("refund reason")
        verbose_name_plural = _("refund reasons")
        constraints = [
            models.UniqueConstraint(fields=["shop", "line"], condition=Q(line__isnull=False),
                                    name="refund_reason_one_per_line"),
            models.UniqueConstraint(fields=["shop", "order"], condition=Q(line__isnull=True),
                                    name="refund_reason_one_per_order"),
        ]
        indexes = [models.Index(fields=["shop", "order"], name="refund_reason_order")]


class ChurnReasonCode(models.TextChoices):
    FORGOT = "forgot", _("Forgot the shop")
    POOR_EXPERIENCE = "poor_experience", _("Poor experience")
    NOTHING_DISTINCTIVE = "nothing_distinctive", _("Nothing distinctive")
    PRICE = "price", _("Price")
    OTHER = "other", _("Other")


# DOMAIN "why it matters": over 50% forget the shop, ~10% poor experience, ~15% nothing distinctive, ~20% price.
CHURN_REFERENCE = {"forgot": 50, "poor_experience": 10, "nothing_distinctive": 15, "price": 20, "other": 5}


class ChurnReason(ShopScoped):
    """A win-back survey answer: why this customer stopped buying (recorded by an associate or a contact)."""

    customer = models.ForeignKey(Customer, on_delete=models.CASCADE, related_name="+")
    code = models.CharField(_("reason"), max_length=20, choices=ChurnReasonCode.choices)
    comment = models.CharField(_("comment"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("churn reason")
        verbose_name_plural = _("churn reasons")
        indexes = [models.Index(fields=["shop", "recorded_at"], name="churn_reason_time")]


class Shipment(ShopScoped):
    """When an order left the warehouse (and arrived), imported or recorded, for the delivery promise."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="+")
    shipped_at = models.DateTimeField(_("shipped at"))
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("shipment")
        verbose_name_plural = _("shipments")
        constraints = [models.UniqueConstraint(fields=["shop", "order"], name="shipment_one_per_order")]
