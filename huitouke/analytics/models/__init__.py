"""Pure numpy/scipy models live in the submodules; Django loads this module for the app's tables."""

from huitouke.analytics.models.reports import StoredReport  # noqa: F401
from huitouke.analytics.models.scores import CustomerScore, ModelRun  # noqa: F401
from huitouke.analytics.models.settings import AnalyticsSettings  # noqa: F401
from huitouke.analytics.models.tags import AutoTagRule  # noqa: F401
