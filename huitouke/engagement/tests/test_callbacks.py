"""Provider callbacks in each provider's own format: Aliyun SmsReport / SmsUp batches, Tencent status and reply
callbacks, Twilio's signed StatusCallback and incoming message. Messages are first sent for real through the
provider's SDK to the local fake server, so the IDs in the reports are the ones the SDK handed back."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from twilio.request_validator import RequestValidator

from huitouke.customers.selectors import current_consents
from huitouke.engagement.models import InboundSms, Message
from huitouke.engagement.services.delivery import deliver_due
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import configure_channel
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.api import JSON, assert_error
from huitouke.testing.factories import ShopFactory

FORM = "application/x-www-form-urlencoded"
KEY = "k3y-of-the-shop"
TOKEN = "twilio-auth-token"
SETTINGS = {
    "aliyun": lambda port: {"endpoint": f"127.0.0.1:{port}", "protocol": "http", "sign_name": "江南小店",
                            "template_code": "SMS_1"},
    "tencent": lambda port: {"endpoint": f"127.0.0.1:{port}", "scheme": "http", "sdk_app_id": "1400000000",
                             "sign_name": "江南小店", "template_id": "1"},
    "twilio": lambda port: {"base_url": f"http://127.0.0.1:{port}", "from_number": "+15005550006"},
}
SECRETS = {"access_key_id": "ak", "access_key_secret": "sk", "secret_id": "id", "secret_key": "key",
           "account_sid": "AC" + "0" * 32, "auth_token": TOKEN, "inbound_key": KEY}


@pytest.fixture
def secrets(monkeypatch):
    for name, value in SECRETS.items():
        monkeypatch.setenv(f"HUITOUKE_SECRET_SHOP_SMS_{name.upper()}", value)


def send_two(shop, provider: str, fake) -> tuple[Message, Message]:
    """Two SMS sent through the provider's SDK to the fake server; returns them as marked sent."""
    configure_channel(shop=shop, channel="sms", provider=provider, secret_name="shop-sms",
                      settings=SETTINGS[provider](fake.port))
    for phone in ("+8613812345678", "+8613900001111"):
        customer = contactable(shop, phone=phone, name="王芳" if phone.endswith("5678") else "李娜")
        enqueue_message(shop=shop, customer=customer, rule="birthday", kind="birthday", channel="sms",
                        text="生日快乐！", day=NOON.date(), now=NOON)
    assert deliver_due(shop=shop, now=NOON).sent == 2
    first, second = Message.objects.order_by("id")
    assert first.provider_message_id and second.provider_message_id
    return first, second


def post_json(url: str, body) -> object:
    return Client().post(url, json.dumps(body, ensure_ascii=False), content_type=JSON)


def statuses() -> list[tuple[str, str]]:
    return list(Message.objects.order_by("id").values_list("status", "detail"))


def test_aliyun_smsreport_batch_marks_delivered_and_failed_and_skips_unknown(shop, fake_sms, secrets):
    first, second = send_two(shop, "aliyun", fake_sms)
    reports = [
        {"phone_number": "13812345678", "send_time": "2026-11-23 12:00:00", "report_time": "2026-11-23 12:00:05",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
         "biz_id": first.provider_message_id, "out_id": first.idempotency_key},
        {"phone_number": "13900001111", "send_time": "2026-11-23 12:00:00", "report_time": "2026-11-23 12:00:09",
         "success": False, "err_code": "MK:0001", "err_msg": "空号", "sms_size": "1",
         "biz_id": second.provider_message_id, "out_id": second.idempotency_key},
        {"phone_number": "13700000000", "send_time": "2026-11-23 12:00:00", "report_time": "2026-11-23 12:00:09",
         "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功", "sms_size": "1",
         "biz_id": "not-ours", "out_id": ""},
    ]
    response = post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", reports)
    assert (response.status_code, response.json()) == (200, {"code": 0, "msg": "接收成功"})
    first.refresh_from_db()
    assert (first.status, first.delivered_at.isoformat()) == ("delivered", "2026-11-23T04:00:05+00:00")
    assert statuses()[1] == ("failed", "MK:0001 空号")
    again = post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", reports[:1])  # pushed twice
    assert again.status_code == 200 and statuses()[0][0] == "delivered"


def test_aliyun_report_found_by_out_id_when_the_biz_id_is_unknown(shop, fake_sms, secrets):
    first, _ = send_two(shop, "aliyun", fake_sms)
    report = {"phone_number": "13812345678", "success": True, "err_code": "DELIVERED", "biz_id": "other-batch",
              "out_id": first.idempotency_key, "report_time": "2026-11-23 12:00:05"}
    assert post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", [report]).status_code == 200
    assert statuses()[0][0] == "delivered"


def test_aliyun_smsup_unsubscribe_reply_refuses_sms(shop, fake_sms, secrets):
    first, _ = send_two(shop, "aliyun", fake_sms)
    replies = [{"phone_number": "13812345678", "send_time": "2026-11-23 12:30:00", "content": "退订",
                "sign_name": "江南小店", "dest_code": "1234", "sequence_id": 1234567890},
               {"phone_number": "13900001111", "send_time": "2026-11-23 12:31:00", "content": "谢谢，很喜欢",
                "sign_name": "江南小店", "dest_code": "1234", "sequence_id": 1234567891}]
    response = post_json(f"/hooks/sms/jiangnan/aliyun/replies?key={KEY}", replies)
    assert response.json() == {"code": 0, "msg": "接收成功"}
    assert current_consents(shop=shop, customer=first.customer)["sms"].granted is False
    assert list(InboundSms.objects.order_by("id").values_list("text", "opted_out")) == [
        ("退订", True), ("谢谢，很喜欢", False)]


def test_tencent_status_callback_and_reply_callback(shop, fake_sms, secrets):
    first, second = send_two(shop, "tencent", fake_sms)
    status = [
        {"user_receive_time": "2026-11-23 12:00:03", "nationcode": "86", "mobile": "13812345678",
         "report_status": "SUCCESS", "errmsg": "DELIVRD", "description": "用户短信送达成功",
         "sid": first.provider_message_id},
        {"user_receive_time": "2026-11-23 12:00:04", "nationcode": "86", "mobile": "13900001111",
         "report_status": "FAIL", "errmsg": "UNDELIV", "description": "用户短信未送达", "sid": second.provider_message_id},
    ]
    response = post_json(f"/hooks/sms/jiangnan/tencent/receipts?key={KEY}", status)
    assert (response.status_code, response.json()) == (200, {"result": 0, "errmsg": "OK"})
    assert statuses() == [("delivered", ""), ("failed", "UNDELIV 用户短信未送达")]
    reply = {"extend": "", "mobile": "13900001111", "nationcode": "86", "sign": "江南小店", "text": "TD",
             "time": 1795500000}
    assert post_json(f"/hooks/sms/jiangnan/tencent/replies?key={KEY}", reply).json() == {"result": 0, "errmsg": "OK"}
    assert current_consents(shop=shop, customer=second.customer)["sms"].granted is False


def signed(url: str, form: dict[str, str], token: str = TOKEN) -> object:
    """POSTed as Twilio does: form-encoded, signed over the full URL and the fields."""
    signature = RequestValidator(token).compute_signature(f"http://testserver{url}", form)
    return Client().post(url, urlencode(form), content_type=FORM, HTTP_X_TWILIO_SIGNATURE=signature)


def test_twilio_signed_status_callbacks_settle_messages_and_interim_ones_change_nothing(shop, fake_sms, secrets):
    first, second = send_two(shop, "twilio", fake_sms)
    url = "/hooks/sms/jiangnan/twilio/receipts"
    common = {"AccountSid": SECRETS["account_sid"], "From": "+15005550006", "ApiVersion": "2010-04-01"}
    interim = signed(url, {**common, "MessageSid": first.provider_message_id, "MessageStatus": "sent",
                           "To": "+8613812345678"})
    assert interim.status_code == 200 and interim["Content-Type"].startswith("text/xml")
    assert statuses()[0][0] == "sent"
    signed(url, {**common, "MessageSid": first.provider_message_id, "MessageStatus": "delivered",
                 "To": "+8613812345678"})
    signed(url, {**common, "MessageSid": second.provider_message_id, "MessageStatus": "undelivered",
                 "ErrorCode": "30003", "To": "+8613900001111"})
    assert statuses() == [("delivered", ""), ("failed", "undelivered 30003")]


def test_twilio_incoming_message_opts_out_and_a_bad_signature_is_refused(shop, fake_sms, secrets):
    first, _ = send_two(shop, "twilio", fake_sms)
    url = "/hooks/sms/jiangnan/twilio/replies"
    form = {"MessageSid": "SM" + "1" * 32, "AccountSid": SECRETS["account_sid"], "From": "+8613812345678",
            "To": "+15005550006", "Body": "T", "NumMedia": "0"}
    forged = signed(url, form, token="not-the-token")
    assert_error(forged, 401, "unauthorized", "X-Twilio-Signature")
    unsigned = Client().post(url, urlencode(form), content_type=FORM)
    assert_error(unsigned, 401, "unauthorized", "X-Twilio-Signature")
    assert InboundSms.objects.count() == 0
    response = signed(url, form)
    assert response.status_code == 200 and b"<Response></Response>" in response.content
    assert current_consents(shop=shop, customer=first.customer)["sms"].granted is False


def test_callbacks_need_the_right_shop_provider_and_key_and_refuse_bad_bodies_whole(shop, fake_sms, secrets):
    first, second = send_two(shop, "aliyun", fake_sms)
    report = [{"biz_id": first.provider_message_id, "success": True, "report_time": "2026-11-23 12:00:05"}]
    assert_error(post_json("/hooks/sms/jiangnan/aliyun/receipts?key=wrong", report), 401, "unauthorized", "key")
    assert_error(post_json("/hooks/sms/jiangnan/aliyun/receipts", report), 401, "unauthorized", "key")
    assert_error(post_json(f"/hooks/sms/jiangnan/tencent/receipts?key={KEY}", report), 404, "not_found", "provider")
    assert_error(post_json(f"/hooks/sms/jiangnan/carrier-pigeon/receipts?key={KEY}", report), 404, "not_found",
                 "provider")
    ShopFactory(slug="other")  # a shop that sends no SMS through Aliyun: our key opens nothing there
    assert_error(post_json(f"/hooks/sms/other/aliyun/receipts?key={KEY}", report), 404, "not_found", "provider")
    bad_json = Client().post(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", "{not json", content_type=JSON)
    assert_error(bad_json, 422, "invalid", "body")
    assert_error(post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", {"biz_id": "x"}), 422, "invalid", "body")
    half_bad = [*report, {"biz_id": second.provider_message_id, "success": False, "report_time": "yesterday"}]
    assert_error(post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", half_bad), 422, "invalid", "report_time")
    assert statuses() == [("sent", ""), ("sent", "")]  # nothing of a refused batch is applied
    assert Client().get(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}").status_code == 405


def test_a_report_that_beats_the_workers_mark_is_kept_and_settles_the_message_when_marked(shop, fake_sms, secrets):
    """The provider answered the send and pushed its report before the worker marked the group sent: the
    report waits for the mark instead of being lost (the message would stay "sent" for ever)."""
    from huitouke.engagement.channels import SendResult
    from huitouke.engagement.models import EarlyReceipt
    from huitouke.engagement.services.delivery import claim_due, mark_sent

    send_two(shop, "aliyun", fake_sms)  # configures the channel; these two are settled below as usual
    for phone in ("+8613700000001", "+8613700000002"):
        enqueue_message(shop=shop, customer=contactable(shop, phone=phone, name="周敏"), rule="birthday",
                        kind="birthday", channel="sms", text="生日快乐！", day=NOON.date(), now=NOON)
    in_flight = claim_due(shop=shop, limit=10, now=NOON)
    assert [m.status for m in in_flight] == ["sending", "sending"]
    reports = [
        {"success": True, "err_code": "DELIVERED", "biz_id": "biz-early-1", "out_id": "",
         "report_time": "2026-11-23 12:00:03"},  # no echo of our key: matched by the provider's ID at the mark
        {"success": False, "err_code": "MK:0001", "err_msg": "空号", "biz_id": "biz-early-2",
         "out_id": in_flight[1].idempotency_key, "report_time": "2026-11-23 12:00:04"},
    ]
    assert post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", reports).status_code == 200
    assert EarlyReceipt.objects.filter(shop=shop).count() == 2
    assert Message.objects.get(pk=in_flight[0].pk).status == "sending"  # nothing applied before the mark

    marked = mark_sent([(in_flight[0], "aliyun", SendResult("biz-early-1")),
                        (in_flight[1], "aliyun", SendResult("biz-other-id"))], now=NOON)
    assert marked == 2
    first, second = (Message.objects.get(pk=m.pk) for m in in_flight)
    assert (first.status, first.delivered_at.isoformat()) == ("delivered", "2026-11-23T04:00:03+00:00")
    assert (second.status, second.detail) == ("failed", "MK:0001 空号")  # found by the echoed key
    assert not EarlyReceipt.objects.filter(shop=shop).exists()


def test_an_unmatched_report_is_kept_a_week_then_dropped(shop, fake_sms, secrets):
    import datetime as dt

    from django.utils import timezone

    from huitouke.engagement.models import EarlyReceipt
    from huitouke.engagement.services.inbound import drop_stale_early_receipts

    send_two(shop, "aliyun", fake_sms)
    report = {"success": True, "err_code": "DELIVERED", "biz_id": "not-ours", "out_id": ""}
    post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", [report])
    post_json(f"/hooks/sms/jiangnan/aliyun/receipts?key={KEY}", [report])  # pushed again: still one
    kept = EarlyReceipt.objects.get(shop=shop)
    assert kept.provider_message_id == "not-ours"
    assert drop_stale_early_receipts(shop=shop, now=timezone.now() + dt.timedelta(days=6)) == 0
    assert drop_stale_early_receipts(shop=shop, now=timezone.now() + dt.timedelta(days=8)) == 1
