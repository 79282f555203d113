"""The analytics API: shapes, 404 without a score, tenancy, and 422 in the common error shape for bad input."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.analytics.tests.test_cohorts import buy
from huitouke.core.timeutil import today
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, CustomerPhoneFactory, CustomerScoreFactory

pytestmark = pytest.mark.django_db


def test_score_of_a_customer_with_all_figures(tenant_a):
    score = CustomerScoreFactory(
        customer=CustomerFactory(shop=tenant_a.shop), segment="at_risk", clv_12m=Decimal("123.40"),
        p_alive=0.25, days_overdue=40.5,
    )
    body = client_for(tenant_a.token).get(f"/api/v1/analytics/customers/{score.customer_id}/score").json()
    assert body["customer_id"] == score.customer_id
    assert (body["segment"], body["segment_name_zh"], body["segment_name_en"]) == (
        "at_risk", "重要保持客户", "High value, lapsing"
    )
    assert (body["clv_12m"], body["monetary"], body["p_alive"], body["days_overdue"]) == (
        "123.40", "100.00", 0.25, 40.5
    )


def test_a_customer_without_score_is_a_404_that_says_why(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    response = client_for(tenant_a.token).get(f"/api/v1/analytics/customers/{customer.pk}/score")
    body = assert_error(response, 404, "not_found", "customer")
    assert "refresh" in body["message"]


def test_another_shops_customer_score_is_not_found(tenant_a, tenant_b):
    score = CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop))
    response = client_for(tenant_b.token).get(f"/api/v1/analytics/customers/{score.customer_id}/score")
    body = assert_error(response, 404, "not_found", "customer")
    assert "score" not in body["message"]  # the same answer as for an id that does not exist


def test_segments_count_only_the_callers_shop(tenant_a, tenant_b):
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop), segment="lost")
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_b.shop), segment="lost")
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_b.shop), segment="new")
    body = client_for(tenant_a.token).get("/api/v1/analytics/segments").json()
    assert body["customers"] == 1
    counts = {row["segment"]: row["customers"] for row in body["segments"]}
    assert counts["lost"] == 1 and counts["new"] == 0
    lost = next(row for row in body["segments"] if row["segment"] == "lost")
    assert (lost["name_zh"], lost["name_en"], lost["share"]) == ("流失客户", "Lost", 1.0)


def test_cohorts_endpoint_returns_the_matrix(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    buy(tenant_a, customer, today(), "88.00")  # the shop's (Shanghai) today, as the endpoint uses
    body = client_for(tenant_a.token).get("/api/v1/analytics/cohorts?months=1").json()
    assert len(body["months"]) == 1
    [row] = body["cohorts"]
    assert (row["size"], row["active"], row["repeat_rate"], row["revenue"]) == (1, [1], [0.0], "88.00")
    assert body["monthly"][0]["revenue"] == "88.00"


def test_win_back_lists_masked_customers_of_the_callers_shop(tenant_a, tenant_b):
    wang = CustomerFactory(shop=tenant_a.shop, name="王小芳", net_spend=Decimal("900.00"))
    CustomerPhoneFactory(customer=wang, e164="+8613812345678", masked="138****5678", tail4="5678")
    CustomerScoreFactory(customer=wang, m_score=5, p_alive=0.1)
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_b.shop), m_score=5, p_alive=0.1)
    body = client_for(tenant_a.token).get("/api/v1/analytics/win-back").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert (item["name"], item["phone"], item["net_spend"]) == ("王*芳", "138****5678", "900.00")
    assert "13812345678" not in str(body)


def test_customers_filter_by_segment_and_risk(tenant_a):
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop), segment="lost", p_alive=0.1)
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop), segment="lost", p_alive=0.9)
    CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop), segment="new", p_alive=0.1)
    client = client_for(tenant_a.token)
    assert client.get("/api/v1/analytics/customers?segment=lost").json()["count"] == 2
    assert client.get("/api/v1/analytics/customers?segment=lost&at_risk=true").json()["count"] == 1
    assert client.get("/api/v1/analytics/customers?at_risk=true&order=p_alive").json()["count"] == 2


@pytest.mark.parametrize("url, field", [
    ("/api/v1/analytics/cohorts?months=0", "months"),
    ("/api/v1/analytics/cohorts?months=99", "months"),
    ("/api/v1/analytics/cohorts?months=abc", "months"),
    ("/api/v1/analytics/customers?segment=vip", "segment"),
    ("/api/v1/analytics/customers?order=name", "order"),
    ("/api/v1/analytics/customers?at_risk=maybe", "at_risk"),
    ("/api/v1/analytics/win-back?page=0", "page"),
    ("/api/v1/analytics/win-back?page_size=100000", "page_size"),
    ("/api/v1/analytics/customers/0/score", "customer_id"),
    ("/api/v1/analytics/customers/99999999999999999999/score", "customer_id"),
])
def test_bad_query_parameters_are_a_422_naming_the_field(tenant_a, url, field):
    assert_error(client_for(tenant_a.token).get(url), 422, "invalid", field)


def test_the_analytics_api_needs_a_token(db):
    from django.test import Client

    assert_error(Client().get("/api/v1/analytics/segments"), 401, "unauthorized")


def test_model_check_endpoint_and_its_refusals(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.get("/api/v1/analytics/model-check"), 422, "invalid")  # no purchases yet
    buy(tenant_a, CustomerFactory(shop=tenant_a.shop), today() - dt.timedelta(days=40), "10.00")
    body = client.get("/api/v1/analytics/model-check?holdout_days=10").json()
    assert (body["holdout_days"], body["customers"], body["groups"]) == (10, 1, [])
    assert "customers" in body["message"]  # one customer: too few to fit, and it says so
    assert_error(client.get("/api/v1/analytics/model-check?holdout_days=40"), 422, "invalid", "holdout_days")
    assert_error(client.get("/api/v1/analytics/model-check?holdout_days=0"), 422, "invalid", "holdout_days")


# Auto-tag rules -------------------------------------------------------------------------------


def test_tag_rules_list_the_defaults_with_who_carries_them(tenant_a, tenant_b):
    from huitouke.analytics.autotags import refresh_auto_tags

    CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("500.00"))
    CustomerFactory(shop=tenant_b.shop, net_spend=Decimal("500.00"))
    CustomerFactory(shop=tenant_b.shop, net_spend=Decimal("400.00"))
    refresh_auto_tags(shop=tenant_a.shop)
    refresh_auto_tags(shop=tenant_b.shop)
    body = client_for(tenant_a.token).get("/api/v1/analytics/tag-rules").json()
    assert [rule["kind"] for rule in body] == [
        "category_fan", "birthday_month", "big_spender", "discount_only", "lapsed_vip"
    ]
    big = body[2]
    assert (big["tag_name"], big["params"], big["enabled"], big["customers"]) == (
        "高消费", {"top_percent": 5}, True, {"高消费": 1}
    )


def test_patch_a_tag_rule_changes_only_the_callers_shop(tenant_a, tenant_b):
    client = client_for(tenant_a.token)
    response = client.patch(
        "/api/v1/analytics/tag-rules/lapsed_vip", {"params": {"max_p_alive": 0.2}, "enabled": False},
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["enabled"], body["params"]["max_p_alive"], body["params"]["min_recency_days"]) == (False, 0.2, 180)
    other = client_for(tenant_b.token).get("/api/v1/analytics/tag-rules").json()
    assert other[4]["enabled"] is True and other[4]["params"]["max_p_alive"] == 0.3


def test_patch_an_unknown_rule_is_a_404(tenant_a):
    response = client_for(tenant_a.token).patch(
        "/api/v1/analytics/tag-rules/vip", {"enabled": False}, content_type="application/json"
    )
    assert_error(response, 404, "not_found", "kind")


@pytest.mark.parametrize(("payload", "field"), [
    ({"params": {"top_percent": 90}}, "params.top_percent"),
    ({"params": {"colour": "red"}}, "params.colour"),
    ({"enabled": "maybe"}, "enabled"),
])
def test_patch_a_rule_with_bad_values_is_a_422(tenant_a, payload, field):
    response = client_for(tenant_a.token).patch(
        "/api/v1/analytics/tag-rules/big_spender", payload, content_type="application/json"
    )
    assert_error(response, 422, "invalid", field)


def test_an_associate_cannot_patch_rules(tenant_a):
    from huitouke.core.models import Role
    from huitouke.core.services import create_token
    from huitouke.testing.factories import StaffFactory

    _, token = create_token(staff=StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE))
    response = client_for(token).patch(
        "/api/v1/analytics/tag-rules/big_spender", {"enabled": False}, content_type="application/json"
    )
    assert_error(response, 403, "forbidden")


def test_tag_filters_the_scored_list_and_the_customer_list_of_the_callers_shop(tenant_a, tenant_b):
    from huitouke.customers.services import set_tags

    tagged, other = CustomerFactory(shop=tenant_a.shop), CustomerFactory(shop=tenant_a.shop)
    foreign = CustomerFactory(shop=tenant_b.shop)
    for customer in (tagged, other, foreign):
        CustomerScoreFactory(customer=customer)
    set_tags(shop=tenant_a.shop, customer=tagged, names=["高消费"])
    set_tags(shop=tenant_b.shop, customer=foreign, names=["高消费"])
    client = client_for(tenant_a.token)
    body = client.get("/api/v1/analytics/customers", {"tag": "高消费"}).json()
    assert [item["customer_id"] for item in body["items"]] == [tagged.pk]
    body = client.get("/api/v1/customers", {"tag": "高消费"}).json()
    assert [item["id"] for item in body["items"]] == [tagged.pk]
    assert_error(client.get("/api/v1/customers", {"tag": "x" * 51}), 422, "invalid", "tag")


def test_thresholds_api_reads_defaults_patches_and_refuses_bad_values(tenant_a, tenant_b):
    api = client_for(tenant_a.token)
    assert api.get("/api/v1/analytics/settings").json() == {
        "lost_after_days": 365, "new_within_days": 30, "high_score": 3, "risk_p_alive": 0.5, "win_back_min_score": 4}
    changed = api.patch("/api/v1/analytics/settings", {"risk_p_alive": 0.4}, content_type=JSON)
    assert changed.status_code == 200 and changed.json()["risk_p_alive"] == 0.4
    assert client_for(tenant_b.token).get("/api/v1/analytics/settings").json()["risk_p_alive"] == 0.5
    assert_error(api.patch("/api/v1/analytics/settings", {"high_score": 9}, content_type=JSON), 422, "invalid",
                 "high_score")
