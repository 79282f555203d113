"""The member's page (signed link, QR code that renews) and exchanging points for prizes."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from huitouke.core.errors import Conflict
from huitouke.platform import qr
from huitouke.platform.models import Member, MemberPoints, Prize
from huitouke.platform.services import actors, consumption, prizes
from huitouke.platform.tests.helpers import at, signed

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


@pytest.fixture
def member(tenant_a):
    merchant = signed(tenant_a.shop)
    actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    consumption.record_consumption(shop=tenant_a.shop, merchant=merchant, phone=PHONE, amount="150",
                                   idempotency_key="k", now=at(2026, 3, 3))
    return Member.objects.get()


def test_points_buy_a_prize_once_per_key_never_below_zero_or_out_of_stock(tenant_a, member):
    shop = tenant_a.shop
    mug = prizes.add_prize(shop=shop, name="马克杯", points_cost=1000, stock=1)
    entry = prizes.redeem_prize(shop=shop, member=member, prize=mug, idempotency_key="r1")
    assert prizes.redeem_prize(shop=shop, member=member, prize=mug, idempotency_key="r1") == entry
    member.refresh_from_db()
    assert member.points_balance == 500 == sum(MemberPoints.objects.values_list("delta", flat=True))
    assert Prize.objects.get().stock == 0
    with pytest.raises(Conflict) as exc:
        prizes.redeem_prize(shop=shop, member=member, prize=prizes.add_prize(shop=shop, name="音箱", points_cost=9000,
                                                                              stock=5), idempotency_key="r2")
    assert exc.value.code == "insufficient_points"
    with pytest.raises(Conflict) as exc:
        prizes.redeem_prize(shop=shop, member=member, prize=prizes.add_prize(shop=shop, name="贴纸", points_cost=1,
                                                                              stock=0), idempotency_key="r3")
    assert exc.value.code == "out_of_stock"


def test_the_member_page_shows_points_prizes_and_a_fresh_qr_code_and_refuses_forged_links(tenant_a, member):
    prizes.add_prize(shop=tenant_a.shop, name="马克杯", points_cost=1000, stock=3)
    token = qr.page_token(member)
    page = Client().get(f"/platform/m/{token}/")
    html = page.content.decode()
    assert page.status_code == 200 and "138****5678" in html
    assert "1500" in html.replace(",", "")  # 10 points per yuan of ¥150
    assert "马克杯" in html and "<svg" in html and PHONE not in html
    assert Client().get(f"/platform/m/{token}/qr/").content.decode().startswith("<svg")
    assert Client().get(f"/platform/m/{token[:-3]}abc/").status_code == 404
