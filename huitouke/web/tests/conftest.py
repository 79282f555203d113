"""Shop data for the web tests: a customer with a phone, a nickname and two orders on different days."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import pytest

from huitouke.core.models import Platform, Role
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers import services
from huitouke.customers.models import Customer
from huitouke.orders.services import refresh_customer_stats
from huitouke.testing.factories import OrderFactory, OrderLineFactory, StaffFactory
from huitouke.testing.fixtures import Tenant


@dataclass
class ShopData:
    tenant: Tenant
    wang: Customer
    li: Customer


def make_shop_data(tenant: Tenant) -> ShopData:
    shop, store = tenant.shop, tenant.store
    wang = services.register_customer(
        shop=shop, name="王小芳", phone="13812345678", registered_by=tenant.owner, store=store,
        profile={"occupation": "教师"},
    )
    services.add_identity(shop=shop, customer=wang, platform=Platform.TAOBAO, handle="小鱼儿2019")
    services.add_email(shop=shop, customer=wang, email="xiaofang@example.com")
    services.record_consent(shop=shop, customer=wang, channel="sms", granted=True, source="门店登记表")
    li = services.register_customer(shop=shop, name="李雷", phone="13900001111", store=store)
    first = OrderFactory(
        shop=shop, store=store, customer=wang, external_id="TB20250301001",
        ordered_at=dt.datetime(2025, 3, 1, 10, tzinfo=SHANGHAI), paid_amount=Decimal("299.00"),
    )
    OrderLineFactory(order=first, title="真丝连衣裙", sku="DRESS-01", line_amount=Decimal("299.00"))
    OrderFactory(
        shop=shop, store=store, customer=wang, external_id="TB20250420002",
        ordered_at=dt.datetime(2025, 4, 20, 15, tzinfo=SHANGHAI), paid_amount=Decimal("120.50"),
    )
    OrderFactory(
        shop=shop, store=store, customer=li, external_id="TB20250405003",
        ordered_at=dt.datetime(2025, 4, 5, 9, tzinfo=SHANGHAI), paid_amount=Decimal("80.00"),
    )
    refresh_customer_stats(shop=shop)
    wang.refresh_from_db()
    li.refresh_from_db()
    return ShopData(tenant=tenant, wang=wang, li=li)


@pytest.fixture
def data_a(tenant_a) -> ShopData:
    return make_shop_data(tenant_a)


@pytest.fixture
def data_b(tenant_b) -> ShopData:
    return make_shop_data(tenant_b)


@pytest.fixture
def owner_client(client, tenant_a):
    client.force_login(tenant_a.owner.user)
    return client


@pytest.fixture
def associate_client(client, tenant_a):
    associate = StaffFactory(shop=tenant_a.shop, user__username="shop-a-associate", role=Role.ASSOCIATE)
    client.force_login(associate.user)
    return client
