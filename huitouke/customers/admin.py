from django.contrib import admin

from huitouke.core.admin import ShopScopedAdmin
from huitouke.customers.models import (
    Address,
    Consent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    PlatformIdentity,
    Tag,
)


class _ShopInline(admin.TabularInline):
    extra = 0
    exclude = ("shop",)


class PhoneInline(_ShopInline):
    model = CustomerPhone


class IdentityInline(_ShopInline):
    model = PlatformIdentity


class ConsentInline(_ShopInline):
    model = Consent


@admin.register(Customer)
class CustomerAdmin(ShopScopedAdmin):
    list_display = ("id", "name", "completeness", "purchase_days", "net_spend", "last_purchase_at")
    search_fields = ("name",)
    list_filter = ("gender", "do_not_contact")
    readonly_fields = (
        "completeness", "orders_count", "items_count", "purchase_days", "net_spend",
        "first_purchase_at", "last_purchase_at", "erased_at",
    )
    inlines = [PhoneInline, IdentityInline, ConsentInline]
    list_select_related = ("registered_by",)
    show_full_result_count = False


for model in (CustomerEmail, Address, Tag, CustomerTag):
    admin.site.register(model, ShopScopedAdmin)
