"""The associate's audit score on duty and her customers' satisfaction appear on the team page (/care/team/),
through engagement's team-measure extension point."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.test import Client

from huitouke.core.timeutil import SHANGHAI
from huitouke.quality.services import audits, satisfaction
from huitouke.quality.services.audits import AnswerInput, AuditInput
from huitouke.quality.services.satisfaction import Answer
from huitouke.quality.tests.conftest import full_answers
from huitouke.testing.factories import TEST_PASSWORD, CustomerFactory, OrderFactory

pytestmark = pytest.mark.django_db


def visit(setup, value: str) -> None:
    answers = [AnswerInput(item=a["item"], value=a["value"])
               for a in full_answers(setup.tenant.shop, "offline-boutique", value)]
    audits.submit_audit(shop=setup.tenant.shop, auditor=setup.auditor, data=AuditInput(
        store_id=setup.boutique.pk, template_key="offline-boutique", answers=answers,
        visited_at=dt.datetime(2025, 3, 8, 15, tzinfo=SHANGHAI), associate_id=setup.associate.pk))


def rated(setup, answer: Answer) -> None:
    customer = CustomerFactory(shop=setup.tenant.shop)
    order = OrderFactory(shop=setup.tenant.shop, store=setup.online, customer=customer)
    _, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order, associate=setup.associate)
    satisfaction.answer_survey(token=token, answer=answer)


def cells(html: str, staff_id: int) -> list[str]:
    row = re.search(rf'<tr data-staff="{staff_id}">(.*?)</tr>', html, re.S).group(1)
    return [re.sub(r"<[^>]+>", "", cell).strip() for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]


def logged_in(username: str) -> Client:
    browser = Client()
    assert browser.login(username=username, password=TEST_PASSWORD)
    return browser


def test_the_manager_sees_each_associates_audit_score_and_satisfaction(setup):
    visit(setup, "max")
    visit(setup, "min")  # 100 and 0: 50 on average
    rated(setup, Answer(goods_stars=5, service_stars=4, delivery_stars=5, recommend=9))
    rated(setup, Answer(goods_stars=2, service_stars=5, delivery_stars=5, recommend=6))
    html = logged_in("shop-a-owner").get("/care/team/").content.decode()
    assert re.search(r"<th[^>]*>当班暗访得分</th><th[^>]*>CSAT</th><th[^>]*>NPS</th>", html)
    # 6 star ratings, 5 of them 4 or 5 stars: CSAT 83.3%; one promoter, one detractor of two: NPS 0
    assert cells(html, setup.associate.pk)[7:10] == ["50", "83.3%", "0"]
    assert f'href="/quality/associates/{setup.associate.pk}/"' in html
    assert cells(html, setup.tenant.owner.pk)[7:10] == ["—", "—", "—"]


def test_the_associate_sees_her_own_measures(setup):
    visit(setup, "max")
    html = logged_in("shop-a-associate").get("/care/team/").content.decode()
    mine = html[html.index('data-testid="my-figures"'):]
    assert re.search(r'data-measure="当班暗访得分">.*?>100<.*?>1 次暗访<', mine, re.S)
    assert re.search(r'data-measure="CSAT">.*?>—<.*?>0 份回答<', mine, re.S)
    assert 'data-testid="team-figures"' not in html
