"""Messages on the customer 360 timeline and in the data-subject export."""

from __future__ import annotations

import re

from django.urls import reverse

from huitouke.customers.selectors import customer_export_data
from huitouke.engagement.library import Kind
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.factories import CustomerFactory


def test_queued_and_suppressed_messages_show_on_the_customer_page(client, tenant_a):
    shop = tenant_a.shop
    customer = contactable(shop)
    enqueue_message(shop=shop, customer=customer, rule="birthday", kind=Kind.BIRTHDAY, channel="sms",
                    text="王女士，生日快乐！", day=NOON.date(), now=NOON)
    enqueue_message(shop=shop, customer=customer, rule="holiday:x", kind=Kind.HOLIDAY, channel="sms",
                    text="节日快乐", day=NOON.date(), now=NOON)
    client.force_login(tenant_a.owner.user)
    html = client.get(reverse("customer", args=[customer.pk])).content.decode()
    text = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
    assert "【shop-a shop】王女士，生日快乐！" in text
    assert "原因: 已达每日消息上限" in text  # the suppressed holiday wish, with its reason, in Chinese


def test_export_includes_the_customers_messages(tenant_a):
    customer = contactable(tenant_a.shop)
    other = CustomerFactory(shop=tenant_a.shop)
    enqueue_message(shop=tenant_a.shop, customer=customer, rule="birthday", kind=Kind.BIRTHDAY, channel="sms",
                    text="生日快乐", day=NOON.date(), now=NOON)
    assert customer_export_data(shop=tenant_a.shop, customer=customer)["engagement"] == [{
        "day": "2026-11-23", "rule": "birthday", "kind": "birthday", "channel": "sms",
        "text": "【shop-a shop】生日快乐", "status": "queued", "reason": "", "sent_at": None}]
    assert customer_export_data(shop=tenant_a.shop, customer=other)["engagement"] == []
