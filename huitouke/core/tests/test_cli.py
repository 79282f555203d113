"""The command line: clear errors, never a traceback, and one shop never reaches another's data."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from huitouke.core.models import AccessLog, Shop, Staff, Store
from huitouke.customers.models import Customer
from huitouke.testing.factories import CustomerFactory, CustomerPhoneFactory, OrderFactory

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out, stderr=StringIO())
    return out.getvalue()


def test_shop_and_store_create_from_an_empty_database():
    assert "password:" in run("shop", "create", "lily", "--name", "莉莉女装", "--owner", "lily")
    run("store", "create", "tmall", "--shop", "lily", "--platform", "tmall", "--name", "天猫店")
    shop = Shop.objects.get(slug="lily")
    assert Store.objects.for_shop(shop).get().platform == "tmall"
    assert Staff.objects.get(user__username="lily").role == "owner"


@pytest.mark.parametrize(
    ("args", "message"),
    [(("store", "create", "x", "--shop", "nope", "--platform", "jd"), "no shop 'nope'"),
     (("store", "create", "x", "--shop", "shop-a", "--platform", "ebay"), "unknown platform"),
     (("shop", "create", "Bad Slug!"), "not a valid slug"),
     (("report", "--shop", "shop-a", "--as-of", "2025-02-30"), "--as-of must be a date")],
)
def test_bad_cli_input_gives_a_clear_error(tenant_a, args, message):
    with pytest.raises(CommandError, match=message):
        run(*args)


def test_customer_cli_cannot_reach_another_shops_customer(tenant_a, tenant_b):
    theirs = CustomerFactory(shop=tenant_b.shop, name="别家顾客")
    for action in ("show", "export"):
        with pytest.raises(CommandError, match=f"no customer {theirs.pk}"):
            run("customer", action, str(theirs.pk), "--shop", "shop-a")
    with pytest.raises(CommandError, match=f"no customer {theirs.pk}"):
        run("customer", "erase", str(theirs.pk), "--shop", "shop-a", "--yes")
    assert "别家顾客" not in run("customer", "list", "--shop", "shop-a", "-q", "别家")
    assert Customer.objects.get(pk=theirs.pk).erased_at is None


def test_customer_cli_masks_lists_and_logs_exports(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop, name="王小芳")
    CustomerPhoneFactory(customer=customer, e164="+8613812345678")
    listing = run("customer", "list", "--shop", "shop-a")
    assert "王*芳" in listing and "138****5678" in listing and "13812345678" not in listing
    exported = json.loads(run("customer", "export", str(customer.pk), "--shop", "shop-a"))
    assert exported["phones"] == ["+8613812345678"]
    assert AccessLog.objects.get(action="export").actor == "cli"


def test_customer_erase_needs_confirmation(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    with pytest.raises(CommandError, match="--yes"):
        run("customer", "erase", str(customer.pk), "--shop", "shop-a")
    assert Customer.objects.get(pk=customer.pk).erased_at is None
    run("customer", "erase", str(customer.pk), "--shop", "shop-a", "--yes")
    assert Customer.objects.get(pk=customer.pk).erased_at is not None


def test_report_prints_the_headline_as_one_json_object(tenant_a):
    OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=CustomerFactory(shop=tenant_a.shop))
    figures = json.loads(run("report", "--shop", "shop-a", "--json"))
    assert figures["buyers"] == 1 and figures["net_revenue"] == "100.00" and figures["repeat_rate"] == 0.0


@pytest.mark.django_db(transaction=True)
@override_settings(TASKS={"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}})
def test_worker_runs_queued_jobs_from_the_database(tenant_a):
    from django_tasks_db.models import DBTaskResult

    from huitouke.orders.tasks import refresh_shop_customer_stats

    customer = CustomerFactory(shop=tenant_a.shop)
    OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=customer)
    result = refresh_shop_customer_stats.using(backend="default").enqueue(tenant_a.shop.pk)
    assert DBTaskResult.objects.get(id=result.id).status == "READY"
    call_command("worker", "--batch", stdout=StringIO(), stderr=StringIO())
    assert DBTaskResult.objects.get(id=result.id).status == "SUCCESSFUL"
    assert Customer.objects.get(pk=customer.pk).orders_count == 1
