"""Rows an earlier import stored exactly so: recognised by their source digest, handed on unparsed, changing nothing."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.orders.importing.engine import ImportEngine
from huitouke.orders.importing.formats import open_reader
from huitouke.orders.importing.formats import taobao as taobao_module
from huitouke.orders.importing.records import OrderRecord, UnchangedRow
from huitouke.orders.importing.services import import_file
from huitouke.orders.importing.tests.test_formats_taobao import ITEMS, ORDERS
from huitouke.orders.importing.tests.test_import_files import HEADER, ROWS, request, write
from huitouke.orders.models import ImportRun, Order

pytestmark = pytest.mark.django_db

# ROWS[5] (3012345678901239) a week later: fully refunded and closed
REFUNDED = ROWS[5].replace("¥59.90,交易成功", "¥59.90,交易关闭").replace(",3,20.00,", ",3,59.90,")


def steps_against_the_stored_orders(tenant, path):
    engine = ImportEngine(shop=tenant.shop, store=tenant.store, source="check")
    with open_reader(path, "taobao", platform="taobao") as reader:
        reader.skip_known_rows(engine.known_rows)
        return list(reader)


def test_the_reader_hands_on_the_stored_rows_unparsed_and_parses_the_changed_one(tenant_a, tmp_path):
    import_file(request(tenant_a, write(tmp_path, ROWS, "old.csv")))
    digests = set(Order.objects.values_list("source_digest", flat=True))
    assert len(digests) == 6 and None not in digests
    steps = steps_against_the_stored_orders(tenant_a, write(tmp_path, [*ROWS[:5], REFUNDED], "new.csv"))
    assert [type(step.record) for step in steps] == [UnchangedRow] * 5 + [OrderRecord]
    first = steps[0].record
    assert (first.line, first.external_id) == (2, "3012345678901234")
    assert first.stored.id == Order.objects.get(external_id="3012345678901234").pk


def test_a_reimport_with_one_changed_row_updates_that_order_alone(tenant_a, tmp_path):
    import_file(request(tenant_a, write(tmp_path, ROWS, "old.csv")))
    run = import_file(request(tenant_a, write(tmp_path, [*ROWS[:5], REFUNDED], "new.csv")))
    assert run.status == ImportRun.Status.DONE
    assert (run.counts["unchanged_orders"], run.counts["updated_orders"], run.counts["new_orders"]) == (5, 1, 0)
    order = Order.objects.get(external_id="3012345678901239")
    assert (order.status, order.refunded_amount) == ("refunded", Decimal("59.90"))
    again = import_file(request(tenant_a, write(tmp_path, [*ROWS[:5], REFUNDED], "new.csv")))
    assert again.counts["unchanged_orders"] == 6 and again.counts["updated_orders"] == 0


@pytest.mark.parametrize("chunk", [1, 5_000])
def test_an_earlier_state_stored_before_never_wins_over_a_later_row_of_the_file(tenant_a, tmp_path, monkeypatch,
                                                                               chunk):
    """The stored row comes again AFTER a row with a later state of its order: with chunks of one row the reader
    asks about it after the later state was written (the pending batch is written first), with big chunks
    both are in one batch, where the later state wins by rank."""
    monkeypatch.setattr(taobao_module, "KNOWN_CHUNK", chunk)
    import_file(request(tenant_a, write(tmp_path, ROWS, "old.csv")))
    run = import_file(request(tenant_a, write(tmp_path, [REFUNDED, *ROWS], "new.csv")))
    assert run.counts["updated_orders"] == 1 and run.counts["unchanged_orders"] == 5
    assert run.counts["older_states"] + run.counts["duplicate_orders"] == 1
    order = Order.objects.get(external_id="3012345678901239")
    assert (order.status, order.refunded_amount) == ("refunded", Decimal("59.90"))


def test_a_row_repeated_after_this_import_stored_it_counts_as_a_duplicate(tenant_a, tmp_path, monkeypatch):
    monkeypatch.setattr(taobao_module, "KNOWN_CHUNK", 1)
    import_file(request(tenant_a, write(tmp_path, ROWS[:1], "old.csv")))
    run = import_file(request(tenant_a, write(tmp_path, [ROWS[0], ROWS[1], ROWS[1]], "new.csv")))
    assert (run.counts["unchanged_orders"], run.counts["new_orders"], run.counts["duplicate_orders"]) == (1, 1, 1)
    assert Order.objects.filter(external_id="3012345678901235").count() == 1


def test_rows_with_a_refund_reason_and_orders_without_customer_are_read_again(tenant_a, tmp_path):
    """A refund reason is handed to the listeners again (as for any row of a refunded order); an order whose
    customer is gone is read again so that its buyer gets a customer anew."""
    header = f"{HEADER},退款原因"
    rows = [f"{row}," for row in ROWS[:5]] + [f"{ROWS[5]},质量问题"]
    path = tmp_path / "with-reasons.csv"
    path.write_text("\n".join([header, *rows]) + "\n", encoding="gb18030")
    import_file(request(tenant_a, path))
    Order.objects.filter(external_id="3012345678901236").update(customer=None)
    steps = steps_against_the_stored_orders(tenant_a, path)
    kinds = {step.record.external_id: type(step.record) for step in steps}
    assert kinds["3012345678901239"] is OrderRecord and kinds["3012345678901236"] is OrderRecord
    assert list(kinds.values()).count(UnchangedRow) == 4
    run = import_file(request(tenant_a, path))
    assert run.counts["unchanged_orders"] == 6
    assert Order.objects.get(external_id="3012345678901236").customer is not None


def test_a_file_with_other_columns_is_read_whole_again(tenant_a, tmp_path):
    """The columns present decide how a row reads (no 买家应付货款: the goods are the paid amount), so they
    are part of the digest: a file laid out differently matches no stored row, and is compared state by state."""
    import_file(request(tenant_a, write(tmp_path, ROWS, "old.csv")))
    widened = tmp_path / "widened.csv"
    widened.write_text("\n".join([f"{HEADER},买家留言", *[f"{row}," for row in ROWS]]) + "\n", encoding="gb18030")
    assert {type(step.record) for step in steps_against_the_stored_orders(tenant_a, widened)} == {OrderRecord}
    run = import_file(request(tenant_a, widened))
    assert run.counts["unchanged_orders"] == 6 and run.counts["updated_orders"] == 0


def test_orders_completed_from_an_item_report_carry_no_row_digest():
    with open_reader(ORDERS, "taobao", platform="taobao") as reader:
        alone = [step.record.source_digest for step in reader if step.record is not None]
    with open_reader(ORDERS, "taobao", platform="taobao", items_path=ITEMS) as reader:
        joined = [step.record.source_digest for step in reader if step.record is not None]
    assert all(alone) and len(set(alone)) == len(alone)
    assert set(joined) == {0}
