"""Products, orders and order lines. Money in Decimal (stored as fen), times aware."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import Shop, ShopScoped, Store
from huitouke.core.money import ZERO, MoneyField
from huitouke.core.timeutil import local_day
from huitouke.customers.models import Customer


class ProductRole(models.TextChoices):
    """DOMAIN §2: traffic and edge products carry promotions; profit products are never discounted."""

    TRAFFIC = "traffic", _("Traffic (引流)")
    PROFIT = "profit", _("Profit (利润)")
    EDGE = "edge", _("Edge (边缘)")
    POTENTIAL = "potential", _("Potential (潜力)")


class Product(ShopScoped):
    sku = models.CharField(_("SKU (商家编码)"), max_length=64)
    title = models.CharField(_("title"), max_length=200)
    category = models.CharField(_("category"), max_length=50, blank=True)
    price = MoneyField(_("price"))
    cost = MoneyField(_("cost"), null=True, blank=True)
    role = models.CharField(_("role"), max_length=10, choices=ProductRole.choices, default=ProductRole.EDGE)
    is_active = models.BooleanField(_("on sale"), default=True)

    class Meta:
        verbose_name = _("product")
        verbose_name_plural = _("products")
        ordering = ["shop", "sku"]
        constraints = [models.UniqueConstraint(fields=["shop", "sku"], name="product_unique_sku_per_shop")]

    def __str__(self) -> str:
        return f"{self.sku} {self.title}"


class OrderStatus(models.TextChoices):
    PENDING = "pending", _("Awaiting payment")
    PAID = "paid", _("Paid")
    SHIPPED = "shipped", _("Shipped")
    COMPLETED = "completed", _("Completed")
    CLOSED = "closed", _("Closed")
    REFUNDED = "refunded", _("Refunded")


PURCHASE_STATUSES = (OrderStatus.PAID, OrderStatus.SHIPPED, OrderStatus.COMPLETED)


def derived_figures(
    *, status: str, paid_amount: Decimal | None, refunded_amount: Decimal | None,
    paid_at: dt.datetime | None, ordered_at: dt.datetime | None,
) -> tuple[Decimal, bool, dt.date | None]:
    """(net amount, counts as a purchase, purchase day): one rule for the ORM and the bulk import."""
    net = (paid_amount or ZERO) - (refunded_amount or ZERO)
    is_purchase = status in PURCHASE_STATUSES and net > ZERO
    moment = paid_at or ordered_at
    return net, is_purchase, (local_day(moment) if is_purchase and moment else None)


# The big tables skip Django's one-column foreign-key indexes: every query here starts with the shop, and
# the composite indexes below serve them; each index costs a random B-tree write per imported row.
class Order(ShopScoped):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("shop"))
    store = models.ForeignKey(
        Store, on_delete=models.PROTECT, related_name="+", db_index=False, verbose_name=_("store")
    )
    external_id = models.CharField(_("order number"), max_length=64)
    customer = models.ForeignKey(
        Customer, null=True, blank=True, on_delete=models.SET_NULL, related_name="orders", db_index=False,
        verbose_name=_("customer"),
    )
    status = models.CharField(_("status"), max_length=10, choices=OrderStatus.choices)
    ordered_at = models.DateTimeField(_("ordered at"))
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)
    goods_amount = MoneyField(_("goods amount"), default=0)
    shipping_amount = MoneyField(_("shipping"), default=0)
    discount_amount = MoneyField(_("discount"), default=0)
    paid_amount = MoneyField(_("paid amount"), default=0)
    refunded_amount = MoneyField(_("refunded amount"), default=0)
    # Derived on save (see derive()): they make the headline figures one indexed scan.
    net_amount = MoneyField(_("net amount"), default=0)
    is_purchase = models.BooleanField(_("counts as a purchase"), default=False)
    purchase_day = models.DateField(_("purchase day"), null=True, blank=True)
    # A purchase on a day after the customer's first purchase day. It depends on the customer's
    # other orders, so services.refresh_customer_stats keeps it current, not derive().
    is_repeat = models.BooleanField(_("repeat purchase"), default=False)
    items_count = models.PositiveIntegerField(_("items"), default=0)
    note = models.CharField(_("note"), max_length=300, blank=True)
    # Fingerprint of the state an import last wrote (0: not imported); a re-import compares it, not the row.
    state_digest = models.BigIntegerField(default=0, editable=False)
    # Fingerprint of the file row it was last imported from (records.OrderRecord.source_digest; None: not from
    # one row): a re-import finds that row unchanged without parsing it.
    source_digest = models.BigIntegerField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("order")
        verbose_name_plural = _("orders")
        constraints = [
            models.UniqueConstraint(fields=["shop", "store", "external_id"], name="order_unique_external_id"),
        ]
        indexes = [
            # Covering indexes: the headline figures read only these columns, by customer or by day; the
            # analytics refresh reads the first one whole (discount_amount for the discount-only tag: without
            # it SQLite visits every order row, 3x slower at 1M orders).
            models.Index(
                fields=["shop", "is_purchase", "customer", "purchase_day", "is_repeat", "net_amount", "discount_amount"],
                name="order_purchases_by_customer",
            ),
            models.Index(
                fields=["shop", "is_purchase", "purchase_day", "is_repeat", "net_amount"], name="order_purchases_by_day"
            ),
            models.Index(fields=["shop", "customer", "ordered_at"], name="order_customer_time"),
            models.Index(fields=["shop", "-ordered_at"], name="order_recent"),
        ]

    def __str__(self) -> str:
        return self.external_id

    def derive(self) -> None:
        """Compute net amount, purchase flag and purchase day from the recorded facts (README: definitions)."""
        self.net_amount, self.is_purchase, self.purchase_day = derived_figures(
            status=self.status, paid_amount=self.paid_amount, refunded_amount=self.refunded_amount,
            paid_at=self.paid_at, ordered_at=self.ordered_at,
        )

    def save(self, *args, **kwargs) -> None:
        self.derive()
        super().save(*args, **kwargs)


class OrderLine(ShopScoped):
    shop = models.ForeignKey(Shop, on_delete=models.CASCADE, related_name="+", db_index=False, verbose_name=_("shop"))
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="lines", db_index=False)
    product = models.ForeignKey(
        Product, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    sku = models.CharField(_("SKU"), max_length=64, blank=True)
    title = models.CharField(_("title"), max_length=200)
    quantity = models.PositiveIntegerField(_("quantity"), default=1)
    unit_price = MoneyField(_("unit price"), default=0)
    line_amount = MoneyField(_("line amount"), default=0)

    class Meta:
        verbose_name = _("order line")
        verbose_name_plural = _("order lines")
        indexes = [models.Index(fields=["shop", "order"], name="line_order")]

    def __str__(self) -> str:
        return f"{self.title} × {self.quantity}"


class ImportRun(ShopScoped):
    """One import of an export file: what came in, what changed, what was wrong, who and when."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Imported")
        CHECKED = "checked", _("Checked (dry run)")
        REJECTED = "rejected", _("Rejected: nothing written")
        FAILED = "failed", _("Failed: nothing written")
        INTERRUPTED = "interrupted", _("Interrupted: nothing written")

    store = models.ForeignKey(Store, on_delete=models.PROTECT, related_name="+", verbose_name=_("store"))
    format = models.CharField(_("format"), max_length=20)
    file_name = models.CharField(_("file"), max_length=255)
    file_sha256 = models.CharField(_("file SHA-256"), max_length=64, db_index=True)
    file_size = models.BigIntegerField(_("file size"), default=0)
    items_file_name = models.CharField(_("item report"), max_length=255, blank=True)
    stored_path = models.CharField(max_length=500, blank=True, help_text=_("uploaded file kept for the worker"))
    dry_run = models.BooleanField(_("dry run"), default=False)
    skip_invalid = models.BooleanField(_("skip invalid rows"), default=False)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.QUEUED)
    rows = models.PositiveIntegerField(_("rows read"), default=0)
    counts = models.JSONField(_("counts"), default=dict)
    problems_count = models.PositiveIntegerField(_("problems"), default=0)
    problems = models.JSONField(_("first problems"), default=list)
    problems_file = models.CharField(_("problems file"), max_length=500, blank=True)
    message = models.TextField(_("message"), blank=True)
    pid = models.PositiveIntegerField(null=True, blank=True)
    created_by = models.ForeignKey(
        "core.Staff", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("by")
    )
    created_at = models.DateTimeField(_("started"), auto_now_add=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["shop", "-created_at"], name="import_recent")]

    def __str__(self) -> str:
        return f"#{self.pk} {self.file_name}"

    @property
    def is_active(self) -> bool:
        return self.status in (self.Status.QUEUED, self.Status.RUNNING)
