"""The quality report: the command, the API and the dashboard page show the same figures."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client

from huitouke.core.timeutil import SHANGHAI
from huitouke.quality import selectors
from huitouke.quality.models import ChurnReason, Survey
from huitouke.quality.services import audits, churn, refunds, satisfaction, shipments
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.quality.tests.conftest import full_answers
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

MARCH = dt.datetime(2025, 3, 5, 10, 0, tzinfo=SHANGHAI)


def visit(setup, day: int, greeting: int) -> None:
    answers = [AnswerInput(item=a["item"], value=(greeting if a["item"] == "greeting" else a["value"]))
               for a in full_answers(setup.tenant.shop, "offline-boutique")]
    audits.submit_audit(shop=setup.tenant.shop, auditor=setup.auditor, data=AuditInput(
        store_id=setup.boutique.pk, template_key="offline-boutique", answers=answers,
        visited_at=MARCH + dt.timedelta(days=day), associate_id=setup.associate.pk))


@pytest.fixture
def month(setup):
    shop = setup.tenant.shop
    visit(setup, 0, 1)
    visit(setup, 10, 0)  # greeting missed: weight 2 of 16 → 87.5; average (100 + 87.5) ÷ 2 = 93.75 → 93.8
    customer = CustomerFactory(shop=shop)
    order = OrderFactory(shop=shop, store=setup.online, customer=customer, ordered_at=MARCH, paid_at=MARCH,
                         paid_amount=Decimal("200"), refunded_amount=Decimal("100"))
    line = OrderLineFactory(order=order, sku="A", title="A", quantity=2, unit_price=Decimal("100"),
                            line_amount=Decimal("200"))
    refunds.set_refund_reason(shop=shop, order=order, line_id=line.pk, code="quality", units=1)
    _, token = satisfaction.create_survey(shop=shop, order=order)
    satisfaction.answer_survey(token=token, answer=satisfaction.Answer(
        goods_stars=2, service_stars=4, delivery_stars=5, recommend=5))
    Survey.objects.update(answered_at=MARCH + dt.timedelta(days=3))  # answered in the report's month
    churn.record_churn_reason(shop=shop, customer=customer, code="price", comment="别家便宜")
    churn.record_churn_reason(shop=shop, customer=CustomerFactory(shop=shop), code="forgot")
    shipments.record_shipment(shop=shop, order=order, shipped_at=MARCH + dt.timedelta(hours=30))
    ChurnReason.objects.update(recorded_at=MARCH)
    return setup


def test_report_structure_and_figures(month):
    report = selectors.quality_report(shop=month.tenant.shop, month="2025-03")
    assert report["stores"] == [{"store": "shop-a-boutique", "audits": 2, "last_score": 87.5,
                                 "average_score": 93.8, "trend": [100.0, 87.5]}]
    assert report["satisfaction"] == {"responses": 1, "csat": 66.7, "nps": -100.0}
    assert report["products_below_threshold"] == [{"sku": "A", "sold": 2, "quality_refunds": 1,
                                                   "quality_ok_rate": 0.5}]
    assert report["churn_reasons"]["price"] == {"count": 1, "share": 50.0, "reference": 20}
    assert report["churn_reasons"]["forgot"] == {"count": 1, "share": 50.0, "reference": 50}
    assert report["delivery_promise"] == {"promise_hours": 48, "shipped": 1, "within_promise": 1, "share": 100.0}
    assert selectors.quality_report(shop=month.tenant.shop, month="2025-04")["stores"] == []


def test_command_prints_the_same_json(month):
    out = io.StringIO()
    call_command("quality", "report", "--shop", "shop-a", "--month", "2025-03", "--json", stdout=out)
    assert json.loads(out.getvalue()) == selectors.quality_report(shop=month.tenant.shop, month="2025-03")
    text = io.StringIO()
    call_command("quality", "report", "--shop", "shop-a", stdout=text)
    assert "shop-a-boutique" in text.getvalue()
    with pytest.raises(CommandError, match="no shop"):
        call_command("quality", "report", "--shop", "nope", "--json")
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command("quality", "report", "--shop", "shop-a", "--month", "2025-13")


def test_api_report_and_dashboard_show_the_same_figures(month):
    api = client_for(month.tenant.token).get("/api/v1/quality/report?month=2025-03")
    assert api.json() == json.loads(json.dumps(selectors.quality_report(shop=month.tenant.shop, month="2025-03")))
    assert_error(client_for(month.tenant.token).get("/api/v1/quality/report?month=March"), 422, "invalid", "month")
    browser = Client()
    assert browser.login(username="shop-a-owner", password=TEST_PASSWORD)
    page = browser.get("/quality/?month=2025-03").content.decode()
    assert "87.5" in page and "93.8" in page and "100.0 → 87.5" in page
    assert "66.7%" in page and "-100.0" in page
    assert 'data-testid="products-below"' in page and "50.0%" in page
    store_page = browser.get(f"/quality/stores/{month.boutique.pk}/").content.decode()
    assert "trend-chart" in store_page and '"score": [100.0, 87.5]' in store_page
    associate_page = browser.get(f"/quality/associates/{month.associate.pk}/").content.decode()
    assert "93.8" in associate_page


def test_churn_reasons_and_shipments_over_the_api(month):
    client = client_for(month.tenant.token)
    customer = CustomerFactory(shop=month.tenant.shop)
    created = client.post("/api/v1/quality/churn-reasons", {"customer": customer.pk, "reason": "poor_experience"},
                          content_type=JSON)
    assert created.status_code == 201, created.content
    assert_error(client.post("/api/v1/quality/churn-reasons", {"customer": customer.pk, "reason": "bored"},
                             content_type=JSON), 422, "invalid", "reason")
    assert_error(client.post("/api/v1/quality/churn-reasons", {"customer": 10**9, "reason": "price"},
                             content_type=JSON), 404, "not_found", "customer")
    order = OrderFactory(shop=month.tenant.shop, store=month.online, ordered_at=MARCH, paid_at=MARCH)
    late = client.put("/api/v1/quality/shipments", {"order": order.pk, "shipped_at": "2025-03-09T10:00:00+08:00"},
                      content_type=JSON)
    assert late.status_code == 200, late.content
    assert_error(client.put("/api/v1/quality/shipments", {
        "order": order.pk, "shipped_at": "2025-03-09T10:00:00+08:00", "delivered_at": "2025-03-08T10:00:00+08:00"},
        content_type=JSON), 422, "invalid", "delivered_at")
    promise = selectors.delivery_promise(shop=month.tenant.shop, period=selectors.month_period("2025-03"))
    assert (promise["shipped"], promise["within_promise"], promise["share"]) == (2, 1, 50.0)


def test_corrective_action_from_the_store_page(month):
    browser = Client()
    assert browser.login(username="shop-a-owner", password=TEST_PASSWORD)
    url = f"/quality/stores/{month.boutique.pk}/"
    weakest = selectors.weakest_items(shop=month.tenant.shop, store=month.boutique)
    assert weakest[0]["text"].startswith("进店 10 秒内") and weakest[0]["average"] == 50.0
    response = browser.post(url, {"description": "早班开门前演练迎宾", "owner": month.associate.pk,
                                  "due_date": "2025-03-20", "item": weakest[0]["item_id"]})
    assert response.status_code == 302
    action = selectors.corrective_actions(shop=month.tenant.shop, store=month.boutique).get()
    assert browser.post(f"/quality/actions/{action.pk}/status/", {"status": "done"}).status_code == 302
    assert browser.post(f"/quality/actions/{action.pk}/status/", {"status": "verified"}).status_code == 302
    action.refresh_from_db()
    assert action.status == "verified"
    assert "早班开门前演练迎宾" in browser.get(url).content.decode()


def test_auditor_command_creates_a_login_for_some_stores(setup):
    out = io.StringIO()
    call_command("quality", "auditor", "--shop", "shop-a", "--user", "mystery-2", "--stores", "shop-a-boutique",
                 "--password", "secret-pass-9", stdout=out)
    assert "mystery-2" in out.getvalue()
    browser = Client()
    assert browser.login(username="mystery-2", password="secret-pass-9")
    page = browser.get("/quality/audits/").content.decode()
    assert "静安店" in page
    with pytest.raises(CommandError, match="not an auditor"):
        call_command("quality", "auditor", "--shop", "shop-a", "--user", "shop-a-owner", "--stores", "shop-a-tb")
    with pytest.raises(CommandError, match="no store"):
        call_command("quality", "auditor", "--shop", "shop-a", "--user", "mystery-3", "--stores", "nope")


def test_settings_change_the_threshold_and_the_promise(month):
    client = client_for(month.tenant.token)
    assert client.get("/api/v1/quality/settings").json() == {
        "quality_ok_threshold": 90.0, "delivery_promise_hours": 48, "survey_link_days": 30, "low_rating_stars": 2,
        "low_rating_recommend": 6}
    changed = client.patch("/api/v1/quality/settings", {"quality_ok_threshold": 40, "delivery_promise_hours": 24},
                           content_type=JSON)
    assert changed.json()["quality_ok_threshold"] == 40.0
    report = selectors.quality_report(shop=month.tenant.shop, month="2025-03")
    assert report["products_below_threshold"] == []  # 50% is above 40%
    assert report["delivery_promise"]["within_promise"] == 0  # shipped after 30 h: late for 24 h
    assert_error(client.patch("/api/v1/quality/settings", {"quality_ok_threshold": 101}, content_type=JSON),
                 422, "invalid", "quality_ok_threshold")
    assert_error(client_for(month.auditor_token).patch("/api/v1/quality/settings", {"survey_link_days": 5},
                                                       content_type=JSON), 403, "forbidden")
