"""Template context for platform pages: the merchant a merchant login acts for."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from huitouke.core.models import Role
from huitouke.platform.selectors import merchant_of


def merchant(request: HttpRequest) -> dict[str, Any]:
    """`current_merchant` for a merchant login, so that the header names the merchant it works for and not only
    the operator's shop (one prepared read, and only for merchant logins)."""
    staff, shop = getattr(request, "staff", None), getattr(request, "shop", None)
    if staff is None or shop is None or staff.role != Role.MERCHANT:
        return {}
    return {"current_merchant": merchant_of(shop=shop, staff=staff)}
