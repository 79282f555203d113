"""The till API: verify and record with idempotency keys; a merchant login sees and acts for its own merchant
only (another's rows are 404); refusals and lockouts in the one error shape."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.models import Role
from huitouke.core.services import create_token
from huitouke.platform.models import BalanceEntry, Merchant, Verification
from huitouke.platform.services import actors
from huitouke.platform.services import balance as balance_service
from huitouke.platform.services import verification as verification_service
from huitouke.platform.tests.helpers import signed
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db
PHONE = "13812345678"


def login_for(shop, merchant, name):
    staff = StaffFactory(shop=shop, user__username=name, role=Role.ASSOCIATE)
    actors.link_login(shop=shop, merchant=merchant, staff=staff)
    return client_for(create_token(staff=staff)[1])


@pytest.fixture
def setup(tenant_a):
    shop = tenant_a.shop
    valid = {"valid_from": dt.date(2026, 1, 1), "valid_until": dt.date(2099, 12, 31)}
    a, b = signed(shop, "A店", **valid), signed(shop, "B店", **valid)
    actors.record_group_buy(shop=shop, merchant=a, phone=PHONE, day=dt.date(2026, 2, 1))
    return tenant_a, a, b, login_for(shop, a, "till-a"), login_for(shop, b, "till-b")


def post(client, path, body, key=None):
    extra = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post(f"/api/v1/platform{path}", body, content_type=JSON, **extra)


def test_a_till_verifies_and_records_once_per_idempotency_key(setup):
    _, a, _, till_a, _ = setup
    checked = post(till_a, "/verify", {"phone": PHONE})
    assert checked.status_code == 200, checked.content
    body = checked.json()
    assert body["eligible"] and body["member"] == "138****5678" and body["discount_rate"] == "0.8500"
    payload = {"phone": PHONE, "amount": "88.80", "verification_id": body["verification_id"]}
    first = post(till_a, "/consumptions", payload, key="till-1")
    assert first.status_code == 201, first.content
    assert (first.json()["amount"], first.json()["points"]) == ("88.80", 888)
    again = post(till_a, "/consumptions", payload, key="till-1")
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    assert_error(post(till_a, "/consumptions", payload), 422, "invalid", "Idempotency-Key")
    fixed = post(till_a, f"/consumptions/{first.json()['id']}/correct", {"amount": "80", "reason": "typo"}, key="fix")
    assert fixed.status_code == 200 and fixed.json()["reversal"]["amount"] == "-88.80"
    listed = till_a.get("/api/v1/platform/consumptions").json()
    assert listed["count"] == 3


def test_merchant_a_cannot_see_or_act_for_merchant_b(setup):
    _, a, b, till_a, till_b = setup
    recorded = post(till_a, "/consumptions", {"phone": PHONE, "amount": "10"}, key="k").json()
    assert_error(till_b.get(f"/api/v1/platform/balance?merchant_id={a.pk}"), 404, "not_found", "merchant")
    assert_error(post(till_b, "/verify", {"phone": PHONE, "merchant_id": a.pk}), 404, "not_found", "merchant")
    assert till_b.get("/api/v1/platform/consumptions").json()["count"] == 0
    assert_error(post(till_b, f"/consumptions/{recorded['id']}/correct", {"reason": "x"}, key="z"), 404, "not_found",
                 "consumption")
    assert till_b.get("/api/v1/platform/balance").json()["merchant"] == "B店"
    refused = post(till_b, "/consumptions", {"phone": PHONE, "amount": "10"}, key="k")
    assert_error(refused, 409, "no_group_buy")


def test_operator_staff_name_the_merchant_and_issue_member_qr_codes(setup):
    tenant, a, _, till_a, _ = setup
    operator = client_for(tenant.token)
    assert_error(post(operator, "/verify", {"phone": PHONE}), 422, "invalid", "merchant_id")
    issued = post(operator, "/members/qr", {"phone": PHONE})
    assert issued.status_code == 200 and issued.json()["svg"].startswith("<svg")
    scanned = post(till_a, "/verify", {"method": "qr", "token": issued.json()["token"]})
    assert scanned.json()["eligible"] and scanned.json()["member"] == "138****5678"
    assert_error(post(till_a, "/members/qr", {"phone": PHONE}), 403, "forbidden")
    assert operator.get(f"/api/v1/platform/balance?merchant_id={a.pk}").json()["balance"] == "5000.00"


def test_enumeration_lockout_answers_429_and_is_logged(setup, monkeypatch):
    _, _, _, till_a, _ = setup
    for index in range(verification_service.MAX_MISSES):
        assert post(till_a, "/verify", {"phone": f"1391234{index:04d}"}).json()["outcome"] == "not_member"
    assert_error(post(till_a, "/verify", {"phone": PHONE}), 429, "throttled")
    assert Verification.objects.filter(outcome="locked").count() == 1


def test_a_merchant_downloads_its_own_statement_as_csv_and_not_anothers(setup):
    from huitouke.platform.services import consumption, statements
    from huitouke.platform.tests.helpers import at

    tenant, a, b, till_a, till_b = setup
    consumption.record_consumption(shop=tenant.shop, merchant=a, phone=PHONE, amount="100", idempotency_key="s",
                                   completed_at=at(2026, 3, 3), now=at(2026, 3, 3))
    statement = statements.issue_statement(shop=tenant.shop, merchant=a, month=dt.date(2026, 3, 1), now=at(2026, 4, 1))
    listed = till_a.get("/api/v1/platform/statements").json()
    assert [(s["month"], s["commission"]) for s in listed] == [("2026-03", "5.00")]
    download = till_a.get(f"/api/v1/platform/statements/{statement.pk}.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    assert "138****5678" in download.content.decode() and PHONE not in download.content.decode()
    assert_error(till_b.get(f"/api/v1/platform/statements/{statement.pk}.csv"), 404, "not_found", "statement")


SIGNING = {"name": "老李烧烤", "stores": ["三里屯店"], "discount_rate": "0.88", "valid_until": "2099-12-31",
           "commission_rate": "0.06"}


def test_the_operator_signs_a_merchant_once_per_idempotency_key(setup):
    tenant, *_ = setup
    operator = client_for(tenant.token)
    first = post(operator, "/merchants", SIGNING, key="sign-1")
    assert first.status_code == 201
    body = first.json()
    assert (body["name"], body["stores"], body["balance"], body["agreement_version"]) == (
        "老李烧烤", ["三里屯店"], "5000.00", 1)
    again = post(operator, "/merchants", SIGNING, key="sign-1")
    assert again.status_code == 200 and again.json()["merchant_id"] == body["merchant_id"]
    assert_error(post(operator, "/merchants", {**SIGNING, "name": "别的店"}, key="sign-1"), 409, "conflict",
                 "idempotency_key")
    assert_error(post(operator, "/merchants", SIGNING, key="sign-2"), 409, "conflict", "name")  # the name is taken
    assert BalanceEntry.objects.filter(merchant_id=body["merchant_id"]).count() == 1


def test_bad_signings_are_refused_whole(setup):
    tenant, *_ = setup
    operator = client_for(tenant.token)
    assert_error(post(operator, "/merchants", SIGNING), 422, "invalid", "Idempotency-Key")
    assert_error(post(operator, "/merchants", {**SIGNING, "deposit": "4999.99"}, key="d"), 422, "invalid", "deposit")
    assert_error(post(operator, "/merchants", {**SIGNING, "discount_rate": "1.5"}, key="r"), 422, "invalid",
                 "discount_rate")
    assert not Merchant.objects.filter(name="老李烧烤").exists()


def test_the_operator_records_a_top_up_once_and_it_lifts_a_balance_suspension(setup):
    tenant, a, *_ = setup
    operator = client_for(tenant.token)
    Merchant.objects.filter(pk=a.pk).update(status=Merchant.Status.SUSPENDED, balance="100.00",
                                            suspended_reason=balance_service.SUSPENDED_FOR_BALANCE,
                                            topup_deadline=dt.date(2026, 1, 1))
    first = post(operator, f"/merchants/{a.pk}/topups", {"amount": "5000"}, key="bank-77")
    assert first.status_code == 201 and first.json()["status"] == "active"
    again = post(operator, f"/merchants/{a.pk}/topups", {"amount": "5000"}, key="bank-77")
    assert again.status_code == 200 and again.json()["entry_id"] == first.json()["entry_id"]
    assert_error(post(operator, f"/merchants/{a.pk}/topups", {"amount": "4999"}, key="bank-78"), 422, "invalid",
                 "amount")
    assert_error(post(operator, "/merchants/999999/topups", {"amount": "5000"}, key="bank-79"), 404, "not_found",
                 "merchant")
    assert BalanceEntry.objects.filter(merchant=a, kind="topup").count() == 1


def test_merchants_and_plain_staff_cannot_sign_or_top_up(setup):
    tenant, a, b, till_a, _ = setup
    assert_error(post(till_a, "/merchants", SIGNING, key="m1"), 404, "not_found", None)
    assert_error(post(till_a, f"/merchants/{a.pk}/topups", {"amount": "5000"}, key="m2"), 404, "not_found", None)
    associate = StaffFactory(shop=tenant.shop, user__username="cashier", role=Role.ASSOCIATE)
    plain = client_for(create_token(staff=associate)[1])
    assert_error(post(plain, f"/merchants/{a.pk}/topups", {"amount": "5000"}, key="m3"), 403, "forbidden", None)
    assert not BalanceEntry.objects.filter(kind="topup").exists()
