"""Admin: superusers see every shop; a shop's staff with admin access see only their shop's rows."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest

from huitouke.core.models import AccessLog, ApiToken, Shop, Staff, Store


def _shop_of(request: HttpRequest):
    staff = getattr(request.user, "staff", None)
    return staff.shop if staff is not None else None


class ShopScopedAdmin(admin.ModelAdmin):
    """Filters rows, foreign-key choices and new rows to the user's shop."""

    def get_queryset(self, request: HttpRequest):
        qs = super().get_queryset(request)
        if request.user.is_superuser:
            return qs
        shop = _shop_of(request)
        return qs.filter(shop=shop) if shop is not None else qs.none()

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        return excluded if request.user.is_superuser else [*excluded, "shop"]

    def save_model(self, request, obj, form, change) -> None:
        if not request.user.is_superuser:
            obj.shop = _shop_of(request)
        super().save_model(request, obj, form, change)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.related_model
        if not request.user.is_superuser and related is not Shop and hasattr(related, "shop"):
            kwargs["queryset"] = related._default_manager.filter(shop=_shop_of(request))
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_formset(self, request, form, formset, change) -> None:
        """Inline rows (phones, order lines …) belong to the parent's shop."""
        for row in formset.save(commit=False):
            row.shop = form.instance.shop
            row.save()
        for row in formset.deleted_objects:
            row.delete()
        formset.save_m2m()


@admin.register(Shop)
class ShopAdmin(admin.ModelAdmin):
    list_display = ("slug", "name", "created_at")
    search_fields = ("slug", "name")

    def get_queryset(self, request):
        qs = super().get_queryset(request)
        return qs if request.user.is_superuser else qs.filter(pk=getattr(_shop_of(request), "pk", None))


@admin.register(Store)
class StoreAdmin(ShopScopedAdmin):
    list_display = ("slug", "name", "platform", "shop")
    list_filter = ("platform",)


@admin.register(Staff)
class StaffAdmin(ShopScopedAdmin):
    list_display = ("display_name", "user", "role", "store", "shop")
    list_filter = ("role",)


@admin.register(ApiToken)
class ApiTokenAdmin(ShopScopedAdmin):
    list_display = ("prefix", "name", "staff", "created_at", "last_used_at", "revoked_at")
    readonly_fields = ("prefix", "token_hash", "created_at", "last_used_at")


@admin.register(AccessLog)
class AccessLogAdmin(ShopScopedAdmin):
    list_display = ("at", "actor", "action", "object_type", "object_id")
    list_filter = ("action",)

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
