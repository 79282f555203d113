"""Satisfaction: a signed link that cannot be forged, expires, answers once; low ratings fire the hook."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.test import Client
from django.utils import timezone

from huitouke.core.errors import Invalid
from huitouke.quality import extensions, selectors
from huitouke.quality.models import Survey
from huitouke.quality.services import satisfaction
from huitouke.quality.services.satisfaction import AlreadyAnswered, Answer, LinkRefused
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, OrderFactory, OrderLineFactory

pytestmark = pytest.mark.django_db

GOOD = Answer(goods_stars=5, service_stars=4, delivery_stars=5, recommend=9, comment="很好")


@pytest.fixture
def order(setup):
    customer = CustomerFactory(shop=setup.tenant.shop, name="王小芳")
    order = OrderFactory(shop=setup.tenant.shop, store=setup.online, customer=customer)
    OrderLineFactory(order=order, sku="DRESS", title="真丝连衣裙")
    return order


@pytest.fixture
def heard():
    calls = []
    extensions.register_low_rating_listener("test", lambda *, shop, survey: calls.append((shop, survey.pk)))
    yield calls
    extensions.unregister_low_rating_listener("test")


def test_a_forged_link_is_refused(setup, order):
    survey, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order)
    tampered = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    with pytest.raises(LinkRefused):
        satisfaction.survey_from_token(tampered)
    other_salt = signing.dumps([survey.shop_id, survey.pk, survey.nonce])
    with pytest.raises(LinkRefused):
        satisfaction.survey_from_token(other_salt)
    assert Client().get(f"/s/{tampered}/").status_code == 404
    response = Client().post(f"/api/v1/quality/satisfaction/respond/{tampered}", {
        "goods_stars": 5, "service_stars": 5, "recommend": 10}, content_type=JSON)
    assert_error(response, 404, "not_found")


def test_an_expired_link_is_refused(setup, order):
    survey, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order)
    assert survey.expires_at - survey.created_at == dt.timedelta(days=30)
    Survey.objects.filter(pk=survey.pk).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    with pytest.raises(LinkRefused):
        satisfaction.answer_survey(token=token, answer=GOOD)
    assert Client().get(f"/s/{token}/").status_code == 404


def test_a_link_answers_once(setup, order):
    _, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order)
    page = Client().get(f"/s/{token}/")
    assert page.status_code == 200 and page["Referrer-Policy"] == "same-origin"
    assert "王小芳" not in page.content.decode()
    answered = Client().post(f"/s/{token}/", {"goods_stars": "5", "service_stars": "4", "delivery_stars": "5",
                                               "recommend": "9", "comment": "很好"})
    assert answered.status_code == 200
    assert 'data-testid="survey-thanks"' in answered.content.decode()
    again = Client().post(f"/s/{token}/", {"goods_stars": "1", "service_stars": "1", "delivery_stars": "1",
                                            "recommend": "0"})
    assert again.status_code == 409
    with pytest.raises(AlreadyAnswered):
        satisfaction.answer_survey(token=token, answer=GOOD)
    api = Client().post(f"/api/v1/quality/satisfaction/respond/{token}", {
        "goods_stars": 5, "service_stars": 5, "recommend": 10}, content_type=JSON)
    assert_error(api, 409, "already_answered")
    survey = Survey.objects.get()
    assert (survey.goods_stars, survey.recommend, survey.needs_follow_up) == (5, 9, False)


@pytest.mark.parametrize("answer", [
    Answer(goods_stars=2, service_stars=5, delivery_stars=5, recommend=9),   # a 2-star
    Answer(goods_stars=5, service_stars=5, delivery_stars=1, recommend=10),  # delivery 1 star
    Answer(goods_stars=5, service_stars=5, delivery_stars=5, recommend=6),   # a detractor
])
def test_a_low_rating_is_flagged_and_fires_the_hook(setup, order, heard, answer):
    survey, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order, associate=setup.associate)
    satisfaction.answer_survey(token=token, answer=answer)
    survey.refresh_from_db()
    assert survey.needs_follow_up
    assert heard == [(setup.tenant.shop, survey.pk)]
    assert list(selectors.follow_ups(shop=setup.tenant.shop)) == [survey]


def test_a_good_rating_fires_nothing(setup, order, heard):
    _, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order)
    satisfaction.answer_survey(token=token, answer=Answer(goods_stars=3, service_stars=3, delivery_stars=3,
                                                          recommend=7))
    assert heard == []


@pytest.mark.parametrize(("post", "field"), [
    ({"goods_stars": 6, "service_stars": 5, "recommend": 9}, "goods_stars"),
    ({"goods_stars": 5, "service_stars": 0, "recommend": 9}, "service_stars"),
    ({"goods_stars": 5, "service_stars": 5, "recommend": 11}, "recommend"),
    ({"goods_stars": 5, "service_stars": 5}, "recommend"),
])
def test_ratings_out_of_range_are_422(setup, order, post, field):
    _, token = satisfaction.create_survey(shop=setup.tenant.shop, order=order)
    response = Client().post(f"/api/v1/quality/satisfaction/respond/{token}", post, content_type=JSON)
    assert_error(response, 422, "invalid", field)
    with pytest.raises(Invalid):
        satisfaction.answer_survey(token=token, answer=Answer(goods_stars=0, service_stars=5, delivery_stars=None,
                                                              recommend=5))


def test_csat_and_nps_per_store_associate_and_product(setup, order):
    shop = setup.tenant.shop
    answers = [
        Answer(goods_stars=5, service_stars=5, delivery_stars=4, recommend=10),  # 3 of 3 stars ≥ 4, promoter
        Answer(goods_stars=4, service_stars=2, delivery_stars=None, recommend=6),  # 1 of 2, detractor
        Answer(goods_stars=3, service_stars=4, delivery_stars=5, recommend=8),  # 2 of 3, passive
    ]
    for answer in answers:
        _, token = satisfaction.create_survey(shop=shop, order=order, associate=setup.associate)
        satisfaction.answer_survey(token=token, answer=answer)
    summary = selectors.satisfaction_breakdown(shop=shop)
    # CSAT = 6 of 8 star ratings are 4–5 = 75.0%; NPS = (1 promoter − 1 detractor) ÷ 3 = 0.0
    assert summary["shop"] == {"responses": 3, "csat": 75.0, "nps": 0.0}
    assert summary["associate"][0]["key"] == setup.associate.pk and summary["associate"][0]["csat"] == 75.0
    assert summary["product"] == [{"key": "DRESS", "name": "DRESS", "responses": 3, "csat": 75.0, "nps": 0.0}]
    assert summary["store"][0]["key"] == setup.online.pk
    listed = client_for(setup.tenant.token).get("/api/v1/quality/satisfaction/responses").json()
    assert listed["page"]["count"] == 3 and listed["summary"]["shop"]["csat"] == 75.0


def test_staff_make_a_link_over_the_api(setup, order):
    response = client_for(setup.tenant.token).post("/api/v1/quality/satisfaction/surveys", {"order": order.pk},
                                                   content_type=JSON)
    assert response.status_code == 201, response.content
    url = response.json()["url"]
    assert url.startswith("http://testserver/s/")
    assert Client().get(url.removeprefix("http://testserver")).status_code == 200
    assert_error(client_for(setup.tenant.token).post("/api/v1/quality/satisfaction/surveys", {"order": 999999},
                                                     content_type=JSON), 404, "not_found", "order")
