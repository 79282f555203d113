"""The Citus path: every table carries the shop, every key can include it, and the database then refuses
a row that points into another shop."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, models, transaction

from huitouke.core import citus
from huitouke.core.models import Shop, ShopScoped
from huitouke.customers import services as customer_services
from huitouke.orders.models import Order
from huitouke.testing.factories import OrderFactory


def _shop_models() -> list[type[models.Model]]:
    return [
        model for model in apps.get_models(include_auto_created=True)
        if model._meta.db_table in set(citus.distributed_tables())
    ]


def test_every_table_is_shop_scoped_or_one_of_the_global_reference_tables():
    tables = citus.distributed_tables()  # raises for a table without shop_id
    assert {"customers_customer", "orders_order", "loyalty_pointsentry", "platform_agreementstore"} <= set(tables)
    assert set(tables).isdisjoint(citus.reference_tables())
    assert citus.reference_tables() == ["core_shop", "core_staff", "core_apitoken"]


def test_every_unique_key_of_a_shop_table_includes_the_shop():
    for model in _shop_models():
        for constraint in model._meta.constraints:
            if isinstance(constraint, models.UniqueConstraint):
                assert "shop" in constraint.fields, f"{model._meta.label}.{constraint.name}"
        for unique_together in model._meta.unique_together:
            assert "shop" in unique_together, model._meta.label
        for field in model._meta.concrete_fields:
            if field.unique and not field.primary_key:
                # One-to-one links to another shop row are the only exception: the conversion makes them
                # (shop_id, x_id), which is the same rule because the link's row is in the same shop.
                assert isinstance(field, models.OneToOneField), f"{model._meta.label}.{field.name}"
                assert issubclass(field.related_model, ShopScoped), f"{model._meta.label}.{field.name}"


def test_referenced_tables_are_distributed_first_and_a_cycle_is_refused():
    fk = citus.ForeignKey
    keys = [fk("a", "orders", "customer_id", "customers", "id"), fk("b", "lines", "order_id", "orders", "id"),
            fk("c", "customers", "merged_into_id", "customers", "id")]
    assert citus._referenced_first(["lines", "orders", "customers"], keys) == ["customers", "orders", "lines"]
    with pytest.raises(citus.CitusConversionError, match="cycle"):
        citus._referenced_first(["x", "y"], [fk("d", "x", "y_id", "y", "id"), fk("e", "y", "x_id", "x", "id")])


@pytest.mark.django_db
def test_sql_command_on_sqlite_says_citus_needs_postgresql_and_on_postgresql_prints_statements(capsys):
    if connection.vendor == "sqlite":
        with pytest.raises(CommandError, match="PostgreSQL"):
            call_command("citus", "sql")
        return
    call_command("citus", "sql", "--distribute")
    printed = capsys.readouterr().out
    assert "SELECT create_reference_table('core_shop');" in printed
    assert "SELECT create_distributed_table('orders_order', 'shop_id');" in printed


@pytest.mark.postgresql
@pytest.mark.django_db
def test_converted_keys_include_the_shop_and_refuse_a_row_pointing_into_another_shop(tenant_a, tenant_b):
    citus.convert(with_distribution=False)  # in the test's transaction: rolled back afterwards
    assert citus.plan().statements(with_distribution=False) == []  # converted: nothing left to do
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT array_agg(a.attname ORDER BY k.pos) FROM pg_constraint c "
            "CROSS JOIN unnest(c.conkey) WITH ORDINALITY k(num, pos) "
            "JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = k.num "
            "WHERE c.conrelid = 'orders_order'::regclass AND c.contype = 'p'"
        )
        assert cursor.fetchone()[0] == ["shop_id", "id"]

    theirs = customer_services.register_customer(shop=tenant_b.shop, name="李娜", phone="13998765432")
    ours = OrderFactory(shop=tenant_a.shop, store=tenant_a.store, external_id="TB1")
    with pytest.raises(IntegrityError), transaction.atomic():
        Order.objects.filter(pk=ours.pk).update(customer_id=theirs.pk)  # a shop-A order, a shop-B customer
        connection.cursor().execute("SET CONSTRAINTS ALL IMMEDIATE")
    assert Order.objects.get(pk=ours.pk).customer_id != theirs.pk


@pytest.mark.postgresql
@pytest.mark.django_db
def test_distribution_needs_the_citus_extension_and_changes_nothing_without_it(tenant_a):
    before = citus.plan().statements(with_distribution=False)
    with pytest.raises(citus.CitusConversionError, match="citus extension"):
        citus.convert(with_distribution=True)
    assert citus.plan().statements(with_distribution=False) == before
    assert Shop.objects.filter(pk=tenant_a.shop.pk).exists()
