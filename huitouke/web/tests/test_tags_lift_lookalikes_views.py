"""Tag audiences, the auto-tag rules page, the lift page and the look-alike list through django.test.Client."""

from __future__ import annotations

import pytest
from django.urls import reverse

from huitouke.analytics.tests.test_lift import make_lift_shop
from huitouke.analytics.tests.test_lookalikes import make_look_alike_shop
from huitouke.customers.services import set_tags
from huitouke.testing.factories import CustomerScoreFactory

pytestmark = pytest.mark.django_db


def _text(response) -> str:
    return response.content.decode()


def test_customer_list_filters_by_tag_and_keeps_it_when_paging(owner_client, data_a, data_b):
    set_tags(shop=data_a.tenant.shop, customer=data_a.wang, names=["连衣裙爱好者"])
    set_tags(shop=data_b.tenant.shop, customer=data_b.wang, names=["连衣裙爱好者"])  # another shop's
    response = owner_client.get(reverse("customers"), {"tag": "连衣裙爱好者"})
    assert [row["customer"] for row in response.context["rows"]] == [data_a.wang]
    assert 'data-testid="tag-filter"' in _text(response)
    assert owner_client.get(reverse("customers"), {"tag": "nobody"}).context["rows"] == []


def test_scored_list_filters_by_tag(owner_client, data_a):
    CustomerScoreFactory(customer=data_a.wang)
    CustomerScoreFactory(customer=data_a.li)
    set_tags(shop=data_a.tenant.shop, customer=data_a.li, names=["只买折扣"])
    response = owner_client.get(reverse("analytics_customers"), {"tag": "只买折扣"})
    assert [row["customer"] for row in response.context["rows"]] == [data_a.li]
    assert 'value="只买折扣"' in _text(response)


def test_rules_page_lists_every_rule_and_links_carried_tags_to_the_customer_list(owner_client, data_a):
    from decimal import Decimal

    from huitouke.analytics.autotags import refresh_auto_tags

    data_a.wang.net_spend = Decimal("900.00")
    data_a.wang.save()
    refresh_auto_tags(shop=data_a.tenant.shop)
    text = _text(owner_client.get(reverse("analytics_tag_rules")))
    assert text.count('data-rule="') == 5
    assert f'{reverse("customers")}?tag=%E9%AB%98%E6%B6%88%E8%B4%B9' in text  # 高消费
    assert 'data-testid="apply-rules"' in text


def test_owner_saves_a_rule_from_the_page(owner_client, data_a):
    from huitouke.analytics.autotags import rule_of

    response = owner_client.post(reverse("analytics_tag_rule", args=["big_spender"]), {
        "tag_name": "大客户", "param_top_percent": "10",
    })
    assert response.status_code == 302
    rule = rule_of(shop=data_a.tenant.shop, kind="big_spender")
    assert (rule.tag_name, rule.params, rule.enabled) == ("大客户", {"top_percent": 10.0}, False)  # unchecked: off


def test_a_bad_parameter_is_shown_and_changes_nothing(owner_client, data_a):
    from huitouke.analytics.autotags import rule_of

    response = owner_client.post(reverse("analytics_tag_rule", args=["category_fan"]), {
        "enabled": "on", "tag_name": "{category}控", "param_min_items": "2.5", "param_category": "",
    }, follow=True)
    assert "min_items" in _text(response)
    assert rule_of(shop=data_a.tenant.shop, kind="category_fan").params == {"min_items": 3, "category": ""}


def test_associates_read_the_rules_but_cannot_change_or_apply_them(associate_client, data_a):
    text = _text(associate_client.get(reverse("analytics_tag_rules")))
    assert "rule-form" not in text and 'data-testid="apply-rules"' not in text
    response = associate_client.post(reverse("analytics_tag_rule", args=["big_spender"]), {"tag_name": "x"})
    assert response.status_code == 403
    assert associate_client.post(reverse("analytics_tag_rules_apply")).status_code == 403


def test_an_unknown_rule_is_a_404(owner_client, data_a):
    assert owner_client.post(reverse("analytics_tag_rule", args=["vip"]), {}).status_code == 404


def test_apply_now_tags_and_says_how_many(owner_client, data_a):
    from huitouke.customers.models import CustomerTag

    response = owner_client.post(reverse("analytics_tag_rules_apply"), follow=True)
    added = CustomerTag.objects.filter(shop=data_a.tenant.shop, source="auto").count()
    assert added == 1  # wang: the top 5% of two buyers (高消费); nothing else holds on this shop
    [message] = [str(m) for m in response.context["messages"]]
    assert "1" in message and "0" in message


def test_lift_page_shows_roles_and_categories_with_lift(owner_client, tenant_a, tenant_b):
    make_lift_shop(tenant_a, tenant_b)  # the hand-worked shop of the lift selector's tests
    response = owner_client.get(reverse("analytics_segment_lift", args=["champions"]))
    text = _text(response)
    assert 'data-testid="lift-roles"' in text and 'data-testid="lift-categories"' in text
    assert "4.50×" in text and "0.30×" in text
    assert response.context["table"].customers == 2


def test_lift_page_for_the_win_back_list_and_404_for_an_unknown_segment(owner_client, data_a):
    assert owner_client.get(reverse("analytics_segment_lift", args=["win-back-list"])).status_code == 200
    assert owner_client.get(reverse("analytics_segment_lift", args=["vip"])).status_code == 404


def test_look_alike_page_and_csv_are_ranked_and_masked(owner_client, tenant_a):
    import csv
    import io

    people = make_look_alike_shop(tenant_a)
    response = owner_client.get(reverse("analytics_look_alikes"), {"limit": "20"})
    assert [row["customer"] for row in response.context["rows"]] == [people["near"], people["mid"], people["far"]]
    text = _text(response)
    assert "王*芳" in text and "13812345678" not in text
    body = owner_client.get(reverse("analytics_look_alikes_csv"), {"gold": "top_clv"}).content.decode()
    assert body.startswith("\ufeff") and "13812345678" not in body
    rows = list(csv.reader(io.StringIO(body[1:])))
    assert [row[1] for row in rows[1:]] == [str(people[k].pk) for k in ("near", "mid", "far")]
    assert rows[1][2:4] == ["王*芳", "138****5678"]


@pytest.mark.parametrize(("language", "texts"), [
    ("zh-hans", ["自动标签规则", "品类爱好者", "立即应用规则"]),
    ("en", ["Auto-tag rules", "Category fan", "Apply the rules now"]),
])
def test_rules_page_speaks_chinese_by_default_and_english_on_request(owner_client, data_a, language, texts):
    if language == "en":
        owner_client.cookies["django_language"] = "en"
    text = _text(owner_client.get(reverse("analytics_tag_rules")))
    assert all(t in text for t in texts)
    look = _text(owner_client.get(reverse("analytics_look_alikes")))
    assert ("相似顾客" if language != "en" else "Look-alikes") in look


def test_customer_page_marks_rule_tags_and_the_profile_form_edits_only_hand_made_ones(owner_client, data_a):
    from decimal import Decimal

    from huitouke.analytics.autotags import refresh_auto_tags
    from huitouke.customers.selectors import tag_names
    from huitouke.web.tests.test_views import _profile_post

    shop, wang = data_a.tenant.shop, data_a.wang
    wang.net_spend = Decimal("900.00")
    wang.save()
    set_tags(shop=shop, customer=wang, names=["老顾客"])
    refresh_auto_tags(shop=shop)  # 高消费 by rule
    text = _text(owner_client.get(reverse("customer", args=[wang.pk])))
    assert 'class="chip chip-rule"' in text and ">高消费</span>" in text
    form = owner_client.get(reverse("customer_profile", args=[wang.pk])).context["form"]
    assert form.initial["tags"] == "老顾客"
    owner_client.post(reverse("customer_profile", args=[wang.pk]), _profile_post(wang, tags="老顾客, 真丝"))
    assert tag_names(shop=shop, customer=wang, source="manual") == ["真丝", "老顾客"]
    assert tag_names(shop=shop, customer=wang, source="auto") == ["高消费"]
