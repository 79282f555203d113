"""The customers API: masking, reveal and export rules, profile writes, tenancy and error shape."""

from __future__ import annotations

import pytest

from huitouke.core.models import AccessLog, Role
from huitouke.core.services import create_token
from huitouke.customers import services
from huitouke.customers.models import Consent, Customer, CustomerTag
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import (
    CustomerFactory,
    CustomerPhoneFactory,
    PlatformIdentityFactory,
    StaffFactory,
)

pytestmark = pytest.mark.django_db



def token_with_role(tenant, role: str) -> str:
    staff = StaffFactory(shop=tenant.shop, role=role)
    return create_token(staff=staff)[1]


def register(tenant, name: str = "王小芳", phone: str = "13812345678", **profile) -> Customer:
    return services.register_customer(shop=tenant.shop, name=name, phone=phone, profile=profile)



# --- list and search -------------------------------------------------------------------------


def test_list_masks_names_and_phones(tenant_a):
    register(tenant_a)
    body = client_for(tenant_a.token).get("/api/v1/customers").json()
    assert body["count"] == 1
    [item] = body["items"]
    assert item["name"] == "王*芳"
    assert item["phone"] == "138****5678"
    assert "13812345678" not in str(body)


def test_list_shows_only_own_shops_customers(tenant_a, tenant_b):
    register(tenant_a, name="甲店顾客", phone="13800000001")
    register(tenant_b, name="乙店顾客", phone="13800000002")
    body = client_for(tenant_a.token).get("/api/v1/customers").json()
    assert [item["name"] for item in body["items"]] == ["甲**客"]


def test_list_searches_name_phone_tail_and_platform_nickname(tenant_a):
    by_name = register(tenant_a, name="李雷", phone="13800001111")
    by_phone = register(tenant_a, name="韩梅梅", phone="13900002222")
    by_nick = register(tenant_a, name="张三", phone="13700003333")
    PlatformIdentityFactory(customer=by_nick, handle="小鱼儿2019")
    client = client_for(tenant_a.token)

    def ids(q: str) -> list[int]:
        return [item["id"] for item in client.get("/api/v1/customers", {"q": q}).json()["items"]]

    assert ids("李雷") == [by_name.pk]
    assert ids("2222") == [by_phone.pk]
    assert ids("小鱼儿") == [by_nick.pk]


def test_list_pages_with_count_and_next_page(tenant_a):
    for n in range(5):
        register(tenant_a, name=f"顾客{n}", phone=f"1380000000{n}")
    client = client_for(tenant_a.token)
    first = client.get("/api/v1/customers", {"page_size": 2, "order": "registered"}).json()
    assert (first["count"], first["page"], first["next_page"], first["previous_page"]) == (5, 1, 2, None)
    last = client.get("/api/v1/customers", {"page_size": 2, "page": 3, "order": "registered"}).json()
    assert (len(last["items"]), last["next_page"], last["previous_page"]) == (1, None, 2)
    seen = {item["id"] for page in (1, 2, 3)
            for item in client.get("/api/v1/customers", {"page_size": 2, "page": page, "order": "registered"}).json()["items"]}
    assert len(seen) == 5


def test_list_refuses_unknown_order_and_bad_page(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.get("/api/v1/customers", {"order": "name"}), 422, "invalid", "order")
    assert_error(client.get("/api/v1/customers", {"page": 0}), 422, "invalid", "page")
    assert_error(client.get("/api/v1/customers", {"page_size": 1000}), 422, "invalid", "page_size")


# --- detail and reveal ------------------------------------------------------------------------


def test_detail_is_masked_and_has_stats_completeness_consents_tags_identities(tenant_a):
    customer = register(tenant_a, occupation="教师")
    services.add_email(shop=tenant_a.shop, customer=customer, email="wang@example.com")
    services.add_address(shop=tenant_a.shop, customer=customer, region="浙江省杭州市西湖区", detail="文三路100号")
    services.record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=False, source="form")
    services.record_consent(shop=tenant_a.shop, customer=customer, channel="sms", granted=True, source="phone")
    services.set_tags(shop=tenant_a.shop, customer=customer, names=["vip"])
    PlatformIdentityFactory(customer=customer, handle="wxf")

    body = client_for(tenant_a.token).get(f"/api/v1/customers/{customer.pk}").json()

    assert body["name"] == "王*芳" and body["revealed"] is False
    assert body["phones"] == [{"phone": "138****5678", "is_primary": True}]
    assert body["emails"] == ["w***@example.com"]
    assert body["addresses"][0]["detail"] != "文三路100号"
    assert body["profile"]["occupation"] == "教师"
    assert body["consents"] == [
        {"channel": "sms", "granted": True, "at": body["consents"][0]["at"], "source": "phone"}
    ]
    assert body["tags"] == ["vip"]
    assert body["identities"] == [{"platform": "taobao", "handle": "wxf"}]
    assert body["completeness"]["score"] == customer.completeness > 0
    assert "gender" in body["completeness"]["hard_missing"]
    assert body["stats"] == {
        "orders_count": 0, "items_count": 0, "purchase_days": 0, "net_spend": "0.00",
        "average_order_value": "0.00", "first_purchase_at": None, "last_purchase_at": None,
    }


def test_detail_hides_phones_written_in_free_text_unless_revealed(tenant_a):
    customer = register(tenant_a, notes="她女儿的电话 13987654321")
    body = client_for(tenant_a.token).get(f"/api/v1/customers/{customer.pk}").json()
    assert "13987654321" not in body["profile"]["notes"]


def test_reveal_by_owner_shows_full_data_and_writes_access_log(tenant_a):
    customer = register(tenant_a)
    services.add_email(shop=tenant_a.shop, customer=customer, email="wang@example.com")
    body = client_for(tenant_a.token).get(f"/api/v1/customers/{customer.pk}", {"reveal": "true"}).json()
    assert body["revealed"] is True
    assert body["name"] == "王小芳"
    assert body["phones"][0]["phone"] == "+8613812345678"
    assert body["emails"] == ["wang@example.com"]
    log = AccessLog.objects.get(shop=tenant_a.shop, object_id=customer.pk)
    assert (log.action, log.staff, log.object_type) == (AccessLog.Action.REVEAL, tenant_a.owner, "customer")
    assert tenant_a.owner.user.username in log.actor


def test_reveal_by_manager_is_allowed(tenant_a):
    customer = register(tenant_a)
    response = client_for(token_with_role(tenant_a, Role.MANAGER)).get(f"/api/v1/customers/{customer.pk}?reveal=true")
    assert response.status_code == 200
    assert response.json()["phones"][0]["phone"] == "+8613812345678"


def test_reveal_by_associate_is_403_and_logs_nothing(tenant_a):
    customer = register(tenant_a)
    response = client_for(token_with_role(tenant_a, Role.ASSOCIATE)).get(f"/api/v1/customers/{customer.pk}?reveal=true")
    assert_error(response, 403, "forbidden", "reveal")
    assert not AccessLog.objects.filter(shop=tenant_a.shop).exists()


def test_plain_detail_writes_no_access_log(tenant_a):
    customer = register(tenant_a)
    client_for(tenant_a.token).get(f"/api/v1/customers/{customer.pk}")
    assert not AccessLog.objects.exists()


def test_nonexistent_customer_is_404(tenant_a):
    assert_error(client_for(tenant_a.token).get("/api/v1/customers/999999"), 404, "not_found", "customer")


def test_non_integer_or_huge_customer_id_is_422_not_500(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.get("/api/v1/customers/abc"), 422, "invalid", "customer_id")
    assert_error(client.get("/api/v1/customers/99999999999999999999999"), 422, "invalid", "customer_id")


# --- create -----------------------------------------------------------------------------------


def test_create_registers_with_profile_email_tags_and_consents(tenant_a):
    payload = {
        "name": "王小芳", "phone": "138 1234 5678", "store": tenant_a.store.slug, "gender": "female",
        "birth_month": 5, "birth_day": 20, "occupation": "教师", "email": "Wang@Example.com",
        "tags": ["vip", "真丝"], "consents": [{"channel": "sms", "granted": True, "source": "门店表单"}],
    }
    response = client_for(tenant_a.token).post("/api/v1/customers", payload, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    customer = Customer.objects.get(pk=body["id"], shop=tenant_a.shop)
    assert (customer.name, customer.gender, customer.birth_month, customer.occupation) == ("王小芳", "female", 5, "教师")
    assert customer.registered_by == tenant_a.owner and customer.registered_store == tenant_a.store
    assert body["name"] == "王*芳"
    assert body["tags"] == ["vip", "真丝"]
    assert body["emails"] == ["w***@example.com"]
    assert body["consents"][0]["source"] == "门店表单"
    assert body["completeness"]["score"] == customer.completeness


def test_create_consent_source_defaults_to_api(tenant_a):
    payload = {"name": "李雷", "phone": "13812345678", "consents": [{"channel": "email", "granted": False}]}
    client_for(tenant_a.token).post("/api/v1/customers", payload, content_type=JSON)
    assert Consent.objects.get(shop=tenant_a.shop).source == "api"


def test_create_with_invalid_phone_is_422_on_phone(tenant_a):
    response = client_for(tenant_a.token).post("/api/v1/customers", {"name": "李雷", "phone": "12345"}, content_type=JSON)
    assert_error(response, 422, "invalid", "phone")


def test_create_with_masked_phone_is_422_on_phone(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "138****5678"}, content_type=JSON
    )
    assert_error(response, 422, "invalid", "phone")


def test_create_with_taken_phone_is_409(tenant_a):
    register(tenant_a)
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "+8613812345678"}, content_type=JSON
    )
    assert_error(response, 409, "conflict", "phone")


def test_same_phone_in_another_shop_is_not_a_conflict(tenant_a, tenant_b):
    register(tenant_b)
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "13812345678"}, content_type=JSON
    )
    assert response.status_code == 201


def test_create_without_name_or_phone_is_422(tenant_a):
    client = client_for(tenant_a.token)
    assert_error(client.post("/api/v1/customers", {"phone": "13812345678"}, content_type=JSON), 422, "invalid", "name")
    assert_error(client.post("/api/v1/customers", {"name": "李雷"}, content_type=JSON), 422, "invalid", "phone")
    assert_error(client.post("/api/v1/customers", {"name": " ", "phone": "13812345678"}, content_type=JSON),
                 422, "invalid", "name")


def test_create_with_unknown_profile_field_is_422_naming_it(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "13812345678", "shoe_size": 38}, content_type=JSON
    )
    assert_error(response, 422, "invalid", "shoe_size")
    assert not Customer.objects.exists()


def test_create_with_bad_enum_or_wrong_type_is_422(tenant_a):
    client = client_for(tenant_a.token)
    base = {"name": "李雷", "phone": "13812345678"}
    assert_error(client.post("/api/v1/customers", {**base, "gender": "other"}, content_type=JSON), 422, "invalid", "gender")
    assert_error(client.post("/api/v1/customers", {**base, "birth_year": "nineteen"}, content_type=JSON),
                 422, "invalid", "birth_year")
    assert_error(client.post("/api/v1/customers", {**base, "name": 42}, content_type=JSON), 422, "invalid", "name")
    assert_error(client.post("/api/v1/customers", {**base, "approx_age": -3}, content_type=JSON), 422, "invalid",
                 "approx_age")
    assert_error(client.post("/api/v1/customers", {**base, "consents": [{"channel": "fax", "granted": True}]},
                             content_type=JSON), 422, "invalid", "consents[0].channel")
    assert not Customer.objects.exists()


def test_text_with_nul_characters_is_422_not_a_database_error(tenant_a):
    client = client_for(tenant_a.token)
    response = client.post("/api/v1/customers", {"name": "李\x00雷", "phone": "13812345678"}, content_type=JSON)
    assert_error(response, 422, "invalid")
    assert_error(client.get("/api/v1/customers", {"q": "a\x00"}), 422, "invalid", "q")
    assert not Customer.objects.exists()


def test_create_with_impossible_birthday_is_422(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "13812345678", "birth_month": 2, "birth_day": 30},
        content_type=JSON,
    )
    assert_error(response, 422, "invalid", "birth_day")


def test_create_with_bad_email_leaves_no_customer_behind(tenant_a):
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "13812345678", "email": "not-an-email"}, content_type=JSON
    )
    assert_error(response, 422, "invalid", "email")
    assert not Customer.objects.exists()


def test_create_with_other_shops_store_is_404(tenant_a, tenant_b):
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "李雷", "phone": "13812345678", "store": tenant_b.store.slug},
        content_type=JSON,
    )
    assert_error(response, 404, "not_found", "store")
    assert not Customer.objects.exists()


# --- update -----------------------------------------------------------------------------------


def test_patch_changes_only_sent_fields_and_replaces_tags(tenant_a):
    customer = register(tenant_a, occupation="教师", hobbies="瑜伽")
    services.set_tags(shop=tenant_a.shop, customer=customer, names=["old"])
    response = client_for(tenant_a.token).patch(
        f"/api/v1/customers/{customer.pk}", {"occupation": "医生", "clothing_size": "M", "tags": ["vip"]},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.occupation, customer.hobbies, customer.clothing_size) == ("医生", "瑜伽", "M")
    assert response.json()["tags"] == ["vip"]
    assert response.json()["completeness"]["score"] == customer.completeness


def test_patch_null_clears_a_field(tenant_a):
    customer = register(tenant_a, occupation="教师", preferred_channel="sms", approx_age=30)
    response = client_for(tenant_a.token).patch(
        f"/api/v1/customers/{customer.pk}", {"occupation": None, "preferred_channel": None, "approx_age": None},
        content_type=JSON,
    )
    assert response.status_code == 200, response.content
    customer.refresh_from_db()
    assert (customer.occupation, customer.preferred_channel, customer.approx_age) == ("", "", None)


def test_patch_without_tags_keeps_tags(tenant_a):
    customer = register(tenant_a)
    services.set_tags(shop=tenant_a.shop, customer=customer, names=["vip"])
    client_for(tenant_a.token).patch(f"/api/v1/customers/{customer.pk}", {"hobbies": "跑步"}, content_type=JSON)
    assert list(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True)) == ["vip"]


def test_patch_unknown_field_or_bad_enum_is_422_and_changes_nothing(tenant_a):
    customer = register(tenant_a, occupation="教师")
    client = client_for(tenant_a.token)
    url = f"/api/v1/customers/{customer.pk}"
    assert_error(client.patch(url, {"occupation": "医生", "phone": "1"}, content_type=JSON), 422, "invalid", "phone")
    assert_error(client.patch(url, {"occupation": "医生", "preferred_channel": "pigeon"}, content_type=JSON),
                 422, "invalid", "preferred_channel")
    assert_error(client.patch(url, {"occupation": "医生", "birth_month": 13, "birth_day": 1}, content_type=JSON),
                 422, "invalid", "birth_month")
    customer.refresh_from_db()
    assert customer.occupation == "教师"


def test_patch_too_long_field_is_422(tenant_a):
    customer = register(tenant_a)
    response = client_for(tenant_a.token).patch(
        f"/api/v1/customers/{customer.pk}", {"occupation": "x" * 101}, content_type=JSON
    )
    assert_error(response, 422, "invalid", "occupation")


def test_patch_erased_customer_is_409(tenant_a):
    customer = register(tenant_a)
    services.erase_customer(shop=tenant_a.shop, customer=customer, staff=None, actor="test")
    client = client_for(tenant_a.token)
    url = f"/api/v1/customers/{customer.pk}"
    assert_error(client.patch(url, {"hobbies": "跑步"}, content_type=JSON), 409, "conflict", "customer")
    assert_error(client.patch(url, {"tags": ["vip"]}, content_type=JSON), 409, "conflict", "customer")


# --- consents ---------------------------------------------------------------------------------


def test_post_consent_appends_and_newest_is_in_force(tenant_a):
    customer = register(tenant_a)
    client = client_for(tenant_a.token)
    url = f"/api/v1/customers/{customer.pk}/consents"
    assert client.post(url, {"channel": "sms", "granted": True, "source": "门店"}, content_type=JSON).status_code == 201
    response = client.post(url, {"channel": "sms", "granted": False, "source": "电话退订"}, content_type=JSON)
    assert response.status_code == 201
    assert response.json()["granted"] is False
    assert Consent.objects.filter(customer=customer).count() == 2
    consents = client.get(f"/api/v1/customers/{customer.pk}").json()["consents"]
    assert [(c["channel"], c["granted"]) for c in consents] == [("sms", False)]
    assert Consent.objects.get(customer=customer, granted=False).recorded_by == tenant_a.owner


def test_post_consent_with_bad_channel_or_empty_source_is_422(tenant_a):
    customer = register(tenant_a)
    client = client_for(tenant_a.token)
    url = f"/api/v1/customers/{customer.pk}/consents"
    assert_error(client.post(url, {"channel": "fax", "granted": True}, content_type=JSON), 422, "invalid", "channel")
    assert_error(client.post(url, {"channel": "sms", "granted": True, "source": " "}, content_type=JSON),
                 422, "invalid", "source")
    assert_error(client.post(url, {"channel": "sms", "granted": "maybe"}, content_type=JSON), 422, "invalid",
                 "granted")
    assert not Consent.objects.exists()


# --- export and erase -------------------------------------------------------------------------


def test_export_returns_full_data_and_is_logged(tenant_a):
    customer = register(tenant_a)
    body = client_for(tenant_a.token).get(f"/api/v1/customers/{customer.pk}/export").json()
    assert body["id"] == customer.pk
    assert body["phones"] == ["+8613812345678"]
    assert body["profile"]["name"] == "王小芳"
    assert body["orders"] == []
    log = AccessLog.objects.get(shop=tenant_a.shop)
    assert (log.action, log.object_id, log.staff) == (AccessLog.Action.EXPORT, customer.pk, tenant_a.owner)


def test_export_by_associate_is_403(tenant_a):
    customer = register(tenant_a)
    response = client_for(token_with_role(tenant_a, Role.ASSOCIATE)).get(f"/api/v1/customers/{customer.pk}/export")
    assert_error(response, 403, "forbidden")
    assert not AccessLog.objects.exists()


def test_erase_by_owner_removes_personal_data_and_is_logged(tenant_a):
    customer = register(tenant_a)
    response = client_for(tenant_a.token).post(f"/api/v1/customers/{customer.pk}/erase")
    assert response.status_code == 200, response.content
    assert response.json()["id"] == customer.pk
    customer.refresh_from_db()
    assert customer.is_erased and not customer.phones.exists()
    assert AccessLog.objects.get(shop=tenant_a.shop).action == AccessLog.Action.ERASE
    assert client_for(tenant_a.token).get("/api/v1/customers").json()["count"] == 0


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ASSOCIATE])
def test_erase_by_non_owner_is_403(tenant_a, role):
    customer = register(tenant_a)
    response = client_for(token_with_role(tenant_a, role)).post(f"/api/v1/customers/{customer.pk}/erase")
    assert_error(response, 403, "forbidden")
    customer.refresh_from_db()
    assert not customer.is_erased


# --- tenancy: another shop's customer is indistinguishable from a missing one ------------------


@pytest.fixture
def b_customer(tenant_b) -> Customer:
    return register(tenant_b, name="乙店顾客", phone="13911112222")


def test_other_shops_customer_is_404_not_403(tenant_a, b_customer):
    client = client_for(tenant_a.token)
    other = client.get(f"/api/v1/customers/{b_customer.pk}")
    missing = client.get("/api/v1/customers/999999")
    assert_error(other, 404, "not_found", "customer")
    assert other.json()["field"] == missing.json()["field"]


def test_other_shops_customer_reveal_is_404_and_not_logged(tenant_a, b_customer):
    assert_error(client_for(tenant_a.token).get(f"/api/v1/customers/{b_customer.pk}?reveal=true"),
                 404, "not_found", "customer")
    assert not AccessLog.objects.exists()


def test_other_shops_customer_patch_is_404_and_unchanged(tenant_a, b_customer):
    response = client_for(tenant_a.token).patch(
        f"/api/v1/customers/{b_customer.pk}", {"occupation": "黑客", "tags": ["x"]}, content_type=JSON
    )
    assert_error(response, 404, "not_found", "customer")
    b_customer.refresh_from_db()
    assert b_customer.occupation == ""
    assert not CustomerTag.objects.exists()


def test_other_shops_customer_consent_is_404(tenant_a, b_customer):
    response = client_for(tenant_a.token).post(
        f"/api/v1/customers/{b_customer.pk}/consents", {"channel": "sms", "granted": True}, content_type=JSON
    )
    assert_error(response, 404, "not_found", "customer")
    assert not Consent.objects.exists()


def test_other_shops_customer_export_is_404_and_not_logged(tenant_a, b_customer):
    assert_error(client_for(tenant_a.token).get(f"/api/v1/customers/{b_customer.pk}/export"),
                 404, "not_found", "customer")
    assert not AccessLog.objects.exists()


def test_other_shops_customer_erase_is_404_and_not_erased(tenant_a, b_customer):
    assert_error(client_for(tenant_a.token).post(f"/api/v1/customers/{b_customer.pk}/erase"),
                 404, "not_found", "customer")
    b_customer.refresh_from_db()
    assert not b_customer.is_erased


def test_other_shops_customer_is_404_even_for_an_associate(tenant_a, b_customer):
    """A role check must never run before the shop check, or 403 vs 404 would leak existence."""
    client = client_for(token_with_role(tenant_a, Role.ASSOCIATE))
    assert_error(client.post(f"/api/v1/customers/{b_customer.pk}/erase"), 404, "not_found", "customer")
    assert_error(client.get(f"/api/v1/customers/{b_customer.pk}?reveal=1"), 404, "not_found", "customer")


def test_masked_list_phone_comes_from_the_primary_phone(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop, name="Alice Smith")
    CustomerPhoneFactory(customer=customer, e164="+8613900001111", masked="139****1111", tail4="1111",
                         is_primary=False)
    CustomerPhoneFactory(customer=customer, e164="+8613800002222", masked="138****2222", tail4="2222",
                         is_primary=True)
    [item] = client_for(tenant_a.token).get("/api/v1/customers").json()["items"]
    assert (item["name"], item["phone"]) == ("A**** S****", "138****2222")
