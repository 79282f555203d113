"""Every shop table not given its own admin is listed read-only here (web is the last domain-facing app,
so every other app's admin has registered by now).

Read-only on purpose: ledgers (points, balances, consumptions), the outbox, scores and other derived
figures change only through their services, which keep balances equal to their entries and write the
audit trail. An admin form would bypass that.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib import admin
from django.http import HttpRequest

from huitouke.core.admin import ShopScopedAdmin
from huitouke.core.models import ShopScoped

_LIST_COLUMNS = 6


class ReadOnlyShopAdmin(ShopScopedAdmin):
    show_full_result_count = False  # a COUNT(*) over a big ledger on every page is not worth it

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_list_display(self, request: HttpRequest) -> list[str]:
        names = [f.name for f in self.model._meta.concrete_fields if f.name != "shop" and not f.many_to_many]
        return names[:_LIST_COLUMNS]


def register_remaining_shop_models() -> list[str]:
    """Register each huitouke shop-scoped model that has no admin yet; returns their labels."""
    added = []
    for model in apps.get_models():
        if model.__module__.startswith("huitouke") and issubclass(model, ShopScoped) and not admin.site.is_registered(model):
            admin.site.register(model, ReadOnlyShopAdmin)
            added.append(model._meta.label)
    return added


register_remaining_shop_models()
