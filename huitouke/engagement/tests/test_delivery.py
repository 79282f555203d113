"""Delivery: the console sink by default, real SMTP, each SMS provider's SDK against a local fake endpoint,
back-off on provider errors, and exactly-once when a worker dies between the send and the mark."""

from __future__ import annotations

import datetime as dt
import email
import json
from email.policy import default as email_policy
from urllib.parse import parse_qs

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.library import Kind
from huitouke.engagement.models import Message, MessageStatus
from huitouke.engagement.services import delivery
from huitouke.engagement.services.delivery import deliver_due
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import configure_channel
from huitouke.engagement.tests.conftest import NOON, contactable

TEXT = "王女士，生日快乐！愿您健康美丽。"


def queue(shop, customer, *, channel="sms", rule="birthday", now=NOON) -> Message:
    message = enqueue_message(shop=shop, customer=customer, rule=rule, kind=Kind.BIRTHDAY, channel=channel,
                              text=TEXT, day=now.astimezone(SHANGHAI).date(), now=now)
    assert message.status == MessageStatus.QUEUED
    return message


def reloaded(message: Message) -> Message:
    return Message.objects.get(pk=message.pk)


def use_aliyun(shop, fake, monkeypatch) -> None:
    configure_channel(shop=shop, channel="sms", provider="aliyun", secret_name="jiangnan-sms", settings={
        "endpoint": f"127.0.0.1:{fake.port}", "protocol": "http", "sign_name": "江南小店", "template_code": "SMS_1"})
    monkeypatch.setenv("HUITOUKE_SECRET_JIANGNAN_SMS_ACCESS_KEY_ID", "ak-test")
    monkeypatch.setenv("HUITOUKE_SECRET_JIANGNAN_SMS_ACCESS_KEY_SECRET", "sk-test")


def test_default_channel_is_the_console_sink_and_sends_nothing(shop, settings):
    message = queue(shop, contactable(shop, phone="+8613812345678"))
    report = deliver_due(shop=shop, now=NOON)
    assert (report.sent, report.failed) == (1, 0)
    row = reloaded(message)
    assert (row.status, row.provider, row.attempts, row.sent_at) == ("sent", "console", 1, NOON)
    lines = (settings.VAR_DIR / "outbox" / "jiangnan.log").read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [{
        "key": message.idempotency_key, "customer": message.customer_id, "channel": "sms",
        "recipient": "+8613812345678", "text": "【江南小店】王女士，生日快乐！愿您健康美丽。",
    }]
    assert deliver_due(shop=shop, now=NOON).sent == 0  # nothing left


def test_email_goes_through_a_real_smtp_server(shop, smtp_server):
    configure_channel(shop=shop, channel="email", provider="smtp",
                      settings={"host": "127.0.0.1", "port": smtp_server.port, "from_email": "care@jiangnan.example"})
    message = queue(shop, contactable(shop, channels=("email",), email="wang@example.com"), channel="email")
    assert deliver_due(shop=shop, now=NOON).sent == 1
    [envelope] = smtp_server.envelopes
    assert (envelope.mail_from, envelope.rcpt_tos) == ("care@jiangnan.example", ["wang@example.com"])
    parsed = email.message_from_bytes(envelope.content, policy=email_policy)
    assert parsed.get_content().strip() == TEXT
    assert parsed["Subject"] == "江南小店"
    row = reloaded(message)
    assert row.status == "sent" and parsed["Message-ID"] == row.provider_message_id
    assert row.provider_message_id == f"<{message.idempotency_key.replace(':', '.')}@huitouke>"


def test_smtp_server_down_is_retried_later(shop):
    from huitouke.engagement.tests.fakes import free_port

    configure_channel(shop=shop, channel="email", provider="smtp", settings={"host": "127.0.0.1", "port": free_port()})
    message = queue(shop, contactable(shop, channels=("email",)), channel="email")
    assert deliver_due(shop=shop, now=NOON).retrying == 1
    row = reloaded(message)
    assert (row.status, row.reason, row.next_attempt_at) == ("queued", "provider_error", NOON + dt.timedelta(minutes=1))


def test_aliyun_sdk_sends_with_the_idempotency_key_as_out_id(shop, fake_sms, monkeypatch):
    use_aliyun(shop, fake_sms, monkeypatch)
    message = queue(shop, contactable(shop, phone="+8613812345678"))
    assert deliver_due(shop=shop, now=NOON).sent == 1
    [request] = fake_sms.requests
    params = {k: v[0] for k, v in request.query.items()}
    assert request.headers["x-acs-action"] == "SendSms" and "ak-test" in request.headers["Authorization"]
    assert params["PhoneNumbers"] == "13812345678"
    assert params["OutId"] == message.idempotency_key
    assert (params["SignName"], params["TemplateCode"]) == ("江南小店", "SMS_1")
    assert json.loads(params["TemplateParam"]) == {"content": TEXT}  # the platform adds the signature
    row = reloaded(message)
    assert (row.status, row.provider, row.provider_message_id) == ("sent", "aliyun", "biz-1")


def test_tencent_sdk_sends_with_the_key_as_session_context_secrets_from_a_file(shop, fake_sms, settings):
    (settings.VAR_DIR / "secrets").mkdir()
    (settings.VAR_DIR / "secrets" / "tc.json").write_text(json.dumps({"secret_id": "id1", "secret_key": "k1"}))
    configure_channel(shop=shop, channel="sms", provider="tencent", secret_name="tc", settings={
        "endpoint": f"127.0.0.1:{fake_sms.port}", "scheme": "http", "sdk_app_id": "1400000000",
        "sign_name": "江南小店", "template_id": "123456"})
    message = queue(shop, contactable(shop, phone="+8613812345678"))
    assert deliver_due(shop=shop, now=NOON).sent == 1
    [request] = fake_sms.requests
    body = json.loads(request.body)
    assert request.headers["X-TC-Action"] == "SendSms"
    assert body["PhoneNumberSet"] == ["+8613812345678"]
    assert body["SessionContext"] == message.idempotency_key
    assert body["TemplateParamSet"] == [TEXT]
    assert "id1" in request.headers["Authorization"]
    assert reloaded(message).provider_message_id == "serial-1"


def test_twilio_sdk_sends_the_signed_text(shop, fake_sms, monkeypatch):
    configure_channel(shop=shop, channel="sms", provider="twilio", secret_name="tw", settings={
        "base_url": f"http://127.0.0.1:{fake_sms.port}", "from_number": "+15550001111"})
    monkeypatch.setenv("HUITOUKE_SECRET_TW_ACCOUNT_SID", "AC0001")
    monkeypatch.setenv("HUITOUKE_SECRET_TW_AUTH_TOKEN", "token")
    message = queue(shop, contactable(shop, phone="+8613812345678"))
    assert deliver_due(shop=shop, now=NOON).sent == 1
    [request] = fake_sms.requests
    form = {k: v[0] for k, v in parse_qs(request.body.decode()).items()}
    assert request.path == "/2010-04-01/Accounts/AC0001/Messages.json"
    assert form == {"To": "+8613812345678", "From": "+15550001111", "Body": "【江南小店】" + TEXT}
    assert reloaded(message).provider_message_id.startswith("SM")


def test_missing_secret_fails_without_retrying(shop, fake_sms):
    configure_channel(shop=shop, channel="sms", provider="twilio", secret_name="nowhere",
                      settings={"base_url": f"http://127.0.0.1:{fake_sms.port}", "from_number": "+15550001111"})
    message = queue(shop, contactable(shop))
    assert deliver_due(shop=shop, now=NOON).failed == 1
    row = reloaded(message)
    assert (row.status, row.reason, row.detail) == ("failed", "rejected", "twilio secrets: missing account_sid, auth_token")
    assert fake_sms.requests == []


def test_provider_500_is_retried_with_back_off_then_sent(shop, fake_sms, monkeypatch):
    use_aliyun(shop, fake_sms, monkeypatch)
    fake_sms.fail_next = [500, 500]
    message = queue(shop, contactable(shop))
    assert deliver_due(shop=shop, now=NOON).retrying == 1
    row = reloaded(message)
    assert (row.status, row.attempts, row.next_attempt_at) == ("queued", 1, NOON + dt.timedelta(minutes=1))
    assert row.reason == "provider_error"
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(seconds=59)).message_ids == []  # not due yet
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(minutes=1)).retrying == 1
    assert reloaded(message).next_attempt_at == NOON + dt.timedelta(minutes=1 + 2)  # doubled
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(minutes=3)).sent == 1
    row = reloaded(message)
    assert (row.status, row.attempts, row.reason, len(fake_sms.requests)) == ("sent", 3, "", 3)


def test_after_five_failed_attempts_the_message_fails(shop, fake_sms, monkeypatch):
    use_aliyun(shop, fake_sms, monkeypatch)
    fake_sms.fail_next = [503] * 10
    message = queue(shop, contactable(shop))
    now = NOON
    for _ in range(5):
        deliver_due(shop=shop, now=now)
        now += dt.timedelta(hours=2)
    row = reloaded(message)
    assert (row.status, row.attempts, row.reason, len(fake_sms.requests)) == ("failed", 5, "provider_error", 5)


def test_backoff_doubles_up_to_an_hour():
    assert [delivery.backoff(n).total_seconds() / 60 for n in range(1, 9)] == [1, 2, 4, 8, 16, 32, 60, 60]


def _crash_after_send(monkeypatch) -> None:
    def killed(*args, **kwargs):
        raise KeyboardInterrupt("worker killed between send and mark")

    monkeypatch.setattr(delivery, "mark_sent", killed)


def test_worker_killed_between_send_and_mark_never_sends_twice(shop, fake_sms, monkeypatch):
    use_aliyun(shop, fake_sms, monkeypatch)
    message = queue(shop, contactable(shop))
    with monkeypatch.context() as patch:
        _crash_after_send(patch)
        with pytest.raises(KeyboardInterrupt):
            deliver_due(shop=shop, now=NOON)
    assert len(fake_sms.requests) == 1
    row = reloaded(message)
    assert (row.status, row.claimed_at) == ("sending", NOON) and row.claim_token
    # another worker at once: the claim is held, nothing is sent
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(minutes=5)).message_ids == []
    # after the lease: Aliyun cannot say whether it arrived, so it is settled as failed, not resent
    report = deliver_due(shop=shop, now=NOON + dt.timedelta(minutes=11))
    assert (report.recovered, report.sent) == (1, 0)
    row = reloaded(message)
    assert (row.status, row.reason, row.claim_token) == ("failed", "interrupted", "")
    assert len(fake_sms.requests) == 1
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(hours=1)).message_ids == []
    assert len(fake_sms.requests) == 1


def test_console_sink_confirms_a_send_interrupted_before_the_mark(shop, settings, monkeypatch):
    message = queue(shop, contactable(shop))
    with monkeypatch.context() as patch:
        _crash_after_send(patch)
        with pytest.raises(KeyboardInterrupt):
            deliver_due(shop=shop, now=NOON)
    assert deliver_due(shop=shop, now=NOON + dt.timedelta(minutes=11)).recovered == 1
    row = reloaded(message)
    assert (row.status, row.detail) == ("sent", "confirmed after an interrupted run")
    assert len((settings.VAR_DIR / "outbox" / "jiangnan.log").read_text().splitlines()) == 1


def test_console_sink_resends_a_message_interrupted_before_the_send(shop, settings, monkeypatch):
    message = queue(shop, contactable(shop))
    with monkeypatch.context() as patch:
        def killed(self, message):
            raise KeyboardInterrupt

        patch.setattr("huitouke.engagement.channels.ConsoleSink.send", killed)
        with pytest.raises(KeyboardInterrupt):
            deliver_due(shop=shop, now=NOON)
    later = NOON + dt.timedelta(minutes=11)
    report = deliver_due(shop=shop, now=later)
    assert (report.recovered, report.sent) == (1, 1)
    assert reloaded(message).status == "sent"
    assert len((settings.VAR_DIR / "outbox" / "jiangnan.log").read_text().splitlines()) == 1


def test_a_retry_falling_in_quiet_hours_waits_for_the_morning(shop):
    message = queue(shop, contactable(shop))
    night = dt.datetime(2026, 11, 23, 23, 0, tzinfo=SHANGHAI)
    report = deliver_due(shop=shop, now=night)
    assert (report.held, report.sent) == (1, 0)
    row = reloaded(message)
    assert (row.status, row.attempts) == ("queued", 0)
    assert row.next_attempt_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
    assert deliver_due(shop=shop, now=dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)).sent == 1


def test_other_shops_messages_are_left_to_their_run(shop):
    from huitouke.testing.factories import ShopFactory

    other = ShopFactory(slug="other", name="别家")
    mine, theirs = queue(shop, contactable(shop)), queue(other, contactable(other))
    assert deliver_due(shop=shop, now=NOON).message_ids == [mine.pk]
    assert reloaded(theirs).status == "queued"
    assert deliver_due(now=NOON).message_ids == [theirs.pk]


def test_worker_task_delivers_due_messages(shop):
    from django.utils import timezone

    from huitouke.engagement.tasks import deliver_due_messages

    now = timezone.now()
    message = queue(shop, contactable(shop, channels=("email",)), channel="email", now=now)
    result = deliver_due_messages.enqueue()
    assert result.return_value["sent"] == 1
    assert reloaded(message).status == "sent"
