"""Several workers at once: each message is claimed and sent by exactly one of them (PostgreSQL: FOR UPDATE
SKIP LOCKED; SQLite: the IMMEDIATE transaction serialises the claims)."""

from __future__ import annotations

import json
from collections import Counter

import pytest

from huitouke.engagement.library import Kind
from huitouke.engagement.models import Message
from huitouke.engagement.services.delivery import deliver_due
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.concurrency import run_together
from huitouke.testing.factories import ShopFactory

pytestmark = pytest.mark.django_db(transaction=True)


def test_four_workers_deliver_forty_messages_each_exactly_once(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    shop = ShopFactory(slug="jiangnan", name="江南小店")
    for index in range(40):
        enqueue_message(shop=shop, customer=contactable(shop), rule=f"r{index}", kind=Kind.BIRTHDAY,
                        channel="sms", text="生日快乐", day=NOON.date(), now=NOON)

    def worker(_: int) -> list[int]:
        return deliver_due(limit=5, now=NOON).message_ids + deliver_due(limit=50, now=NOON).message_ids

    claimed = run_together(4, worker)
    assert not [r for r in claimed if isinstance(r, Exception)], claimed
    assert sorted(i for ids in claimed for i in ids) == sorted(Message.objects.values_list("id", flat=True))
    assert Counter(Message.objects.values_list("status", flat=True)) == {"sent": 40}
    lines = (tmp_path / "outbox" / "jiangnan.log").read_text(encoding="utf-8").splitlines()
    keys = Counter(json.loads(line)["key"] for line in lines)
    assert len(keys) == 40 and set(keys.values()) == {1}
