"""Analytics pages through django.test.Client: segments, lists and CSV (masked), win-back, cohorts, 360 scores."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal

import pytest
from django.urls import reverse

from huitouke.analytics.services import refresh_scores
from huitouke.core.timeutil import SHANGHAI, today
from huitouke.testing.factories import CustomerFactory, CustomerScoreFactory, OrderFactory

pytestmark = pytest.mark.django_db

PAGES = ["analytics", "analytics_customers", "analytics_customers_csv", "analytics_cohorts", "analytics_win_back",
         "analytics_win_back_csv"]


def _text(response) -> str:
    return response.content.decode()


def _csv(response) -> list[list[str]]:
    body = b"".join(response.streaming_content).decode("utf-8")
    assert body.startswith("\ufeff")  # Excel needs the BOM for Chinese text
    return list(csv.reader(io.StringIO(body[1:])))


@pytest.fixture
def scored_a(data_a):
    """Wang: a champion slipping away (high spend, P(alive) 0.2); Li: a new customer, alive."""
    wang = CustomerScoreFactory(customer=data_a.wang, segment="champions", m_score=5, f_score=5, p_alive=0.2,
                                clv_12m=Decimal("456.70"), days_overdue=33.0)
    li = CustomerScoreFactory(customer=data_a.li, segment="new", m_score=2, f_score=1, p_alive=0.9,
                              clv_12m=Decimal("80.00"), days_overdue=None)
    return {"wang": wang, "li": li}


@pytest.mark.parametrize("name", PAGES)
def test_analytics_pages_require_login(client, name):
    response = client.get(reverse(name))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_overview_lists_every_segment_with_both_names_and_a_link_to_its_customers(owner_client, scored_a):
    response = owner_client.get(reverse("analytics"))
    text = _text(response)
    assert text.count('data-segment="') == 10
    assert "重要价值客户" in text and "Champions" in text
    assert f'{reverse("analytics_customers")}?segment=champions' in text
    assert 'id="clv-chart"' in text
    assert sum(response.context["chart"]["counts"]) == 2  # both customers have a CLV


def test_customer_list_filters_by_segment_and_masks_personal_data(owner_client, scored_a):
    text = _text(owner_client.get(reverse("analytics_customers"), {"segment": "champions"}))
    assert "王*芳" in text and "138****5678" in text
    assert "王小芳" not in text and "13812345678" not in text
    assert "李*" not in text


def test_customer_list_at_risk_sorted_by_p_alive(owner_client, scored_a):
    response = owner_client.get(reverse("analytics_customers"), {"risk": "on", "sort": "p_alive"})
    assert [row["customer"].pk for row in response.context["rows"]] == [scored_a["wang"].customer_id]


def test_a_bad_query_string_falls_back_to_the_whole_list(owner_client, scored_a):
    response = owner_client.get(reverse("analytics_customers"), {"segment": "vip", "sort": "name"})
    assert response.status_code == 200
    assert len(response.context["rows"]) == 2


def test_csv_export_has_the_filtered_rows_with_masked_name_and_phone(owner_client, scored_a):
    response = owner_client.get(reverse("analytics_customers_csv"), {"segment": "champions"})
    assert response["Content-Disposition"] == 'attachment; filename="customers-champions.csv"'
    header, *rows = _csv(response)
    assert header[:3] == ["顾客编号", "姓名（已遮蔽）", "手机（已遮蔽）"]
    assert len(rows) == 1
    row = dict(zip(header, rows[0], strict=True))
    assert (row["姓名（已遮蔽）"], row["手机（已遮蔽）"]) == ("王*芳", "138****5678")
    assert (row["分层"], row["活跃概率"], row["12个月客户价值"], row["超期天数"]) == (
        "重要价值客户", "0.2000", "456.70", "33.0"
    )
    assert "13812345678" not in str(rows)


def test_win_back_page_and_csv_list_the_slipping_champion_only(owner_client, scored_a):
    text = _text(owner_client.get(reverse("analytics_win_back")))
    assert f'data-customer="{scored_a["wang"].customer_id}"' in text
    assert f'data-customer="{scored_a["li"].customer_id}"' not in text
    header, *rows = _csv(owner_client.get(reverse("analytics_win_back_csv")))
    assert [row[0] for row in rows] == [str(scored_a["wang"].customer_id)]
    assert rows[0][2] == "138****5678"


def test_another_shops_scores_never_show(owner_client, data_a, data_b):
    CustomerScoreFactory(customer=data_b.wang, m_score=5, p_alive=0.1)
    for name in ("analytics_customers", "analytics_win_back"):
        assert f'data-customer="{data_b.wang.pk}"' not in _text(owner_client.get(reverse(name)))
    _, *rows = _csv(owner_client.get(reverse("analytics_customers_csv")))
    assert rows == []


def make_recent_cohort(tenant) -> str:
    """Two customers who first bought last month (100 + 70); one came back this month (50). Last month's YYYY-MM."""
    this_month = today().replace(day=1)
    last_month = (this_month - dt.timedelta(days=1)).replace(day=1)
    back, once = CustomerFactory(shop=tenant.shop), CustomerFactory(shop=tenant.shop)
    for customer, day, amount in ((back, last_month, "100.00"), (back, this_month, "50.00"), (once, last_month, "70.00")):
        OrderFactory(shop=tenant.shop, store=tenant.store, customer=customer, paid_amount=Decimal(amount),
                     ordered_at=dt.datetime.combine(day, dt.time(0, 30), tzinfo=SHANGHAI))
    return last_month.strftime("%Y-%m")


def test_cohort_page_shows_the_matrix_and_the_heat_map_data(owner_client, tenant_a):
    make_recent_cohort(tenant_a)
    response = owner_client.get(reverse("analytics_cohorts"), {"months": "2"})
    report = response.context["report"]
    assert [(row.size, row.repeat_rate) for row in report.cohorts] == [(2, [0.0, 0.5]), (0, [None, None])]
    assert response.context["chart"]["cells"] == [[0, 0, 0.0], [1, 0, 50.0]]
    trend = response.context["trend"]
    assert (trend["repeat_rate"], trend["repeat_revenue_share"]) == ([0.0, 100.0], [0.0, 100.0])
    text = _text(response)
    assert 'id="cohort-chart"' in text and "50.0%" in text


def test_cohort_page_ignores_a_bad_months_value(owner_client, tenant_a):
    response = owner_client.get(reverse("analytics_cohorts"), {"months": "999"})
    assert response.status_code == 200 and response.context["months"] == 12


def test_customer_360_shows_the_scores(owner_client, scored_a):
    text = _text(owner_client.get(reverse("customer", args=[scored_a["wang"].customer_id])))
    assert 'data-testid="customer-score"' in text
    assert "重要价值客户" in text and "Champions" in text and "¥456.70" in text and "20.0%" in text
    assert "超过平常间隔 33 天" in text


def test_customer_360_says_why_there_is_no_score(owner_client, data_a, tenant_a):
    url = reverse("customer", args=[data_a.wang.pk])
    assert "尚未为本店运行分析刷新" in _text(owner_client.get(url))
    refresh_scores(shop=tenant_a.shop, as_of=dt.date(2025, 3, 31))  # before Li's first purchase
    assert "此顾客的消费" in _text(owner_client.get(reverse("customer", args=[data_a.li.pk])))
    never = CustomerFactory(shop=tenant_a.shop)
    assert "此顾客还没有消费" in _text(owner_client.get(reverse("customer", args=[never.pk])))


def test_nav_links_to_the_analytics_pages(owner_client, data_a):
    text = _text(owner_client.get(reverse("dashboard")))
    for name in ("analytics", "analytics_win_back", "analytics_cohorts"):
        assert f'href="{reverse(name)}"' in text


def test_model_check_page_shows_predicted_and_actual_by_frequency(owner_client, tenant_a):
    from huitouke.analytics.services import model_check
    from huitouke.analytics.tests.test_refresh import draw_bgnbd_shop

    draw_bgnbd_shop(tenant_a, seed=1)
    response = owner_client.get(reverse("analytics_model_check"), {"holdout_days": "600"})
    check = response.context["check"]
    assert check == model_check(shop=tenant_a.shop, holdout_days=600)
    text = _text(response)
    assert text.count("data-group=") == 8 and 'id="model-check-chart"' in text
    assert response.context["chart"]["actual"] == [g.actual for g in check.groups]


def test_model_check_page_explains_a_holdout_too_long_and_an_empty_shop(owner_client, data_a):
    response = owner_client.get(reverse("analytics_model_check"), {"holdout_days": "99999"})
    assert response.status_code == 200
    assert response.context["error"].startswith("the holdout must be between 1 and")
    assert response.context["check"].holdout_days < 99999  # fell back to the default
    assert "customers" in response.context["check"].message  # two customers: too few to fit, and it says so


def test_model_check_page_on_a_shop_without_purchases(owner_client, tenant_a):
    response = owner_client.get(reverse("analytics_model_check"))
    assert response.status_code == 200 and response.context["check"] is None
    assert "no purchases" in response.context["error"]


def test_analytics_pages_speak_english_after_the_switch(owner_client, scored_a):
    owner_client.post(reverse("set_language"), {"language": "en", "next": reverse("analytics")})
    text = _text(owner_client.get(reverse("analytics")))
    assert "Customer segments" in text and "客户分层" not in text
    assert "重要价值客户" in text and "Champions" in text  # segment names: both, in every language
    header, *_ = _csv(owner_client.get(reverse("analytics_win_back_csv")))
    assert header[:3] == ["Customer ID", "Name (masked)", "Phone (masked)"]


THRESHOLDS = {"lost_after_days": "400", "new_within_days": "45", "high_score": "4", "risk_p_alive": "0.6",
              "win_back_min_score": "3"}


def test_owner_changes_the_thresholds(owner_client, tenant_a):
    from huitouke.analytics.models.settings import AnalyticsSettings

    assert owner_client.post("/analytics/settings/", THRESHOLDS).status_code == 302
    saved = AnalyticsSettings.objects.get(shop=tenant_a.shop)
    assert (saved.lost_after_days, saved.high_score, saved.risk_p_alive) == (400, 4, 0.6)
    page = owner_client.post("/analytics/settings/", {**THRESHOLDS, "risk_p_alive": "2"})
    assert page.status_code == 200 and AnalyticsSettings.objects.get(shop=tenant_a.shop).risk_p_alive == 0.6


def test_an_associate_sees_the_thresholds_but_may_not_change_them(associate_client, tenant_a):
    from huitouke.analytics.models.settings import AnalyticsSettings

    assert associate_client.get("/analytics/settings/").status_code == 200
    assert associate_client.post("/analytics/settings/", THRESHOLDS).status_code == 403
    assert not AnalyticsSettings.objects.filter(shop=tenant_a.shop).exists()
