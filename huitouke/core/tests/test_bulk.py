"""core.bulk: insert_pairs (link rows from packed keys; SQLite: json_each, else COPY), read_alongside, rows_where_in
and temporary_files_on_disk."""

from __future__ import annotations

import threading

import numpy as np
import pytest
from django.db import connection, transaction

from huitouke.core.bulk import (
    datetime_adapter,
    insert_pairs,
    read_alongside,
    rows_where_in,
    temporary_files_on_disk,
)
from huitouke.core.errors import Invalid
from huitouke.customers.models import Customer, CustomerTag, PlatformIdentity, Tag
from huitouke.testing.factories import CustomerFactory, ShopFactory

pytestmark = pytest.mark.django_db


def test_insert_pairs_writes_one_row_per_key_with_the_constants(tenant_a):
    shop = tenant_a.shop
    people = [CustomerFactory(shop=shop) for _ in range(3)]
    tags = [Tag.objects.create(shop=shop, name=name) for name in ("甲", "乙")]
    width = max(tag.pk for tag in tags) + 1
    wanted = {(people[0].pk, tags[0].pk), (people[0].pk, tags[1].pk), (people[2].pk, tags[1].pk)}
    keys = np.array(sorted(customer * width + tag for customer, tag in wanted), dtype=np.int64)
    moment = CustomerTag._meta.get_field("created_at").default()

    insert_pairs(CustomerTag, fields=("customer", "tag"), keys=keys, width=width, constant={
        "shop": shop.pk, "source": CustomerTag.Source.AUTO.value, "created_at": datetime_adapter()(moment),
    })

    rows = CustomerTag.objects.filter(shop=shop)
    assert {(row.customer_id, row.tag_id) for row in rows} == wanted
    assert {row.source for row in rows} == {"auto"}
    assert {row.created_at.replace(microsecond=0) for row in rows} == {moment.replace(microsecond=0)}


def test_insert_pairs_of_no_keys_writes_nothing(tenant_a):
    insert_pairs(CustomerTag, fields=("customer", "tag"), keys=np.zeros(0, dtype=np.int64), width=7,
                 constant={"shop": tenant_a.shop.pk, "source": "auto", "created_at": datetime_adapter()(None)})
    assert not CustomerTag.objects.exists()


def test_read_alongside_in_a_transaction_reads_at_once_on_this_connection(tenant_a):
    CustomerFactory(shop=tenant_a.shop, name="未提交")  # uncommitted: another connection would not see her
    names = read_alongside(lambda: list(Customer.objects.values_list("name", flat=True)))
    assert names() == ["未提交"]


@pytest.mark.django_db(transaction=True)
def test_read_alongside_reads_in_a_thread_of_its_own_and_passes_errors_on():
    shop = ShopFactory(slug="alongside")
    CustomerFactory(shop=shop, name="已提交")

    def read() -> tuple[list[str], str]:
        return list(Customer.objects.values_list("name", flat=True)), threading.current_thread().name

    names, thread = read_alongside(read)()
    assert names == ["已提交"] and thread != threading.current_thread().name

    def fail() -> None:
        raise Invalid("no such shop")

    with pytest.raises(Invalid, match="no such shop"):
        read_alongside(fail)()


def test_rows_where_in_finds_texts_and_integers_of_one_shop_only(tenant_a, tenant_b):
    mine = [CustomerFactory(shop=tenant_a.shop) for _ in range(3)]
    theirs = CustomerFactory(shop=tenant_b.shop)
    for person, handle in zip([*mine, theirs], ["小鱼儿", "tb_889", "a'b\"c", "小鱼儿"], strict=True):
        PlatformIdentity.objects.create(shop=person.shop, customer=person, platform="taobao", handle=handle)
    by_handle = rows_where_in(PlatformIdentity, ("handle", "customer"), equal={"shop": tenant_a.shop.pk},
                              field="handle", values=["小鱼儿", "a'b\"c", "nobody"], chunk=2)
    assert sorted(by_handle) == sorted([("小鱼儿", mine[0].pk), ("a'b\"c", mine[2].pk)])
    by_id = rows_where_in(Customer, ("id",), equal={"shop": tenant_a.shop.pk}, field="id",
                          values=[mine[1].pk, theirs.pk])
    assert by_id == [(mine[1].pk,)]
    mixed = rows_where_in(Customer, ("id",), equal={"shop": tenant_a.shop.pk}, field="id",
                          values=[mine[1].pk, float(mine[2].pk)])  # not all integers: a placeholder per value
    assert sorted(mixed) == [(mine[1].pk,), (mine[2].pk,)]


@pytest.mark.django_db(transaction=True)
def test_temporary_files_go_to_disk_inside_and_back_after_but_never_inside_a_transaction():
    def temp_store() -> int:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA temp_store")
            return cursor.fetchone()[0]

    if connection.vendor != "sqlite":
        with temporary_files_on_disk():  # nothing to change elsewhere
            assert Customer.objects.count() == 0
        return
    before = temp_store()
    assert before == 2  # the settings' MEMORY
    with temporary_files_on_disk():
        assert temp_store() == 1  # FILE
    assert temp_store() == before
    with transaction.atomic(), temporary_files_on_disk():
        assert temp_store() == before  # SQLite refuses the change inside a transaction once it has a temp store
