"""The import engine on normalised records: one customer per person, idempotent orders, merges and undo."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.core.errors import Conflict
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.merges import undo_merge
from huitouke.customers.models import Customer, CustomerMerge, CustomerPhone, PlatformIdentity
from huitouke.customers.phones import parse_phone
from huitouke.customers.services import register_customer
from huitouke.orders.importing import engine as engine_module
from huitouke.orders.importing.engine import ImportEngine
from huitouke.orders.importing.records import BuyerRecord, LineRecord, OrderRecord
from huitouke.orders.models import Order, OrderLine
from huitouke.testing.factories import StoreFactory

pytestmark = pytest.mark.django_db


def record(
    number: str, *, handle: str = "", phone: str = "", email: str = "", platform: str = "taobao",
    status: str = "completed", day: str = "2025-03-01", paid: str = "100.00", refunded: str = "0.00",
    name: str = "", quantity: int = 1, buyer: bool = True,
) -> OrderRecord:
    moment = dt.datetime.fromisoformat(f"{day} 10:00:00").replace(tzinfo=SHANGHAI)
    return OrderRecord(
        line=2, external_id=number, status=status, ordered_at=moment,
        paid_at=moment if status != "pending" else None, paid_amount=Decimal(paid), refunded_amount=Decimal(refunded),
        buyer=BuyerRecord(
            platform=platform, handle=handle, name=name, phone=parse_phone(phone) if phone else None, email=email,
            region="浙江省 杭州市 西湖区", address="文三路 100号",
        ) if buyer else None,
        lines=(LineRecord(title="真丝连衣裙", sku="", quantity=quantity, unit_price=Decimal(paid) / quantity,
                          line_amount=Decimal(paid)),),
    )


def run(shop, store, records, source: str = "import #1") -> ImportEngine:
    engine = ImportEngine(shop=shop, store=store, source=source)
    engine.write_batch(records)
    engine.finish()
    return engine


def test_new_buyers_become_customers_with_identity_phone_address_and_figures(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    engine = run(shop, store, [
        record("T1", handle="小鱼儿2019", phone="13812345678", name="李小雨", day="2025-01-05", paid="199.00"),
        record("T2", handle="小鱼儿2019", phone="13812345678", name="李小雨", day="2025-02-10", paid="299.00"),
        record("T3", handle="tb_889", phone="139****0001", day="2025-02-11", paid="59.90"),
    ])
    assert engine.counts.new_customers == 2 and engine.counts.new_orders == 3
    li = PlatformIdentity.objects.get(shop=shop, handle="小鱼儿2019").customer
    assert li.name == "李小雨"
    assert li.orders_count == 2 and li.purchase_days == 2 and li.net_spend == Decimal("498.00")
    assert li.registered_store == store
    assert li.registered_at == dt.datetime(2025, 1, 5, 10, tzinfo=SHANGHAI)
    assert list(li.phones.values_list("e164", "is_primary")) == [("+8613812345678", True)]
    assert li.addresses.get().region == "浙江省 杭州市 西湖区"
    assert li.completeness > 0
    masked_only = PlatformIdentity.objects.get(shop=shop, handle="tb_889").customer
    assert masked_only.name == "tb_889"
    assert list(masked_only.phones.values_list("e164", "tail4")) == [(None, "0001")]
    assert Order.objects.get(shop=shop, external_id="T2").is_repeat is True


def test_importing_the_same_records_again_changes_nothing(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    batch = [record("T1", handle="a", phone="13812345678"), record("T2", handle="b", email="b@example.com")]
    run(shop, store, batch)
    snapshot = (Customer.objects.including_merged(shop).count(), Order.objects.count(), OrderLine.objects.count(),
                CustomerPhone.objects.count(), PlatformIdentity.objects.count())
    again = run(shop, store, batch, source="import #2")
    assert again.counts.new_orders == 0 and again.counts.new_customers == 0 and again.counts.merges == 0
    assert again.counts.unchanged_orders == 2 and again.counts.updated_orders == 0
    assert (Customer.objects.including_merged(shop).count(), Order.objects.count(), OrderLine.objects.count(),
            CustomerPhone.objects.count(), PlatformIdentity.objects.count()) == snapshot


def test_a_newer_export_updates_status_and_refund_and_the_figures_follow(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    run(shop, store, [record("T1", handle="a", status="shipped", paid="300.00")])
    customer = PlatformIdentity.objects.get(handle="a").customer
    assert customer.net_spend == Decimal("300.00")
    later = run(shop, store, [record("T1", handle="a", status="completed", paid="300.00", refunded="100.00")])
    assert later.counts.updated_orders == 1 and later.counts.new_orders == 0
    order = Order.objects.get(external_id="T1")
    assert (order.status, order.refunded_amount, order.net_amount) == ("completed", Decimal("100.00"), Decimal("200.00"))
    customer.refresh_from_db()
    assert customer.net_spend == Decimal("200.00")
    assert OrderLine.objects.filter(order=order).count() == 1


def test_the_same_order_twice_in_one_file_is_one_order_and_the_later_row_wins(tenant_a):
    engine = run(tenant_a.shop, tenant_a.store, [
        record("T1", handle="a", status="paid"), record("T9", handle="b"), record("T1", handle="a", status="completed"),
    ])
    assert engine.counts.duplicate_orders == 1 and engine.counts.new_orders == 2
    assert Order.objects.get(external_id="T1").status == "completed"


def test_the_same_order_in_two_batches_of_one_import_is_counted_once(tenant_a, monkeypatch):
    engine = ImportEngine(shop=tenant_a.shop, store=tenant_a.store, source="import #1")
    engine.write_batch([record("T1", handle="a", status="paid")])
    engine.write_batch([record("T1", handle="a", status="completed")])
    engine.finish()
    assert engine.counts.new_orders == 1 and engine.counts.duplicate_orders == 1
    assert engine.counts.updated_orders == 0
    assert Order.objects.get(external_id="T1").status == "completed"


def test_same_full_phone_on_two_platforms_is_one_person_and_the_merge_is_recorded(tenant_a):
    shop = tenant_a.shop
    jd = StoreFactory(shop=shop, slug="jd", platform="jd")
    run(shop, tenant_a.store, [record("T1", handle="小鱼儿", phone="13812345678", paid="100.00", day="2025-01-01")])
    engine = run(shop, jd, [record("J1", handle="jd_fish", platform="jd", phone="+86 138 1234 5678",
                                   paid="50.00", day="2025-02-01")])
    assert engine.counts.merges == 1 and engine.counts.new_customers == 0
    taobao_owner = PlatformIdentity.objects.get(handle="小鱼儿").customer
    assert PlatformIdentity.objects.get(handle="jd_fish").customer == taobao_owner
    assert taobao_owner.orders_count == 2 and taobao_owner.net_spend == Decimal("150.00")
    merge = CustomerMerge.objects.get(shop=shop)
    assert merge.kept == taobao_owner and merge.reason == "same_phone" and merge.evidence == "138****5678"
    assert merge.absorbed.merged_into == taobao_owner
    assert Customer.objects.for_shop(shop).count() == 1  # the absorbed record no longer shows anywhere


def test_two_new_accounts_sharing_a_phone_in_one_file_become_one_customer(tenant_a):
    engine = run(tenant_a.shop, tenant_a.store, [
        record("T1", handle="a", phone="13812345678"), record("T2", handle="b", phone="13812345678"),
    ])
    assert engine.counts.new_customers == 1 and engine.counts.merges == 1  # one new person, two accounts
    (person,) = Customer.objects.for_shop(tenant_a.shop)
    assert person.addresses.count() == 1  # the same address twice is kept once
    assert sorted(person.identities.values_list("handle", flat=True)) == ["a", "b"]
    assert person.orders_count == 2


def test_masked_phones_never_join_customers(tenant_a):
    engine = run(tenant_a.shop, tenant_a.store, [
        record("T1", handle="a", phone="138****5678"), record("T2", handle="b", phone="138****5678"),
    ])
    assert engine.counts.merges == 0
    assert Customer.objects.for_shop(tenant_a.shop).count() == 2


def test_an_email_joins_a_shopify_buyer_to_a_registered_customer(tenant_a):
    shop = tenant_a.shop
    registered = register_customer(shop=shop, name="王芳", phone="13900001111")
    from huitouke.customers.services import add_email

    add_email(shop=shop, customer=registered, email="fang@example.com")
    shopify = StoreFactory(shop=shop, slug="shopify", platform="shopify")
    engine = run(shop, shopify, [record("#1001", handle="fang@example.com", email="fang@example.com",
                                        platform="shopify", name="Fang Wang")])
    assert engine.counts.merges == 1
    registered.refresh_from_db()
    assert registered.orders_count == 1 and registered.name == "王芳"
    assert CustomerMerge.objects.get().reason == "same_email"


def test_undo_gives_back_the_rows_and_keeps_the_two_apart_in_later_imports(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    run(shop, store, [record("T1", handle="a", phone="13812345678", paid="100.00"),
                      record("T2", handle="b", phone="13812345678", paid="40.00")])
    merge = CustomerMerge.objects.get(shop=shop)
    undo_merge(shop=shop, merge_id=merge.pk, staff=tenant_a.owner)
    a = PlatformIdentity.objects.get(handle="a").customer
    b = PlatformIdentity.objects.get(handle="b").customer
    assert a != b and b.merged_into is None
    assert (a.net_spend, b.net_spend) == (Decimal("100.00"), Decimal("40.00"))
    assert list(b.orders.values_list("external_id", flat=True)) == ["T2"]
    with pytest.raises(Conflict):
        undo_merge(shop=shop, merge_id=merge.pk, staff=tenant_a.owner)
    again = run(shop, store, [record("T3", handle="b", phone="13812345678", paid="10.00")], source="import #2")
    assert again.counts.merges == 0
    b.refresh_from_db()
    assert b.merged_into is None and b.orders_count == 2


def test_a_sale_without_a_buyer_is_an_order_without_customer(tenant_a):
    engine = run(tenant_a.shop, tenant_a.store, [record("POS-1", buyer=False)])
    assert engine.counts.new_orders == 1 and engine.counts.new_customers == 0
    assert Order.objects.get(external_id="POS-1").customer is None


def test_another_shops_identities_are_never_matched(tenant_a, tenant_b):
    run(tenant_b.shop, tenant_b.store, [record("T1", handle="a", phone="13812345678")])
    engine = run(tenant_a.shop, tenant_a.store, [record("T1", handle="a", phone="13812345678")])
    assert engine.counts.new_customers == 1 and engine.counts.merges == 0 and engine.counts.new_orders == 1
    assert Customer.objects.for_shop(tenant_a.shop).get().shop == tenant_a.shop


def test_batches_smaller_than_the_file_give_the_same_result(tenant_a, monkeypatch):
    monkeypatch.setattr(engine_module, "BATCH", 2)
    engine = ImportEngine(shop=tenant_a.shop, store=tenant_a.store, source="import #1")
    engine.write_batch([record("T1", handle="a", phone="13812345678")])
    engine.write_batch([record("T2", handle="b", phone="13812345678")])
    engine.finish()
    assert engine.counts.merges == 1
    assert Customer.objects.for_shop(tenant_a.shop).get().orders_count == 2


def test_an_older_state_never_overwrites_a_newer_one_and_a_reimport_with_repeats_changes_nothing(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    export = [record("T1", handle="a", status="paid"), record("T2", handle="b"),
              record("T1", handle="a", status="completed", refunded="30.00")]
    engine = ImportEngine(shop=shop, store=store, source="import #1")
    engine.write_batch(export[:2])  # the two states of T1 land in different batches
    engine.write_batch(export[2:])
    engine.finish()
    assert Order.objects.get(external_id="T1").refunded_amount == Decimal("30.00")
    again = ImportEngine(shop=shop, store=store, source="import #2")
    again.write_batch(export[:2])
    again.write_batch(export[2:])
    again.finish()
    assert again.counts.updated_orders == 0 and again.counts.older_states == 1
    assert again.counts.unchanged_orders == 2
    order = Order.objects.get(external_id="T1")
    assert (order.status, order.refunded_amount) == ("completed", Decimal("30.00"))
    older_export = run(shop, store, [record("T1", handle="a", status="shipped")], source="import #3")
    assert older_export.counts.older_states == 1 and Order.objects.get(external_id="T1").status == "completed"


def test_a_readers_reason_is_translated_whole_or_by_its_head_and_unknown_ones_stay_english():
    from django.utils import translation

    from huitouke.core.i18n import localized_text

    with translation.override("zh-hans"):
        assert localized_text("the quantity must be 1 or more") == "数量至少为 1"
        assert localized_text("missing required column: 订单状态") == "缺少必需的列: 订单状态"
        assert localized_text("not a date (expected e.g. 2024-03-01 10:00:00): day is out of range for month") == (
            "不是日期（应如 2024-03-01 10:00:00）: day is out of range for month"
        )
        assert localized_text("something new (detail)") == "something new (detail)"
    with translation.override("en"):
        assert localized_text("the quantity must be 1 or more") == "the quantity must be 1 or more"


def test_repeat_flags_end_right_whatever_the_order_of_a_buyers_rows(tenant_a):
    shop, store = tenant_a.shop, tenant_a.store
    engine = ImportEngine(shop=shop, store=store, source="import #1")
    engine.write_batch([record("N3", handle="a", day="2025-03-01"), record("N2", handle="a", day="2025-02-01")])
    engine.write_batch([
        record("N1", handle="a", day="2025-01-01"),
        record("M1", handle="b", day="2025-01-01"), record("M2", handle="b", day="2025-01-01"),
        record("M3", handle="b", day="2025-01-02"), record("M4", handle="b", day="2025-01-03", status="closed"),
    ])

    def flags() -> dict[str, bool]:
        return dict(Order.objects.filter(shop=shop).values_list("external_id", "is_repeat"))

    # a buyer's rows oldest first: the flags go in right (the same day is not a repeat, a closed order never is)
    assert (flags()["M2"], flags()["M3"], flags()["M4"]) == (False, True, False)
    engine.finish()  # newest first: the guesses were wrong, the refresh puts them right
    assert flags() == {"N1": False, "N2": True, "N3": True, "M1": False, "M2": False, "M3": True, "M4": False}


def test_merges_are_made_at_the_end_and_a_chain_across_batches_is_recorded_link_by_link(tenant_a):
    """Batch 1 finds that new accounts k and a are one person (a is folded into k); batch 2 that k is also an
    older customer's (by e-mail): k is folded into her. Merges are planned batch by batch and made in finish."""
    shop = tenant_a.shop
    from huitouke.customers.services import add_email

    older = register_customer(shop=shop, name="王芳", phone="13900001111")
    add_email(shop=shop, customer=older, email="fang@example.com")
    engine = ImportEngine(shop=shop, store=tenant_a.store, source="import #1")
    engine.write_batch([record("T1", handle="k", phone="13812345678", paid="100.00"),
                        record("T2", handle="a", phone="13812345678", paid="40.00")])
    assert CustomerMerge.objects.count() == 0  # planned only
    engine.write_batch([record("T3", handle="k", email="fang@example.com", paid="10.00")])
    engine.finish()
    assert engine.counts.merges == 2 and engine.counts.new_customers == 0  # both accounts are 王芳's
    k, a = (PlatformIdentity.objects.get(handle=h).customer_id for h in ("k", "a"))
    assert k == a == older.pk
    first, second = CustomerMerge.objects.order_by("pk")
    absorbed_k = second.absorbed_id
    assert (first.kept_id, second.kept_id) == (absorbed_k, older.pk)  # a → k, then k → 王芳
    older.refresh_from_db()
    assert older.orders_count == 3 and older.net_spend == Decimal("150.00")
    undo_merge(shop=shop, merge_id=second.pk, staff=tenant_a.owner)  # k comes back, with a's rows and T3 (k's)
    assert set(PlatformIdentity.objects.filter(customer_id=absorbed_k).values_list("handle", flat=True)) == {"k", "a"}
    assert sorted(Order.objects.filter(customer_id=absorbed_k).values_list("external_id", flat=True)) == [
        "T1", "T2", "T3"]


def test_merge_rounds_keep_the_planned_order_and_never_keep_and_absorb_in_one_round():
    from huitouke.customers.merges import MergeRequest

    def m(kept: int, absorbed: int) -> MergeRequest:
        return MergeRequest(kept_id=kept, absorbed_id=absorbed, reason="same_phone", evidence="")

    rounds = engine_module._merge_rounds([m(5, 7), m(5, 8), m(2, 9), m(1, 5), m(1, 6), m(0, 1)])
    assert [[(r.kept_id, r.absorbed_id) for r in one] for one in rounds] == [
        [(5, 7), (5, 8), (2, 9)], [(1, 5), (1, 6)], [(0, 1)],
    ]
    assert engine_module._merge_rounds([]) == []
