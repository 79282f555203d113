"""Stored report tables: the cohort and model-check tables of a shop, computed once and shown many times."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.models import ShopScoped


class StoredReport(ShopScoped):
    """One computed report (its `kind` and the `key` of its inputs: as-of day, months, holdout days).

    Both reports read every purchase of the shop (seconds at millions of orders), so pages show the stored
    table. A refresh replaces them; any change of the shop's purchases (import, order, merge) makes them
    stale (orders.extensions purchases listener), so a page never shows a table older than the data.
    """

    # The row of kind GENERATION counts the shop's purchase changes; a report is valid only while its
    # generation is the current one (a table computed during an import is never shown after it).
    GENERATION = "generation"

    kind = models.CharField(_("report"), max_length=20)
    key = models.CharField(_("inputs"), max_length=100)
    generation = models.PositiveIntegerField(_("generation"), default=0)
    data = models.JSONField(_("table"), default=dict)
    created_at = models.DateTimeField(_("computed at"), default=timezone.now)

    class Meta:
        verbose_name = _("stored report")
        verbose_name_plural = _("stored reports")
        constraints = [models.UniqueConstraint(fields=["shop", "kind", "key"], name="stored_report_unique_key")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"
