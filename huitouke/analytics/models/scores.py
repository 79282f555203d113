"""Stored results of an analytics refresh: one score row per buying customer and one run row per refresh."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped
from huitouke.core.money import MoneyField


class Segment(models.TextChoices):
    """RFM segments; the rules that assign them are in CustomerScore's docstring."""

    CHAMPIONS = "champions", "重要价值客户"
    AT_RISK = "at_risk", "重要保持客户"
    PROMISING = "promising", "重要发展客户"
    WIN_BACK = "win_back", "重要挽留客户"
    LOYAL_LOW_SPEND = "loyal_low_spend", "一般价值客户"
    DEVELOPING = "developing", "一般发展客户"
    KEEP = "keep", "一般保持客户"
    LOW_VALUE = "low_value", "一般挽留客户"
    NEW = "new", "新客户"
    LOST = "lost", "流失客户"


# The segments' names are Chinese by the shop's trade (RFM's 重要价值客户 …); these are their English names,
# shown beside them (and by the API) rather than in place of them, so both teams use the same words.
SEGMENT_NAMES_EN: dict[str, str] = {
    Segment.CHAMPIONS: "Champions",
    Segment.AT_RISK: "High value, lapsing",
    Segment.PROMISING: "High value, buys rarely",
    Segment.WIN_BACK: "High spend, to win back",
    Segment.LOYAL_LOW_SPEND: "Loyal, low spend",
    Segment.DEVELOPING: "Recent, developing",
    Segment.KEEP: "Frequent, low spend, lapsing",
    Segment.LOW_VALUE: "Low value",
    Segment.NEW: "New",
    Segment.LOST: "Lost",
}


class CustomerScore(ShopScoped):
    """A customer's RFM figures, segment and model predictions as of a day (one row per buying customer).

    RFM scores are 1–5 per shop: a value's score is 1 + ⌊5 · (customers with a worse value) / customers⌋,
    so equal values always share a score and the worst value scores 1 (recency: fewer days since the last
    purchase is better; frequency and monetary: more is better).

    Segments, first rule that matches:
    1. 流失客户 lost: no purchase for more than `lost_after_days` (365) days.
    2. 新客户 new: a single purchase day, within the last `new_within_days` (30) days.
    3. Otherwise by R, F, M, each "high" when its score is ≥ 3:
       R F M high → 重要价值客户 champions; F M high, R low → 重要保持客户 at risk;
       R M high, F low → 重要发展客户 promising; M high only → 重要挽留客户 win back;
       R F high, M low → 一般价值客户; R high only → 一般发展客户; F high only → 一般保持客户;
       none high → 一般挽留客户.
    Model fields are NULL when the shop's data could not be fitted (the reason is on the ModelRun).

    `days_overdue` = days since the last purchase − the customer's own mean gap between purchase days
    ((last − first purchase day) / repeat purchase days); positive: the next purchase is that late.
    NULL for one-time buyers, who have no gap of their own.
    """

    Segment = Segment

    customer = models.ForeignKey(
        "customers.Customer", on_delete=models.CASCADE, related_name="scores", db_index=False,
        verbose_name=_("customer"),
    )
    as_of = models.DateField(_("as of"))
    recency_days = models.PositiveIntegerField(_("days since last purchase"))
    frequency = models.PositiveIntegerField(_("repeat purchase days"))
    monetary = MoneyField(_("mean spend per purchase day"))
    r_score = models.PositiveSmallIntegerField(_("R score"))
    f_score = models.PositiveSmallIntegerField(_("F score"))
    m_score = models.PositiveSmallIntegerField(_("M score"))
    segment = models.CharField(_("segment"), max_length=20, choices=Segment.choices)
    p_alive = models.FloatField(_("probability still active"), null=True, blank=True)
    expected_purchases_90 = models.FloatField(_("expected purchases in 90 days"), null=True, blank=True)
    expected_purchases_365 = models.FloatField(_("expected purchases in 365 days"), null=True, blank=True)
    clv_12m = MoneyField(_("12-month customer value"), null=True, blank=True)
    # Stored (not computed per request) so that lists can sort and filter by it at 1M customers;
    # the refresh computes it for all customers at once from arrays it already has.
    days_overdue = models.FloatField(_("days past the usual gap"), null=True, blank=True)
    # The Pareto/NBD model's view (fitted beside BG/NBD; ModelRun.params["purchase_model"] names the one
    # with the better likelihood on the shop's data).
    pareto_p_alive = models.FloatField(_("probability still active (Pareto/NBD)"), null=True, blank=True)
    pareto_expected_purchases_365 = models.FloatField(
        _("expected purchases in 365 days (Pareto/NBD)"), null=True, blank=True
    )
    computed_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("customer score")
        verbose_name_plural = _("customer scores")
        constraints = [
            models.UniqueConstraint(fields=["shop", "customer"], name="customer_score_unique_customer"),
        ]
        indexes = [models.Index(fields=["shop", "segment"], name="customer_score_segment")]

    def __str__(self) -> str:
        return f"{self.customer_id}: {self.get_segment_display()}"


class ModelRun(ShopScoped):
    """One refresh of a shop's scores: what was fitted, or in plain words why a model could not be."""

    as_of = models.DateField(_("as of"))
    customers = models.PositiveIntegerField(_("customers scored"), default=0)
    params = models.JSONField(_("fitted parameters"), default=dict, blank=True)
    message = models.TextField(_("message"), blank=True)
    duration_seconds = models.FloatField(_("duration (seconds)"), default=0.0)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("model run")
        verbose_name_plural = _("model runs")
        indexes = [models.Index(fields=["shop", "-created_at"], name="model_run_recent")]

    def __str__(self) -> str:
        return f"{self.as_of}: {self.customers} customers"
