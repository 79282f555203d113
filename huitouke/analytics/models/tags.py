"""Owner-editable auto-tag rules: one row per shop and rule kind; the refresh applies the enabled ones."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped


class RuleKind(models.TextChoices):
    """The built-in rules; what each means, with its parameters, is in analytics.autotags.DEFAULTS."""

    CATEGORY_FAN = "category_fan", _("Category fan")
    BIRTHDAY_MONTH = "birthday_month", _("Birthday this month")
    BIG_SPENDER = "big_spender", _("Big spender")
    DISCOUNT_ONLY = "discount_only", _("Buys only on discount")
    LAPSED_VIP = "lapsed_vip", _("Lapsed VIP")


class AutoTagRule(ShopScoped):
    """A rule that tags customers on every analytics refresh (CustomerTag rows with source "auto").

    `tag_name` may hold `{category}` (the category-fan rule makes one tag per category); `params` holds
    the rule's thresholds, checked by analytics.autotags.clean_params.
    """

    Kind = RuleKind

    kind = models.CharField(_("rule"), max_length=20, choices=RuleKind.choices)
    tag_name = models.CharField(_("tag name"), max_length=50)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)

    class Meta:
        verbose_name = _("auto-tag rule")
        verbose_name_plural = _("auto-tag rules")
        constraints = [models.UniqueConstraint(fields=["shop", "kind"], name="auto_tag_rule_unique_kind")]

    def __str__(self) -> str:
        return f"{self.kind}: {self.tag_name}"
