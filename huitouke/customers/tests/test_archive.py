"""Rules of the customer archive (DOMAIN §1)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.utils import timezone

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import AccessLog
from huitouke.customers import selectors, services
from huitouke.customers.completeness import HARD_FIELDS, SOFT_FIELDS, score
from huitouke.customers.models import Customer, CustomerPhone
from huitouke.testing.factories import CustomerFactory, OrderFactory, PlatformIdentityFactory

pytestmark = pytest.mark.django_db

SOFT = {
    "occupation": "教师", "family": "已婚，一个女儿", "personality": "爽快", "shopping_habits": "周末逛店",
    "style_preferences": "简约通勤", "hobbies": "瑜伽", "lifestyle": "早睡早起", "preferred_channel": "wechat",
    "values": "重品质",
}


def test_registration_needs_only_a_name_and_a_phone(tenant_a):
    customer = services.register_customer(shop=tenant_a.shop, name="王小芳", phone="138 1234 5678",
                                          registered_by=tenant_a.owner)
    assert customer.phones.get().e164 == "+8613812345678"
    assert customer.registered_by == tenant_a.owner and customer.registered_at is not None


@pytest.mark.parametrize("phone", ["12345", "abc", "", "1381234567"])
def test_registration_refuses_an_invalid_phone_and_saves_nothing(tenant_a, phone):
    with pytest.raises(Invalid) as error:
        services.register_customer(shop=tenant_a.shop, name="王小芳", phone=phone)
    assert error.value.field == "phone"
    assert not Customer.objects.exists()


def test_registration_refuses_a_masked_phone(tenant_a):
    with pytest.raises(Invalid, match="masked"):
        services.register_customer(shop=tenant_a.shop, name="王小芳", phone="138****5678")


def test_one_phone_is_one_customer_per_shop_but_shops_are_independent(tenant_a, tenant_b):
    services.register_customer(shop=tenant_a.shop, name="甲", phone="13812345678")
    with pytest.raises(Conflict):
        services.register_customer(shop=tenant_a.shop, name="乙", phone="+86 138-1234-5678")
    services.register_customer(shop=tenant_b.shop, name="丙", phone="13812345678")  # other tenant: fine


def test_masked_phone_never_joins_customers(tenant_a):
    first, second = CustomerFactory(shop=tenant_a.shop), CustomerFactory(shop=tenant_a.shop)
    services.add_phone(shop=tenant_a.shop, customer=first, phone="138****5678")
    services.add_phone(shop=tenant_a.shop, customer=second, phone="138****5678")
    masked = CustomerPhone.objects.for_shop(tenant_a.shop).filter(masked="138****5678")
    assert sorted(masked.values_list("customer_id", flat=True)) == sorted([first.pk, second.pk])
    assert not masked.filter(e164__isnull=False).exists()


def test_completeness_weighs_hard_20_and_soft_80():
    assert score(set(HARD_FIELDS)).score == 20
    assert score(set(SOFT_FIELDS)).score == 80
    assert score(set(HARD_FIELDS) | set(SOFT_FIELDS)).score == 100
    assert score({"name", "phone"}).score == round(20 * 2 / len(HARD_FIELDS))


def test_completeness_is_kept_current_as_the_profile_grows(tenant_a):
    customer = services.register_customer(shop=tenant_a.shop, name="王小芳", phone="13812345678")
    start = customer.completeness
    services.update_profile(shop=tenant_a.shop, customer=customer, changes=SOFT)
    services.record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=True, source="门店登记表")
    customer.refresh_from_db()
    assert start == 4 and customer.completeness == 4 + 80


def test_profile_update_refuses_unknown_fields_and_bad_values_without_saving(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop, occupation="护士")
    with pytest.raises(Invalid) as error:
        services.update_profile(shop=tenant_a.shop, customer=customer, changes={"occupation": "医生", "net_spend": 1})
    assert error.value.field == "net_spend"
    with pytest.raises(Invalid):
        services.update_profile(shop=tenant_a.shop, customer=customer, changes={"preferred_channel": "fax"})
    with pytest.raises(Invalid):
        services.update_profile(shop=tenant_a.shop, customer=customer, changes={"name": "  "})
    customer.refresh_from_db()
    assert customer.occupation == "护士"


@pytest.mark.parametrize(
    ("changes", "ok"),
    [({"birth_month": 2, "birth_day": 29}, True), ({"birth_month": 2, "birth_day": 30}, False),
     ({"birthday_calendar": "lunar", "birth_month": 2, "birth_day": 30}, True),
     ({"birthday_calendar": "lunar", "birth_month": 8, "birth_day": 31}, False),
     ({"birth_month": 5}, False), ({"birth_month": 13, "birth_day": 1}, False)],
)
def test_birthdays_are_solar_or_lunar_dates(tenant_a, changes, ok):
    customer = CustomerFactory(shop=tenant_a.shop)
    if ok:
        services.update_profile(shop=tenant_a.shop, customer=customer, changes=changes)
    else:
        with pytest.raises(Invalid):
            services.update_profile(shop=tenant_a.shop, customer=customer, changes=changes)


def test_the_newest_consent_per_channel_is_in_force_and_do_not_contact_overrides(tenant_a):
    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    t0 = dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    services.record_consent(shop=shop, customer=customer, channel="sms", granted=True, source="form", at=t0)
    services.record_consent(shop=shop, customer=customer, channel="sms", granted=False, source="回T退订",
                            at=t0 + dt.timedelta(days=3))
    services.record_consent(shop=shop, customer=customer, channel="email", granted=True, source="form", at=t0)
    consents = selectors.current_consents(shop=shop, customer=customer)
    assert consents["sms"].granted is False and consents["email"].granted is True and consents["phone"] is None
    assert not selectors.may_contact(shop=shop, customer=customer, channel="sms")
    assert selectors.may_contact(shop=shop, customer=customer, channel="email")
    services.set_do_not_contact(shop=shop, customer=customer, value=True)
    assert not selectors.may_contact(shop=shop, customer=customer, channel="email")


def test_consent_needs_a_known_channel_and_a_source(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    with pytest.raises(Invalid):
        services.record_consent(shop=tenant_a.shop, customer=customer, channel="fax", granted=True, source="x")
    with pytest.raises(Invalid):
        services.record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=True, source=" ")


def test_manual_tags_are_replaced_and_deduplicated(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    services.set_tags(shop=tenant_a.shop, customer=customer, names=["连衣裙爱好者", "VIP", "VIP", " "])
    assert services.set_tags(shop=tenant_a.shop, customer=customer, names=["VIP", "瑜伽"]) == ["VIP", "瑜伽"]


def test_search_finds_by_name_phone_tail_and_nickname_within_the_shop_only(tenant_a, tenant_b):
    shop = tenant_a.shop
    fang = services.register_customer(shop=shop, name="王小芳", phone="13812345678")
    li = services.register_customer(shop=shop, name="李娜", phone="13998765432")
    PlatformIdentityFactory(shop=shop, customer=li, handle="小鱼儿2019")
    services.register_customer(shop=tenant_b.shop, name="王小芳", phone="13812345678")

    def found(query: str) -> list[int]:
        return list(selectors.search_customers(shop=shop, query=query).values_list("pk", flat=True))

    assert found("小芳") == [fang.pk]
    assert found("5678") == [fang.pk]
    assert found("98765432") == [li.pk]
    assert found("小鱼儿") == [li.pk]
    assert found("nobody") == []


@pytest.mark.parametrize("few_matches", [500, 1], ids=["id-list", "subquery"])
def test_search_lists_each_live_customer_once_whether_matches_are_few_or_many(tenant_a, tenant_b, monkeypatch,
                                                                             few_matches):
    # Few matches are fetched by id, many through the subquery: both paths must give the same answer.
    monkeypatch.setattr(selectors, "_FEW_MATCHES", few_matches)
    shop = tenant_a.shop
    both = services.register_customer(shop=shop, name="陈小鱼", phone="13812345671")
    PlatformIdentityFactory(shop=shop, customer=both, handle="小鱼儿")  # matched by name AND nickname
    by_name = services.register_customer(shop=shop, name="小鱼", phone="13812345672")
    erased = services.register_customer(shop=shop, name="小鱼丸", phone="13812345673")
    erased.erased_at = timezone.now()
    erased.save(update_fields=["erased_at"])
    services.register_customer(shop=tenant_b.shop, name="小鱼", phone="13812345672")

    results = selectors.search_customers(shop=shop, query="小鱼", order="registered")
    assert sorted(results.values_list("pk", flat=True)) == sorted([both.pk, by_name.pk])
    assert results.count() == 2


def test_another_shops_customer_is_not_found(tenant_a, tenant_b):
    theirs = CustomerFactory(shop=tenant_b.shop)
    with pytest.raises(NotFound):
        selectors.customer_by_id(shop=tenant_a.shop, customer_id=theirs.pk)
    with pytest.raises(NotFound):
        services.update_profile(shop=tenant_a.shop, customer=theirs, changes={"occupation": "x"})


def test_export_holds_profile_identities_consents_and_orders_and_is_logged(tenant_a):
    customer = services.register_customer(shop=tenant_a.shop, name="王小芳", phone="13812345678",
                                          profile={"occupation": "教师"})
    services.add_email(shop=tenant_a.shop, customer=customer, email="Fang@Example.com")
    OrderFactory(shop=tenant_a.shop, store=tenant_a.store, customer=customer, external_id="TB1")
    data = services.export_customer(shop=tenant_a.shop, customer=customer, staff=tenant_a.owner, actor="shop-a-owner")
    assert data["profile"]["occupation"] == "教师"
    assert data["phones"] == ["+8613812345678"] and data["emails"] == ["fang@example.com"]
    assert [order["external_id"] for order in data["orders"]] == ["TB1"]
    assert AccessLog.objects.filter(shop=tenant_a.shop, action="export", object_id=customer.pk).exists()


def test_erasure_removes_personal_data_but_keeps_order_figures(tenant_a):
    from huitouke.orders.selectors import headline
    from huitouke.orders.services import refresh_customer_stats

    shop = tenant_a.shop
    customer = services.register_customer(shop=shop, name="王小芳", phone="13812345678", profile=SOFT)
    services.add_address(shop=shop, customer=customer, region="浙江省杭州市", detail="西湖区文三路1号")
    OrderFactory(shop=shop, store=tenant_a.store, customer=customer, paid_amount=Decimal("88.00"))
    refresh_customer_stats(shop=shop, customer_ids=[customer.pk])
    before = headline(shop=shop)
    services.erase_customer(shop=shop, customer=customer, staff=tenant_a.owner, actor="shop-a-owner")
    customer.refresh_from_db()
    assert customer.is_erased and "王" not in customer.name and customer.occupation == ""
    assert not customer.phones.exists() and not customer.addresses.exists()
    assert customer.net_spend == Decimal("88.00") and headline(shop=shop) == before
    assert AccessLog.objects.filter(action="erase", object_id=customer.pk).exists()
    with pytest.raises(Conflict):
        services.update_profile(shop=shop, customer=customer, changes={"occupation": "x"})


def test_only_owners_and_managers_see_or_export_full_data_and_only_owners_erase(tenant_a):
    from huitouke.core.errors import Forbidden
    from huitouke.core.models import Role
    from huitouke.testing.factories import StaffFactory

    shop, customer = tenant_a.shop, CustomerFactory(shop=tenant_a.shop)
    associate = StaffFactory(shop=shop, role=Role.ASSOCIATE)
    manager = StaffFactory(shop=shop, role=Role.MANAGER)
    for action in (services.record_reveal, services.export_customer):
        with pytest.raises(Forbidden):
            action(shop=shop, staff=associate, actor="a", customer=customer)
    services.record_reveal(shop=shop, staff=manager, actor="m", customer=customer)
    with pytest.raises(Forbidden):
        services.erase_customer(shop=shop, customer=customer, staff=manager, actor="m")
    assert list(AccessLog.objects.values_list("actor", "action")) == [("m", "reveal")]
    assert Customer.objects.get(pk=customer.pk).erased_at is None
