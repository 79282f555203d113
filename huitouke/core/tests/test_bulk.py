"""core.bulk.insert_pairs: link rows from packed keys, constants in every row (SQLite: json_each; else COPY)."""

from __future__ import annotations

import numpy as np
import pytest

from huitouke.core.bulk import datetime_adapter, insert_pairs
from huitouke.customers.models import CustomerTag, Tag
from huitouke.testing.factories import CustomerFactory

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
