"""core.bulk: insert_pairs (link rows from packed keys; SQLite: json_each, else COPY) and read_alongside."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from huitouke.core.bulk import datetime_adapter, insert_pairs, read_alongside
from huitouke.core.errors import Invalid
from huitouke.customers.models import Customer, CustomerTag, Tag
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
