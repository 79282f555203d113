"""A shop's own analytics thresholds (defaults: the documented rules in CustomerScore's docstring)."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped


class AnalyticsSettings(ShopScoped):
    """One row per shop, created with the defaults on first use (selectors.thresholds_of)."""

    lost_after_days = models.PositiveIntegerField(
        _("lost after days without a purchase"), default=365,
        validators=[MinValueValidator(30), MaxValueValidator(3650)],
    )
    new_within_days = models.PositiveIntegerField(
        _("new customer: first purchase within days"), default=30,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    high_score = models.PositiveSmallIntegerField(
        _("R, F or M counts as high from score"), default=3, validators=[MinValueValidator(2), MaxValueValidator(5)],
    )
    risk_p_alive = models.FloatField(
        _("at risk below P(alive)"), default=0.5, validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
    )
    win_back_min_score = models.PositiveSmallIntegerField(
        _("win-back list: F or M score at least"), default=4,
        validators=[MinValueValidator(1), MaxValueValidator(5)],
    )

    class Meta:
        verbose_name = _("analytics settings")
        verbose_name_plural = _("analytics settings")
        constraints = [models.UniqueConstraint(fields=["shop"], name="analytics_settings_one_per_shop")]

    def __str__(self) -> str:
        return f"analytics settings of shop {self.shop_id}"
