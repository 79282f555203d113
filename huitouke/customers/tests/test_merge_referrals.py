"""A merge carries who referred her and whom she referred; an undo gives both back."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.merges import MergeRequest, merge_customers, undo_merge
from huitouke.customers.models import Customer
from huitouke.customers.services import register_customer, set_referrer

pytestmark = pytest.mark.django_db
REFERRED = dt.datetime(2026, 5, 1, 10, tzinfo=SHANGHAI)


def person(shop, name: str, phone: str) -> Customer:
    return register_customer(shop=shop, name=name, phone=phone)


def merge(shop, kept: Customer, absorbed: Customer):
    [done] = merge_customers(shop=shop, requests=[MergeRequest(kept.pk, absorbed.pk, "manual")])
    return done


def fresh(customer: Customer) -> Customer:
    return Customer.objects.get(pk=customer.pk)


def test_the_kept_record_takes_the_absorbed_ones_referrer_and_her_referrals_and_undo_gives_them_back(tenant_a):
    shop = tenant_a.shop
    kept, absorbed = person(shop, "王芳", "13800000001"), person(shop, "王芳(淘宝)", "13800000002")
    friend, referred = person(shop, "李娜", "13800000003"), person(shop, "周敏", "13800000004")
    set_referrer(shop=shop, customer=absorbed, referrer_id=friend.pk, now=REFERRED)
    set_referrer(shop=shop, customer=referred, referrer_id=absorbed.pk, now=REFERRED)

    done = merge(shop, kept, absorbed)
    assert (fresh(kept).referred_by_id, fresh(kept).referred_at) == (friend.pk, REFERRED)
    assert fresh(referred).referred_by_id == kept.pk  # her referral now counts for the one person

    undo_merge(shop=shop, merge_id=done.pk, staff=tenant_a.owner)
    assert (fresh(kept).referred_by_id, fresh(kept).referred_at) == (None, None)
    assert fresh(referred).referred_by_id == absorbed.pk


def test_a_referrer_the_kept_record_has_already_stays_and_no_one_refers_herself(tenant_a):
    shop = tenant_a.shop
    kept, absorbed, friend = (person(shop, "王芳", "13800000001"), person(shop, "王芳2", "13800000002"),
                              person(shop, "李娜", "13800000003"))
    set_referrer(shop=shop, customer=kept, referrer_id=friend.pk, now=REFERRED)
    set_referrer(shop=shop, customer=absorbed, referrer_id=person(shop, "赵静", "13800000005").pk, now=REFERRED)
    merge(shop, kept, absorbed)
    assert fresh(kept).referred_by_id == friend.pk

    other_kept, other_absorbed = person(shop, "陈晨", "13800000006"), person(shop, "陈晨2", "13800000007")
    set_referrer(shop=shop, customer=other_kept, referrer_id=other_absorbed.pk, now=REFERRED)
    merge(shop, other_kept, other_absorbed)
    assert fresh(other_kept).referred_by_id == other_absorbed.pk  # left as it was, never pointed at herself
    third_kept, third_absorbed = person(shop, "刘洋", "13800000008"), person(shop, "刘洋2", "13800000009")
    set_referrer(shop=shop, customer=third_absorbed, referrer_id=third_kept.pk, now=REFERRED)
    merge(shop, third_kept, third_absorbed)
    assert fresh(third_kept).referred_by_id is None
