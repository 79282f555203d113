"""factory_boy factories for tests (model data is made here, never loaded from fixture files)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import factory
from django.contrib.auth import get_user_model

from huitouke.core.models import Platform, Role, Shop, Staff, Store
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer, CustomerPhone, PlatformIdentity
from huitouke.orders.models import Order, OrderLine, OrderStatus, Product, ProductRole

TEST_PASSWORD = "correct-horse-battery-9"


class ShopFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Shop
        django_get_or_create = ("slug",)

    slug = factory.Sequence(lambda n: f"shop-{n}")
    name = factory.Sequence(lambda n: f"小店{n}号")


class StoreFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Store

    shop = factory.SubFactory(ShopFactory)
    slug = factory.Sequence(lambda n: f"store-{n}")
    name = factory.Sequence(lambda n: f"淘宝旗舰店{n}")
    platform = Platform.TAOBAO


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ("username",)

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(TEST_PASSWORD)


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff

    shop = factory.SubFactory(ShopFactory)
    user = factory.SubFactory(UserFactory)
    role = Role.OWNER
    display_name = factory.Sequence(lambda n: f"导购{n}")


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    shop = factory.SubFactory(ShopFactory)
    name = factory.Sequence(lambda n: f"顾客{n}")


class CustomerPhoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerPhone

    customer = factory.SubFactory(CustomerFactory)
    shop = factory.SelfAttribute("customer.shop")
    e164 = factory.Sequence(lambda n: f"+86138{n:08d}")
    masked = factory.LazyAttribute(lambda o: f"138****{o.e164[-4:]}")
    tail4 = factory.LazyAttribute(lambda o: o.e164[-4:])
    is_primary = True


class PlatformIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlatformIdentity

    customer = factory.SubFactory(CustomerFactory)
    shop = factory.SelfAttribute("customer.shop")
    platform = Platform.TAOBAO
    handle = factory.Sequence(lambda n: f"tb_buyer_{n}")


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    shop = factory.SubFactory(ShopFactory)
    sku = factory.Sequence(lambda n: f"SKU{n:05d}")
    title = factory.Sequence(lambda n: f"真丝连衣裙 {n}")
    price = Decimal("299.00")
    role = ProductRole.EDGE


class OrderFactory(factory.django.DjangoModelFactory):
    """An order; like orders.services.record_order, its customer's figures and repeat flags follow."""

    class Meta:
        model = Order
        skip_postgeneration_save = True

    shop = factory.SubFactory(ShopFactory)
    store = factory.SubFactory(StoreFactory, shop=factory.SelfAttribute("..shop"))
    customer = None
    external_id = factory.Sequence(lambda n: f"T{n:012d}")
    status = OrderStatus.COMPLETED
    ordered_at = dt.datetime(2025, 3, 1, 10, 0, tzinfo=SHANGHAI)
    paid_at = factory.SelfAttribute("ordered_at")
    paid_amount = Decimal("100.00")
    goods_amount = factory.SelfAttribute("paid_amount")
    items_count = 1

    @factory.post_generation
    def refresh_customer(self, create: bool, extracted, **kwargs) -> None:
        if create and self.customer_id is not None:
            from huitouke.orders.services import refresh_customer_stats

            refresh_customer_stats(shop=self.shop, customer_ids=[self.customer_id])
            self.refresh_from_db(fields=["is_repeat"])


class OrderLineFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = OrderLine

    order = factory.SubFactory(OrderFactory)
    shop = factory.SelfAttribute("order.shop")
    title = "真丝连衣裙"
    quantity = 1
    unit_price = Decimal("100.00")
    line_amount = Decimal("100.00")


class CustomerScoreFactory(factory.django.DjangoModelFactory):
    """A stored analytics score, for tests of what reads scores (the refresh itself has its own tests)."""

    class Meta:
        model = "analytics.CustomerScore"

    customer = factory.SubFactory(CustomerFactory)
    shop = factory.SelfAttribute("customer.shop")
    as_of = dt.date(2025, 6, 30)
    recency_days = 30
    frequency = 1
    monetary = Decimal("100.00")
    r_score = 3
    f_score = 3
    m_score = 3
    segment = "champions"
    p_alive = 0.8
    expected_purchases_90 = 0.5
    expected_purchases_365 = 1.5
    clv_12m = Decimal("150.00")
