"""The demo shop: realistic, deterministic, consistent with the domain's own definitions."""

from __future__ import annotations

import datetime as dt
import io

import phonenumbers
import pytest
from django.apps import apps
from django.contrib.auth import authenticate
from django.core.management import call_command
from django.core.management.base import CommandError

from huitouke.core.models import Platform, Shop, ShopScoped, Staff, Store
from huitouke.core.timeutil import day_start
from huitouke.customers import services as customer_services
from huitouke.customers.models import Customer, CustomerPhone, PlatformIdentity
from huitouke.demo import generator
from huitouke.orders.models import Order, OrderLine, OrderStatus, Product, ProductRole
from huitouke.orders.selectors import headline
from huitouke.orders.services import refresh_customer_stats

END = "2025-06-30"
STATS = ("orders_count", "items_count", "purchase_days", "net_spend", "first_purchase_at", "last_purchase_at")


@pytest.fixture
def fast_settings(settings, tmp_path):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.HUITOUKE_DEMO_PASSWORD_FILE = tmp_path / "demo_password"
    return settings


def build(*extra: str, customers: int = 200, seed: int = 7, platform: bool = False) -> str:
    out = io.StringIO()
    call_command("demo", f"--customers={customers}", f"--seed={seed}", f"--end-date={END}", "--no-progress",
                 *extra, *(() if platform else ("--no-platform",)), stdout=out)
    return out.getvalue()


@pytest.fixture
def demo(db, fast_settings) -> Shop:
    build()
    return Shop.objects.get(slug="demo")


def snapshot() -> dict[str, list]:
    """The demo's content without database ids (which depend on what was there before)."""
    customers = {
        c.pk: c.phones.get().e164
        for c in Customer.objects.filter(shop__slug="demo").prefetch_related("phones")
    }
    customer_fields = [f.name for f in Customer._meta.concrete_fields if f.name not in ("id", "shop", "registered_by",
                                                                                         "registered_store")]
    return {
        "customers": sorted(
            (customers[c["id"]], *[c[f] for f in customer_fields])
            for c in Customer.objects.filter(shop__slug="demo").values("id", *customer_fields)
        ),
        "orders": sorted(
            (o.external_id, customers.get(o.customer_id), o.status, o.ordered_at, o.paid_at, o.paid_amount,
             o.refunded_amount, o.net_amount, o.items_count,
             tuple((li.sku, li.quantity, li.line_amount) for li in o.lines.order_by("id")))
            for o in Order.objects.filter(shop__slug="demo").prefetch_related("lines")
        ),
        "products": sorted(Product.objects.filter(shop__slug="demo").values_list("sku", "title", "price", "cost", "role")),
        "identities": sorted(PlatformIdentity.objects.filter(shop__slug="demo").values_list("handle", "created_at")),
    }


def test_same_seed_and_end_date_give_identical_data(db, fast_settings):
    build()
    first = snapshot()
    build("--reset")
    assert snapshot() == first
    build("--reset", seed=8)
    assert snapshot()["orders"] != first["orders"]


def test_simulation_is_deterministic_and_depends_on_the_seed():
    end = dt.date.fromisoformat(END)
    a = generator.simulate(customers=300, seed=1, end_date=end)
    b = generator.simulate(customers=300, seed=1, end_date=end)
    c = generator.simulate(customers=300, seed=2, end_date=end)
    assert (a.orders["ordered_at"] == b.orders["ordered_at"]).all()
    assert a.customers["name"] == b.customers["name"]
    assert a.orders["ordered_at"].size != c.orders["ordered_at"].size or a.customers["name"] != c.customers["name"]


def test_existing_demo_is_refused_without_reset(demo):
    with pytest.raises(CommandError, match="--reset"):
        build()
    build("--reset")
    assert Shop.objects.filter(slug="demo").count() == 1


def test_catalogue_covers_all_four_product_roles(demo):
    roles = set(Product.objects.for_shop(demo).values_list("role", flat=True))
    assert roles == set(ProductRole.values)
    assert 120 <= Product.objects.for_shop(demo).count() <= 200
    assert not Product.objects.for_shop(demo).filter(cost__gte=0).extra(where=["cost > price"]).exists()


def test_a_taobao_store_and_an_offline_boutique(demo):
    platforms = set(Store.objects.for_shop(demo).values_list("platform", flat=True))
    assert platforms == {Platform.TAOBAO, Platform.OFFLINE}
    boutique = Store.objects.for_shop(demo).get(platform=Platform.OFFLINE)
    registered_by = Customer.objects.for_shop(demo).filter(registered_store=boutique, registered_by__isnull=False)
    assert registered_by.exists()
    assert set(registered_by.values_list("registered_by__role", flat=True)) <= {"associate", "manager"}


def test_staff_logins_use_the_printed_password(demo, fast_settings):
    password = fast_settings.HUITOUKE_DEMO_PASSWORD_FILE.read_text().strip()
    user = authenticate(username="demo", password=password)
    assert user is not None and user.staff.shop == demo and user.staff.role == "owner"
    roles = list(Staff.objects.for_shop(demo).values_list("role", flat=True))
    assert 4 <= roles.count("associate") <= 6 and roles.count("manager") == 1


def test_phones_are_valid_unique_e164(demo):
    phones = list(CustomerPhone.objects.for_shop(demo).values_list("e164", "tail4", "customer_id"))
    assert len(phones) == Customer.objects.for_shop(demo).count()
    assert len({p for p, _, _ in phones}) == len(phones)
    for e164, tail4, _ in phones:
        assert e164.startswith("+861") and len(e164) == 14 and e164[-4:] == tail4
        assert phonenumbers.is_valid_number(phonenumbers.parse(e164))


def test_stored_stats_and_repeat_flags_equal_refresh_customer_stats(demo):
    stored = {c["id"]: c for c in Customer.objects.for_shop(demo).values("id", *STATS)}
    flags = dict(Order.objects.for_shop(demo).values_list("id", "is_repeat"))
    assert any(flags.values()) and not all(flags.values())
    refresh_customer_stats(shop=demo)
    assert {c["id"]: c for c in Customer.objects.for_shop(demo).values("id", *STATS)} == stored
    assert dict(Order.objects.for_shop(demo).values_list("id", "is_repeat")) == flags


def test_derived_order_fields_match_order_derive(demo):
    for order in Order.objects.for_shop(demo):
        stored = (order.net_amount, order.is_purchase, order.purchase_day)
        order.derive()
        assert (order.net_amount, order.is_purchase, order.purchase_day) == stored, order.external_id
        assert order.refunded_amount <= order.paid_amount


def test_order_amounts_and_items_add_up(demo):
    for order in Order.objects.for_shop(demo).prefetch_related("lines"):
        lines = list(order.lines.all())
        assert 1 <= len(lines) <= 3
        assert order.goods_amount == sum(line.line_amount for line in lines)
        assert order.items_count == sum(line.quantity for line in lines)
        if order.paid_at is not None:
            assert order.paid_amount == order.goods_amount + order.shipping_amount - order.discount_amount


def test_statuses_are_consistent_with_time(demo):
    end = day_start(dt.date.fromisoformat(END))
    orders = Order.objects.for_shop(demo)
    assert not orders.filter(ordered_at__gte=end).exists()
    assert not orders.filter(status=OrderStatus.PENDING, ordered_at__lt=end - dt.timedelta(days=1)).exists()
    assert not orders.filter(status__in=[OrderStatus.PAID, OrderStatus.SHIPPED],
                             ordered_at__lt=end - dt.timedelta(days=10)).exists()
    assert not orders.filter(status__in=[OrderStatus.PENDING, OrderStatus.CLOSED], paid_at__isnull=False).exists()
    assert orders.filter(status=OrderStatus.REFUNDED).exists() and orders.filter(status=OrderStatus.CLOSED).exists()
    assert orders.filter(status=OrderStatus.COMPLETED, refunded_amount__gt=0).exists()  # partial refunds


def test_repeat_customers_exist_at_a_plausible_rate(demo):
    figures = headline(shop=demo)
    assert figures.repeat_customers > 0
    assert 0.15 <= figures.repeat_rate <= 0.6
    assert 2.5 <= figures.purchases / figures.buyers <= 6


def test_every_domain_row_belongs_to_the_demo_shop(demo):
    other = Shop.objects.create(slug="other", name="other")
    for model in apps.get_models():
        if issubclass(model, ShopScoped):
            assert not model.objects.exclude(shop=demo).exclude(shop=other).exists(), model.__name__
    assert OrderLine.objects.for_shop(demo).count() > Order.objects.for_shop(demo).count()


def test_completeness_is_the_archive_score_and_varies(demo):
    customers = list(Customer.objects.for_shop(demo).order_by("id")[:60])
    for customer in customers:
        stored = customer.completeness
        assert customer_services.refresh_completeness(customer) == stored, customer.name
    values = [c.completeness for c in customers]
    assert max(values) - min(values) >= 30
    lunar = Customer.objects.for_shop(demo).filter(birthday_calendar="lunar", birth_month__isnull=False)
    assert lunar.exists()
    assert Customer.objects.for_shop(demo).filter(birth_month__isnull=True).exists()


def test_bench_probe_samples_the_demo(demo):
    from huitouke.demo.bench import probe_data

    info = probe_data()
    assert info["customers"] == Customer.objects.for_shop(demo).count()
    assert info["ids"] and info["names"] and all(len(t) == 4 for t in info["tails"])


def test_make_runs_first_run_scores_the_demo_shop(demo):
    """`make run` builds the demo, then runs this: it must get through a real shop's fitted models."""
    out = io.StringIO()
    call_command("analytics", "refresh", "--shop", "demo", stdout=out)
    text = out.getvalue()
    assert "customers scored as of" in text
    assert "BG/NBD: r = " in text and "purchase model used for the scores: " in text


def test_the_demo_platform_operator_runs_its_tills_statements_and_a_suspension_and_goes_with_reset(db, fast_settings):
    from django.test import Client

    from huitouke.platform.models import Consumption, Merchant, Statement
    from huitouke.platform.services.balance import balance_from_entries

    out = " ".join(build(customers=60, platform=True).split())  # rich wraps its lines
    assert "platform operator: demo-platform" in out and "demo-laowang" in out
    operator = Shop.objects.get(slug="demo-platform")
    merchants = {m.name: m for m in Merchant.objects.for_shop(operator)}
    assert len(merchants) == 6 and Consumption.objects.for_shop(operator).count() > 1000
    assert Statement.objects.for_shop(operator).count() == 6 * 3  # March, April, May 2025 for each
    assert merchants["亮车洗车"].topup_deadline is not None  # its balance ran low and it never tops up
    for merchant in merchants.values():  # the cached balance is the sum of its ledger
        assert merchant.balance == balance_from_entries(shop=operator, merchant=merchant)
    password = (fast_settings.HUITOUKE_DEMO_PASSWORD_FILE).read_text().strip()
    till = Client()
    assert till.login(username="demo-laowang", password=password)
    assert till.get("/customers/")["Location"] == "/platform/merchant/"  # a merchant login: its portal only
    assert "老王火锅" in till.get("/platform/merchant/").content.decode()
    build("--reset", customers=60)  # --no-platform: the operator goes with the reset, and stays gone
    assert not Shop.objects.filter(slug="demo-platform").exists()
    assert not Staff.objects.filter(user__username="demo-laowang").exists()


def test_the_demo_platform_played_up_to_today_records_nothing_in_the_future(db):
    from django.utils import timezone

    from huitouke.core.timeutil import local_day
    from huitouke.platform.demo import seed_demo_platform
    from huitouke.platform.models import Consumption, Verification

    now = timezone.now()
    shop = seed_demo_platform(end_date=local_day(now), seed=3, password="pw-for-the-test", members=40)
    assert Consumption.objects.for_shop(shop).exists()
    assert not Consumption.objects.for_shop(shop).filter(completed_at__gt=timezone.now()).exists()
    assert not Verification.objects.for_shop(shop).filter(at__gt=now).exists()
