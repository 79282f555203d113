"""Shared pytest fixtures: two shops with an owner each, to prove one can never see the other."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from huitouke.core.models import Role, Shop, Staff, Store
from huitouke.core.services import create_token
from huitouke.testing.factories import ShopFactory, StaffFactory, StoreFactory


@dataclass
class Tenant:
    shop: Shop
    store: Store
    owner: Staff
    token: str


def make_tenant(slug: str, role: str = Role.OWNER) -> Tenant:
    shop = ShopFactory(slug=slug, name=f"{slug} shop")
    store = StoreFactory(shop=shop, slug=f"{slug}-tb")
    owner = StaffFactory(shop=shop, user__username=f"{slug}-owner", role=role)
    _, token = create_token(staff=owner)
    return Tenant(shop=shop, store=store, owner=owner, token=token)


@pytest.fixture
def tenant_a(db) -> Tenant:
    return make_tenant("shop-a")


@pytest.fixture
def tenant_b(db) -> Tenant:
    return make_tenant("shop-b")
