"""In a real chromium: the cohort heat map draws, the segment page links to a masked customer list."""

from __future__ import annotations

import os

import pytest

from huitouke.analytics.services import refresh_scores
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.conftest import make_shop_data
from huitouke.web.tests.test_analytics_views import make_recent_cohort
from huitouke.web.tests.test_browser import _shot, log_in, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_cohort_heat_map_and_segment_list(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    data = make_shop_data(make_tenant("shop-a"))
    last_month = make_recent_cohort(data.tenant)
    refresh_scores(shop=data.tenant.shop)

    log_in(page, live_server)

    # Cohorts: from the main navigation; the heat map is drawn on a canvas and the table has the rates.
    page.click("nav.mainnav >> text=同期群")
    expect(page.locator('#cohort-chart[data-chart-ready="true"] canvas').first).to_be_visible()
    expect(page.locator('#repeat-trend-chart[data-chart-ready="true"] canvas').first).to_be_visible()
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
    segment.locator("a").first.click()  # the list; the second link is what the segment buys
    expect(page.locator("table.scores-table tbody tr")).to_have_count(expected)
    expect(page.locator("table.scores-table")).not_to_contain_text("13812345678")
    _shot(page, "22-segment-list")
