"""In a real chromium: a customer files a complaint through her signed link on a phone, and the staff see it."""

from __future__ import annotations

import os

import pytest

from huitouke.engagement.services.complaints import complaint_token
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import _shot, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_customer_files_a_complaint_on_her_phone_and_staff_see_it(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    customer = CustomerFactory(shop=tenant.shop, name="王小芳")

    phone = page.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    form = phone.new_page()
    form.goto(f"{live_server.url}/feedback/{complaint_token(customer)}/")  # no login: the signed link is the key
    expect(form.locator("h1")).to_have_text("请告诉我们哪里做得不好")
    expect(form.locator("body")).not_to_contain_text("王小芳")
    form.fill("textarea[name=description]", "收到的真丝裙有一处抽丝。")
    form.check("input[name=route][value=region]")
    form.fill("input[name=region]", "南京西路店")
    assert form.evaluate("document.documentElement.scrollWidth") <= 390  # nothing wider than the phone
    _shot(form, "40-complaint-form-phone")
    form.click("button[type=submit]")
    expect(form.locator('[data-testid="complaint-filed"]')).to_contain_text("1")
    _shot(form, "41-complaint-filed-phone")
    phone.close()

    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", "shop-a-owner")
    page.fill("#id_password", TEST_PASSWORD)
    page.click("button[type=submit].btn-primary")
    page.goto(f"{live_server.url}/care/complaints/")
    row = page.locator('[data-testid="complaints"] tbody tr').first
    expect(row).to_contain_text("收到的真丝裙有一处抽丝。")
    expect(row).to_contain_text("南京西路店")
    expect(row).to_contain_text("王*")
    row.locator("a").first.click()
    page.select_option("select[name=step]", "listen")
    page.fill("textarea[name=note]", "已致电道歉")
    page.click('[data-testid="step-form"] button[type=submit]')
    expect(page.locator('[data-testid="steps"] li.done')).to_contain_text("已致电道歉")
    _shot(page, "42-complaint-staff")
