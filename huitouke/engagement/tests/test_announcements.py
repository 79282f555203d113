"""A coupon batch with an announcement reaches its customers as commercial SMS through the outbox."""

from __future__ import annotations

from decimal import Decimal

from huitouke.engagement.models import Message
from huitouke.engagement.tests.conftest import contactable
from huitouke.loyalty.models import Coupon
from huitouke.loyalty.services import coupons
from huitouke.testing.factories import CustomerFactory


def test_each_coupon_of_an_announced_batch_gets_an_sms_with_its_code_or_a_suppression(shop):
    template = coupons.create_template(shop=shop, data=coupons.TemplateInput(
        name="回购券", kind="amount_off", value=Decimal("20")))
    willing, silent = contactable(shop), CustomerFactory(shop=shop)  # the second never gave SMS consent
    batch = coupons.issue_batch(shop=shop, template=template, customer_ids=[willing.pk, silent.pk],
                                audience="list", announcement="想念您，送您一张20元回购券")
    messages = {m.customer_id: m for m in Message.objects.filter(shop=shop, rule=f"coupon-batch-{batch.pk}")}
    code = Coupon.objects.get(customer=willing).code
    assert messages[willing.pk].status == "queued" and code in messages[willing.pk].text
    assert messages[willing.pk].text.endswith("回T退订") and messages[willing.pk].kind == "commercial"
    assert messages[silent.pk].status == "suppressed" and messages[silent.pk].reason


def test_a_batch_without_an_announcement_sends_nothing(shop):
    template = coupons.create_template(shop=shop, data=coupons.TemplateInput(
        name="回购券", kind="amount_off", value=Decimal("20")))
    coupons.issue_batch(shop=shop, template=template, customer_ids=[contactable(shop).pk], audience="list")
    assert not Message.objects.filter(shop=shop).exists()
