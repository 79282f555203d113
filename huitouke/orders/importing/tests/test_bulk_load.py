"""A first big import into a store builds some indexes after its rows (SQLite): same result, and every index is
there again afterwards, or after a rollback."""

from __future__ import annotations

import gc

import pytest
from django.db import connection

from huitouke.customers.models import Customer, CustomerPhone
from huitouke.orders.importing import engine as engine_module
from huitouke.orders.importing import services as services_module
from huitouke.orders.importing.services import import_file
from huitouke.orders.importing.tests.test_import_files import ROWS, request, write
from huitouke.orders.models import ImportRun, Order
from huitouke.orders.selectors import headline
from huitouke.testing.factories import StoreFactory

pytestmark = pytest.mark.django_db

DEFERRED = {
    name for indexes in engine_module._DEFERRED_INDEXES.values() for names in indexes.values() for name in names
}


def indexes() -> set[str]:
    found: set[str] = set()
    with connection.cursor() as cursor:
        for model in (Order, Customer, CustomerPhone):
            found |= {name for name, about in connection.introspection.get_constraints(cursor, model._meta.db_table)
                      .items() if about["index"]}
    return found


@pytest.fixture
def small_bulk_load(monkeypatch):
    """Every import counts as a bulk load, written two rows a batch (so batches go in before the indexes)."""
    monkeypatch.setattr(engine_module, "BULK_LOAD_ROWS", 1)
    monkeypatch.setattr(services_module, "BATCH", 2)


def test_a_bulk_load_gives_the_same_figures_and_leaves_every_index_in_place(tenant_a, tmp_path, small_bulk_load):
    assert indexes() >= DEFERRED
    run = import_file(request(tenant_a, write(tmp_path, ROWS)))
    assert run.status == ImportRun.Status.DONE and run.counts["new_orders"] == 6
    assert indexes() >= DEFERRED
    figures = headline(shop=tenant_a.shop).as_json()  # as in test_import_files, computed by hand there
    assert (figures["buyers"], figures["repeat_customers"], figures["net_revenue"]) == (3, 1, "687.90")
    assert list(Order.objects.filter(is_repeat=True).values_list("external_id", flat=True)) == ["3012345678901235"]


def test_a_rejected_bulk_load_leaves_every_index_in_place(tenant_a, tmp_path, small_bulk_load):
    bad = [*ROWS, ROWS[0].replace("3012345678901234", "3012345678901299").replace("交易成功", "不知道")]
    run = import_file(request(tenant_a, write(tmp_path, bad)))
    assert run.status == ImportRun.Status.REJECTED and Order.objects.count() == 0
    assert indexes() >= DEFERRED


def test_only_the_first_big_import_into_a_store_is_a_bulk_load_and_only_on_sqlite(tenant_a, tmp_path):
    shop, store = tenant_a.shop, tenant_a.store
    on_sqlite = connection.vendor == "sqlite"  # PostgreSQL's DROP INDEX would lock readers out until the commit
    fresh = engine_module.ImportEngine(shop=shop, store=store, source="check")
    fresh.prepare_bulk_load(expected_rows=engine_module.BULK_LOAD_ROWS)
    assert bool(fresh._deferred_indexes) is on_sqlite
    assert (not DEFERRED & indexes()) is on_sqlite
    fresh.finish()
    assert indexes() >= DEFERRED
    small = engine_module.ImportEngine(shop=shop, store=store, source="check")
    small.prepare_bulk_load(expected_rows=engine_module.BULK_LOAD_ROWS - 1)
    assert not small._deferred_indexes
    import_file(request(tenant_a, write(tmp_path, ROWS)))
    again = engine_module.ImportEngine(shop=shop, store=store, source="check")
    again.prepare_bulk_load(expected_rows=10 * engine_module.BULK_LOAD_ROWS)
    assert not again._deferred_indexes  # the store has orders: much of the file may be on file already
    other_store = engine_module.ImportEngine(shop=shop, store=StoreFactory(shop=shop, slug="jd", platform="jd"),
                                             source="check")
    other_store.prepare_bulk_load(expected_rows=engine_module.BULK_LOAD_ROWS)
    assert bool(other_store._deferred_indexes) is on_sqlite
    other_store.finish()



def test_an_import_gives_back_the_garbage_collector_thresholds(tenant_a, tmp_path):
    before = gc.get_threshold()
    assert import_file(request(tenant_a, write(tmp_path, ROWS))).status == ImportRun.Status.DONE
    assert gc.get_threshold() == before
    bad = [ROWS[0].replace("3012345678901234", "3012345678901299").replace("交易成功", "不知道")]
    assert import_file(request(tenant_a, write(tmp_path, bad, "bad.csv"))).status == ImportRun.Status.REJECTED
    assert gc.get_threshold() == before


def test_a_large_import_leaves_planner_statistics_on_postgresql_and_none_on_sqlite(tenant_a, tmp_path,
                                                                                   small_bulk_load):
    def analysed_rows() -> float | None:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # -1: never analysed
                cursor.execute("SELECT reltuples FROM pg_class WHERE relname = 'orders_order'")
                return cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")
            return cursor.fetchone()[0]

    before = analysed_rows()
    assert import_file(request(tenant_a, write(tmp_path, ROWS[:4]))).counts["new_orders"] == 4
    if connection.vendor == "postgresql":
        # ANALYZE writes pg_class in place (no rollback): another test's import may have left its count there
        assert analysed_rows() == 4
    else:
        assert before == analysed_rows() == 0  # SQLite's plans are chosen by rule; statistics would change them
