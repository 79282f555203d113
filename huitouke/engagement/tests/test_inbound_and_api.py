"""Opt-out by reply through the inbound webhook, and the outbox / tone-check / preview API."""

from __future__ import annotations

import pytest

from huitouke.customers.selectors import current_consents
from huitouke.engagement.library import Kind
from huitouke.engagement.services.inbound import is_opt_out
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import configure_channel
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import StaffFactory

URL = "/api/v1/engagement/inbound-sms"


@pytest.mark.parametrize(("text", "expected"), [
    ("T", True), (" td ", True), ("退订", True), ("退订。", True), ("t", True),
    ("Thanks", False), ("我想退订吗？不是", False), ("", False),
])
def test_opt_out_words(text, expected):
    assert is_opt_out(text) is expected


def test_reply_t_records_a_refused_sms_consent_and_later_sms_are_suppressed(tenant_a):
    shop = tenant_a.shop
    customer = contactable(shop, phone="+8613812345678")
    response = client_for(tenant_a.token).post(URL, {"phone": "13812345678", "text": "退订"}, content_type=JSON)
    assert response.status_code == 200, response.content
    assert response.json()["customer_id"] == customer.pk and response.json()["opted_out"] is True
    consent = current_consents(shop=shop, customer=customer)["sms"]
    assert (consent.granted, consent.source) == (False, "SMS reply “退订”")
    message = enqueue_message(shop=shop, customer=customer, rule="birthday", kind=Kind.BIRTHDAY, channel="sms",
                              text="生日快乐", day=NOON.date(), now=NOON)
    assert (message.status, message.reason) == ("suppressed", "opted_out")


def test_other_replies_are_recorded_but_change_nothing(tenant_a):
    customer = contactable(tenant_a.shop, phone="+8613812345678")
    response = client_for(tenant_a.token).post(URL, {"phone": "+8613812345678", "text": "谢谢"}, content_type=JSON)
    assert response.json()["opted_out"] is False
    assert current_consents(shop=tenant_a.shop, customer=customer)["sms"].granted is True


def test_provider_webhook_authenticates_with_the_shops_inbound_key(tenant_a, monkeypatch, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    configure_channel(shop=tenant_a.shop, channel="sms", provider="aliyun", secret_name="a-sms")
    monkeypatch.setenv("HUITOUKE_SECRET_A_SMS_INBOUND_KEY", "s3cret-key")
    customer = contactable(tenant_a.shop, phone="+8613812345678")
    from django.test import Client

    body = {"phone": "+8613812345678", "text": "T"}
    wrong = Client().post(f"{URL}?shop=shop-a&key=nope", body, content_type=JSON)
    assert_error(wrong, 401, "unauthorized")
    right = Client().post(f"{URL}?shop=shop-a&key=s3cret-key", body, content_type=JSON)
    assert right.status_code == 200 and right.json()["opted_out"] is True
    assert current_consents(shop=tenant_a.shop, customer=customer)["sms"].granted is False


def test_a_phone_of_another_shop_opts_out_nobody_here(tenant_a, tenant_b):
    theirs = contactable(tenant_b.shop, phone="+8613812345678")
    response = client_for(tenant_a.token).post(URL, {"phone": "+8613812345678", "text": "T"}, content_type=JSON)
    assert response.json() == {"id": response.json()["id"], "customer_id": None, "opted_out": False}
    assert current_consents(shop=tenant_b.shop, customer=theirs)["sms"].granted is True


def test_tone_check_api_returns_spans_and_sms_segments(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/engagement/tone-check", {"text": "立冬了，注意保暖，冬季新款8折", "kind": "season"}, content_type=JSON)
    body = response.json()
    assert body["ok"] is False
    assert [(p["text"], p["start"], p["end"], p["reason"]) for p in body["problems"]] == [
        ("新款", 11, 13, "new arrivals"), ("8折", 13, 15, "discount")]
    assert body["sms_text"] == "【shop-a shop】立冬了，注意保暖，冬季新款8折"
    assert (body["sms_length"], body["sms_segments"]) == (13 + 15, 1)


def test_preview_fills_a_library_text_for_a_real_customer(tenant_a):
    associate = StaffFactory(shop=tenant_a.shop, display_name="小林", user__username="lin")
    customer = contactable(tenant_a.shop, name="王芳", gender="female", registered_by=associate)
    response = client_for(tenant_a.token).post(
        "/api/v1/engagement/preview", {"customer_id": customer.pk, "kind": "miss_you"}, content_type=JSON)
    body = response.json()
    assert body["ok"] is True and body["sms_segments"] == 1
    assert body["sms_text"].startswith("【shop-a shop】王女士，")
    assert "{" not in body["sms_text"]


def test_messages_api_lists_the_shops_outbox_only(tenant_a, tenant_b):
    mine = enqueue_message(shop=tenant_a.shop, customer=contactable(tenant_a.shop), rule="birthday",
                           kind=Kind.BIRTHDAY, channel="sms", text="生日快乐", day=NOON.date(), now=NOON)
    enqueue_message(shop=tenant_b.shop, customer=contactable(tenant_b.shop), rule="birthday",
                    kind=Kind.BIRTHDAY, channel="sms", text="生日快乐", day=NOON.date(), now=NOON)
    body = client_for(tenant_a.token).get("/api/v1/engagement/messages?status=queued").json()
    assert body["count"] == 1
    assert body["items"][0]["id"] == mine.pk and body["items"][0]["text"] == "【shop-a shop】生日快乐"


def test_delivery_receipts_mark_sent_messages_delivered_or_failed(tenant_a):
    from huitouke.engagement.models import Message
    from huitouke.engagement.services.delivery import deliver_due

    shop = tenant_a.shop
    ok, bad = (enqueue_message(shop=shop, customer=contactable(shop), rule="birthday", kind=Kind.BIRTHDAY,
                               channel="sms", text="生日快乐", day=NOON.date(), now=NOON) for _ in range(2))
    deliver_due(shop=shop, now=NOON)
    api = client_for(tenant_a.token)
    url = "/api/v1/engagement/receipts"
    ok.refresh_from_db()
    bad.refresh_from_db()
    response = api.post(url, {"provider_message_id": ok.provider_message_id, "delivered": True}, content_type=JSON)
    assert response.status_code == 200 and response.json()["status"] == "delivered"
    api.post(url, {"provider_message_id": bad.provider_message_id, "delivered": False, "error": "MK:0001 空号"},
             content_type=JSON)
    bad = Message.objects.get(pk=bad.pk)
    assert (bad.status, bad.reason, bad.detail) == ("failed", "undelivered", "MK:0001 空号")
    # a late "delivered" after "failed" and a repeat change nothing
    api.post(url, {"provider_message_id": bad.provider_message_id, "delivered": True}, content_type=JSON)
    assert Message.objects.get(pk=bad.pk).status == "failed"
    assert_error(api.post(url, {"provider_message_id": "nope", "delivered": True}, content_type=JSON),
                 404, "not_found", "provider_message_id")
