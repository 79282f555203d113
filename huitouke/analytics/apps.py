from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "huitouke.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from huitouke.analytics.reports import forget_reports
        from huitouke.orders.extensions import register_purchases_listener

        # Stored cohort and model-check tables describe the purchases: any change of them makes them stale.
        register_purchases_listener("analytics", forget_reports)
