from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OrdersConfig(AppConfig):
    name = "huitouke.orders"
    label = "orders"
    verbose_name = _("Products and orders")

    def ready(self) -> None:
        from huitouke.customers.extensions import (
            register_export_section,
            register_merge_listener,
            register_timeline_source,
        )
        from huitouke.orders import selectors, services

        register_timeline_source("orders", selectors.order_timeline_entries)
        register_export_section("orders", selectors.orders_export_data)
        register_merge_listener("orders", services.refresh_customer_stats)
