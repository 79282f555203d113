"""Contact policy: consent, do-not-contact, caps (care and commercial apart), quiet hours, tone; every
refusal is kept on the message row with its reason."""

from __future__ import annotations

import datetime as dt

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.services import record_consent, set_do_not_contact
from huitouke.engagement.library import NOTICE, Kind
from huitouke.engagement.models import Message, MessageStatus
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import update_care_settings
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.factories import CustomerFactory, CustomerPhoneFactory

DAY = NOON.date()
CARE = "王女士，生日快乐！愿您健康美丽。"


def send(shop, customer, *, rule="birthday", kind=Kind.BIRTHDAY, channel="sms", text=CARE, day=DAY, now=NOON):
    return enqueue_message(shop=shop, customer=customer, rule=rule, kind=kind, channel=channel, text=text,
                           day=day, now=now)


def test_queued_sms_is_signed_and_due_now(shop):
    customer = contactable(shop, phone="+8613812345678")
    message = send(shop, customer)
    assert (message.status, message.reason) == (MessageStatus.QUEUED, "")
    assert message.text == "【江南小店】王女士，生日快乐！愿您健康美丽。"
    assert message.recipient == "+8613812345678"
    assert message.next_attempt_at == NOON
    assert message.idempotency_key == f"{customer.pk}:birthday:2026-11-23"


def test_same_customer_rule_and_day_enqueues_once(shop):
    customer = contactable(shop)
    first = send(shop, customer)
    again = send(shop, customer, text="另一段文字")
    assert again.pk == first.pk and Message.objects.count() == 1


def test_commercial_sms_carries_the_opt_out_line(shop):
    message = send(shop, contactable(shop), rule="new-arrivals", kind=Kind.COMMERCIAL, text="秋冬新品到店")
    assert message.text == "【江南小店】秋冬新品到店 回T退订"


def test_no_consent_refused_consent_and_do_not_contact_are_recorded(shop):
    never_asked = CustomerFactory(shop=shop)
    refused = contactable(shop)
    record_consent(shop=shop, customer=refused, channel="sms", granted=False, source="SMS reply “T”",
                   at=NOON - dt.timedelta(days=1))
    barred = contactable(shop)
    set_do_not_contact(shop=shop, customer=barred, value=True)
    email_only = contactable(shop, channels=("email",))
    rows = {c.pk: send(shop, c) for c in (never_asked, refused, barred, email_only)}
    assert [(rows[c.pk].status, rows[c.pk].reason) for c in (never_asked, refused, barred, email_only)] == [
        ("suppressed", "no_consent"), ("suppressed", "opted_out"), ("suppressed", "do_not_contact"),
        ("suppressed", "no_consent"),
    ]
    assert rows[refused.pk].detail == "SMS reply “T” (2026-11-22)"
    assert send(shop, email_only, rule="thanks", channel="email").status == "queued"


def test_customer_without_a_phone_is_suppressed_no_address(shop):
    customer = CustomerFactory(shop=shop)
    record_consent(shop=shop, customer=customer, channel="sms", granted=True, source="form")
    assert send(shop, customer).reason == "no_address"


def test_care_message_with_commercial_words_is_suppressed_with_the_words(shop):
    message = send(shop, contactable(shop), kind=Kind.HOLIDAY, text="中秋快乐！店内8折，优惠券已到账")
    assert (message.status, message.reason) == ("suppressed", "tone")
    assert message.detail == "8折(discount)、优惠券(coupon)"


def test_at_most_one_message_a_day(shop):
    customer = contactable(shop)
    assert send(shop, customer, rule="birthday").status == "queued"
    second = send(shop, customer, rule="holiday:mid_autumn", kind=Kind.HOLIDAY, text="中秋快乐")
    assert (second.status, second.reason) == ("suppressed", "daily_cap")
    assert send(shop, customer, rule="holiday:x", day=DAY + dt.timedelta(days=1)).status == "queued"


def test_three_care_messages_per_30_days_suppressed_ones_do_not_count(shop):
    customer = contactable(shop)
    for offset in (29, 20, 10):
        assert send(shop, customer, rule=f"care-{offset}", day=DAY - dt.timedelta(days=offset)).status == "queued"
    fourth = send(shop, customer, rule="care-0")
    assert (fourth.status, fourth.reason) == ("suppressed", "care_cap")
    # the oldest leaves the 30-day window the next day
    assert send(shop, customer, rule="care-next", day=DAY + dt.timedelta(days=1)).status == "queued"


def test_commercial_is_capped_at_two_per_30_days_and_counted_apart_from_care(shop):
    customer = contactable(shop)
    for offset in (15, 5):
        assert send(shop, customer, rule=f"promo-{offset}", kind=Kind.COMMERCIAL, text="新品到店",
                    day=DAY - dt.timedelta(days=offset)).status == "queued"
    third = send(shop, customer, rule="promo-0", kind=Kind.COMMERCIAL, text="新品到店")
    assert (third.status, third.reason) == ("suppressed", "commercial_cap")
    # care is counted separately: two commercial messages leave all three care messages
    for offset in (14, 4):
        assert send(shop, customer, rule=f"care-{offset}", day=DAY - dt.timedelta(days=offset)).status == "queued"
    assert send(shop, customer, rule="care-1", day=DAY + dt.timedelta(days=1)).status == "queued"


def test_caps_follow_the_shops_settings(shop):
    update_care_settings(shop=shop, daily_cap=2)
    customer = contactable(shop)
    assert send(shop, customer, rule="a").status == "queued"
    assert send(shop, customer, rule="b").status == "queued"
    assert send(shop, customer, rule="c").reason == "daily_cap"


def test_sms_in_quiet_hours_is_held_until_nine_shanghai(shop):
    late = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI)
    early = dt.datetime(2026, 11, 24, 3, 0, tzinfo=SHANGHAI)
    held_late = send(shop, contactable(shop), now=late)
    held_early = send(shop, contactable(shop), day=early.date(), now=early)
    assert held_late.status == "queued"
    assert held_late.next_attempt_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
    assert held_late.detail == "held until 2026-11-24 09:00"
    assert held_early.next_attempt_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)
    # 20:59 is not quiet; e-mail has no quiet hours
    before = dt.datetime(2026, 11, 23, 20, 59, tzinfo=SHANGHAI)
    assert send(shop, contactable(shop), now=before).next_attempt_at == before
    assert send(shop, contactable(shop, channels=("email",)), channel="email", now=late).next_attempt_at == late


def test_quiet_hours_are_shanghai_hours_whatever_the_clock_zone(shop):
    utc_13h = dt.datetime(2026, 11, 23, 13, 30, tzinfo=dt.UTC)  # 21:30 in Shanghai
    assert send(shop, contactable(shop), now=utc_13h).next_attempt_at == dt.datetime(
        2026, 11, 24, 9, 0, tzinfo=SHANGHAI)


NOTICE_TEXT = "您在老王火锅消费128.50元，获得1285积分，现有1285积分，可兑换礼品。"


def notice(shop, customer, key, now=NOON):
    return enqueue_message(shop=shop, customer=customer, rule="platform_consumption", kind=NOTICE, channel="sms",
                           text=NOTICE_TEXT, day=now.astimezone(SHANGHAI).date(), now=now, key=key)


def test_a_service_notice_needs_no_consent_record_skips_tone_and_quiet_hours_but_not_a_refusal(shop):
    customer = CustomerFactory(shop=shop, name="王芳")
    CustomerPhoneFactory(customer=customer, e164="+8613812345678")
    late = dt.datetime(2026, 11, 23, 22, 30, tzinfo=SHANGHAI)  # quiet hours; the text names a price
    first = notice(shop, customer, "purchase-1", now=late)
    assert (first.status, first.reason, first.next_attempt_at) == (MessageStatus.QUEUED, "", late)
    assert first.text == f"【江南小店】{NOTICE_TEXT}" and not first.text.endswith("回T退订")
    assert notice(shop, customer, "purchase-1").pk == first.pk  # one per event key
    assert notice(shop, customer, "purchase-2").status == MessageStatus.QUEUED  # same day, another event
    record_consent(shop=shop, customer=customer, channel="sms", granted=False, source="replied T", at=NOON)
    assert notice(shop, customer, "purchase-3").reason == "opted_out"
    set_do_not_contact(shop=shop, customer=customer, value=True)
    assert notice(shop, customer, "purchase-4").reason == "do_not_contact"
