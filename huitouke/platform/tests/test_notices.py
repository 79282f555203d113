"""The member's SMS after a recorded consumption: through the engagement outbox, one per record, signed with
the operator's name; a reversal sends a correction, never a second "earned" notice."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from huitouke.customers.models import CustomerPhone
from huitouke.customers.services import record_consent
from huitouke.engagement.library import sms_segments
from huitouke.engagement.models import Message
from huitouke.engagement.services.delivery import deliver_due
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.platform.models import Member
from huitouke.platform.services import actors, consumption
from huitouke.platform.tests.helpers import at, signed

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
RECORDED = at(2026, 3, 10, 22, 30)  # inside the default quiet hours (21–9): a notice goes at once anyway


@pytest.fixture
def merchant(tenant_a, settings, tmp_path):
    settings.VAR_DIR = tmp_path  # the console sink writes here
    merchant = signed(tenant_a.shop)
    actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    return merchant


def record(shop, merchant, amount="128.50", key="k1"):
    return consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONE, amount=amount,
                                          idempotency_key=key, now=RECORDED)


def test_a_recording_queues_one_signed_sms_with_amount_and_points_and_a_retry_adds_none(tenant_a, merchant):
    first = record(tenant_a.shop, merchant)
    record(tenant_a.shop, merchant)  # the till retried
    message = Message.objects.get()
    assert message.text == f"【{tenant_a.shop.name}】您在老王火锅消费128.50元，获得1285积分，现有1285积分，可兑换礼品。"
    assert (message.status, message.kind, message.recipient) == ("queued", "notice", "+8613812345678")
    assert message.idempotency_key == f"platform:consumption:{first.pk}"
    assert sms_segments(message.text) == 1
    member = Member.objects.get()
    assert CustomerPhone.objects.get(customer=member.customer).e164 == "+8613812345678"


def test_each_record_gets_its_own_notice_even_on_the_same_day(tenant_a, merchant):
    record(tenant_a.shop, merchant, amount="10", key="k1")
    record(tenant_a.shop, merchant, amount="20", key="k2")
    texts = list(Message.objects.order_by("id").values_list("text", flat=True))
    assert [("消费10.00元" in texts[0]), ("消费20.00元" in texts[1]), ("现有300积分" in texts[1])] == [True] * 3


def test_the_console_sink_sends_it_at_once_in_quiet_hours(tenant_a, merchant, settings):
    record(tenant_a.shop, merchant)
    report = deliver_due(shop=tenant_a.shop, now=RECORDED)
    assert (report.sent, report.held) == (1, 0)
    line = json.loads((settings.VAR_DIR / "outbox" / f"{tenant_a.shop.slug}.log").read_text(encoding="utf-8"))
    assert (line["recipient"], "1285积分" in line["text"]) == ("+8613812345678", True)


def test_a_correction_sends_a_correction_notice_then_the_new_amount_never_a_second_earned_one(tenant_a, merchant):
    original = record(tenant_a.shop, merchant, amount="128.50")
    reversal, replacement = consumption.correct_consumption(
        shop=tenant_a.shop, merchant=merchant, consumption=original, amount="100.00", reason="typo",
        idempotency_key="fix-1", now=RECORDED)
    consumption.correct_consumption(shop=tenant_a.shop, merchant=merchant, consumption=original, amount="100.00",
                                    reason="typo", idempotency_key="fix-1", now=RECORDED)  # retried
    texts = dict(Message.objects.values_list("idempotency_key", "text"))
    assert len(texts) == 3
    assert "已更正，1285积分已扣回，现有0积分" in texts[f"platform:consumption:{reversal.pk}"]
    assert "消费100.00元，获得1000积分，现有1000积分" in texts[f"platform:consumption:{replacement.pk}"]
    assert sum("获得1285积分" in text for text in texts.values()) == 1


def test_a_member_who_refused_sms_gets_none_but_the_record_stands(tenant_a, merchant):
    record(tenant_a.shop, merchant, key="k1")
    customer = Member.objects.get().customer
    record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=False, source="replied T",
                   at=RECORDED)
    second = record(tenant_a.shop, merchant, amount="50", key="k2")
    message = Message.objects.get(idempotency_key=f"platform:consumption:{second.pk}")
    assert (message.status, message.reason) == ("suppressed", "opted_out")
    assert Member.objects.get().points_balance == 1785


def test_notices_do_not_use_up_the_daily_cap_of_care_messages(tenant_a, merchant):
    for n in range(3):
        record(tenant_a.shop, merchant, amount="10", key=f"k{n}")
    customer = Member.objects.get().customer
    record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=True, source="member terms",
                   at=RECORDED)
    care = enqueue_message(shop=tenant_a.shop, customer=customer, rule="birthday", kind="birthday", channel="sms",
                           text="生日快乐！", day=RECORDED.date(), now=RECORDED)
    assert (care.status, care.reason) == ("queued", "")  # the cap is 1 a day and 3 notices went today


def test_enrolment_gives_her_one_archive_record_found_by_phone_or_registered(tenant_a):
    from huitouke.customers.models import Customer
    from huitouke.customers.services import register_customer

    known = register_customer(shop=tenant_a.shop, name="王女士", phone="13900000009")
    merchant = signed(tenant_a.shop)
    first = actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    again = actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 9))
    linked = actors.record_group_buy(shop=tenant_a.shop, merchant=merchant, phone="13900000009",
                                     day=dt.date(2026, 2, 1))
    new_customer = Member.objects.get(pk=first.member_id).customer
    assert new_customer is not None and again.member.customer_id == new_customer.pk
    assert CustomerPhone.objects.get(customer=new_customer).e164 == "+8613812345678"
    assert Member.objects.get(pk=linked.member_id).customer_id == known.pk  # the archive's own, not a twin
    assert Customer.objects.filter(shop=tenant_a.shop).count() == 2


def test_a_member_enrolled_without_a_record_gets_it_at_her_first_sms(tenant_a, merchant):
    Member.objects.update(customer=None)  # enrolled before members got their record at enrolment
    record(tenant_a.shop, merchant)
    member = Member.objects.get()
    assert Message.objects.get().customer_id == member.customer_id
    assert CustomerPhone.objects.get(customer=member.customer).e164 == "+8613812345678"
