"""Tiers (up at once, down at the yearly review after grace), coupon triggers and limits, gifts, CLI."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.analytics.models.scores import CustomerScore
from huitouke.core.errors import Conflict, Invalid
from huitouke.core.timeutil import SHANGHAI, today
from huitouke.loyalty.models import Coupon, Gift, GiftGiven, Membership, PointsEntry, TierChange
from huitouke.loyalty.services import coupons, gifts, programme
from huitouke.loyalty.services import points as points_service
from huitouke.loyalty.services.coupons import CODE_ALPHABET, CODE_LENGTH
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def buy(tenant, customer, amount: str, day: dt.date):
    return OrderFactory(
        shop=tenant.shop, store=tenant.store, customer=customer, paid_amount=Decimal(amount),
        ordered_at=dt.datetime.combine(day, dt.time(12), tzinfo=SHANGHAI),
    )


def tier_name(customer) -> str:
    return Membership.objects.select_related("tier").get(customer=customer).tier.name


def test_a_qualifying_purchase_moves_the_customer_up_at_once(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    membership = programme.membership_of(shop=tenant_a.shop, customer=customer)
    order = buy(tenant_a, customer, "5200.00", today())
    change = programme.move_up_after_purchase(shop=tenant_a.shop, membership=membership, order=order)
    assert (change.from_tier.name, change.to_tier.name) == ("普通会员", "VIP会员")
    assert "¥5200.00" in change.reason and "¥5000.00" in change.reason


def test_trailing_spend_tiers_go_down_only_after_the_grace_period(tenant_a):
    shop = tenant_a.shop
    programme.update_programme(shop=shop, tier_basis="trailing_spend", demotion_grace_days=90)
    customer = CustomerFactory(shop=shop)
    buy(tenant_a, customer, "1500.00", dt.date(2025, 3, 1))
    first = programme.review_tiers(shop=shop, on=dt.date(2025, 12, 31))
    assert (first.promoted, tier_name(customer)) == (1, "高级会员")
    # A year later the 2025 purchase no longer counts: grace starts, the tier stays.
    second = programme.review_tiers(shop=shop, on=dt.date(2026, 12, 31))
    assert (second.grace_started, tier_name(customer)) == (1, "高级会员")
    assert Membership.objects.get(customer=customer).demotion_due_on == dt.date(2027, 3, 31)
    early = programme.review_tiers(shop=shop, on=dt.date(2027, 3, 30))
    assert (early.demoted, tier_name(customer)) == (0, "高级会员")
    late = programme.review_tiers(shop=shop, on=dt.date(2027, 3, 31))
    assert (late.demoted, tier_name(customer)) == (1, "普通会员")
    down = TierChange.objects.filter(customer=customer).order_by("-id").first()
    assert "grace period ended 2027-03-31" in down.reason


def test_requalifying_during_grace_keeps_the_tier(tenant_a):
    shop = tenant_a.shop
    programme.update_programme(shop=shop, tier_basis="trailing_spend")
    customer = CustomerFactory(shop=shop)
    buy(tenant_a, customer, "1500.00", dt.date(2025, 3, 1))
    programme.review_tiers(shop=shop, on=dt.date(2025, 12, 31))
    programme.review_tiers(shop=shop, on=dt.date(2026, 12, 31))
    buy(tenant_a, customer, "1200.00", dt.date(2027, 1, 15))
    outcome = programme.review_tiers(shop=shop, on=dt.date(2027, 6, 1))
    assert (outcome.grace_cleared, outcome.demoted, tier_name(customer)) == (1, 0, "高级会员")


def test_review_tiers_command_prints_counts(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    buy(tenant_a, customer, "25000.00", dt.date(2025, 5, 1))
    programme.membership_of(shop=tenant_a.shop, customer=customer)
    out = StringIO()
    call_command("loyalty", "review-tiers", "--shop", tenant_a.shop.slug, "--on", "2025-12-31", "--json", stdout=out)
    assert json.loads(out.getvalue())["promoted"] == 1
    assert tier_name(customer) == "至尊VIP会员"


def test_points_expire_command(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    points_service.earn_points(shop=tenant_a.shop, customer=customer, points=70, idempotency_key="a",
                               on=dt.date(2024, 6, 1))
    out = StringIO()
    call_command("points", "expire", "--shop", tenant_a.shop.slug, "--on", "2026-01-01", "--json", stdout=out)
    assert json.loads(out.getvalue()) == {"expired_points": 70}


def test_a_ladder_that_breaks_the_margin_guard_is_refused(tenant_a):
    with pytest.raises(Invalid, match="more than the margin guard's 30%"):
        programme.set_ladder(shop=tenant_a.shop, tiers=[programme.TierInput(name="亏本会员", discount_percent=Decimal(35))])


def template(tenant, **overrides):
    data = {"name": "好评返10元", "kind": "amount_off", "value": Decimal("10"), "trigger": "good_review",
            "valid_days": 30, **overrides}
    return coupons.create_template(shop=tenant.shop, data=coupons.TemplateInput(**data))


def test_a_good_review_earns_a_coupon_once_and_a_bad_one_none(tenant_a):
    template(tenant_a, per_customer_limit=5)
    customer = CustomerFactory(shop=tenant_a.shop)
    api = client_for(tenant_a.token)
    first = api.post("/api/v1/loyalty/reviews", {"customer_id": customer.pk, "review_id": "R1", "stars": 5},
                     content_type=JSON).json()["coupons"]
    again = api.post("/api/v1/loyalty/reviews", {"customer_id": customer.pk, "review_id": "R1", "stars": 5},
                     content_type=JSON).json()["coupons"]
    poor = api.post("/api/v1/loyalty/reviews", {"customer_id": customer.pk, "review_id": "R2", "stars": 2},
                    content_type=JSON).json()["coupons"]
    assert len(first) == 1 and again == [] and poor == []
    code = first[0]["code"]
    assert len(code) == CODE_LENGTH and set(code) <= set(CODE_ALPHABET)
    assert first[0]["valid_until"] == str(today() + dt.timedelta(days=29))


def test_per_customer_limit_and_favourite_trigger(tenant_a):
    template(tenant_a, name="收藏送5元", trigger="favourite", per_customer_limit=1)
    customer = CustomerFactory(shop=tenant_a.shop)
    assert len(coupons.record_favourite(shop=tenant_a.shop, customer=customer)) == 1
    assert coupons.record_favourite(shop=tenant_a.shop, customer=customer) == []
    manual = template(tenant_a, name="手动券", trigger="manual")
    coupons.issue_coupon(shop=tenant_a.shop, template=manual, customer=customer, issue_key="m1")
    with pytest.raises(Conflict, match="already holds 1"):
        coupons.issue_coupon(shop=tenant_a.shop, template=manual, customer=customer, issue_key="m2")


def test_birthday_coupons_are_issued_on_the_day_once(tenant_a):
    template(tenant_a, name="生日券", trigger="birthday")
    day = dt.date(2026, 11, 23)
    CustomerFactory(shop=tenant_a.shop, birth_month=11, birth_day=23)
    CustomerFactory(shop=tenant_a.shop, birth_month=11, birth_day=24)
    assert coupons.issue_birthday_coupons(shop=tenant_a.shop, on=day) == 1
    assert coupons.issue_birthday_coupons(shop=tenant_a.shop, on=day) == 0


def test_a_batch_for_an_analytics_segment(tenant_a):
    manual = template(tenant_a, name="挽回券", trigger="manual")
    targets = [CustomerFactory(shop=tenant_a.shop) for _ in range(3)]
    for index, customer in enumerate(targets):
        CustomerScore.objects.create(
            shop=tenant_a.shop, customer=customer, as_of=today(), recency_days=200, frequency=2,
            monetary=Decimal("300"), r_score=1, f_score=4, m_score=4, segment="at_risk" if index < 2 else "new",
        )
    response = client_for(tenant_a.token).post(
        "/api/v1/loyalty/coupon-batches", {"template_id": manual.pk, "segment": "at_risk", "announcement": "想你了"},
        content_type=JSON)
    assert response.status_code == 201, response.content
    assert (response.json()["issued"], response.json()["skipped"]) == (2, 0)
    assert set(Coupon.objects.values_list("customer_id", flat=True)) == {targets[0].pk, targets[1].pk}
    bad = client_for(tenant_a.token).post(
        "/api/v1/loyalty/coupon-batches", {"template_id": manual.pk, "segment": "gold"}, content_type=JSON)
    assert_error(bad, 422, "invalid", "segment")


def test_parcel_gifts_never_repeat_for_a_customer(tenant_a):
    shop = tenant_a.shop
    for name in ("丝巾", "香囊"):
        gifts.create_gift(shop=shop, name=name, stock=5)
    customer = CustomerFactory(shop=shop)
    first_order = buy(tenant_a, customer, "100.00", dt.date(2025, 1, 1))
    assert gifts.propose_parcel_gift(shop=shop, order=first_order) is None  # not a repeat customer yet
    chosen = [gifts.propose_parcel_gift(shop=shop, order=buy(tenant_a, customer, "100.00", dt.date(2025, m, 1)))
              for m in (2, 3, 4)]
    assert {c.gift.name for c in chosen[:2]} == {"丝巾", "香囊"} and chosen[2] is None
    assert Gift.objects.get(name="丝巾").stock == 4
    same = gifts.propose_parcel_gift(shop=shop, order=chosen[0].order)
    assert same.pk == chosen[0].pk  # asking again for a packed order: the same gift, no second one


def test_exchanging_points_for_a_gift_counts_stock_and_is_idempotent(tenant_a):
    shop = tenant_a.shop
    gift = gifts.create_gift(shop=shop, name="保温杯", stock=1, points_cost=500, for_parcels=False)
    customer = CustomerFactory(shop=shop)
    points_service.earn_points(shop=shop, customer=customer, points=2000, idempotency_key="seed")
    first = gifts.exchange_for_points(shop=shop, customer=customer, gift_id=gift.pk, idempotency_key="x1")
    again = gifts.exchange_for_points(shop=shop, customer=customer, gift_id=gift.pk, idempotency_key="x1")
    assert first.pk == again.pk and Gift.objects.get(pk=gift.pk).stock == 0
    with pytest.raises(Conflict, match="out of stock"):
        gifts.exchange_for_points(shop=shop, customer=customer, gift_id=gift.pk, idempotency_key="x2")
    assert PointsEntry.objects.filter(customer=customer, kind="redeem").count() == 1
    assert GiftGiven.objects.filter(customer=customer).count() == 1


def test_lunar_birthday_month_follows_the_lunar_calendar(tenant_a):
    # 八月十五 is 2026-09-25 and 2027-09-15 in the solar calendar
    customer = CustomerFactory(shop=tenant_a.shop, birthday_calendar="lunar", birth_month=8, birth_day=15)
    assert programme.is_birthday_month(customer, on=dt.date(2026, 9, 1))
    assert not programme.is_birthday_month(customer, on=dt.date(2026, 8, 1))
    # 腊月二十 of lunar 2026 falls in January 2027
    winter = CustomerFactory(shop=tenant_a.shop, birthday_calendar="lunar", birth_month=12, birth_day=20)
    assert programme.is_birthday_month(winter, on=dt.date(2027, 1, 10))


def test_daily_all_runs_every_shops_round_through_the_job_queue(tenant_a, tenant_b):
    """Tests run jobs inline (ImmediateBackend), so the queued round has happened when the command returns."""
    for tenant in (tenant_a, tenant_b):
        customer = CustomerFactory(shop=tenant.shop)
        points_service.earn_points(shop=tenant.shop, customer=customer, points=40, idempotency_key="old",
                                   on=dt.date(2020, 1, 1))
    out = StringIO()
    call_command("loyalty", "daily-all", stdout=out)
    assert "2 shop(s)" in out.getvalue()
    assert PointsEntry.objects.filter(kind="expiry").count() == 2
    assert all(m.points_balance == 0 for m in Membership.objects.all())


def test_a_batch_announcement_is_handed_to_the_registered_messaging_listener(tenant_a):
    from huitouke.loyalty import extensions

    heard = []
    extensions.register_batch_listener("test", lambda **kwargs: heard.append(kwargs))
    try:
        manual = template(tenant_a, name="回购券", trigger="manual")
        people = [CustomerFactory(shop=tenant_a.shop) for _ in range(2)]
        coupons.issue_batch(shop=tenant_a.shop, template=manual, customer_ids=[p.pk for p in people],
                            audience="list", announcement="送您一张回购券")
        coupons.issue_batch(shop=tenant_a.shop, template=manual, customer_ids=[people[0].pk], audience="again")
    finally:
        extensions._BATCH_LISTENERS.pop("test")
    assert len(heard) == 1  # the second batch had no announcement (and no new coupon)
    assert len(heard[0]["coupon_ids"]) == 2 and heard[0]["batch"].announcement == "送您一张回购券"


def test_the_daily_round_moves_imported_buyers_up_but_never_down(tenant_a):
    shop = tenant_a.shop
    programme.update_programme(shop=shop, tier_basis="trailing_spend")
    climber, faller = CustomerFactory(shop=shop), CustomerFactory(shop=shop)
    buy(tenant_a, climber, "1200.00", today())  # came in by import: no checkout, no tier move yet
    buy(tenant_a, faller, "6000.00", dt.date(2023, 1, 1))
    programme.review_tiers(shop=shop, on=dt.date(2023, 12, 31))  # faller became VIP back then
    outcome = programme.review_tiers(shop=shop, promotions_only=True)
    assert (outcome.promoted, outcome.demoted, outcome.grace_started) == (1, 0, 0)
    assert (tier_name(climber), tier_name(faller)) == ("高级会员", "VIP会员")
    assert Membership.objects.get(customer=faller).demotion_due_on is None
    assert TierChange.objects.filter(customer=climber).get().reason.startswith("purchases recorded by")
