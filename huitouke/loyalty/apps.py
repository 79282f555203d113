from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LoyaltyConfig(AppConfig):
    name = "huitouke.loyalty"
    label = "loyalty"
    verbose_name = _("Loyalty: tiers, points, coupons, gifts")

    def ready(self) -> None:
        from huitouke.customers.extensions import (
            register_export_section,
            register_panel,
            register_timeline_source,
        )
        from huitouke.loyalty import selectors
        from huitouke.loyalty.services import gifts
        from huitouke.orders.extensions import register_packed_listener

        register_panel("loyalty", selectors.loyalty_panel)
        register_packed_listener("parcel_gift", gifts.gift_for_packed_order)
        register_timeline_source("loyalty", selectors.loyalty_timeline_entries)
        register_export_section("loyalty", selectors.loyalty_export_data)
