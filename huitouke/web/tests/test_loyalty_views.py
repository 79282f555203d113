"""Loyalty pages: programme settings and ladder, members by tier, coupons, gifts; roles and errors."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.loyalty.models import Coupon, CouponTemplate, Gift, Programme, Tier
from huitouke.loyalty.services import points, programme
from huitouke.testing.factories import CustomerFactory, CustomerScoreFactory

pytestmark = pytest.mark.django_db


def ladder_post(tiers: list[dict], **settings) -> dict:
    data = {
        "programme-tier_basis": "lifetime_spend", "programme-points_per_yuan": "10",
        "programme-expiry_policy": "end_of_next_year", "programme-expiry_days": "365",
        "programme-points_per_yuan_redeemed": "100", "programme-max_discount_percent": "30",
        "programme-demotion_grace_days": "90",
        "tiers-TOTAL_FORMS": str(len(tiers)), "tiers-INITIAL_FORMS": "0", "tiers-MIN_NUM_FORMS": "0",
        "tiers-MAX_NUM_FORMS": "10",
    }
    data.update({f"programme-{k}": v for k, v in settings.items()})
    for index, tier in enumerate(tiers):
        fields = {"min_spend": "0", "min_purchases": "0", "discount_percent": "0", "birthday_extra_percent": "0",
                  "points_multiplier": "1", **tier}
        data.update({f"tiers-{index}-{k}": v for k, v in fields.items()})
    return data


def test_owner_sets_the_programme_and_a_three_rung_ladder(owner_client, tenant_a):
    response = owner_client.post("/loyalty/", ladder_post(
        [{"name": "会员"}, {"name": "银卡", "min_spend": "800", "discount_percent": "5"},
         {"name": "金卡", "min_spend": "3000", "discount_percent": "10", "free_shipping": "on"}],
        points_per_yuan="5", max_discount_percent="25",
    ))
    assert response.status_code == 302
    assert [t.name for t in Tier.objects.filter(shop=tenant_a.shop).order_by("rank")] == ["会员", "银卡", "金卡"]
    saved = Programme.objects.get(shop=tenant_a.shop)
    assert (saved.points_per_yuan, saved.max_discount_percent) == (5, Decimal("25"))


def test_a_tier_beyond_the_margin_guard_is_refused_with_the_reason(owner_client, tenant_a):
    response = owner_client.post("/loyalty/", ladder_post([{"name": "亏本卡", "discount_percent": "40"}],
                                                          points_per_yuan="7"))
    assert response.status_code == 200
    assert "亏本卡 折扣 40%，超过了毛利保护的 30%" in response.content.decode()  # the page's language
    assert Tier.objects.filter(shop=tenant_a.shop, name="亏本卡").count() == 0
    assert Programme.objects.get(shop=tenant_a.shop).points_per_yuan == 10  # nothing half-saved


def test_an_associate_sees_the_programme_but_cannot_change_it(associate_client, tenant_a):
    page = associate_client.get("/loyalty/")
    assert page.status_code == 200 and "普通会员" in page.content.decode()
    assert associate_client.post("/loyalty/", ladder_post([{"name": "x"}])).status_code == 403


def test_members_by_tier_show_masked_names(owner_client, tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop, name="王小芳")
    points.earn_points(shop=tenant_a.shop, customer=customer, points=1234, idempotency_key="x")
    entry = programme.ladder(shop=tenant_a.shop)[0]
    html = owner_client.get(f"/loyalty/members/?tier={entry.pk}").content.decode()
    assert ">1234<" in html and "王*芳" in html and "王小芳" not in html


def test_create_a_coupon_and_issue_it_to_a_segment(owner_client, tenant_a):
    created = owner_client.post("/loyalty/coupons/", {
        "t-name": "回购券", "t-kind": "amount_off", "t-value": "20", "t-min_spend": "100",
        "t-eligible_roles": ["edge", "traffic"], "t-per_customer_limit": "1", "t-trigger": "batch",
    })
    assert created.status_code == 302
    template = CouponTemplate.objects.get(shop=tenant_a.shop, name="回购券")
    for _ in range(2):
        CustomerScoreFactory(customer__shop=tenant_a.shop, segment="at_risk")
    issued = owner_client.post("/loyalty/coupons/", {"b-template": str(template.pk), "b-segment": "at_risk"})
    assert issued.status_code == 302
    assert Coupon.objects.filter(shop=tenant_a.shop, template=template).count() == 2
    page = owner_client.get("/loyalty/coupons/").content.decode()
    assert "回购券" in page and "at_risk" not in page.split("<table")[0]


def test_add_a_gift(owner_client, tenant_a):
    assert owner_client.post("/loyalty/gifts/", {"name": "香囊", "stock": "30", "points_cost": "0",
                                                 "for_parcels": "on"}).status_code == 302
    assert Gift.objects.get(shop=tenant_a.shop).stock == 30
    assert "香囊" in owner_client.get("/loyalty/gifts/").content.decode()


def test_the_360_page_shows_the_loyalty_panel(owner_client, tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    points.earn_points(shop=tenant_a.shop, customer=customer, points=500, idempotency_key="x")
    html = owner_client.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="loyalty-panel"' in html and 'data-testid="member-points">500<' in html
    assert "/card/" in html
