"""In a real chromium on a phone: a customer answers a satisfaction link; a low rating becomes a call task.

The form must post from a link page that hides its address from other sites: a "no-referrer" policy makes
the browser send `Origin: null`, which Django's CSRF check refuses (the test client never shows that).
"""

from __future__ import annotations

import os

import pytest

from huitouke.engagement.models import FollowUpTask
from huitouke.quality.services import satisfaction
from huitouke.testing.factories import CustomerFactory, OrderFactory
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import _shot, page  # noqa: F401 - the chromium page fixture

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser


def test_a_low_rating_from_the_phone_becomes_a_call_for_her_associate(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    customer = CustomerFactory(shop=tenant.shop, registered_by=tenant.owner)
    order = OrderFactory(shop=tenant.shop, store=tenant.store, customer=customer)
    _, token = satisfaction.create_survey(shop=tenant.shop, order=order)

    phone = page.context.browser.new_context(locale="zh-CN", viewport={"width": 390, "height": 844})
    survey_page = phone.new_page()
    survey_page.goto(f"{live_server.url}/s/{token}/")
    for name, value in (("goods_stars", "2"), ("service_stars", "1"), ("delivery_stars", "3"), ("recommend", "4")):
        survey_page.locator(f'input[name="{name}"][value="{value}"]').check(force=True)
    survey_page.click("button[type=submit]")
    expect(survey_page.locator('[data-testid="survey-thanks"]')).to_be_visible()
    _shot(survey_page, "40-survey-thanks")
    phone.close()

    task = FollowUpTask.objects.get(shop=tenant.shop, customer=customer)
    assert (task.kind, task.owner_id, task.rule) == ("call", tenant.owner.pk, "low_rating")
    assert "最低 1 星" in task.title and "推荐度 4" in task.title
