"""The shop's quality settings (threshold, delivery promise, link validity): one row, made on first use."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction

from huitouke.core.errors import Invalid
from huitouke.core.models import Shop
from huitouke.quality.models import QualitySettings


def settings_of(*, shop: Shop) -> QualitySettings:
    found = QualitySettings.objects.filter(shop=shop).first()
    return found or QualitySettings(shop=shop)


@transaction.atomic
def update_settings(
    *, shop: Shop, quality_ok_threshold: Decimal | None = None, delivery_promise_hours: int | None = None,
    survey_link_days: int | None = None,
) -> QualitySettings:
    current, _ = QualitySettings.objects.get_or_create(shop=shop)
    if quality_ok_threshold is not None:
        if not Decimal(0) <= quality_ok_threshold <= Decimal(100):
            raise Invalid("the threshold is a percentage from 0 to 100", field="quality_ok_threshold")
        current.quality_ok_threshold = quality_ok_threshold
    if delivery_promise_hours is not None:
        if not 1 <= delivery_promise_hours <= 24 * 30:
            raise Invalid("the promise is 1 to 720 hours", field="delivery_promise_hours")
        current.delivery_promise_hours = delivery_promise_hours
    if survey_link_days is not None:
        if not 1 <= survey_link_days <= 365:
            raise Invalid("links are valid 1 to 365 days", field="survey_link_days")
        current.survey_link_days = survey_link_days
    current.save()
    return current
