"""Portals: the operator console lists merchants, balances and suspensions; a merchant login sees its own
portal only (another merchant's page and statement are 404), with members masked."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client
from django.utils import timezone

from huitouke.core.models import Role
from huitouke.platform.services import actors, balance, consumption, statements
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def logged_in(staff) -> Client:
    client = Client()
    client.force_login(staff.user)
    return client


@pytest.fixture
def world(tenant_a):
    shop = tenant_a.shop
    a, b = signed(shop, "A店"), signed(shop, "B店")
    actors.record_group_buy(shop=shop, merchant=a, phone=PHONE, day=dt.date(2026, 2, 1))
    consumption.record_consumption(shop=shop, merchant=a, phone=PHONE, amount="100", idempotency_key="k",
                                   completed_at=at(2026, 3, 3), now=at(2026, 3, 3))
    statement = statements.issue_statement(shop=shop, merchant=a, month=dt.date(2026, 3, 1), now=at(2026, 4, 1))
    balance.adjust_balance(shop=shop, merchant=b, amount="-4800", reason="dispute", idempotency_key="b1",
                           now=at(2026, 9, 29))
    logins = {}
    for merchant in (a, b):
        staff = StaffFactory(shop=shop, user__username=f"login-{merchant.pk}", role=Role.ASSOCIATE)
        actors.link_login(shop=shop, merchant=merchant, staff=staff)
        logins[merchant.name] = logged_in(staff)
    return tenant_a, a, b, statement, logins


def test_operator_console_lists_balances_deadlines_and_suspensions(world):
    tenant, a, b, statement, _ = world
    page = logged_in(tenant.owner).get("/platform/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "平台控制台" in html and "续费截止日" in html  # Chinese by default
    assert "A店" in html and "B店" in html and "2026-10-12" in html  # B: low on 2026-09-29
    assert "200.00" in html and "4995.00" in html.replace(",", "")  # B after the dispute; A after its ¥5.00 commission


def test_a_merchant_sees_its_own_portal_masked_and_never_anothers(world):
    tenant, a, b, statement, logins = world
    own = logins["A店"].get("/platform/merchant/")
    html = own.content.decode()
    assert own.status_code == 200 and "138****5678" in html and PHONE not in html
    assert "签约预付金" in html and "佣金: 2026-03" in html and "deposit at signing" not in html  # ledger reasons
    assert logins["A店"].get("/platform/").status_code == 302  # the console sends it to its portal
    assert logins["B店"].get(f"/platform/merchants/{a.pk}/").status_code == 404
    assert logins["B店"].get(f"/platform/statements/{statement.pk}.csv").status_code == 404
    download = logins["A店"].get(f"/platform/statements/{statement.pk}.csv")
    assert download.status_code == 200 and "138****5678" in download.content.decode()
    assert logged_in(tenant.owner).get(f"/platform/merchants/{b.pk}/").status_code == 200
    assert Client().get("/platform/").status_code == 302


def test_the_till_page_verifies_by_phone_or_scanned_qr_and_records_once(world):
    from huitouke.platform import qr
    from huitouke.platform.models import Consumption, Member

    tenant, a, b, statement, logins = world
    till = logins["A店"]
    assert till.get("/platform/till/").status_code == 200
    checked = till.post("/platform/till/", {"action": "verify", "code": PHONE})
    html = checked.content.decode()
    assert "138****5678" in html and PHONE not in html and 'name="verification"' in html
    assert "可享回头客折扣" in html  # the verdict in the till page's language (the API keeps the English)
    verification_id = html.split('name="verification" value="')[1].split('"')[0]
    for _ in range(2):  # a double submit records once
        recorded = till.post("/platform/till/", {"action": "record", "verification": verification_id, "amount": "66"})
        assert recorded.status_code == 200 and "660" in recorded.content.decode()
    assert Consumption.objects.filter(merchant=a, amount="66").count() == 1
    assert "128.50" in till.post("/platform/till/", {"action": "record", "verification": verification_id,
                                                      "amount": "abc"}).content.decode()
    token = qr.member_token(Member.objects.get(), now=timezone.now())
    scanned = till.post("/platform/till/", {"action": "verify", "code": token}, HTTP_HX_REQUEST="true")
    assert "138****5678" in scanned.content.decode() and "<html" not in scanned.content.decode()
    assert logins["B店"].post("/platform/till/", {"action": "record", "verification": verification_id,
                                                  "amount": "1"}).status_code == 200  # shows "verify first"
    assert Consumption.objects.filter(merchant=b).count() == 0
    assert logged_in(tenant.owner).get("/platform/till/").status_code == 403


@pytest.mark.parametrize("path", ["/", "/customers/", "/analytics/", "/loyalty/", "/care/", "/quality/"])
def test_a_merchant_login_reaches_none_of_the_operators_pages(world, path):
    _, _, _, _, logins = world
    response = logins["A店"].get(path)
    assert (response.status_code, response["Location"]) == (302, "/platform/merchant/")


def test_a_merchant_login_cannot_post_to_the_operators_pages_and_its_menu_is_its_portal_and_till(world, tenant_a):
    _, a, _, _, logins = world
    from huitouke.customers.models import Customer

    customer = Customer.objects.for_shop(tenant_a.shop).first()  # the member's record in the operator's archive
    assert logins["A店"].post(f"/customers/{customer.pk}/profile/", {"occupation": "x"}).status_code == 403
    till = logins["A店"].get("/platform/till/")
    html = till.content.decode()
    assert till.status_code == 200 and ">商户后台</a>" in html and ">收银验证</a>" in html
    assert 'href="/customers/"' not in html
    assert f">A店 · {tenant_a.shop.name}</span>" in html  # the header names its merchant, then the operator
    assert 'class="brand" href="/platform/merchant/"' in html  # the logo leads to its portal, not the dashboard
    operator = logged_in(tenant_a.owner).get("/platform/").content.decode()
    assert f'"shopname" title="店铺">{tenant_a.shop.name}</span>' in operator and "A店 ·" not in operator


def test_a_merchant_token_reaches_only_the_platform_api(world):
    from huitouke.core.models import Staff
    from huitouke.core.services import create_token
    from huitouke.testing.api import JSON, assert_error, client_for

    tenant, a, _, _, _ = world
    staff = Staff.objects.get(merchant_link__merchant=a)
    api = client_for(create_token(staff=staff)[1])
    assert_error(api.get("/api/v1/customers"), 403, "forbidden")
    assert_error(api.get("/api/v1/orders"), 403, "forbidden")
    verified = api.post("/api/v1/platform/verify", {"phone": PHONE}, content_type=JSON)
    assert verified.status_code == 200 and verified.json()["member"] == "138****5678"
