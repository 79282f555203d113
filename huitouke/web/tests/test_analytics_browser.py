"""In a real chromium: the cohort heat map draws, the segment page links to a masked customer list."""

from __future__ import annotations

import datetime as dt
import os
from decimal import Decimal

import pytest

from huitouke.analytics.services import refresh_scores
from huitouke.core.timeutil import SHANGHAI, today
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, OrderFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.conftest import make_shop_data
from huitouke.web.tests.test_browser import _shot, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def _recent_cohorts(tenant) -> None:
    """Two customers who first bought last month; one came back this month."""
    this_month = today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    back, once = CustomerFactory(shop=tenant.shop), CustomerFactory(shop=tenant.shop)
    for customer, day in ((back, last_month), (back, this_month), (once, last_month)):
        OrderFactory(shop=tenant.shop, store=tenant.store, customer=customer, paid_amount=Decimal("66.00"),
                     ordered_at=dt.datetime.combine(day, dt.time(0, 30), tzinfo=SHANGHAI))


def test_cohort_heat_map_and_segment_list(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    data = make_shop_data(make_tenant("shop-a"))
    _recent_cohorts(data.tenant)
    refresh_scores(shop=data.tenant.shop)

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "shop-a-owner")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].btn-primary")
    expect(page).to_have_url(f"{live_server.url}/")

    # Cohorts: from the main navigation; the heat map is drawn on a canvas and the table has the rates.
    page.click("nav.mainnav >> text=同期群")
    expect(page.locator('#cohort-chart[data-chart-ready="true"] canvas').first).to_be_visible()
    last_month = (today().replace(day=1) - dt.timedelta(days=1)).strftime("%Y-%m")
    row = page.locator(f'tr[data-cohort="{last_month}"] td')
    expect(row.nth(1)).to_have_text("2")
    expect(row.nth(4)).to_have_text("50.0%")  # month 1: one of the two came back
    _shot(page, "20-cohorts")

    # Segments: every segment listed; "名单" opens the masked list of that segment.
    page.click("nav.mainnav >> text=客户分层")
    expect(page.locator("tr[data-segment]")).to_have_count(10)
    _shot(page, "21-segments")
    segment = page.locator("tr[data-segment]").filter(has=page.locator("a")).first
    expected = int(segment.locator("td").nth(1).inner_text())
    segment.locator("a").click()
    expect(page.locator("table.scores-table tbody tr")).to_have_count(expected)
    expect(page.locator("table.scores-table")).not_to_contain_text("13812345678")
    _shot(page, "22-segment-list")
