"""The refresh benchmark's bulk-built shop is a shop the app itself would have written."""

from __future__ import annotations

import pytest

from huitouke.analytics.refresh_bench import build_shop, refresh_run
from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.orders.services import refresh_customer_stats

STATS = ("orders_count", "purchase_days", "net_spend", "first_purchase_at", "last_purchase_at")


@pytest.mark.django_db
def test_bench_shop_stats_and_repeat_flags_are_what_the_orders_app_computes():
    shop = build_shop(customers=300, orders_per_customer=5)
    built = list(Customer.objects.for_shop(shop).order_by("id").values_list(*STATS))
    repeat = list(Order.objects.filter(shop=shop).order_by("id").values_list("is_repeat", flat=True))
    refresh_customer_stats(shop=shop)
    assert list(Customer.objects.for_shop(shop).order_by("id").values_list(*STATS)) == built
    assert list(Order.objects.filter(shop=shop).order_by("id").values_list("is_repeat", flat=True)) == repeat
    assert 1_200 <= len(repeat) <= 1_800  # about 5 orders per customer


@pytest.mark.django_db
def test_refresh_bench_times_every_phase_and_both_purchase_models_fit():
    report = refresh_run(customers=2_000, orders_per_customer=8)
    assert report["customers"] == 2_000
    assert set(report["phases"]) == {
        "read orders and customers", "summary and RFM", "model fits", "predictions", "write scores", "auto-tags",
        "cohorts and model check",
    }
    assert {"bgnbd", "pareto_nbd", "gamma_gamma"} <= set(report["params"]), report["message"]
    assert report["reference_seconds"] > 0 and report["ratio"] > 0
