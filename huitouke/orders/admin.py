from django.contrib import admin

from huitouke.core.admin import ShopScopedAdmin
from huitouke.orders.models import Order, OrderLine, Product


class OrderLineInline(admin.TabularInline):
    model = OrderLine
    extra = 0
    exclude = ("shop",)
    raw_id_fields = ("product",)


@admin.register(Product)
class ProductAdmin(ShopScopedAdmin):
    list_display = ("sku", "title", "category", "role", "price", "cost", "is_active")
    list_filter = ("role", "category")
    search_fields = ("sku", "title")


@admin.register(Order)
class OrderAdmin(ShopScopedAdmin):
    list_display = ("external_id", "store", "status", "paid_amount", "refunded_amount", "purchase_day")
    list_filter = ("status", "store")
    search_fields = ("external_id",)
    raw_id_fields = ("customer",)
    readonly_fields = ("net_amount", "is_purchase", "purchase_day")
    inlines = [OrderLineInline]
    show_full_result_count = False
