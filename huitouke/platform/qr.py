"""The member's QR code at the till: a signed, short-lived token (no personal data), rendered with segno.

The token signs (operator shop, member, issued-at seconds) with the site's SECRET_KEY and a salt of its own;
the reader checks the signature, the shop and the age against an injected clock, so tests need no sleeping.
"""

from __future__ import annotations

import datetime as dt

import segno
from django.core import signing

from huitouke.core.models import Shop
from huitouke.platform.models import Member

SALT = "huitouke.platform.member-qr"
LIFETIME = dt.timedelta(minutes=2)
CLOCK_SKEW = dt.timedelta(seconds=30)


def member_token(member: Member, *, now: dt.datetime) -> str:
    return signing.dumps([member.shop_id, member.pk, int(now.timestamp())], salt=SALT, compress=True)


def member_from_token(*, shop: Shop, token: str, now: dt.datetime) -> Member | None:
    """The member the token was made for, or None if it is forged, mangled, another operator's or expired."""
    try:
        shop_id, member_id, issued = signing.loads(token, salt=SALT)
        issued_at = dt.datetime.fromtimestamp(int(issued), tz=dt.UTC)
    except (signing.BadSignature, ValueError, TypeError, OverflowError):
        return None
    if shop_id != shop.pk or not (now - LIFETIME <= issued_at <= now + CLOCK_SKEW):
        return None
    return Member.objects.for_shop(shop).filter(pk=member_id).first()


def qr_svg(token: str) -> str:
    """An inline SVG QR code of the token, for the member's phone screen (a scanner gun types it back)."""
    return segno.make(token, error="m").svg_inline(scale=4, dark="#1f2937")


PAGE_SALT = "huitouke.platform.member-page"


def page_token(member: Member) -> str:
    """The member's own page link (long-lived, like the loyalty card): it shows her points and her QR code."""
    return signing.dumps([member.shop_id, member.pk], salt=PAGE_SALT, compress=True)


def member_from_page_token(token: str) -> Member | None:
    try:
        shop_id, member_id = signing.loads(token, salt=PAGE_SALT)
    except (signing.BadSignature, ValueError, TypeError):
        return None
    return Member.objects.filter(shop_id=shop_id, pk=member_id).first()
