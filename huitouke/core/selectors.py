"""Reads for tenancy."""

from __future__ import annotations

from django.db.models import QuerySet

from huitouke.core.errors import NotFound
from huitouke.core.models import ApiToken, Shop, Staff, Store


def shop_by_slug(slug: str) -> Shop:
    shop = Shop.objects.filter(slug=slug).first()
    if shop is None:
        raise NotFound(f"no shop '{slug}'", field="shop")
    return shop


def store_by_slug(*, shop: Shop, slug: str) -> Store:
    store = Store.objects.for_shop(shop).filter(slug=slug).first()
    if store is None:
        raise NotFound(f"shop '{shop.slug}' has no store '{slug}'", field="store")
    return store


def staff_by_username(*, shop: Shop, username: str) -> Staff:
    staff = Staff.objects.for_shop(shop).select_related("user").filter(user__username=username).first()
    if staff is None:
        raise NotFound(f"shop '{shop.slug}' has no staff member '{username}'", field="user")
    return staff


def list_tokens(*, shop: Shop) -> QuerySet[ApiToken]:
    """The shop's API tokens (active and revoked), newest first."""
    return ApiToken.objects.for_shop(shop).select_related("staff__user").order_by("-created_at", "-id")
