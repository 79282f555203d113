"""In a real chromium on a phone-sized screen: record a mystery-shopper visit, then see the store's trend."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from huitouke.core.models import Platform
from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.models import Audit, AuditTemplate
from huitouke.quality.services import audits
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.testing.factories import TEST_PASSWORD, StoreFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import _shot, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_audit_on_a_phone_then_the_store_trend(live_server, transactional_db, page, tmp_path):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    shop = tenant.shop
    store = StoreFactory(shop=shop, slug="jingan", name="静安店", platform=Platform.OFFLINE)
    audits.ensure_default_templates(shop=shop)
    template = AuditTemplate.objects.get(shop=shop, key="offline-boutique")
    scored = [item for item in template.items.all() if item.is_scored]
    for day, missed in ((1, "greeting"), (8, "farewell")):  # two earlier visits for a trend
        audits.submit_audit(shop=shop, auditor=tenant.owner, data=AuditInput(
            store_id=store.pk, template_key=template.key,
            visited_at=dt.datetime(2025, 3, day, 15, tzinfo=SHANGHAI),
            answers=[AnswerInput(item=i.code, value=0 if i.code == missed else (1 if i.kind == "yes_no" else i.scale_max))
                     for i in scored]))

    phone = page.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844},
                                             is_mobile=True, has_touch=True)
    mobile = phone.new_page()
    mobile.goto(f"{live_server.url}/login/")
    mobile.fill("#id_username", "shop-a-owner")
    mobile.fill("#id_password", TEST_PASSWORD)
    mobile.click("button[type=submit].btn-primary")
    mobile.goto(f"{live_server.url}/quality/audits/new/?store={store.pk}&template=offline-boutique")
    form = mobile.locator('[data-testid="audit-form"]')
    expect(form).to_be_visible()
    for item in scored:
        value = "1" if item.kind == "yes_no" else str(item.scale_max)
        if item.code == "product_knowledge":
            value = "2"
        choice = form.locator(f'[data-item="{item.code}"] label:has(input[value="{value}"])')
        choice.scroll_into_view_if_needed()
        choice.click()
    png = tmp_path / "fitting.png"
    from PIL import Image

    Image.new("RGB", (64, 48), (180, 40, 40)).save(png)
    form.locator('input[name="p-fitting_room_photo"]').set_input_files(str(png))
    form.locator('textarea[name="notes"]').fill("试衣间整洁，导购主动递尺码")
    _shot(mobile, "40-audit-form-phone")
    form.locator('button[type="submit"]').click()

    expect(mobile).to_have_url(f"{live_server.url}/quality/stores/{store.pk}/")
    chart = mobile.locator('#trend-chart[data-chart-ready="true"] canvas').first
    expect(chart).to_be_visible()
    width = mobile.evaluate("document.documentElement.scrollWidth")
    assert width <= 400, f"the store page scrolls sideways on a phone ({width}px)"
    # 100 × (16 − 3 × 0.5) ÷ 16 = 90.6 (product knowledge 2 of 4, weight 3)
    latest = Audit.objects.order_by("-id").first()
    assert str(latest.score) == "90.6" and latest.photos.count() == 1
    expect(mobile.locator("body")).to_contain_text("90.6")
    _shot(mobile, "41-store-trend-phone")
    phone.close()
