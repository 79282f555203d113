"""API-wide rules: token auth, one JSON error shape for every bad request, public docs, GET /me."""

from __future__ import annotations

import pytest
from django.test import Client

from huitouke.core.models import ApiToken, Role
from huitouke.core.services import create_token, revoke_token
from huitouke.customers.models import Customer
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db




@pytest.mark.parametrize("url", ["/api/v1/customers", "/api/v1/orders", "/api/v1/products", "/api/v1/me"])
def test_missing_token_is_401(tenant_a, url):
    assert_error(Client().get(url), 401, "unauthorized")


def test_unknown_or_malformed_token_is_401(tenant_a):
    assert_error(client_for("htk_not-a-real-token").get("/api/v1/me"), 401, "unauthorized")
    assert_error(client_for("garbage").get("/api/v1/me"), 401, "unauthorized")
    assert_error(Client(HTTP_AUTHORIZATION=f"Token {tenant_a.token}").get("/api/v1/me"), 401, "unauthorized")


def test_revoked_token_is_401(tenant_a):
    token = ApiToken.objects.get(staff=tenant_a.owner)
    assert client_for(tenant_a.token).get("/api/v1/me").status_code == 200
    revoke_token(shop=tenant_a.shop, token_id=token.pk)
    assert_error(client_for(tenant_a.token).get("/api/v1/me"), 401, "unauthorized")


def test_token_of_deactivated_user_is_401(tenant_a):
    tenant_a.owner.user.is_active = False
    tenant_a.owner.user.save()
    assert_error(client_for(tenant_a.token).get("/api/v1/me"), 401, "unauthorized")


def test_missing_token_on_write_is_401_and_writes_nothing(tenant_a):
    response = Client().post("/api/v1/customers", {"name": "李雷", "phone": "13812345678"}, content_type=JSON)
    assert_error(response, 401, "unauthorized")
    assert not Customer.objects.exists()


def test_me_names_the_tokens_shop_staff_and_role(tenant_a):
    body = client_for(tenant_a.token).get("/api/v1/me").json()
    assert body["shop"] == {"slug": "shop-a", "name": "shop-a shop"}
    assert body["staff"]["username"] == "shop-a-owner"
    assert (body["staff"]["role"], body["staff"]["can_view_pii"]) == ("owner", True)
    assert tenant_a.token.startswith(body["token"]["prefix"])


def test_me_of_an_associate_cannot_view_pii(tenant_a):
    staff = StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE)
    _, token = create_token(staff=staff, name="till")
    body = client_for(token).get("/api/v1/me").json()
    assert (body["staff"]["role"], body["staff"]["can_view_pii"], body["token"]["name"]) == ("associate", False, "till")


def test_using_a_token_records_last_used_to_the_minute(tenant_a):
    import datetime as dt

    client = client_for(tenant_a.token)
    client.get("/api/v1/me")
    first = ApiToken.objects.get(staff=tenant_a.owner).last_used_at
    assert first is not None
    client.get("/api/v1/me")  # within the minute: no write
    assert ApiToken.objects.get(staff=tenant_a.owner).last_used_at == first
    earlier = first - dt.timedelta(minutes=2)
    ApiToken.objects.filter(staff=tenant_a.owner).update(last_used_at=earlier)
    client.get("/api/v1/me")
    assert ApiToken.objects.get(staff=tenant_a.owner).last_used_at > first


def test_a_revoked_token_or_a_deactivated_login_is_refused_at_once(tenant_a):
    from huitouke.core.services import revoke_token

    client = client_for(tenant_a.token)
    assert client.get("/api/v1/me").status_code == 200
    token = ApiToken.objects.get(staff=tenant_a.owner)
    revoke_token(shop=tenant_a.shop, token_id=token.pk)
    assert client.get("/api/v1/me").status_code == 401
    staff = StaffFactory(shop=tenant_a.shop, role=Role.ASSOCIATE)
    _, plain = create_token(staff=staff)
    assert client_for(plain).get("/api/v1/me").status_code == 200
    staff.user.is_active = False
    staff.user.save(update_fields=["is_active"])
    assert client_for(plain).get("/api/v1/me").status_code == 401


def test_docs_and_openapi_are_public(db):
    assert Client().get("/api/v1/docs").status_code == 200
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in ("/api/v1/customers", "/api/v1/customers/{customer_id}", "/api/v1/customers/{customer_id}/export",
                 "/api/v1/orders", "/api/v1/orders/{order_id}", "/api/v1/products", "/api/v1/me"):
        assert path in paths
    assert not any("{rest}" in path for path in paths)


def test_openapi_documents_money_as_strings(db):
    schemas = Client().get("/api/v1/openapi.json").json()["components"]["schemas"]
    assert schemas["OrderOut"]["properties"]["net_amount"]["type"] == "string"


def test_malformed_json_body_is_400_in_our_shape(tenant_a):
    response = client_for(tenant_a.token).post("/api/v1/customers", "{not json", content_type=JSON)
    assert_error(response, 400, "malformed_json")


def test_json_that_is_not_an_object_is_422(tenant_a):
    assert_error(client_for(tenant_a.token).post("/api/v1/customers", "[1, 2]", content_type=JSON), 422, "invalid")


def test_empty_body_is_422(tenant_a):
    assert_error(client_for(tenant_a.token).post("/api/v1/orders", "", content_type=JSON), 422, "invalid")


@pytest.mark.parametrize("url", ["/api/v1/nothing", "/api/v1/customers/1/nothing", "/api/v1/customers/"])
def test_unknown_api_path_is_404_json(tenant_a, url):
    assert_error(client_for(tenant_a.token).get(url), 404, "not_found")
    assert_error(Client().get(url), 404, "not_found")


@pytest.mark.parametrize(("method", "url", "allowed"), [
    ("delete", "/api/v1/me", "GET"),
    ("put", "/api/v1/customers", "GET, POST"),
])
def test_wrong_method_is_405_in_our_shape_and_names_the_allowed_ones(tenant_a, method, url, allowed):
    response = getattr(client_for(tenant_a.token), method)(url)
    assert_error(response, 405, "method_not_allowed")
    assert sorted(response["Allow"].split(", ")) == sorted(allowed.split(", "))
    assert allowed.split(", ")[0] in response.json()["message"]


def test_api_errors_stay_english_on_a_chinese_default_site(tenant_a):
    # The API is a contract for integrations: its messages do not change with the UI's language.
    response = client_for(tenant_a.token).post(
        "/api/v1/customers", {"name": "王芳", "phone": "138****5678"}, content_type=JSON,
    )
    assert_error(response, 422, "invalid", field="phone")
    assert response.json()["message"] == "a masked phone cannot register a customer; ask for the full number"
