"""In a real chromium: the owner edits an auto-tag rule, applies it, follows the tag to its audience,
and opens what the champions buy."""

from __future__ import annotations

import os
from decimal import Decimal

import pytest

from huitouke.analytics.tests.test_lift import make_lift_shop
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.conftest import make_shop_data
from huitouke.web.tests.test_browser import _shot, log_in, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_rules_page_to_tag_audience_and_lift(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    data = make_shop_data(make_tenant("shop-a"))
    make_lift_shop(data.tenant, make_tenant("shop-b"))
    data.wang.net_spend = Decimal("9000.00")  # by far the biggest spender of the shop
    data.wang.save()

    log_in(page, live_server)

    page.goto(f"{live_server.url}/analytics/tag-rules/")
    expect(page.locator("section[data-rule]")).to_have_count(5)
    big = page.locator('section[data-rule="big_spender"]')
    big.locator('input[name="tag_name"]').fill("大客户")
    big.locator("button[type=submit]").click()
    expect(page.locator(".message-success")).to_be_visible()
    page.click('[data-testid="apply-rules"]')
    # 大客户 (Wang), T恤爱好者 (three tees) and 流失VIP (a champion with P(alive) 0.1)
    expect(page.locator(".message-success")).to_contain_text("3")
    _shot(page, "30-tag-rules")
    page.locator('section[data-rule="big_spender"] a[data-tag="大客户"]').click()
    expect(page.locator("table.customers-table tbody tr")).to_have_count(1)
    expect(page.locator('[data-testid="tag-filter"]')).to_contain_text("大客户")
    expect(page.locator("table.customers-table")).not_to_contain_text("13812345678")

    page.goto(f"{live_server.url}/analytics/")
    page.locator('tr[data-segment="champions"] a.lift-link').click()
    # (3/4) ÷ (1/7): the lift shop's others bought 6 items, and Wang one more without a product
    expect(page.locator('[data-testid="lift-categories"] tr[data-key="连衣裙"] td.lift').first).to_have_text("5.25×")
    _shot(page, "31-segment-lift")
