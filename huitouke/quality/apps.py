from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QualityConfig(AppConfig):
    name = "huitouke.quality"
    label = "quality"
    verbose_name = _("Quality: mystery-shopper audits, satisfaction, product quality, churn reasons")
