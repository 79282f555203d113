"""The web UI through django.test.Client: access rules, figures, search, 360 page, edits, PII handling."""

from __future__ import annotations

import json

import pytest
from django.contrib.auth import get_user_model
from django.urls import reverse

from huitouke.core.models import AccessLog, Role
from huitouke.customers.models import Customer
from huitouke.customers.selectors import tag_names
from huitouke.testing.factories import TEST_PASSWORD, StaffFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}


def _text(response) -> str:
    return response.content.decode()


# Access -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["dashboard", "customers"])
def test_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_customer_pages_require_login(client, data_a):
    response = client.get(reverse("customer", args=[data_a.wang.pk]))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_login_with_password_lands_on_dashboard(client, tenant_a):
    response = client.post(reverse("login"), {"username": "shop-a-owner", "password": TEST_PASSWORD})
    assert response.status_code == 302 and response["Location"] == reverse("dashboard")
    assert client.get(reverse("dashboard")).status_code == 200


def test_wrong_password_shows_the_form_again(client, tenant_a):
    response = client.post(reverse("login"), {"username": "shop-a-owner", "password": "nope"})
    assert response.status_code == 200
    assert 'name="password"' in _text(response)
    assert not response.wsgi_request.user.is_authenticated


def test_logout_is_a_post_and_ends_the_session(owner_client):
    response = owner_client.post(reverse("logout"))
    assert response.status_code == 302 and response["Location"] == reverse("login")
    assert owner_client.get(reverse("dashboard")).status_code == 302


def test_login_without_staff_record_gets_a_clear_403(client, db):
    user = get_user_model().objects.create_user(username="drifter", password=TEST_PASSWORD)
    client.force_login(user)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 403
    assert "没有关联任何店铺" in _text(response)


def test_htmx_request_after_session_expiry_redirects_the_whole_page(client, db):
    response = client.get(reverse("customers"), **HX)
    assert response.status_code == 204
    assert response["HX-Redirect"].startswith(reverse("login"))


# Dashboard --------------------------------------------------------------------------------------


def test_dashboard_shows_the_headline_figures(owner_client, data_a):
    text = _text(owner_client.get(reverse("dashboard")))
    # 2 customers, 2 buyers, 1 repeat customer (王小芳, two days), 3 purchases, ¥499.50 net, ¥120.50 repeat.
    assert 'data-figure="customers"><span class="stat-label">顾客</span><span class="stat-value">2<' in text
    assert 'data-figure="repeat_customers"' in text
    assert "50.0%" in text  # repeat rate 1/2
    assert "¥499.50" in text
    assert "¥120.50" in text
    assert "24.1%" in text  # 120.50 / 499.50
    assert 'id="revenue-data"' in text and "echarts.min.js" in text


def test_dashboard_chart_data_covers_24_months_split_new_and_returning(owner_client, data_a):
    response = owner_client.get(reverse("dashboard"))
    chart = response.context["chart"]
    assert len(chart["months"]) == 24 == len(chart["new"]) == len(chart["returning"]) == len(chart["share"])
    by_month = dict(zip(chart["months"], zip(chart["new"], chart["returning"], strict=True), strict=True))
    if "2025-04" in by_month:  # the fixture orders are inside the 24-month window until 2027
        assert by_month["2025-04"] == (80.0, 120.5)
        assert by_month["2025-03"] == (299.0, 0.0)


# Customer list ----------------------------------------------------------------------------------


@pytest.mark.parametrize("query", ["王小", "5678", "13812345678", "小鱼儿"])
def test_search_finds_by_name_phone_tail_or_nickname(owner_client, data_a, query):
    response = owner_client.get(reverse("customers"), {"q": query})
    rows = response.context["rows"]
    assert [row["customer"].pk for row in rows] == [data_a.wang.pk]


def test_list_masks_names_and_phones(owner_client, data_a):
    text = _text(owner_client.get(reverse("customers")))
    assert "王*芳" in text and "138****5678" in text
    assert "王小芳" not in text and "13812345678" not in text


def test_htmx_search_returns_only_the_results_partial(owner_client, data_a):
    response = owner_client.get(reverse("customers"), {"q": "李"}, **HX)
    text = _text(response)
    assert "李*" in text and "王*芳" not in text
    assert "<html" not in text and "customers-table" in text


def test_list_paginates_50_per_page(owner_client, tenant_a):
    from huitouke.testing.factories import CustomerFactory

    CustomerFactory.create_batch(51, shop=tenant_a.shop)
    first = owner_client.get(reverse("customers"))
    second = owner_client.get(reverse("customers"), {"page": 2})
    assert len(first.context["rows"]) == 50 and len(second.context["rows"]) == 1


def test_sort_by_spend_puts_the_biggest_spender_first(owner_client, data_a):
    rows = owner_client.get(reverse("customers"), {"sort": "spend"}).context["rows"]
    assert [row["customer"].pk for row in rows] == [data_a.wang.pk, data_a.li.pk]


# Customer 360 -----------------------------------------------------------------------------------


def test_360_page_shows_stats_timeline_consent_and_missing_facts(owner_client, data_a):
    text = _text(owner_client.get(reverse("customer", args=[data_a.wang.pk])))
    assert "王*芳" in text and "王小芳" not in text and "138****5678" in text
    assert "TB20250301001" in text and "TB20250420002" in text and "真丝连衣裙" in text
    assert "¥419.50" in text  # net spend
    assert "门店登记表" in text  # consent source
    assert "小鱼儿2019" in text
    assert "x***@example.com" in text
    assert "性格" in text  # a missing soft-profile fact, listed


def test_360_timeline_uses_each_entry_template(owner_client, data_a):
    response = owner_client.get(reverse("customer", args=[data_a.wang.pk]))
    used = {t.name for t in response.templates}
    assert "orders/_timeline_order.html" in used
    assert [entry.title for entry in response.context["timeline"]] == ["TB20250420002", "TB20250301001"]


# Profile edit -----------------------------------------------------------------------------------


def _profile_post(customer: Customer, **changes) -> dict:
    data = {
        "gender": customer.gender, "birthday_calendar": customer.birthday_calendar or "solar",
        "occupation": customer.occupation, "tags": "",
    }
    data.update(changes)
    return data


def test_soft_profile_edit_saves_fields_and_tags(owner_client, data_a):
    url = reverse("customer_profile", args=[data_a.wang.pk])
    response = owner_client.post(url, _profile_post(
        data_a.wang, personality="开朗", hobbies="瑜伽、插花", preferred_channel="wechat", tags="VIP, 老顾客，真丝",
    ))
    assert response.status_code == 302
    wang = Customer.objects.get(pk=data_a.wang.pk)
    assert (wang.personality, wang.hobbies, wang.preferred_channel) == ("开朗", "瑜伽、插花", "wechat")
    assert tag_names(shop=data_a.tenant.shop, customer=wang) == ["VIP", "真丝", "老顾客"]
    assert wang.completeness > data_a.wang.completeness


def test_htmx_profile_edit_swaps_the_section_and_updates_completeness(owner_client, data_a):
    url = reverse("customer_profile", args=[data_a.wang.pk])
    form = owner_client.get(url, **HX)
    assert 'name="personality"' in _text(form) and "<html" not in _text(form)
    response = owner_client.post(url, _profile_post(data_a.wang, personality="开朗"), **HX)
    text = _text(response)
    assert response.status_code == 200
    assert 'id="profile"' in text and "开朗" in text
    assert 'id="completeness"' in text and 'hx-swap-oob="true"' in text


def test_invalid_choice_saves_nothing(owner_client, data_a):
    url = reverse("customer_profile", args=[data_a.wang.pk])
    response = owner_client.post(url, _profile_post(data_a.wang, personality="开朗", preferred_channel="fax"))
    assert response.status_code == 422
    assert "field-error" in _text(response)
    assert Customer.objects.get(pk=data_a.wang.pk).personality == ""


def test_refused_birthday_saves_neither_profile_nor_tags(owner_client, data_a):
    url = reverse("customer_profile", args=[data_a.wang.pk])
    response = owner_client.post(url, _profile_post(
        data_a.wang, personality="开朗", birth_month="2", birth_day="30", tags="VIP",
    ), **HX)
    assert response.status_code == 200
    text = _text(response)
    assert "2月30日不是有效日期" in text and "has-error" in text  # the service's reason, in the page's language
    wang = Customer.objects.get(pk=data_a.wang.pk)
    assert wang.personality == "" and wang.birth_month is None
    assert tag_names(shop=data_a.tenant.shop, customer=wang) == []


def test_service_errors_follow_the_language_switch(owner_client, data_a):
    owner_client.post(reverse("set_language"), {"language": "en", "next": reverse("dashboard")})
    url = reverse("customer_profile", args=[data_a.wang.pk])
    response = owner_client.post(url, _profile_post(data_a.wang, birth_month="2", birth_day="30"), **HX)
    text = _text(response)
    assert "2/30 is not a date" in text and "不是有效日期" not in text


def test_too_long_tag_is_refused_and_nothing_saved(owner_client, data_a):
    url = reverse("customer_profile", args=[data_a.wang.pk])
    response = owner_client.post(url, _profile_post(data_a.wang, personality="开朗", tags="x" * 51))
    assert response.status_code == 422
    assert Customer.objects.get(pk=data_a.wang.pk).personality == ""


# Personal data: reveal, export, erase ---------------------------------------------------------


def test_reveal_shows_full_data_and_writes_an_access_log(owner_client, data_a):
    response = owner_client.post(reverse("customer_reveal", args=[data_a.wang.pk]))
    text = _text(response)
    assert response.status_code == 200
    assert "王小芳" in text and "138 1234 5678" in text and "xiaofang@example.com" in text
    log = AccessLog.objects.get(action=AccessLog.Action.REVEAL)
    assert (log.object_id, log.actor, log.staff) == (data_a.wang.pk, "shop-a-owner", data_a.tenant.owner)


def test_reveal_is_refused_to_a_sales_associate_and_not_logged(associate_client, data_a):
    response = associate_client.post(reverse("customer_reveal", args=[data_a.wang.pk]))
    assert response.status_code == 403
    assert not AccessLog.objects.exists()
    page = _text(associate_client.get(reverse("customer", args=[data_a.wang.pk])))
    assert "customer_reveal" not in page and "/reveal/" not in page


def test_reveal_needs_post(owner_client, data_a):
    assert owner_client.get(reverse("customer_reveal", args=[data_a.wang.pk])).status_code == 405
    assert not AccessLog.objects.exists()


def test_export_returns_the_customer_as_json_and_logs_it(owner_client, data_a):
    response = owner_client.post(reverse("customer_export", args=[data_a.wang.pk]))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert "attachment" in response["Content-Disposition"]
    data = json.loads(response.content)
    assert data["id"] == data_a.wang.pk and data["profile"]["name"] == "王小芳"
    assert data["phones"] == ["+8613812345678"]
    assert {o["external_id"] for o in data["orders"]} == {"TB20250301001", "TB20250420002"}
    assert AccessLog.objects.filter(action=AccessLog.Action.EXPORT, object_id=data_a.wang.pk).count() == 1


def test_export_is_refused_to_a_sales_associate(associate_client, data_a):
    assert associate_client.post(reverse("customer_export", args=[data_a.wang.pk])).status_code == 403


def test_erase_is_owner_only(client, data_a):
    manager = StaffFactory(shop=data_a.tenant.shop, user__username="shop-a-manager", role=Role.MANAGER)
    client.force_login(manager.user)
    response = client.post(reverse("customer_erase", args=[data_a.wang.pk]), {"confirm": "yes"})
    assert response.status_code == 403
    assert not Customer.objects.get(pk=data_a.wang.pk).is_erased


def test_erase_needs_the_confirmation(owner_client, data_a):
    owner_client.post(reverse("customer_erase", args=[data_a.wang.pk]))
    assert not Customer.objects.get(pk=data_a.wang.pk).is_erased


def test_owner_erases_a_customer(owner_client, data_a):
    response = owner_client.post(reverse("customer_erase", args=[data_a.wang.pk]), {"confirm": "yes"}, follow=True)
    wang = Customer.objects.get(pk=data_a.wang.pk)
    assert wang.is_erased and not wang.phones.exists()
    assert "已删除" in _text(response) or "已清除" in _text(response)
    assert AccessLog.objects.filter(action=AccessLog.Action.ERASE, object_id=wang.pk).exists()


# Tenancy ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "method"),
    [
        ("customer", "get"), ("customer_profile", "get"), ("customer_profile", "post"),
        ("customer_reveal", "post"), ("customer_export", "post"), ("customer_erase", "post"),
    ],
)
def test_another_shops_customer_is_not_found(owner_client, data_a, data_b, name, method):
    url = reverse(name, args=[data_b.wang.pk])
    response = getattr(owner_client, method)(url, {"confirm": "yes", "personality": "x", "birthday_calendar": "solar"})
    assert response.status_code == 404
    other = Customer.objects.get(pk=data_b.wang.pk)
    assert not other.is_erased and other.personality == ""
    assert not AccessLog.objects.exists()


def test_search_never_shows_another_shops_customers(owner_client, data_a, data_b):
    rows = owner_client.get(reverse("customers"), {"q": "王小"}).context["rows"]
    assert [row["customer"].pk for row in rows] == [data_a.wang.pk]


# Language ---------------------------------------------------------------------------------------


def test_chinese_is_the_default_language(owner_client, data_a):
    text = _text(owner_client.get(reverse("dashboard")))
    assert "复购率" in text and "Repeat rate" not in text


def test_language_switch_gives_english(owner_client, data_a):
    response = owner_client.post(reverse("set_language"), {"language": "en", "next": reverse("dashboard")})
    assert response.status_code == 302
    text = _text(owner_client.get(reverse("dashboard")))
    assert "Repeat rate" in text and "复购率" not in text
