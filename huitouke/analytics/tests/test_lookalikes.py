"""Look-alikes on a constructed shop: the one-time buyer most like the champions comes first."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.analytics.selectors import look_alikes
from huitouke.analytics.tests.test_lift import bought
from huitouke.core.errors import Invalid
from huitouke.orders.models import ProductRole
from huitouke.testing.api import assert_error, client_for
from huitouke.testing.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    CustomerScoreFactory,
    ProductFactory,
)

pytestmark = pytest.mark.django_db


def scored(tenant, *, segment: str, frequency: int, spend: str, recency: int, role: str | None = None,
           clv: str | None = "100.00", **customer):
    person = CustomerFactory(shop=tenant.shop, **customer)
    CustomerScoreFactory(customer=person, segment=segment, frequency=frequency, monetary=Decimal(spend),
                         recency_days=recency, clv_12m=None if clv is None else Decimal(clv))
    if role is not None:
        product = ProductFactory(shop=tenant.shop, role=role, category="连衣裙")
        bought(tenant, person, (product, 1, spend))
    return person


@pytest.fixture
def shop(tenant_a):
    return make_look_alike_shop(tenant_a)


def make_look_alike_shop(tenant_a) -> dict:
    """Two champions (¥500 a visit, 10 days ago, profit products) and four one-time buyers."""
    for _ in range(2):
        scored(tenant_a, segment="champions", frequency=4, spend="500.00", recency=10, role=ProductRole.PROFIT,
               clv="900.00")
    scored(tenant_a, segment="loyal_low_spend", frequency=3, spend="30.00", recency=20, role=ProductRole.TRAFFIC)
    near = scored(tenant_a, segment="promising", frequency=0, spend="480.00", recency=12, role=ProductRole.PROFIT,
                  name="王小芳")
    CustomerPhoneFactory(customer=near, e164="+8613812345678", masked="138****5678", tail4="5678")
    mid = scored(tenant_a, segment="promising", frequency=0, spend="480.00", recency=12, role=ProductRole.TRAFFIC)
    far = scored(tenant_a, segment="low_value", frequency=0, spend="20.00", recency=300, role=ProductRole.TRAFFIC)
    scored(tenant_a, segment="promising", frequency=0, spend="480.00", recency=12, role=ProductRole.PROFIT,
           do_not_contact=True)
    return {"near": near, "mid": mid, "far": far}


def test_one_time_buyers_most_like_the_champions_come_first(tenant_a, shop):
    result = look_alikes(shop=tenant_a.shop)
    assert (result.gold, result.gold_customers, result.candidates) == ("champions", 2, 3)  # do-not-contact left out
    assert [item.score.customer for item in result.items] == [shop["near"], shop["mid"], shop["far"]]
    assert [item.rank for item in result.items] == [1, 2, 3]
    distances = [item.distance for item in result.items]
    assert distances == sorted(distances) and distances[0] < distances[1] < distances[2]
    assert result.items[0].role_shares == {"traffic": 0.0, "profit": 1.0, "edge": 0.0, "potential": 0.0}


def test_the_limit_keeps_the_nearest(tenant_a, shop):
    assert [item.score.customer for item in look_alikes(shop=tenant_a.shop, limit=1).items] == [shop["near"]]


def test_top_clv_gold_is_the_top_tenth_by_value(tenant_a, shop):
    result = look_alikes(shop=tenant_a.shop, gold="top_clv")
    assert result.gold_customers == 2  # 7 customers with a value: ⌈0.7⌉ = 1 rank, the two ¥900 share it
    assert result.items[0].score.customer == shop["near"]


def test_without_gold_or_candidates_the_list_is_empty(tenant_a):
    scored(tenant_a, segment="promising", frequency=0, spend="480.00", recency=12)
    result = look_alikes(shop=tenant_a.shop)
    assert (result.gold_customers, result.candidates, result.items) == (0, 1, [])


@pytest.mark.parametrize(("args", "field"), [({"gold": "vip"}, "gold"), ({"limit": 0}, "limit")])
def test_bad_arguments_are_invalid(tenant_a, args, field):
    with pytest.raises(Invalid) as error:
        look_alikes(shop=tenant_a.shop, **args)
    assert error.value.field == field


def test_look_alikes_api_is_masked_and_ranked(tenant_a, shop):
    body = client_for(tenant_a.token).get("/api/v1/analytics/look-alikes?limit=2").json()
    assert (body["gold"], body["gold_customers"], body["candidates"]) == ("champions", 2, 3)
    first, second = body["items"]
    assert (first["rank"], first["customer_id"], first["name"], first["phone"]) == (
        1, shop["near"].pk, "王*芳", "138****5678"
    )
    assert second["customer_id"] == shop["mid"].pk and first["distance"] < second["distance"]
    assert "13812345678" not in str(body)


def test_look_alikes_api_422_and_tenancy(tenant_a, tenant_b, shop):
    assert_error(client_for(tenant_a.token).get("/api/v1/analytics/look-alikes?gold=vip"), 422, "invalid", "gold")
    assert_error(client_for(tenant_a.token).get("/api/v1/analytics/look-alikes?limit=0"), 422, "invalid", "limit")
    body = client_for(tenant_b.token).get("/api/v1/analytics/look-alikes").json()
    assert (body["gold_customers"], body["candidates"], body["items"]) == (0, 0, [])
