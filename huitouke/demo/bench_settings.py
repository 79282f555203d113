"""Settings used by `huitouke bench http` only while the project's settings do not collect
huitouke/static (no STATICFILES_DIRS), which makes every page fail under `huitouke serve`."""

from huitouke.settings import *  # noqa: F403
from huitouke.settings import BASE_DIR

STATICFILES_DIRS = [BASE_DIR / "static"]
