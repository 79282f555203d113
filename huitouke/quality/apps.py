from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "huitouke.quality"
    label = "quality"
    verbose_name = _("Quality: mystery-shopper audits, satisfaction, product quality, churn reasons")

    def ready(self) -> None:
        from huitouke.customers.extensions import (
            register_export_section,
            register_panel,
            register_timeline_source,
        )
        from huitouke.engagement.extensions import (
            register_delivery_source,
            register_feedback_link,
            register_team_measures,
        )
        from huitouke.orders.extensions import register_refund_reason_listener
        from huitouke.quality import feedback, selectors
        from huitouke.quality.extensions import register_low_rating_listener
        from huitouke.quality.followups import call_back_low_rating
        from huitouke.quality.services.refunds import import_platform_reasons

        register_low_rating_listener("engagement-call", call_back_low_rating)
        register_refund_reason_listener("quality", import_platform_reasons)
        register_delivery_source("quality-shipments", feedback.orders_delivered)
        register_feedback_link("quality-satisfaction", feedback.satisfaction_link)
        register_team_measures("quality", selectors.team_measures)
        register_panel("quality", selectors.quality_panel)
        register_timeline_source("quality", selectors.quality_timeline_entries)
        register_export_section("quality", selectors.quality_export_data)
