"""In a real chromium: the loyalty programme page, a member's 360 panel, and her member card on a phone."""

from __future__ import annotations

import os

import pytest

from huitouke.loyalty.services import coupons, points
from huitouke.testing.factories import CustomerFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import _shot, log_in, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_programme_360_panel_and_member_card(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    customer = CustomerFactory(shop=tenant.shop, name="王小芳")
    points.earn_points(shop=tenant.shop, customer=customer, points=2500, idempotency_key="seed")
    template = coupons.create_template(shop=tenant.shop, data=coupons.TemplateInput(
        name="满200减30", kind="amount_off", value=30, min_spend=200))
    coupon, _ = coupons.issue_coupon(shop=tenant.shop, template=template, customer=customer, issue_key="t")

    log_in(page, live_server)

    page.goto(f"{live_server.url}/loyalty/")
    expect(page.locator('[data-testid="tier-counts"] .stat')).to_have_count(4)
    expect(page.locator('[data-testid="tier-counts"] .stat').first).to_contain_text("1")
    expect(page.locator('[data-testid="coupon-rates"]')).to_contain_text("满200减30")
    _shot(page, "30-loyalty-programme")

    page.goto(f"{live_server.url}/customers/{customer.pk}/")
    panel = page.locator('[data-testid="loyalty-panel"]')
    expect(panel.locator('[data-testid="member-points"]')).to_have_text("2500")
    expect(panel).to_contain_text(coupon.code)
    _shot(page, "31-customer-loyalty-panel")

    card_url = panel.locator('a[href*="/card/"]').get_attribute("href")
    phone = page.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    card = phone.new_page()
    card.goto(f"{live_server.url}{card_url}")  # no login: the signed link is the key
    expect(card.locator('[data-testid="tier"]')).to_have_text("普通会员")
    expect(card.locator('[data-testid="points"]')).to_have_text("2500")
    expect(card.locator(".member-card-qr svg")).to_be_visible()
    expect(card.locator("body")).not_to_contain_text("王小芳")
    _shot(card, "32-member-card")
    phone.close()
