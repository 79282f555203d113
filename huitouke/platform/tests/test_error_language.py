"""A refused platform action reads Chinese on the (default zh-hans) till page and English through the API; a
refusal that quotes the verdict's reason translates both parts."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import translation

from huitouke.core.errors import Conflict
from huitouke.core.models import Role
from huitouke.platform.models import Consumption
from huitouke.platform.services import actors, consumption
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
ASKS_FOR_CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}  # the API answers English all the same


@pytest.fixture
def merchant(tenant_a):
    merchant = signed(tenant_a.shop, "A店")
    actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    return merchant


def test_a_zero_amount_at_the_till_reads_chinese_on_the_page_and_english_in_the_api(tenant_a, merchant):
    login = StaffFactory(shop=tenant_a.shop, user__username="till-a", role=Role.ASSOCIATE)
    actors.link_login(shop=tenant_a.shop, merchant=merchant, staff=login)
    till = Client()
    till.force_login(login.user)
    checked = till.post("/platform/till/", {"action": "verify", "code": PHONE}).content.decode()
    verification_id = checked.split('name="verification" value="')[1].split('"')[0]
    page = till.post("/platform/till/", {"action": "record", "verification": verification_id, "amount": "0"})
    assert "金额须大于 0 且不超过 1000000.00" in page.content.decode()
    response = client_for(tenant_a.token).post("/api/v1/platform/consumptions", {
        "merchant_id": merchant.pk, "phone": PHONE, "amount": "0"}, content_type=JSON, HTTP_IDEMPOTENCY_KEY="z",
        **ASKS_FOR_CHINESE)
    body = assert_error(response, 422, "invalid", "amount")
    assert body["message"] == "the amount must be above 0 and at most 1000000.00"
    assert not Consumption.objects.exists()


def test_a_refusal_quoting_the_verdict_translates_the_reason_too(tenant_a):
    ended = signed(tenant_a.shop, "B店", valid_until=dt.date(2026, 2, 28))
    actors.record_group_buy(shop=tenant_a.shop, merchant=ended, phone=PHONE, day=dt.date(2026, 2, 1))
    response = client_for(tenant_a.token).post("/api/v1/platform/consumptions", {
        "merchant_id": ended.pk, "phone": PHONE, "amount": "88", "completed_at": "2026-03-03T12:00:00+08:00"},
        content_type=JSON, HTTP_IDEMPOTENCY_KEY="n", **ASKS_FOR_CHINESE)
    body = assert_error(response, 409, "expired")
    assert body["message"] == "not a repeat-customer purchase: the repeat-customer discount has expired: 2026-02-28"
    with pytest.raises(Conflict) as refused:
        consumption.record_consumption(shop=tenant_a.shop, merchant=ended, phone=PHONE, amount="88",
                                       idempotency_key="n2", completed_at=at(2026, 3, 3), now=at(2026, 3, 3))
    assert refused.value.message == body["message"]
    with translation.override("zh-hans"):
        assert refused.value.localized() == "不算回头客消费：回头客折扣已过期: 2026-02-28"
