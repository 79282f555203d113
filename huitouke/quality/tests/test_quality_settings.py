"""The shop's quality settings: a page and GET/PATCH for owners and managers; out-of-range values change nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.test import Client

from huitouke.quality.models import QualitySettings, Survey
from huitouke.quality.services import satisfaction
from huitouke.quality.services.satisfaction import Answer
from huitouke.quality.services.settings import settings_of, update_settings
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, OrderFactory, StaffFactory
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db

DEFAULTS = {"quality_ok_threshold": 90.0, "delivery_promise_hours": 48, "survey_link_days": 30,
            "low_rating_stars": 2, "low_rating_recommend": 6}


def logged_in(username: str) -> Client:
    browser = Client()
    assert browser.login(username=username, password=TEST_PASSWORD)
    return browser


def test_the_api_shows_the_defaults_and_an_owner_changes_some_of_them(tenant_a):
    api = client_for(tenant_a.token)
    assert api.get("/api/v1/quality/settings").json() == DEFAULTS
    changed = api.patch("/api/v1/quality/settings", {"quality_ok_threshold": 95.5, "low_rating_stars": 3},
                        content_type=JSON)
    assert changed.status_code == 200, changed.content
    assert changed.json() == {**DEFAULTS, "quality_ok_threshold": 95.5, "low_rating_stars": 3}
    assert settings_of(shop=tenant_a.shop).quality_ok_threshold == Decimal("95.50")


@pytest.mark.parametrize(("body", "field"), [
    ({"quality_ok_threshold": 101}, "quality_ok_threshold"),
    ({"delivery_promise_hours": 0}, "delivery_promise_hours"),
    ({"low_rating_stars": 5}, "low_rating_stars"),
    ({"low_rating_recommend": 10}, "low_rating_recommend"),
    ({"survey_link_days": "a month"}, "survey_link_days"),
])
def test_out_of_range_values_are_a_clear_422_and_change_nothing(tenant_a, body, field):
    response = client_for(tenant_a.token).patch("/api/v1/quality/settings", body, content_type=JSON)
    assert response.status_code == 422
    assert field in response.content.decode()
    assert not QualitySettings.objects.filter(shop=tenant_a.shop).exists()


def test_a_threshold_with_too_many_decimals_is_refused_by_the_service(tenant_a):
    response = client_for(tenant_a.token).patch("/api/v1/quality/settings", {"quality_ok_threshold": 90.125},
                                                content_type=JSON)
    assert_error(response, 422, "invalid", "quality_ok_threshold")


def test_an_associate_may_read_but_not_change_them(tenant_a):
    from huitouke.core.services import create_token

    associate = StaffFactory(shop=tenant_a.shop, user__username="shop-a-assoc", role="associate")
    _, token = create_token(staff=associate)
    assert client_for(token).get("/api/v1/quality/settings").json() == DEFAULTS
    assert_error(client_for(token).patch("/api/v1/quality/settings", {"delivery_promise_hours": 24},
                                         content_type=JSON), 403, "forbidden")
    page = logged_in("shop-a-assoc").get("/quality/settings/")
    assert page.status_code == 200 and "只有店主或店长可以修改品质设置" in page.content.decode()
    assert logged_in("shop-a-assoc").post("/quality/settings/", {**DEFAULTS, "delivery_promise_hours": 24}).status_code \
        == 403
    assert settings_of(shop=tenant_a.shop).delivery_promise_hours == 48


def test_the_owner_saves_the_page_and_each_shop_keeps_its_own(tenant_a):
    other = make_tenant("shop-c")
    browser = logged_in("shop-a-owner")
    response = browser.post("/quality/settings/", {**DEFAULTS, "quality_ok_threshold": "85", "delivery_promise_hours": "24",
                                                    "low_rating_recommend": "4"})
    assert response.status_code == 302
    mine = settings_of(shop=tenant_a.shop)
    assert (mine.quality_ok_threshold, mine.delivery_promise_hours, mine.low_rating_recommend) == (Decimal(85), 24, 4)
    assert settings_of(shop=other.shop).delivery_promise_hours == 48
    bad = browser.post("/quality/settings/", {**DEFAULTS, "delivery_promise_hours": "9999"})
    assert bad.status_code == 422 and settings_of(shop=tenant_a.shop).delivery_promise_hours == 24


def test_the_low_rating_cut_offs_decide_what_is_followed_up(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    order = OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=customer)
    three_stars = Answer(goods_stars=3, service_stars=5, delivery_stars=5, recommend=8)
    _, token = satisfaction.create_survey(shop=tenant_a.shop, order=order)
    assert not satisfaction.answer_survey(token=token, answer=three_stars).needs_follow_up
    update_settings(shop=tenant_a.shop, staff=tenant_a.owner, low_rating_stars=3)
    _, token = satisfaction.create_survey(shop=tenant_a.shop, order=order)
    assert satisfaction.answer_survey(token=token, answer=three_stars).needs_follow_up
    assert Survey.objects.filter(shop=tenant_a.shop, needs_follow_up=True).count() == 1
