from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EngagementConfig(AppConfig):
    name = "huitouke.engagement"
    label = "engagement"
    verbose_name = _("Engagement: care messages, outbox, contact policy")

    def ready(self) -> None:
        from huitouke.customers.extensions import (
            register_export_section,
            register_panel,
            register_timeline_source,
        )
        from huitouke.engagement import selectors
        from huitouke.engagement.services.announcements import announce_coupon_batch
        from huitouke.loyalty.extensions import register_batch_listener

        register_batch_listener("engagement-sms", announce_coupon_batch)

        register_timeline_source("engagement", selectors.message_timeline_entries)
        register_export_section("engagement", selectors.message_export_data)
        register_timeline_source("complaints", selectors.complaint_timeline_entries)
        register_export_section("complaints", selectors.complaint_export_data)
        register_panel("engagement", selectors.engagement_panel)
