"""End to end in a real chromium: log in, dashboard chart, live search, 360 page, profile edit, English."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from huitouke.core.models import AccessLog
from huitouke.customers.models import Customer
from huitouke.testing.factories import TEST_PASSWORD
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.conftest import make_shop_data

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[3] / "var" / "screenshots"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
    "--no-first-run", "--disable-sync",
]

pytestmark = pytest.mark.browser


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install Debian's chromium to run the browser tests")
    from playwright.sync_api import sync_playwright

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=LAUNCH_ARGS)
        context = browser.new_context(locale="zh-CN", viewport={"width": 1280, "height": 900})
        page = context.new_page()
        yield page
        context.close()
        browser.close()


def log_in(page, live_server, username: str = "shop-a-owner") -> None:
    """Log in through the real form and land on the dashboard."""
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].btn-primary")
    expect(page).to_have_url(f"{live_server.url}/")


def _shot(page, name: str) -> None:
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def test_shop_owner_walks_through_the_app(live_server, transactional_db, page):
    from playwright.sync_api import expect

    data = make_shop_data(make_tenant("shop-a"))
    wang = data.wang

    # The vendored assets must be served (no CDN at runtime).
    for asset in ("css/app.css", "vendor/htmx.min.js", "vendor/echarts.min.js", "js/dashboard.js"):
        assert page.request.get(f"{live_server.url}/static/{asset}").ok, (
            f"static/{asset} is not served: huitouke/static must be in STATICFILES_DIRS"
        )

    # Log in.
    page.goto(f"{live_server.url}/login/")
    expect(page.locator("h1")).to_have_text("登录")
    _shot(page, "01-login")
    page.fill("#id_username", "shop-a-owner")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].btn-primary")

    # Dashboard: figures and a rendered chart.
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.locator('[data-figure="repeat_rate"] .stat-value')).to_have_text("50.0%")
    expect(page.locator('[data-figure="net_revenue"] .stat-value')).to_have_text("¥499.50")
    expect(page.locator('#revenue-chart[data-chart-ready="true"] canvas').first).to_be_visible()
    _shot(page, "02-dashboard")

    # Customers: live search by platform nickname, without pressing enter.
    page.click("nav.mainnav >> text=顾客")
    page.wait_for_load_state("load")  # HTMX binds its handlers once the page has loaded
    expect(page.locator("#results tbody tr")).to_have_count(2)
    page.locator("#customer-search").press_sequentially("小鱼儿")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    expect(page.locator("#results tbody tr").first).to_contain_text("王*芳")
    expect(page).to_have_url(re.compile(r"/customers/\?q=%E5%B0%8F"))
    _shot(page, "03-customers-search")

    # Customer 360.
    page.click("#results a.customer-link")
    expect(page).to_have_url(f"{live_server.url}/customers/{wang.pk}/")
    expect(page.get_by_test_id("customer-name")).to_have_text("王*芳")
    expect(page.locator(".timeline-entry")).to_have_count(2)
    expect(page.locator(".timeline")).to_contain_text("TB20250301001")
    expect(page.locator(".timeline")).to_contain_text("真丝连衣裙")
    _shot(page, "04-customer-360")

    # Edit the soft profile in place.
    page.wait_for_load_state("load")
    before = page.get_by_test_id("completeness-score").inner_text()
    page.click("#profile >> text=编辑档案")
    expect(page.locator("#profile form")).to_be_visible()
    page.fill("#id_personality", "开朗，爱聊天")
    page.fill("#id_hobbies", "瑜伽、插花")
    page.fill("#id_tags", "VIP, 真丝控")
    _shot(page, "05-profile-form")
    page.click("#profile button[type=submit]")
    expect(page.locator('#profile dd[data-field="personality"]')).to_have_text("开朗，爱聊天")
    expect(page.locator('#profile [data-field="tags"]')).to_contain_text("真丝控")
    expect(page.get_by_test_id("completeness-score")).not_to_have_text(before)
    expect(page.locator("#head-tags")).to_contain_text("真丝控")
    saved = Customer.objects.get(pk=wang.pk)
    assert (saved.personality, saved.hobbies) == ("开朗，爱聊天", "瑜伽、插花")
    _shot(page, "06-profile-saved")

    # Tablet width: the same page stacks into one column and stays usable.
    page.set_viewport_size({"width": 820, "height": 1180})
    page.goto(f"{live_server.url}/customers/?q=5678")
    expect(page.locator("#results tbody tr")).to_have_count(1)
    _shot(page, "06b-customers-tablet")
    page.goto(f"{live_server.url}/customers/{wang.pk}/")
    _shot(page, "06c-customer-360-tablet")
    page.set_viewport_size({"width": 1280, "height": 900})

    # The owner reveals the full personal data once; the reveal is logged.
    page.get_by_test_id("reveal").click()
    expect(page.get_by_test_id("customer-name")).to_have_text("王小芳")
    expect(page.locator(".phone-line")).to_have_text("138 1234 5678")
    assert AccessLog.objects.filter(action=AccessLog.Action.REVEAL, object_id=wang.pk).count() == 1
    _shot(page, "06d-customer-360-revealed")

    # Switch to English.
    page.click(".langswitch button[value=en]")
    expect(page.locator("#profile h2")).to_have_text("Profile")
    expect(page.locator("nav.mainnav")).to_contain_text("Customers")
    expect(page.locator(".timeline-card h2")).to_have_text("Timeline")
    _shot(page, "07-customer-360-en")
    page.click("nav.mainnav >> text=Dashboard")
    expect(page.locator('[data-figure="repeat_rate"] .stat-label')).to_have_text("Repeat rate")
    expect(page.locator('#revenue-chart[data-chart-ready="true"] canvas').first).to_be_visible()
    _shot(page, "08-dashboard-en")
