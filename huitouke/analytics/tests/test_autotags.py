"""Auto-tags: each built-in rule on a shop small enough to check by hand; rule tags follow the facts,
hand-made tags never move; rules are edited by owners and managers only."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from huitouke.analytics import autotags
from huitouke.analytics.autotags import refresh_auto_tags, rules_of, update_rule
from huitouke.analytics.models.tags import AutoTagRule, RuleKind
from huitouke.analytics.selectors import scored_customers
from huitouke.analytics.services import refresh_scores
from huitouke.analytics.tests.test_refresh import buy
from huitouke.core.errors import Forbidden, Invalid, NotFound
from huitouke.core.models import Role
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import CustomerTag
from huitouke.customers.selectors import customers_with_tag
from huitouke.customers.services import set_tags
from huitouke.orders.models import OrderStatus
from huitouke.testing.factories import (
    CustomerFactory,
    CustomerScoreFactory,
    OrderFactory,
    OrderLineFactory,
    ProductFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db
AS_OF = dt.date(2025, 6, 30)


def tags_of(shop, customer) -> dict[str, str]:
    """Tag name → source of every tag the customer carries."""
    return dict(CustomerTag.objects.filter(shop=shop, customer=customer).values_list("tag__name", "source"))


def only(tenant, kind: str) -> None:
    """Leave just one rule enabled, so a test sees one rule's tags."""
    AutoTagRule.objects.filter(shop=tenant.shop).exclude(kind=kind).update(enabled=False)


def lines(tenant, customer, day: dt.date, *items: tuple, **order) -> None:
    """One order on `day` with a line per (product, quantity)."""
    moment = dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)
    placed = OrderFactory(shop=tenant.shop, store=tenant.store, customer=customer, ordered_at=moment, **order)
    for product, quantity in items:
        OrderLineFactory(order=placed, product=product, quantity=quantity)


@pytest.fixture
def rules(tenant_a):
    return rules_of(shop=tenant_a.shop)


def test_defaults_are_created_once_in_rule_order(tenant_a, rules):
    assert [(r.kind, r.tag_name, r.enabled) for r in rules] == [
        ("category_fan", "{category}爱好者", True), ("birthday_month", "生日月", True), ("big_spender", "高消费", True),
        ("discount_only", "只买折扣", True), ("lapsed_vip", "流失VIP", True),
    ]
    rules_of(shop=tenant_a.shop)
    assert AutoTagRule.objects.filter(shop=tenant_a.shop).count() == 5


def test_three_items_of_one_category_make_a_category_fan(tenant_a, rules):
    only(tenant_a, RuleKind.CATEGORY_FAN)
    dress = ProductFactory(shop=tenant_a.shop, category="连衣裙")
    dress_2 = ProductFactory(shop=tenant_a.shop, category="连衣裙")
    shirt = ProductFactory(shop=tenant_a.shop, category="衬衫")
    fan, almost, cancelled = (CustomerFactory(shop=tenant_a.shop) for _ in range(3))
    lines(tenant_a, fan, dt.date(2025, 5, 1), (dress, 2), (shirt, 1))
    lines(tenant_a, fan, dt.date(2025, 6, 1), (dress_2, 1))  # 3 dresses over two purchases, 1 shirt
    lines(tenant_a, almost, dt.date(2025, 6, 1), (dress, 2), (shirt, 2))
    lines(tenant_a, cancelled, dt.date(2025, 6, 1), (dress, 2))
    lines(tenant_a, cancelled, dt.date(2025, 6, 2), (dress, 5), status=OrderStatus.CLOSED)  # no purchase
    result = refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, fan) == {"连衣裙爱好者": "auto"}
    assert tags_of(tenant_a.shop, almost) == tags_of(tenant_a.shop, cancelled) == {}
    assert (result.added, result.removed, result.tags) == (1, 0, {"连衣裙爱好者": 1})


def test_category_fan_threshold_and_category_are_parameters(tenant_a, rules):
    only(tenant_a, RuleKind.CATEGORY_FAN)
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.CATEGORY_FAN, params={"min_items": 2, "category": "衬衫"},
                tag_name="衬衫控")
    dress, shirt = ProductFactory(shop=tenant_a.shop, category="连衣裙"), ProductFactory(shop=tenant_a.shop, category="衬衫")
    customer = CustomerFactory(shop=tenant_a.shop)
    lines(tenant_a, customer, dt.date(2025, 6, 1), (dress, 4), (shirt, 2))
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, customer) == {"衬衫控": "auto"}


def test_birthday_month_by_solar_month_and_by_the_solar_day_of_a_lunar_birthday(tenant_a, rules):
    only(tenant_a, RuleKind.BIRTHDAY_MONTH)
    make = lambda **birthday: CustomerFactory(shop=tenant_a.shop, **birthday)  # noqa: E731
    solar_june = make(birth_month=6, birth_day=15)
    solar_july = make(birth_month=7, birth_day=1)
    month_only = make(birth_month=6)  # the day is needed, as for the loyalty birthday gift
    lunar_5_20 = make(birthday_calendar="lunar", birth_month=5, birth_day=20)  # 2025-06-15
    lunar_6_1 = make(birthday_calendar="lunar", birth_month=6, birth_day=1)  # 2025-06-25
    lunar_5_1 = make(birthday_calendar="lunar", birth_month=5, birth_day=1)  # 2025-05-27
    leap_6_1 = make(birthday_calendar="lunar", birth_month=6, birth_day=1, birth_leap_month=True)  # 2025-07-25
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    tagged = set(customers_with_tag(shop=tenant_a.shop, tag_name="生日月"))
    assert tagged == {solar_june, lunar_5_20, lunar_6_1}
    assert not tagged & {solar_july, month_only, lunar_5_1, leap_6_1}
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.BIRTHDAY_MONTH, params={"lunar": False})
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert set(customers_with_tag(shop=tenant_a.shop, tag_name="生日月")) == {solar_june}


def test_a_late_lunar_year_birthday_counts_in_the_next_solar_year(tenant_a, rules):
    only(tenant_a, RuleKind.BIRTHDAY_MONTH)
    customer = CustomerFactory(shop=tenant_a.shop, birthday_calendar="lunar", birth_month=12, birth_day=20)
    refresh_auto_tags(shop=tenant_a.shop, as_of=dt.date(2025, 1, 10))  # lunar 2024-12-20 is 2025-01-19
    assert tags_of(tenant_a.shop, customer) == {"生日月": "auto"}


def test_big_spender_is_the_top_five_percent_of_buyers_ties_included(tenant_a, rules):
    only(tenant_a, RuleKind.BIG_SPENDER)
    buyers = [CustomerFactory(shop=tenant_a.shop, net_spend=Decimal(10 * i)) for i in range(1, 21)]
    CustomerFactory(shop=tenant_a.shop)  # never bought: not among the 20
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert list(customers_with_tag(shop=tenant_a.shop, tag_name="高消费")) == [buyers[-1]]  # ⌈20 · 5%⌉ = 1
    buyers[0].net_spend = Decimal("200.00")
    buyers[0].save()
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert set(customers_with_tag(shop=tenant_a.shop, tag_name="高消费")) == {buyers[0], buyers[-1]}
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.BIG_SPENDER, params={"top_percent": 20})
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)  # ⌈4⌉: 200, 200, 190, 180
    assert customers_with_tag(shop=tenant_a.shop, tag_name="高消费").count() == 4


def test_discount_only_needs_every_purchase_discounted(tenant_a, rules):
    only(tenant_a, RuleKind.DISCOUNT_ONLY)
    always, once, cancelled_full_price = (CustomerFactory(shop=tenant_a.shop) for _ in range(3))
    buy(tenant_a, always, dt.date(2025, 5, 1), "80.00", discount_amount=Decimal("20.00"))
    buy(tenant_a, always, dt.date(2025, 6, 1), "90.00", discount_amount=Decimal("10.00"))
    buy(tenant_a, once, dt.date(2025, 5, 1), "80.00", discount_amount=Decimal("20.00"))
    buy(tenant_a, once, dt.date(2025, 6, 1), "100.00")
    buy(tenant_a, cancelled_full_price, dt.date(2025, 5, 1), "80.00", discount_amount=Decimal("20.00"))
    buy(tenant_a, cancelled_full_price, dt.date(2025, 6, 1), "100.00", status=OrderStatus.CLOSED)
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert set(customers_with_tag(shop=tenant_a.shop, tag_name="只买折扣")) == {always, cancelled_full_price}
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.DISCOUNT_ONLY, params={"min_purchases": 2})
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert list(customers_with_tag(shop=tenant_a.shop, tag_name="只买折扣")) == [always]


def test_lapsed_vip_was_valuable_and_is_slipping(tenant_a, rules):
    only(tenant_a, RuleKind.LAPSED_VIP)
    score = lambda **s: CustomerScoreFactory(customer=CustomerFactory(shop=tenant_a.shop), **s).customer  # noqa: E731
    low_p_alive = score(f_score=3, m_score=4, p_alive=0.2, recency_days=40)
    long_gone = score(f_score=4, m_score=5, p_alive=0.6, recency_days=181)
    no_model = score(f_score=4, m_score=5, p_alive=None, recency_days=200)
    score(f_score=3, m_score=3, p_alive=0.1, recency_days=300)  # M not high enough
    score(f_score=2, m_score=5, p_alive=0.1, recency_days=300)  # never a frequent buyer
    score(f_score=5, m_score=5, p_alive=0.9, recency_days=180)  # still active
    score(f_score=5, m_score=5, p_alive=0.3, recency_days=20)  # P(alive) must be below 0.3
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert set(customers_with_tag(shop=tenant_a.shop, tag_name="流失VIP")) == {low_p_alive, long_gone, no_model}


def test_rule_tags_go_when_no_longer_true_and_hand_made_tags_stay(tenant_a, rules):
    only(tenant_a, RuleKind.BIG_SPENDER)
    big = CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("900.00"))
    small = CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("10.00"))
    set_tags(shop=tenant_a.shop, customer=big, names=["老客"])
    set_tags(shop=tenant_a.shop, customer=small, names=["高消费"])  # by hand, the rule's name
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, big) == {"老客": "manual", "高消费": "auto"}
    assert tags_of(tenant_a.shop, small) == {"高消费": "manual"}
    small.net_spend = Decimal("1000.00")  # now the top spender; the hand-made tag is not doubled
    small.save()
    result = refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert (result.added, result.removed) == (0, 1)
    assert tags_of(tenant_a.shop, big) == {"老客": "manual"}
    assert tags_of(tenant_a.shop, small) == {"高消费": "manual"}


def test_a_disabled_rule_takes_its_tags_away(tenant_a, rules):
    only(tenant_a, RuleKind.BIG_SPENDER)
    big = CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("900.00"))
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.BIG_SPENDER, tag_name="大客户")
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, big) == {"大客户": "auto"}  # renamed: the old name's rows went
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.BIG_SPENDER, enabled=False)
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, big) == {}


def test_merged_away_and_erased_customers_carry_no_rule_tags(tenant_a, rules):
    only(tenant_a, RuleKind.BIG_SPENDER)
    kept = CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("10.00"))
    CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("900.00"), merged_into=kept)
    CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("800.00"), erased_at=dt.datetime(2025, 1, 1, tzinfo=SHANGHAI))
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert list(CustomerTag.objects.filter(shop=tenant_a.shop).values_list("customer_id", flat=True)) == [kept.pk]


def test_one_shops_refresh_never_touches_another_shops_tags(tenant_a, tenant_b):
    a = CustomerFactory(shop=tenant_a.shop, net_spend=Decimal("900.00"))
    b = CustomerFactory(shop=tenant_b.shop, net_spend=Decimal("900.00"))
    refresh_auto_tags(shop=tenant_b.shop, as_of=AS_OF)
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.BIG_SPENDER, enabled=False)
    refresh_auto_tags(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, a) == {}
    assert tags_of(tenant_b.shop, b) == {"高消费": "auto"}
    assert not customers_with_tag(shop=tenant_a.shop, tag_name="高消费").exists()


def test_the_analytics_refresh_applies_the_rules(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    buy(tenant_a, customer, dt.date(2025, 6, 1), "120.00", discount_amount=Decimal("30.00"))
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    assert tags_of(tenant_a.shop, customer) == {"高消费": "auto", "只买折扣": "auto"}
    assert [s.customer for s in scored_customers(shop=tenant_a.shop, tag="只买折扣")] == [customer]
    assert not scored_customers(shop=tenant_a.shop, tag="连衣裙爱好者").exists()


def test_only_owners_and_managers_edit_rules(tenant_a):
    associate = StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE)
    with pytest.raises(Forbidden):
        update_rule(shop=tenant_a.shop, staff=associate, kind=RuleKind.BIG_SPENDER, enabled=False)
    manager = StaffFactory(shop=tenant_a.shop, role=Role.MANAGER)
    assert not update_rule(shop=tenant_a.shop, staff=manager, kind=RuleKind.BIG_SPENDER, enabled=False).enabled


def test_another_shops_manager_cannot_edit_rules(tenant_a, tenant_b):
    with pytest.raises(Forbidden):
        update_rule(shop=tenant_a.shop, staff=tenant_b.owner, kind=RuleKind.BIG_SPENDER, enabled=False)


@pytest.mark.parametrize(("kind", "changes", "field"), [
    ("big_spender", {"params": {"top_percent": 0}}, "params.top_percent"),
    ("big_spender", {"params": {"top_percent": "5"}}, "params.top_percent"),
    ("big_spender", {"params": {"min_items": 3}}, "params.min_items"),
    ("category_fan", {"params": {"min_items": 2.5}}, "params.min_items"),
    ("birthday_month", {"params": {"lunar": 1}}, "params.lunar"),
    ("lapsed_vip", {"params": {"max_p_alive": 1.5}}, "params.max_p_alive"),
    ("big_spender", {"tag_name": "  "}, "tag_name"),
    ("big_spender", {"tag_name": "{category}控"}, "tag_name"),
])
def test_bad_rule_changes_are_invalid_and_change_nothing(tenant_a, kind, changes, field):
    before = {r.kind: (r.tag_name, r.params) for r in rules_of(shop=tenant_a.shop)}
    with pytest.raises(Invalid) as error:
        update_rule(shop=tenant_a.shop, staff=None, kind=kind, **changes)
    assert error.value.field == field
    assert {r.kind: (r.tag_name, r.params) for r in rules_of(shop=tenant_a.shop)} == before


def test_an_unknown_rule_is_not_found(tenant_a):
    with pytest.raises(NotFound):
        update_rule(shop=tenant_a.shop, staff=None, kind="vip", enabled=False)


def test_params_keep_their_unchanged_values(tenant_a):
    rule = update_rule(shop=tenant_a.shop, staff=None, kind=RuleKind.LAPSED_VIP, params={"max_p_alive": 0.25})
    assert rule.params == {"min_m_score": 4, "max_p_alive": 0.25, "min_recency_days": 180}
    assert autotags.DEFAULTS[RuleKind.LAPSED_VIP][1]["max_p_alive"] == 0.3  # the default is not mutated
