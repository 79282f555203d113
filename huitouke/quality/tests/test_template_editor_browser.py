"""In a real chromium: the owner copies a built-in audit template, adds an item through HTMX, removes one and
saves; an audit submitted before keeps its score while the template moves to a new version."""

from __future__ import annotations

import datetime as dt
import os

import pytest

from huitouke.core.models import Platform
from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.models import Audit, AuditItem, AuditTemplate
from huitouke.quality.services import audits
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.testing.factories import StoreFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import log_in, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_owner_copies_a_template_adds_an_item_and_saves(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    shop = tenant.shop
    store = StoreFactory(shop=shop, slug="jingan", name="静安店", platform=Platform.OFFLINE)
    audits.ensure_default_templates(shop=shop)
    log_in(page, live_server)
    page.goto(f"{live_server.url}/quality/templates/")
    page.locator('[data-template="offline-boutique"] button[type=submit]').click()
    expect(page).to_have_url(f"{live_server.url}/quality/templates/offline-boutique-1/")
    copy = AuditTemplate.objects.get(shop=shop, key="offline-boutique-1")
    scored = [item for item in copy.items.all() if item.is_scored]
    audit = audits.submit_audit(shop=shop, auditor=tenant.owner, data=AuditInput(
        store_id=store.pk, template_key=copy.key, visited_at=dt.datetime(2025, 3, 1, 15, tzinfo=SHANGHAI),
        answers=[AnswerInput(item=i.code, value=1 if i.kind == "yes_no" else i.scale_max) for i in scored]))
    page.reload()
    expect(page.locator('[data-testid="template-in-use"]')).to_be_visible()

    first = page.locator("[data-section]").first
    items_before = first.locator("[data-item]").count()
    first.locator("button[hx-get]").click()  # HTMX fetches a blank item row
    expect(first.locator("[data-item]")).to_have_count(items_before + 1)
    added = first.locator("[data-item]").last
    added.locator('input[name$="-text"]').fill("试衣镜干净明亮")
    added.locator('select[name$="-kind"]').select_option("scale")
    added.locator('input[name$="-weight"]').fill("3")
    added.locator('input[name$="-scale_max"]').fill("5")
    first.locator("[data-item]").first.locator('input[name$="-remove"]').check()
    page.locator('[data-testid="template-form"] button[type=submit]').click()
    expect(page.locator(".messages")).to_contain_text("2")

    new = AuditTemplate.objects.get(shop=shop, key="offline-boutique-1", is_active=True)
    assert new.version == 2
    mirror = AuditItem.objects.get(template=new, text="试衣镜干净明亮")
    assert (mirror.kind, mirror.weight, mirror.scale_max) == ("scale", 3, 5)
    assert new.items.count() == copy.items.count()  # one added, one removed
    assert Audit.objects.get(pk=audit.pk).score == audit.score == 100
