"""Post-delivery feedback: engagement's care rule asks once per order, through the outbox and the contact
policy, with the order's signed satisfaction link (quality registers the link and the delivery times)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import Client

from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.models import Message
from huitouke.engagement.services.care import run_rules
from huitouke.engagement.services.setup import set_rule
from huitouke.engagement.tests.conftest import contactable
from huitouke.orders.models import OrderStatus
from huitouke.quality.models import Survey
from huitouke.quality.services.satisfaction import survey_for_order, survey_from_token
from huitouke.quality.services.shipments import record_shipment
from huitouke.testing.factories import CustomerFactory, OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

DAY = dt.date(2026, 11, 23)


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def run(shop, day: dt.date, hour: int = 10) -> list[tuple[str, str, str]]:
    return [(p.rule, p.status, p.reason) for p in run_rules(shop=shop, day=day, now=at(day, hour))
            if p.kind == "feedback"]


@pytest.fixture
def shop(db, settings):
    settings.PUBLIC_URL = "https://shop.example.cn"
    return ShopFactory(slug="jiangnan", name="江南小店")


def test_a_completed_order_is_asked_about_the_next_day_with_its_satisfaction_link(shop):
    customer = contactable(shop)
    order = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=1)))
    assert run(shop, DAY - dt.timedelta(days=1)) == []  # not on the day of the purchase
    assert run(shop, DAY) == [(f"feedback:order:{order.pk}", "queued", "")]
    message = Message.objects.get(shop=shop, kind="feedback")
    survey = Survey.objects.get(shop=shop, order=order)
    assert (survey.customer_id, message.customer_id, message.channel) == (customer.pk, customer.pk, "sms")
    assert message.text.startswith("【江南小店】王女士，")
    link = message.text.rsplit("：", 1)[1]
    assert link.startswith("https://shop.example.cn/s/")
    page = Client().get(link.removeprefix("https://shop.example.cn"))
    assert page.status_code == 200


def test_an_order_is_asked_about_once_however_often_the_rule_runs(shop):
    customer = contactable(shop)
    order = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=2)))
    assert run(shop, DAY) == [(f"feedback:order:{order.pk}", "queued", "")]
    assert run(shop, DAY) == []
    assert run(shop, DAY + dt.timedelta(days=1)) == []
    assert Message.objects.filter(shop=shop, kind="feedback").count() == 1
    assert Survey.objects.filter(shop=shop, order=order).count() == 1


def test_without_consent_the_request_is_suppressed_once_and_makes_no_survey(shop):
    customer = CustomerFactory(shop=shop, name="李雷", gender="male")  # no consent recorded
    OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=1)))
    assert run(shop, DAY)[0][1:] == ("suppressed", "no_consent")
    assert run(shop, DAY + dt.timedelta(days=1)) == []
    assert not Survey.objects.filter(shop=shop).exists()


def test_in_quiet_hours_the_request_waits_for_the_morning(shop):
    customer = contactable(shop)
    OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=1)))
    assert run(shop, DAY, hour=22)[0][1] == "queued"
    message = Message.objects.get(shop=shop, kind="feedback")
    assert message.next_attempt_at == dt.datetime(2026, 11, 24, 9, 0, tzinfo=SHANGHAI)


def test_held_back_by_the_daily_cap_it_goes_the_next_day(shop):
    customer = contactable(shop, birth_month=DAY.month, birth_day=DAY.day)
    order = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=1)))
    assert run(shop, DAY) == [(f"feedback:order:{order.pk}", "suppressed", "daily_cap")]  # her birthday wins
    assert run(shop, DAY + dt.timedelta(days=1)) == [(f"feedback:order:{order.pk}", "queued", "")]


def test_a_shipped_order_is_asked_about_after_its_recorded_delivery_only(shop):
    customer = contactable(shop)
    shipped = OrderFactory(shop=shop, customer=customer, status=OrderStatus.SHIPPED,
                           ordered_at=at(DAY - dt.timedelta(days=5)))
    assert run(shop, DAY) == []  # shipped, delivery unknown
    record_shipment(shop=shop, order=shipped, shipped_at=at(DAY - dt.timedelta(days=4)),
                    delivered_at=at(DAY, hour=8))
    assert run(shop, DAY) == []  # delivered today: asked tomorrow
    assert run(shop, DAY + dt.timedelta(days=1)) == [(f"feedback:order:{shipped.pk}", "queued", "")]


def test_she_is_asked_about_her_latest_order_only_and_old_orders_never(shop):
    customer = contactable(shop)
    OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=30)))
    assert run(shop, DAY) == []  # delivered long ago: too late to ask
    OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=3)))
    latest = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=2)))
    assert run(shop, DAY) == [(f"feedback:order:{latest.pk}", "queued", "")]
    assert run(shop, DAY + dt.timedelta(days=5)) == []


def test_the_shop_can_switch_the_rule_off_or_widen_its_window(shop):
    customer = contactable(shop)
    order = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=20)))
    assert run(shop, DAY) == []
    set_rule(shop=shop, rule="feedback", enabled=False, params={"within_days": 30})
    assert run(shop, DAY) == []
    set_rule(shop=shop, rule="feedback", enabled=True, params={"within_days": 30})
    assert run(shop, DAY) == [(f"feedback:order:{order.pk}", "queued", "")]


def test_asking_for_an_orders_link_again_gives_the_same_open_survey(shop):
    customer = contactable(shop)
    order = OrderFactory(shop=shop, customer=customer, ordered_at=at(DAY - dt.timedelta(days=1)))
    first, _ = survey_for_order(shop=shop, order=order)
    again, token = survey_for_order(shop=shop, order=order)
    assert again.pk == first.pk and survey_from_token(token).pk == first.pk
    assert Survey.objects.filter(shop=shop, order=order).count() == 1
