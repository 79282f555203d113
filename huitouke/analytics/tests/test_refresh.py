"""refresh_scores: RFM scores and segments worked out by hand, tenancy, unfittable shops, the command."""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

import numpy as np
import pytest
from django.core.management import call_command

from huitouke.analytics import services
from huitouke.analytics.models import bgnbd, paretonbd
from huitouke.analytics.models.scores import CustomerScore, ModelRun, Segment
from huitouke.analytics.selectors import score_of, segment_counts
from huitouke.analytics.services import quintile_scores, refresh_scores
from huitouke.core.timeutil import SHANGHAI
from huitouke.orders.models import OrderStatus
from huitouke.testing.factories import CustomerFactory, OrderFactory

AS_OF = dt.date(2025, 6, 30)
SEED = 11


def buy(tenant, customer, day: dt.date, amount: str, **extra) -> None:
    moment = dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)
    OrderFactory(
        shop=tenant.shop, store=tenant.store, customer=customer, ordered_at=moment,
        paid_amount=Decimal(amount), **extra,
    )


@pytest.fixture
def small_shop(tenant_a):
    """Five buyers and one customer who never bought; expected figures as of 2025-06-30 in each comment."""
    shop = tenant_a.shop
    people = {key: CustomerFactory(shop=shop) for key in "ABCDEF"}
    # A: three purchase days, last 5 days ago, 300 a day -> R5 F5 M4, champions.
    for day in (dt.date(2025, 6, 1), dt.date(2025, 6, 10), dt.date(2025, 6, 25)):
        buy(tenant_a, people["A"], day, "300.00")
    # B: one purchase 546 days ago -> lost.
    buy(tenant_a, people["B"], dt.date(2024, 1, 1), "50.00")
    # C: one purchase 10 days ago -> new.
    buy(tenant_a, people["C"], dt.date(2025, 6, 20), "80.00")
    # D: two purchase days, last 145 days ago, 500 a day -> R2 F4 M5, 重要保持客户 (at risk).
    buy(tenant_a, people["D"], dt.date(2025, 1, 5), "500.00")
    buy(tenant_a, people["D"], dt.date(2025, 2, 5), "500.00")
    # E: two orders on one day (one purchase day of 40), 121 days ago -> R3 F1 M1, 一般发展客户.
    buy(tenant_a, people["E"], dt.date(2025, 3, 1), "20.00")
    buy(tenant_a, people["E"], dt.date(2025, 3, 1), "20.00")
    # F: only a closed (cancelled) order, which is no purchase.
    buy(tenant_a, people["F"], dt.date(2025, 6, 1), "999.00", status=OrderStatus.CLOSED)
    return people


def figures(shop, customer) -> tuple:
    s = CustomerScore.objects.get(shop=shop, customer=customer)
    return (s.recency_days, s.frequency, s.monetary, s.r_score, s.f_score, s.m_score, s.segment)


def test_quintile_scores_share_a_score_on_ties_and_give_the_worst_value_one():
    scores = quintile_scores(np.array([0, 0, 0, 1, 2, 5, 5, 9, 10, 11]))
    assert scores.tolist() == [1, 1, 1, 2, 3, 3, 3, 4, 5, 5]


def test_rfm_scores_and_segments_match_the_hand_worked_shop(tenant_a, small_shop):
    p = small_shop
    run = refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    shop = tenant_a.shop
    assert run.customers == 5
    assert figures(shop, p["A"]) == (5, 2, Decimal("300.00"), 5, 5, 4, Segment.CHAMPIONS)
    assert figures(shop, p["B"]) == (546, 0, Decimal("50.00"), 1, 1, 2, Segment.LOST)
    assert figures(shop, p["C"]) == (10, 0, Decimal("80.00"), 4, 1, 3, Segment.NEW)
    assert figures(shop, p["D"]) == (145, 1, Decimal("500.00"), 2, 4, 5, Segment.AT_RISK)
    assert figures(shop, p["E"]) == (121, 0, Decimal("40.00"), 3, 1, 1, Segment.DEVELOPING)
    assert segment_counts(shop=shop) == {
        "at_risk": 1, "champions": 1, "developing": 1, "lost": 1, "new": 1,
    }


def test_scores_are_one_per_buyer_and_none_for_non_buyers(tenant_a, small_shop):
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)  # a second refresh replaces, never adds
    assert CustomerScore.objects.filter(shop=tenant_a.shop).count() == 5
    assert score_of(shop=tenant_a.shop, customer=small_shop["F"]) is None
    assert score_of(shop=tenant_a.shop, customer=small_shop["A"]).segment == Segment.CHAMPIONS
    assert ModelRun.objects.filter(shop=tenant_a.shop).count() == 2


def test_another_shops_orders_never_influence_the_scores(tenant_a, tenant_b, small_shop):
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    alone = {c: figures(tenant_a.shop, c) for c in CustomerScore.objects.filter(shop=tenant_a.shop)
             .values_list("customer", flat=True)}
    for i in range(8):
        other = CustomerFactory(shop=tenant_b.shop)
        for k in range(i + 1):
            buy(tenant_b, other, dt.date(2025, 6, 1 + 3 * k), "9000.00")
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    again = {c: figures(tenant_a.shop, c) for c in alone}
    assert again == alone
    assert CustomerScore.objects.filter(shop=tenant_a.shop).count() == 5
    assert not CustomerScore.objects.filter(shop=tenant_b.shop).exists()
    assert score_of(shop=tenant_b.shop, customer=small_shop["A"]) is None


def test_as_of_cuts_later_orders_off(tenant_a, small_shop):
    run = refresh_scores(shop=tenant_a.shop, as_of=dt.date(2025, 6, 15))
    assert run.as_of == dt.date(2025, 6, 15)
    assert run.customers == 4  # C first bought on 2025-06-20
    assert score_of(shop=tenant_a.shop, customer=small_shop["C"]) is None
    a = score_of(shop=tenant_a.shop, customer=small_shop["A"])
    assert (a.recency_days, a.frequency, a.monetary, a.as_of) == (5, 1, Decimal("300.00"), dt.date(2025, 6, 15))


def test_a_shop_of_one_time_buyers_gets_rfm_and_says_why_the_models_do_not_fit(tenant_a):
    for i in range(12):
        buy(tenant_a, CustomerFactory(shop=tenant_a.shop), dt.date(2025, 6, 1 + i), f"{10 * (i + 1)}.00")
    run = refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    assert run.customers == 12
    assert run.params == {}
    assert "BG/NBD" in run.message and "Gamma-Gamma" in run.message
    assert "bought again" in run.message
    scores = CustomerScore.objects.filter(shop=tenant_a.shop)
    assert scores.count() == 12
    assert all(s.p_alive is None and s.clv_12m is None and s.expected_purchases_90 is None for s in scores)
    # Bought 2025-06-12 (18 days before as-of): new; 2025-06-01 (29 days): new too; spend 120 is the top M.
    top = scores.get(monetary=Decimal("120.00"))
    assert (top.recency_days, top.m_score, top.segment) == (18, 5, Segment.NEW)
    assert set(scores.values_list("segment", flat=True)) == {Segment.NEW}


def draw_bgnbd_shop(tenant, *, customers: int = 60, seed: int = SEED) -> None:
    """Histories drawn from the BG/NBD story, 2024-01-01 to 2025-06-30: each customer buys at her own rate
    and may drop out after every purchase; each spends around her own mean."""
    rng = np.random.default_rng(seed)
    start = dt.date(2024, 1, 1)
    for _ in range(customers):
        customer = CustomerFactory(shop=tenant.shop)
        rate, drop, mean = rng.gamma(1.0, 1 / 40), rng.beta(1.0, 3.0), rng.gamma(2.0, 100.0)
        day = float(rng.integers(0, 500))
        while day <= 545:
            spend = max(1, round(rng.gamma(6.0, mean / 6.0)))
            buy(tenant, customer, start + dt.timedelta(days=int(day)), f"{spend}.00")
            if rng.random() < drop:
                break
            day += rng.exponential(1 / rate)


def test_a_shop_with_repeat_buyers_gets_fitted_predictions(tenant_a):
    draw_bgnbd_shop(tenant_a)
    run = refresh_scores(shop=tenant_a.shop, as_of=dt.date(2025, 6, 30))
    # Drawn from the BG/NBD story, where drop-out comes only right after a purchase: Pareto/NBD's drop-out
    # rate runs off to its bound, and the refresh says so and stores no Pareto/NBD figures.
    assert run.message.startswith("Pareto/NBD: the data does not fit the Pareto/NBD model: parameter s ran")
    assert set(run.params) == {"bgnbd", "gamma_gamma", "purchase_model", "model_choice_loglik"}
    assert run.params["purchase_model"] == "bgnbd"
    assert set(run.params["bgnbd"]) == {"r", "alpha", "a", "b", "loglik"}
    scores = list(CustomerScore.objects.filter(shop=tenant_a.shop))
    assert len(scores) == run.customers == 60
    for s in scores:
        assert 0.0 < s.p_alive <= 1.0
        assert 0.0 < s.expected_purchases_90 < s.expected_purchases_365
        assert s.clv_12m > 0
        assert s.pareto_p_alive is None and s.pareto_expected_purchases_365 is None
    # BG/NBD: nobody without a repeat purchase can have dropped out yet.
    assert all(s.p_alive == 1.0 for s in scores if s.frequency == 0)
    # The stored figures are the fitted model's, evaluated on the customer's (x, t_x, T) in days.
    params = [run.params["bgnbd"][k] for k in ("r", "alpha", "a", "b")]
    for s in scores:
        age = (AS_OF - s.customer.orders.filter(is_purchase=True).order_by("purchase_day")[0].purchase_day).days
        x, t_x = s.frequency, age - s.recency_days
        assert s.p_alive == pytest.approx(float(bgnbd.p_alive(params, x, t_x, age)), rel=1e-9)
        expected = float(bgnbd.conditional_expected_purchases(params, 365.0, x, t_x, age))
        assert s.expected_purchases_365 == pytest.approx(expected, rel=1e-9)


def test_refresh_command_prints_counts_segments_and_why_models_did_not_fit(tenant_a, small_shop):
    out = io.StringIO()
    call_command("analytics", "refresh", "--shop", "shop-a", "--as-of", "2025-06-30", stdout=out)
    text = out.getvalue()
    assert "shop shop-a: 5 customers scored as of 2025-06-30" in text
    assert "重要价值客户 (champions): 1" in text
    assert "流失客户 (lost): 1" in text
    assert "not fitted: BG/NBD" in text
    assert "rule tags: 高消费 1" in text  # D: ¥1,000, the top 5% of five buyers


def test_refresh_command_names_an_unknown_shop(db):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="no shop 'nope'"):
        call_command("analytics", "refresh", "--shop", "nope")


def test_refresh_all_queues_a_refresh_for_every_shop(tenant_a, tenant_b, small_shop):
    # The test settings run queued jobs at once, so each shop's scores exist when the command returns.
    out = io.StringIO()
    call_command("analytics", "refresh-all", stdout=out)
    assert "2 shops" in out.getvalue()
    assert CustomerScore.objects.filter(shop=tenant_a.shop).count() == 5
    assert ModelRun.objects.filter(shop=tenant_b.shop).get().customers == 0


def test_a_shops_own_thresholds_change_the_segments(tenant_a, small_shop):
    from huitouke.analytics.services import update_thresholds

    # B bought 546 days ago (lost by default), C 10 days ago (new by default); E is R3 (high by default).
    update_thresholds(shop=tenant_a.shop, staff=tenant_a.owner, lost_after_days=600, new_within_days=5,
                      high_score=4)
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    segment = {key: figures(tenant_a.shop, small_shop[key])[-1] for key in "BCE"}
    # With "high" from 4: B (R1 F1 M2) and E (R3 F1 M1) have nothing high, C (R4 F1 M3) only R.
    assert segment == {"B": "low_value", "C": "developing", "E": "low_value"}


def test_thresholds_are_checked_and_need_an_owner_or_manager(tenant_a):
    from huitouke.analytics.services import update_thresholds
    from huitouke.core.errors import Forbidden, Invalid
    from huitouke.core.models import Role
    from huitouke.testing.factories import StaffFactory

    with pytest.raises(Invalid) as bad:
        update_thresholds(shop=tenant_a.shop, staff=tenant_a.owner, risk_p_alive=1.5)
    assert bad.value.field == "risk_p_alive"
    with pytest.raises(Forbidden):
        update_thresholds(shop=tenant_a.shop, staff=StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE),
                          lost_after_days=200)


def draw_pareto_shop(tenant, *, customers: int = 60, seed: int = 2) -> None:
    """Histories drawn from the Pareto/NBD story: each customer buys at her own rate until she dies at an
    exponential time of her own rate (drop-out may come at any time, not only after a purchase)."""
    rng = np.random.default_rng(seed)
    start = dt.date(2024, 1, 1)
    for _ in range(customers):
        customer = CustomerFactory(shop=tenant.shop)
        rate, death = rng.gamma(1.0, 1 / 30), rng.gamma(1.0, 1 / 200)
        first = float(rng.integers(0, 500))
        end = min(first + rng.exponential(1 / death), 545)
        day = first
        while day <= end:
            buy(tenant, customer, start + dt.timedelta(days=int(day)), "100.00")
            day += rng.exponential(1 / rate)


def test_pareto_scores_are_stored_beside_bgnbd_and_the_better_model_is_named(tenant_a):
    draw_pareto_shop(tenant_a)
    run = refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    assert {"bgnbd", "pareto_nbd"} <= set(run.params)
    best = max(("bgnbd", "pareto_nbd"), key=lambda name: run.params[name]["loglik"])
    assert run.params["purchase_model"] == best  # both fitted on every customer: their logliks compare
    assert run.params["model_choice_loglik"] == {name: run.params[name]["loglik"] for name in ("bgnbd", "pareto_nbd")}
    params = [run.params["pareto_nbd"][k] for k in ("r", "alpha", "s", "beta")]
    for s in CustomerScore.objects.filter(shop=tenant_a.shop).select_related("customer"):
        age = (AS_OF - s.customer.orders.filter(is_purchase=True).order_by("purchase_day")[0].purchase_day).days
        x, t_x = s.frequency, age - s.recency_days
        assert s.pareto_p_alive == pytest.approx(float(paretonbd.p_alive(params, x, t_x, age)), rel=1e-9)
        expected = float(paretonbd.conditional_expected_purchases(params, 365.0, x, t_x, age))
        assert s.pareto_expected_purchases_365 == pytest.approx(expected, rel=1e-9)


def test_refresh_command_prints_the_fitted_parameters_and_the_model_used(tenant_a):
    draw_pareto_shop(tenant_a)
    out = io.StringIO()
    call_command("analytics", "refresh", "--shop", "shop-a", "--as-of", AS_OF.isoformat(), stdout=out)
    text = out.getvalue()
    run = ModelRun.objects.filter(shop=tenant_a.shop).latest("id")
    assert f"BG/NBD: r = {run.params['bgnbd']['r']:.6g}" in text
    assert f"Pareto/NBD: r = {run.params['pareto_nbd']['r']:.6g}" in text
    chosen = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD"}[run.params["purchase_model"]]
    assert f"purchase model used for the scores: {chosen}" in text


def test_models_fit_on_a_seeded_sample_of_a_large_shop_and_score_everyone(tenant_a, monkeypatch):
    draw_bgnbd_shop(tenant_a)
    monkeypatch.setattr(services, "FIT_SAMPLE", 40)
    first = refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    again = refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    assert first.params["fit_sample"] == {"bgnbd": 40, "pareto_nbd": 40}
    assert first.params["bgnbd"] == again.params["bgnbd"]  # the same sample every time
    assert CustomerScore.objects.filter(shop=tenant_a.shop, p_alive__isnull=False).count() == 60
