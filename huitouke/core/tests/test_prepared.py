"""core.prepared: a query compiled once gives what the ORM gives, for every later set of values."""

from __future__ import annotations

import datetime as dt
import threading

import pytest

from huitouke.core.prepared import Prepared
from huitouke.core.services import create_shop
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Consent, Customer, CustomerPhone
from huitouke.customers.services import register_customer

pytestmark = pytest.mark.django_db(transaction=True)

CONSENTS_SINCE = Prepared(lambda shop_id, customer_id, since: Consent.objects.filter(
    shop_id=shop_id, customer_id=customer_id, at__gte=since).order_by("at"))
PHONE_WITH_CUSTOMER = Prepared(lambda shop_id, e164: CustomerPhone.objects.filter(
    shop_id=shop_id, e164=e164).select_related("customer"))
PHONE_NUMBERS = Prepared(lambda shop_id, customer_id: CustomerPhone.objects.filter(
    shop_id=shop_id, customer_id=customer_id).values_list("e164", "is_primary"))


@pytest.fixture
def two_shops():
    first, second = create_shop(slug="prep-a", name="A"), create_shop(slug="prep-b", name="B")
    people = {
        "ann": register_customer(shop=first, name="Ann", phone="13800000001"),
        "bo": register_customer(shop=first, name="Bo", phone="13800000002"),
        "other": register_customer(shop=second, name="Other", phone="13800000001"),
    }
    for day, granted in ((1, True), (5, False), (9, True)):
        Consent.objects.create(shop=first, customer=people["ann"], channel="sms", granted=granted,
                               at=dt.datetime(2026, 3, day, 10, tzinfo=SHANGHAI), source="test")
    return first, second, people


def test_each_call_binds_its_own_values_and_matches_the_orm(two_shops):
    first, second, people = two_shops
    for since_day in (1, 4, 10):
        since = dt.datetime(2026, 3, since_day, 9, tzinfo=SHANGHAI)
        got = CONSENTS_SINCE.all(shop_id=first.pk, customer_id=people["ann"].pk, since=since)
        expected = list(Consent.objects.filter(shop=first, customer=people["ann"], at__gte=since).order_by("at"))
        assert [(c.pk, c.granted, c.at) for c in got] == [(c.pk, c.granted, c.at) for c in expected]
        assert len(got) == {1: 3, 4: 2, 10: 0}[since_day]
    # converters ran: the datetime comes back aware, the boolean as a bool (SQLite stores 0/1 and text)
    latest = CONSENTS_SINCE.all(shop_id=first.pk, customer_id=people["ann"].pk,
                                since=dt.datetime(2026, 3, 8, tzinfo=SHANGHAI))[0]
    assert latest.granted is True and latest.at == dt.datetime(2026, 3, 9, 10, tzinfo=SHANGHAI)


def test_select_related_and_values_rows_and_the_shop_scope(two_shops):
    first, second, people = two_shops
    found = PHONE_WITH_CUSTOMER.first(shop_id=first.pk, e164="+8613800000001")
    assert found.customer.name == "Ann" and found.customer_id == people["ann"].pk
    assert PHONE_WITH_CUSTOMER.first(shop_id=second.pk, e164="+8613800000001").customer.name == "Other"
    assert PHONE_WITH_CUSTOMER.first(shop_id=first.pk, e164="+8613999999999") is None
    assert PHONE_NUMBERS.rows(shop_id=first.pk, customer_id=people["bo"].pk) == [("+8613800000002", True)]
    assert PHONE_NUMBERS.rows(shop_id=second.pk, customer_id=people["bo"].pk) == []


def test_values_it_cannot_bind_are_refused_at_the_first_call(two_shops):
    first, _, _ = two_shops
    transformed = Prepared(lambda shop_id, part: CustomerPhone.objects.filter(shop_id=shop_id, e164__contains=part))
    with pytest.raises(TypeError, match="does not use part"):
        transformed.all(shop_id=first.pk, part="0001")
    listed = Prepared(lambda ids: CustomerPhone.objects.filter(customer_id__in=ids))
    with pytest.raises(TypeError, match="not list"):
        listed.all(ids=[1, 2])
    flag = Prepared(lambda primary: CustomerPhone.objects.filter(is_primary=primary))
    with pytest.raises(TypeError, match="booleans"):
        flag.all(primary=True)
    narrow = Prepared(lambda score: Customer.objects.filter(completeness=score))  # a small integer field
    with pytest.raises(TypeError, match="64-bit fields"):
        narrow.all(score=40)
    with pytest.raises(TypeError, match="use rows"):
        PHONE_NUMBERS.all(shop_id=first.pk, customer_id=1)


def test_every_thread_compiles_for_its_own_connection(two_shops):
    first, _, _ = two_shops
    seen: dict[str, object] = {}

    def look_up(name: str, phone: str) -> None:
        seen[name] = PHONE_WITH_CUSTOMER.first(shop_id=first.pk, e164=phone).customer.name
        from django.db import connection
        connection.close()

    threads = [threading.Thread(target=look_up, args=(name, phone))
               for name, phone in (("a", "+8613800000001"), ("b", "+8613800000002"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert seen == {"a": "Ann", "b": "Bo"}
