"""One row of the shop by id, for the services: another shop's row is NotFound, like a missing one."""

from __future__ import annotations

from typing import TypeVar

from django.db import models
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop

Row = TypeVar("Row", bound=models.Model)


def shop_row(model: type[Row], *, shop: Shop, pk: int, label: str, lock: bool = False) -> Row:
    """The shop's `model` row `pk` (row-locked with `lock`), or NotFound("<label> <pk> not found")."""
    rows = model.objects.for_shop(shop)
    row = (rows.select_for_update(of=("self",)) if lock else rows).filter(pk=pk).first()
    if row is None:
        # the labels (campaign, complaint, event, task) are in this app's catalogue, so the page names the row
        raise NotFound(_("%(label)s %(pk)s not found"), params={"label": _(label), "pk": pk})
    return row
