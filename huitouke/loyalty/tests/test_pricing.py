"""The pricing rules on their own: member discount, coupons, points, free shipping, the margin guard."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.loyalty.pricing import (
    CouponTerms,
    LineIn,
    MemberTerms,
    PricingError,
    ShopRules,
    allocate,
    price,
)

RULES = ShopRules(max_discount_percent=Decimal("30"), points_per_yuan=10, points_per_yuan_redeemed=100)
PLAIN = MemberTerms(tier_name="普通会员")
VIP = MemberTerms(tier_name="VIP会员", discount_percent=Decimal("10"), free_shipping=True,
                  points_multiplier=Decimal("1.5"))
DRESS = LineIn("D1", "连衣裙", "edge", 1, 30000)  # ¥300.00
BAG = LineIn("B1", "手袋", "profit", 1, 50000)  # ¥500.00


def coupon(**overrides) -> CouponTerms:
    terms = {
        "code": "C0DE", "name": "满200减30", "kind": "amount_off", "value": Decimal("30"), "min_spend_fen": 20000,
        "roles": frozenset({"traffic", "edge", "potential"}), "allow_profit": False, "stackable": True,
    }
    return CouponTerms(**{**terms, **overrides})


def test_member_discount_and_points_on_the_cash_paid():
    quote = price([DRESS], member=VIP, rules=RULES)
    assert [(d.kind, d.fen) for d in quote.lines[0].discounts] == [("member", 3000)]
    assert quote.total_fen == 27000
    assert quote.points_earned == 270 * 10 * 3 // 2  # ¥270 × 10 points × 1.5


def test_profit_products_take_no_discount_even_from_a_vip():
    quote = price([DRESS, BAG], member=VIP, rules=RULES, coupon=coupon())
    bag = quote.lines[1]
    assert bag.discounts == [] and bag.net_fen == 50000
    assert any("profit" in w for w in quote.warnings)


def test_a_coupon_only_for_profit_products_is_refused_unless_the_owner_overrides():
    with pytest.raises(PricingError) as refused:
        price([BAG], member=PLAIN, rules=RULES, coupon=coupon(min_spend_fen=0))
    assert refused.value.rule == "coupon_products"
    allowed = price([BAG], member=PLAIN, rules=RULES,
                    coupon=coupon(min_spend_fen=0, roles=frozenset({"profit"}), allow_profit=True))
    assert allowed.discount_fen == 3000


def test_minimum_spend_counts_only_eligible_products():
    with pytest.raises(PricingError) as refused:
        price([LineIn("D2", "T恤", "edge", 1, 15000), BAG], member=PLAIN, rules=RULES, coupon=coupon())
    assert refused.value.rule == "coupon_min_spend"
    assert "¥200.00" in refused.value.message and "¥150.00" in refused.value.message


def test_a_non_stackable_coupon_replaces_a_smaller_member_discount():
    big_coupon = coupon(value=Decimal("50"), stackable=False)
    quote = price([DRESS], member=VIP, rules=RULES, coupon=big_coupon)
    assert [(d.kind, d.fen) for d in quote.discounts] == [("coupon", 5000)]
    assert "replaces the member discount" in quote.warnings[0]


def test_a_non_stackable_coupon_worth_less_than_the_member_discount_is_refused():
    with pytest.raises(PricingError) as refused:
        price([DRESS], member=VIP, rules=RULES, coupon=coupon(value=Decimal("20"), stackable=False))
    assert refused.value.rule == "coupon_not_stackable" and refused.value.field == "coupon_code"


def test_margin_guard_names_the_rule_and_the_excess():
    # 10% member + ¥30 coupon + ¥60 of points on ¥300 = 40% > 30%
    with pytest.raises(PricingError) as refused:
        price([DRESS], member=VIP, rules=RULES, coupon=coupon(), points=6000)
    error = refused.value
    assert error.rule == "margin_guard"
    assert "40.0%" in error.message and "30%" in error.message and "¥30.00 too much" in error.message


def test_free_shipping_counts_towards_the_margin_guard():
    quote = price([DRESS], member=VIP, rules=RULES, shipping_fen=1000)
    assert [(d.kind, d.fen) for d in quote.discounts] == [("member", 3000), ("free_shipping", 1000)]
    assert quote.total_fen == 27000
    strict = ShopRules(max_discount_percent=Decimal("10"), points_per_yuan=10, points_per_yuan_redeemed=100)
    with pytest.raises(PricingError, match="margin guard"):
        price([DRESS], member=VIP, rules=strict, shipping_fen=1000)


def test_points_pay_in_whole_steps_and_never_for_profit_products():
    with pytest.raises(PricingError, match="steps of 10"):  # 1000 points = ¥1: 10 points are one fen
        price([DRESS], member=PLAIN, rules=ShopRules(Decimal(30), 10, 1000), points=15)
    with pytest.raises(PricingError, match="at most 0 points"):
        price([BAG], member=PLAIN, rules=RULES, points=100)
    quote = price([DRESS], member=PLAIN, rules=RULES, points=5000)  # ¥50
    assert quote.total_fen == 25000 and quote.points_redeemed == 5000
    assert quote.points_earned == 2500  # earned on the ¥250 of cash only


def test_points_at_checkout_can_be_switched_off():
    with pytest.raises(PricingError, match="gifts only"):
        price([DRESS], member=PLAIN, rules=ShopRules(Decimal(30), 10, 0), points=100)


def test_percent_coupon_and_birthday_extra():
    member = MemberTerms(tier_name="VIP会员", discount_percent=Decimal("8"), birthday_extra_percent=Decimal("5"))
    quote = price([DRESS], member=member, rules=RULES, coupon=coupon(kind="percent_off", value=Decimal("10")))
    assert [(d.kind, d.fen) for d in quote.lines[0].discounts] == [("member", 2400), ("birthday", 1500),
                                                                  ("coupon", 3000)]


@given(st.integers(0, 10**9), st.lists(st.integers(0, 10**7), min_size=1, max_size=20))
def test_allocation_is_exact_and_proportional(total, weights):
    shares = allocate(total, weights)
    if sum(weights) == 0 or total == 0:
        assert shares == [0] * len(weights)
        return
    assert sum(shares) == total
    for share, weight in zip(shares, weights, strict=True):
        assert abs(share - total * weight / sum(weights)) < 1
