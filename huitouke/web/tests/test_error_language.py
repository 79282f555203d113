"""A refused action reads Chinese on the (default zh-hans) page and English through the API, for the loyalty
and care apps; every domain-error message of the four upper apps is marked and has a Chinese translation."""

from __future__ import annotations

import ast
import datetime as dt
import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation

from huitouke.core.errors import DomainError, Invalid
from huitouke.engagement.models import FollowUpTask
from huitouke.engagement.services import followups
from huitouke.loyalty.models import Tier
from huitouke.loyalty.services import checkout, coupons
from huitouke.loyalty.services import points as points_service
from huitouke.orders.models import ProductRole
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, ProductFactory
from huitouke.web.tests.test_loyalty_views import ladder_post

ASKS_FOR_CHINESE = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}  # the API answers English all the same


def api(tenant):
    return client_for(tenant.token)


@pytest.mark.django_db
def test_a_tier_beyond_the_margin_guard_reads_chinese_on_the_page_and_english_in_the_api(owner_client, tenant_a):
    page = owner_client.post("/loyalty/", ladder_post([{"name": "亏本卡", "discount_percent": "40"}]))
    assert page.status_code == 200
    assert "亏本卡 折扣 40%，超过了毛利保护的 30%" in page.content.decode()
    response = api(tenant_a).put("/api/v1/loyalty/tiers", {"tiers": [{"name": "亏本卡", "discount_percent": "40"}]},
                                 content_type=JSON, **ASKS_FOR_CHINESE)
    body = assert_error(response, 422, "invalid", "max_discount_percent")
    assert body["message"] == "亏本卡 gives 40% off, more than the margin guard's 30%"
    assert not Tier.objects.filter(shop=tenant_a.shop, name="亏本卡").exists()


@pytest.mark.django_db
def test_a_pricing_refusal_keeps_its_english_message_and_localizes_for_a_page(tenant_a):
    """The pure pricing module's refusal passes through the checkout service as a translatable domain error."""
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    ProductFactory(shop=shop, sku="DRESS", price=Decimal("300.00"), role=ProductRole.EDGE)
    points_service.earn_points(shop=shop, customer=customer, points=20000, idempotency_key="seed")
    template = coupons.create_template(shop=shop, data=coupons.TemplateInput(
        name="满200减30", kind="amount_off", value=Decimal("30"), min_spend=Decimal("200")))
    coupon, _ = coupons.issue_coupon(shop=shop, template=template, customer=customer, issue_key="c1")
    request = checkout.CheckoutRequest(customer_id=customer.pk, lines=(checkout.CartLine(sku="DRESS", quantity=1),),
                                       coupon_code=coupon.code, points=8000)
    with pytest.raises(Invalid) as refused:
        checkout.quote(shop=shop, request=request)
    assert refused.value.code == "margin_guard"
    assert refused.value.message.startswith("margin guard: discounts come to 36.7% of the order (¥")
    with translation.override("zh-hans"):
        assert refused.value.localized().startswith("毛利保护：优惠合计占订单的 36.7%（¥")
        assert refused.value.message.startswith("margin guard")  # the API's text does not follow the language


@pytest.mark.django_db
def test_closing_a_task_without_an_outcome_reads_chinese_on_the_page_and_english_in_the_api(owner_client, data_a):
    tenant = data_a.tenant
    task, _ = followups.create_task(shop=tenant.shop, customer=data_a.wang, kind="call", title="回访真丝裙",
                                    due_on=dt.date(2026, 5, 27))
    page = owner_client.post("/care/tasks/?view=open", {"task_id": task.pk, "action": "done", "outcome": ""})
    assert "请记录回访结果" in page.content.decode() and "note the outcome" not in page.content.decode()
    response = api(tenant).post(f"/api/v1/engagement/tasks/{task.pk}/done", {"outcome": " "}, content_type=JSON,
                                **ASKS_FOR_CHINESE)
    assert assert_error(response, 422, "invalid", "outcome")["message"] == "note the outcome of the follow-up"
    missing = api(tenant).post("/api/v1/engagement/tasks/999999/done", {"outcome": "好"}, content_type=JSON)
    assert assert_error(missing, 404, "not_found")["message"] == "task 999999 not found"
    assert FollowUpTask.objects.get().status == "open"


# Every domain-error message of the upper apps: marked for translation, and translated.

APPS = ["loyalty", "engagement", "quality", "platform"]
ROOT = Path(__file__).resolve().parents[2]
MARKERS = {"_", "gettext_lazy", "gettext_noop"}
PLACEHOLDER = re.compile(r"%\(\w+\)[sr]")


def _error_names() -> set[str]:
    names, todo = set(), [DomainError]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names | {"PricingError"}  # loyalty.pricing's refusal, handed on as an Invalid by the checkout


def _called(node: ast.Call) -> str | None:
    return node.func.id if isinstance(node.func, ast.Name) else getattr(node.func, "attr", None)


def error_messages(app: str) -> tuple[dict[str, str], list[str]]:
    """(marked English message -> where, unmarked message sites) of the app's code outside its tests."""
    import huitouke.loyalty.pricing  # noqa: F401  (PricingError's module is loaded for its name)

    names = _error_names()
    marked, unmarked = {}, []
    for path in sorted((ROOT / app).rglob("*.py")):
        if {"tests", "migrations"} & set(path.parts):
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not (isinstance(node, ast.Call) and _called(node) in names and node.args):
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            message = node.args[0]
            if not isinstance(message, ast.Call):
                unmarked.append(where)  # a plain or f-string text would stay English on the Chinese pages
            elif _called(message) in MARKERS and isinstance(message.args[0], ast.Constant):
                marked.setdefault(message.args[0].value, where)
    return marked, unmarked


@pytest.mark.parametrize("app", APPS)
def test_every_domain_error_message_is_marked_and_has_a_chinese_translation(app):
    marked, unmarked = error_messages(app)
    assert not unmarked
    assert len(marked) > 40
    with translation.override("zh-hans"):
        chinese = {english: translation.gettext(english) for english in marked}
    untranslated = [f"{marked[english]}: {english}" for english, text in chinese.items() if text == english]
    assert not untranslated
    lost = [english for english, text in chinese.items()
            if sorted(PLACEHOLDER.findall(text)) != sorted(PLACEHOLDER.findall(english))]
    assert not lost  # a translation fills the same %(name)s values as the English
