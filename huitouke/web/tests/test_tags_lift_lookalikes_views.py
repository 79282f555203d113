"""Tag audiences, the auto-tag rules page, the lift page and the look-alike list through django.test.Client."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huitouke.customers.services import set_tags
from huitouke.testing.factories import CustomerScoreFactory

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def test_customer_list_filters_by_tag_and_keeps_it_when_paging(owner_client, data_a, data_b):
    set_tags(shop=data_a.tenant.shop, customer=data_a.wang, names=["连衣裙爱好者"])
    set_tags(shop=data_b.tenant.shop, customer=data_b.wang, names=["连衣裙爱好者"])  # another shop's
    response = owner_client.get(reverse("customers"), {"tag": "连衣裙爱好者"})
    assert [row["customer"] for row in response.context["rows"]] == [data_a.wang]
    assert 'data-testid="tag-filter"' in _text(response)
    assert owner_client.get(reverse("customers"), {"tag": "nobody"}).context["rows"] == []


def test_scored_list_filters_by_tag(owner_client, data_a):
    CustomerScoreFactory(customer=data_a.wang)
    CustomerScoreFactory(customer=data_a.li)
    set_tags(shop=data_a.tenant.shop, customer=data_a.li, names=["只买折扣"])
    response = owner_client.get(reverse("analytics_customers"), {"tag": "只买折扣"})
    assert [row["customer"] for row in response.context["rows"]] == [data_a.li]
    assert 'value="只买折扣"' in _text(response)
