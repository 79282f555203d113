"""The shop's quality settings (threshold, delivery promise, link validity, low-rating cut-offs): one row per
shop, made on first change; owners and managers change them (the same pattern as analytics' thresholds)."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import transaction

from huitouke.core.errors import Invalid
from huitouke.core.models import Shop, Staff
from huitouke.core.services import require_manager
from huitouke.quality.models import QualitySettings

SETTING_FIELDS = (
    "quality_ok_threshold", "delivery_promise_hours", "survey_link_days", "low_rating_stars", "low_rating_recommend",
)


def settings_of(*, shop: Shop) -> QualitySettings:
    found = QualitySettings.objects.filter(shop=shop).first()
    return found or QualitySettings(shop=shop)


@transaction.atomic
def update_settings(*, shop: Shop, staff: Staff, **changes: Any) -> QualitySettings:
    """Change some of the shop's quality settings; a value out of range changes nothing (Invalid names it)."""
    require_manager(shop=shop, staff=staff, action="change the quality settings")
    if unknown := set(changes) - set(SETTING_FIELDS):
        raise Invalid(f"unknown setting(s): {', '.join(sorted(unknown))}", field=sorted(unknown)[0])
    current = QualitySettings.objects.select_for_update().filter(shop=shop).first() or QualitySettings(shop=shop)
    for name, value in changes.items():
        setattr(current, name, value)
    try:
        current.full_clean(exclude=["shop"])
    except ValidationError as exc:
        name, problems = next(iter(exc.message_dict.items()))
        raise Invalid(f"{name}: {' '.join(problems)}", field=name) from exc
    current.save()
    return current
