"""The customer 360 page: her satisfaction answers and why she left, recorded by her associate."""

from __future__ import annotations

import pytest
from django.test import Client

from huitouke.customers.extensions import export_sections_for, timeline_for
from huitouke.quality.models import ChurnReason, Survey
from huitouke.quality.services import satisfaction
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def test_associate_records_why_she_left_and_makes_a_link(setup):
    shop = setup.tenant.shop
    customer = CustomerFactory(shop=shop, name="王小芳", registered_by=setup.associate)
    OrderFactory(shop=shop, store=setup.online, customer=customer)
    browser = Client()
    assert browser.login(username="shop-a-associate", password=TEST_PASSWORD)
    page = browser.get(f"/customers/{customer.pk}/").content.decode()
    assert 'data-testid="quality-panel"' in page
    response = browser.post(f"/quality/customers/{customer.pk}/churn-reason/", {"reason": "price", "comment": "别家便宜"})
    assert response.status_code == 302
    assert ChurnReason.objects.get().recorded_by == setup.associate
    browser.post(f"/quality/customers/{customer.pk}/survey/")
    survey = Survey.objects.get()
    assert survey.order is not None and survey.associate == setup.associate  # her associate by default
    assert "/s/" in browser.get(f"/customers/{customer.pk}/").content.decode()
    assert browser.post(f"/quality/customers/{customer.pk}/churn-reason/", {"reason": "bored"}).status_code == 302
    assert ChurnReason.objects.count() == 1
    other = CustomerFactory(shop=setup.tenant.shop.__class__.objects.create(slug="x", name="x"))
    assert browser.post(f"/quality/customers/{other.pk}/churn-reason/", {"reason": "price"}).status_code == 404


def test_answers_join_her_timeline_and_export(setup):
    shop = setup.tenant.shop
    customer = CustomerFactory(shop=shop)
    _, token = satisfaction.create_survey(shop=shop, customer=customer, store=setup.boutique)
    satisfaction.answer_survey(token=token, answer=satisfaction.Answer(
        goods_stars=5, service_stars=5, delivery_stars=None, recommend=10, comment="导购很贴心"))
    kinds = [entry.kind for entry in timeline_for(shop=shop, customer=customer)]
    assert "satisfaction" in kinds
    exported = export_sections_for(shop=shop, customer=customer)["quality"]
    assert exported["satisfaction"][0]["comment"] == "导购很贴心"
