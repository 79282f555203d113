"""The shop's quality settings (threshold, delivery promise, link validity, low-rating cut-offs): one row per
shop, made on first change; owners and managers change them (the same pattern as analytics' thresholds)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_lazy as _

from huitouke.core.models import Shop, Staff
from huitouke.core.services import update_shop_settings
from huitouke.quality.models import QualitySettings

SETTING_FIELDS = (
    "quality_ok_threshold", "delivery_promise_hours", "survey_link_days", "low_rating_stars", "low_rating_recommend",
)


def settings_of(*, shop: Shop) -> QualitySettings:
    found = QualitySettings.objects.filter(shop=shop).first()
    return found or QualitySettings(shop=shop)


def update_settings(*, shop: Shop, staff: Staff, **changes: Any) -> QualitySettings:
    """Change some of the shop's quality settings; a value out of range changes nothing (Invalid names it)."""
    return update_shop_settings(QualitySettings, shop=shop, staff=staff, allowed=SETTING_FIELDS,
                                action=_("change the quality settings"), changes=changes)
