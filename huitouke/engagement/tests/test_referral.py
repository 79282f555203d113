"""Referrals: who referred whom (service, API, customer page), and the rule — thank both the same day, call the
new customer within a week."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Role
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer
from huitouke.customers.services import erase_customer, set_referrer
from huitouke.engagement.library import LIBRARY, REFERRED_WELCOME, Kind, tone_problems
from huitouke.engagement.models import FollowUpTask, Message
from huitouke.engagement.services.care import run_rules
from huitouke.engagement.services.followups import run_task_rules
from huitouke.engagement.services.setup import set_rule
from huitouke.engagement.tests.conftest import contactable
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, StaffFactory

DAY = dt.date(2026, 6, 3)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


@pytest.fixture
def pair(shop):
    """王芳 (registered by 小林) brings her friend 李娜 in; both may get SMS."""
    lin = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小林")
    referrer = contactable(shop, name="王芳", registered_by=lin)
    new = contactable(shop, name="李娜", registered_by=lin)
    set_referrer(shop=shop, customer=new, referrer_id=referrer.pk, now=at(DAY, 15))
    return referrer, new


def test_a_referral_thanks_both_the_same_day_and_the_new_customer_gets_a_call_within_a_week(shop, pair):
    referrer, new = pair
    planned = run_rules(shop=shop, day=DAY, now=at(DAY, 16))
    rule = f"referral:{new.pk}"
    assert [(p.customer_id, p.rule, p.kind, p.status) for p in planned] == [
        (referrer.pk, rule, Kind.THANKS_REFERRAL, "queued"), (new.pk, rule, Kind.THANKS_REFERRAL, "queued")]
    filled = lambda texts, salutation: {  # noqa: E731
        "【江南小店】" + t.format(称呼=salutation, 店名="江南小店", 导购="小林") for t in texts}
    assert planned[0].text in filled(LIBRARY[Kind.THANKS_REFERRAL], "王女士")  # thanks for bringing a friend
    assert planned[1].text in filled(REFERRED_WELCOME, "李女士")  # welcome, on a friend's word

    [task] = [t for t in run_task_rules(shop=shop, day=DAY, now=at(DAY, 16))]
    assert (task.customer_id, task.rule, task.kind, task.due_on, task.owner, task.title) == (
        new.pk, "referral", "call", "2026-06-10", "小林", "回访：王芳 推荐的新顾客")
    assert FollowUpTask.objects.get().source_key == f"referral:{new.pk}"


def test_a_later_run_does_not_thank_twice_nor_call_twice(shop, pair):
    run_rules(shop=shop, day=DAY, now=at(DAY, 16))
    run_task_rules(shop=shop, day=DAY)
    assert run_rules(shop=shop, day=DAY, now=at(DAY, 18)) == []
    assert Message.objects.count() == 2
    assert run_rules(shop=shop, day=DAY + dt.timedelta(days=1), now=at(DAY + dt.timedelta(days=1))) == []
    assert run_task_rules(shop=shop, day=DAY + dt.timedelta(days=1))[0].created is False
    assert run_rules(shop=shop, day=DAY + dt.timedelta(days=2), now=at(DAY + dt.timedelta(days=2))) == []


def test_the_daily_cap_holds_a_second_thank_you_back_until_the_next_day(shop, pair):
    referrer, new = pair
    second = contactable(shop, name="赵敏")
    set_referrer(shop=shop, customer=second, referrer_id=referrer.pk, now=at(DAY, 16))
    today = {(p.customer_id, p.rule): p.reason for p in run_rules(shop=shop, day=DAY, now=at(DAY, 17))}
    assert today[(referrer.pk, f"referral:{new.pk}")] == ""
    assert today[(referrer.pk, f"referral:{second.pk}")] == "daily_cap"
    tomorrow = DAY + dt.timedelta(days=1)
    again = [(p.customer_id, p.rule, p.status) for p in run_rules(shop=shop, day=tomorrow, now=at(tomorrow))]
    assert again == [(referrer.pk, f"referral:{second.pk}", "queued")]


def test_an_old_referral_or_a_switched_off_rule_does_nothing(shop, pair):
    later = DAY + dt.timedelta(days=5)
    assert run_rules(shop=shop, day=later, now=at(later)) == []
    assert run_task_rules(shop=shop, day=later) == []
    set_rule(shop=shop, rule="referral", enabled=False, params={})
    assert run_rules(shop=shop, day=DAY, now=at(DAY, 16)) == []
    assert run_task_rules(shop=shop, day=DAY) == []


def test_the_welcome_texts_pass_the_care_tone_check():
    for text in REFERRED_WELCOME:
        assert tone_problems(text, kind=Kind.THANKS_REFERRAL) == []


def test_referrer_must_be_another_live_customer_of_the_same_shop(shop, tenant_b):
    wang, li = CustomerFactory(shop=shop, name="王芳"), CustomerFactory(shop=shop, name="李娜")
    theirs = CustomerFactory(shop=tenant_b.shop, name="外店")
    with pytest.raises(NotFound):
        set_referrer(shop=shop, customer=li, referrer_id=theirs.pk)
    with pytest.raises(Invalid):
        set_referrer(shop=shop, customer=li, referrer_id=li.pk)
    set_referrer(shop=shop, customer=li, referrer_id=wang.pk, now=at(DAY))
    with pytest.raises(Invalid):  # 王芳 cannot in turn have been referred by 李娜
        set_referrer(shop=shop, customer=wang, referrer_id=li.pk)
    gone = CustomerFactory(shop=shop, name="赵六")
    erase_customer(shop=shop, customer=gone, staff=None, actor="test")
    with pytest.raises(Conflict):
        set_referrer(shop=shop, customer=wang, referrer_id=gone.pk)
    li.refresh_from_db()
    assert (li.referred_by_id, li.referred_at) == (wang.pk, at(DAY))
    set_referrer(shop=shop, customer=li, referrer_id=wang.pk, now=at(DAY + dt.timedelta(days=3)))
    li.refresh_from_db()
    assert li.referred_at == at(DAY)  # the same referrer again: the referral keeps its day
    set_referrer(shop=shop, customer=li, referrer_id=None)
    li.refresh_from_db()
    assert (li.referred_by_id, li.referred_at) == (None, None)


def test_api_sets_shows_and_clears_the_referrer_and_refuses_another_shops_id(tenant_a, tenant_b):
    client = client_for(tenant_a.token)
    wang = CustomerFactory(shop=tenant_a.shop, name="王芳")
    theirs = CustomerFactory(shop=tenant_b.shop, name="外店")
    created = client.post("/api/v1/customers", {"name": "李娜", "phone": "13912345678", "referred_by": wang.pk},
                          content_type=JSON)
    assert created.status_code == 201, created.content
    body = created.json()
    assert (body["referred_by"]["id"], body["referred_by"]["name"]) == (wang.pk, "王*")
    url = f"/api/v1/customers/{body['id']}"
    assert_error(client.patch(url, {"referred_by": theirs.pk}, content_type=JSON), 404, "not_found", "referred_by")
    assert_error(client.patch(url, {"referred_by": body["id"]}, content_type=JSON), 422, "invalid", "referred_by")
    assert_error(client.post("/api/v1/customers", {"name": "赵敏", "phone": "13712345678",
                                                   "referred_by": theirs.pk}, content_type=JSON),
                 404, "not_found", "referred_by")
    assert not Customer.objects.filter(shop=tenant_a.shop, name="赵敏").exists()  # no half-registered customer
    cleared = client.patch(url, {"referred_by": None}, content_type=JSON)
    assert cleared.status_code == 200 and cleared.json()["referred_by"] is None
