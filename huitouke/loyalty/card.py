"""The customer-facing member card: a signed link (no login) and its QR code.

The token signs (shop, customer) with the site's SECRET_KEY and a salt of its own, so a link cannot be
forged or pointed at another customer; it carries no personal data.
"""

from __future__ import annotations

import segno
from django.core import signing

from huitouke.customers.models import Customer

SALT = "huitouke.loyalty.member-card"


def card_token(customer: Customer) -> str:
    return signing.dumps([customer.shop_id, customer.pk], salt=SALT, compress=True)


def customer_from_token(token: str) -> Customer | None:
    """The live customer the link was made for, or None for a forged, mangled or erased one."""
    try:
        shop_id, customer_id = signing.loads(token, salt=SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return Customer.objects.for_shop(shop_id).filter(pk=customer_id, erased_at__isnull=True).first()


def qr_svg(url: str) -> str:
    """An inline SVG QR code of the link (segno: pure Python, no image library)."""
    return segno.make(url, error="m").svg_inline(scale=4, dark="#1f2937")
