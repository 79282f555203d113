"""Tenancy: the shop (tenant), its stores (sales channels), staff, API tokens and the PII access log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

if TYPE_CHECKING:
    pass


class Shop(models.Model):
    """The tenant. Every domain row carries a shop; every query is scoped by it."""

    slug = models.SlugField(_("slug"), max_length=50, unique=True)
    name = models.CharField(_("name"), max_length=100)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("shop")
        verbose_name_plural = _("shops")
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class ShopQuerySet(models.QuerySet):
    def for_shop(self, shop: Shop | int) -> ShopQuerySet:
        return self.filter(shop=shop)


class ShopScoped(models.Model):
    """Base for every domain table: a shop column first (the Citus distribution key later)."""

    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, verbose_name=_("shop"), related_name="+")

    objects = ShopQuerySet.as_manager()

    class Meta:
        abstract = True


class Platform(models.TextChoices):
    TAOBAO = "taobao", _("Taobao")
    TMALL = "tmall", _("Tmall")
    JD = "jd", _("JD")
    YOUZAN = "youzan", _("Youzan")
    PINDUODUO = "pinduoduo", _("Pinduoduo")
    SHOPIFY = "shopify", _("Shopify")
    OFFLINE = "offline", _("Offline store")


class Store(ShopScoped):
    """A sales channel of the shop: a platform storefront or a physical boutique."""

    name = models.CharField(_("name"), max_length=100)
    slug = models.SlugField(_("slug"), max_length=50)
    platform = models.CharField(_("platform"), max_length=20, choices=Platform.choices)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("store")
        verbose_name_plural = _("stores")
        ordering = ["shop", "slug"]
        constraints = [models.UniqueConstraint(fields=["shop", "slug"], name="store_unique_slug_per_shop")]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_platform_display()})"


class Role(models.TextChoices):
    OWNER = "owner", _("Owner")
    MANAGER = "manager", _("Manager")
    ASSOCIATE = "associate", _("Sales associate")
    # A mystery shopper (暗访): sees and submits audits of the stores assigned to it, nothing else.
    AUDITOR = "auditor", _("Auditor (mystery shopper)")
    # A platform merchant's login (platform mode): its merchant's portal and till, nothing of the operator's.
    MERCHANT = "merchant", _("Merchant login (platform)")


MANAGER_ROLES = (Role.OWNER, Role.MANAGER)  # who sets the shop's policy and may see full personal data


class Staff(ShopScoped):
    """A login's membership in one shop, with its role."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff", verbose_name=_("user")
    )
    role = models.CharField(_("role"), max_length=20, choices=Role.choices, default=Role.ASSOCIATE)
    display_name = models.CharField(_("display name"), max_length=50)
    store = models.ForeignKey(
        Store, null=True, blank=True, on_delete=models.SET_NULL, verbose_name=_("home store"), related_name="+"
    )

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")
        ordering = ["shop", "display_name"]

    def __str__(self) -> str:
        return self.display_name

    @property
    def can_view_pii(self) -> bool:
        """Owners and managers may reveal full personal data (each reveal is logged)."""
        return self.role in MANAGER_ROLES


class ApiToken(ShopScoped):
    """A staff member's API token. Only a SHA-256 hash is kept; the token is shown once."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="tokens", verbose_name=_("staff"))
    name = models.CharField(_("name"), max_length=100, default="api")
    prefix = models.CharField(_("prefix"), max_length=12)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)

    class Meta:
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class AccessLog(ShopScoped):
    """Who saw or exported which customer's full personal data, and when."""

    class Action(models.TextChoices):
        REVEAL = "reveal", _("Full personal data viewed")
        EXPORT = "export", _("Personal data exported")
        ERASE = "erase", _("Personal data erased")

    staff = models.ForeignKey(Staff, null=True, on_delete=models.SET_NULL, related_name="+")
    actor = models.CharField(_("actor"), max_length=100, help_text=_("username, token prefix or 'cli'"))
    action = models.CharField(_("action"), max_length=20, choices=Action.choices)
    object_type = models.CharField(max_length=50)
    object_id = models.BigIntegerField()
    at = models.DateTimeField(default=timezone.now, db_index=True)
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("access log entry")
        verbose_name_plural = _("access log")
        ordering = ["-at"]
        indexes = [models.Index(fields=["shop", "object_type", "object_id"])]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor} {self.action} {self.object_type}#{self.object_id}"


def log_access(*, shop: Shop, staff: Staff | None, actor: str, action: str, obj: Any, **detail: Any) -> AccessLog:
    return AccessLog.objects.create(
        shop=shop, staff=staff, actor=actor, action=action,
        object_type=obj._meta.model_name, object_id=obj.pk, detail=detail,
    )
