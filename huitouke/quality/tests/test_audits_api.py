"""Audits over the API: submit from a phone with photos, the auditor's stores only, clear 4xx."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from huitouke.quality.models import Audit, AuditPhoto, CorrectiveAction
from huitouke.quality.services import audits
from huitouke.quality.tests.conftest import full_answers, png_bytes
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import TEST_PASSWORD
from huitouke.testing.fixtures import make_tenant

pytestmark = pytest.mark.django_db


def payload(setup, at=None, **overrides) -> dict:
    return {
        "store": (at or setup.boutique).pk, "template": "offline-boutique", "visited_at": "2025-03-08T15:30:00+08:00",
        "associate": setup.associate.pk, "notes": "周六下午，店里两位顾客",
        "answers": full_answers(setup.tenant.shop, "offline-boutique"), **overrides,
    }


def submit(token: str, body: dict, files: list | None = None):
    data = {"payload": json.dumps(body, ensure_ascii=False)}
    if files:
        data["photos"] = files
    return client_for(token).post("/api/v1/quality/audits", data)


def test_auditor_submits_from_a_phone_with_photos(setup):
    photo = SimpleUploadedFile("fitting.png", png_bytes(), content_type="image/png")
    body = payload(setup, photo_items=["fitting_room_photo"])
    response = submit(setup.auditor_token, body, [photo])
    assert response.status_code == 201, response.content
    data = response.json()
    assert data["score"] == 100.0
    assert data["store_id"] == setup.boutique.pk and data["associate_id"] == setup.associate.pk
    assert data["photos"] == [{"id": data["photos"][0]["id"], "item": "fitting_room_photo",
                               "content_type": "image/png", "size": len(png_bytes()), "width": 40, "height": 30}]
    stored = AuditPhoto.objects.get()
    assert stored.file.read() == png_bytes()


def test_json_body_without_photos_is_accepted(setup):
    response = client_for(setup.tenant.token).post("/api/v1/quality/audits", payload(setup), content_type=JSON)
    assert response.status_code == 201, response.content


def test_auditor_gets_404_for_another_stores_audit(setup):
    owners = client_for(setup.tenant.token)
    other = owners.post("/api/v1/quality/audits", payload(setup, at=setup.online, template="online-shop",
                                                           answers=full_answers(setup.tenant.shop, "online-shop")),
                        content_type=JSON)
    assert other.status_code == 201, other.content
    auditor = client_for(setup.auditor_token)
    assert_error(auditor.get(f"/api/v1/quality/audits/{other.json()['id']}"), 404, "not_found")
    assert auditor.get("/api/v1/quality/audits").json()["page"]["count"] == 0
    # nor may it submit one there: the store does not exist for it
    refused = submit(setup.auditor_token, payload(setup, at=setup.online, template="online-shop",
                                                  answers=full_answers(setup.tenant.shop, "online-shop")))
    assert_error(refused, 404, "not_found", "store")
    # its own store's audits it sees
    own = submit(setup.auditor_token, payload(setup))
    assert auditor.get(f"/api/v1/quality/audits/{own.json()['id']}").status_code == 200


def test_auditor_token_reaches_nothing_else(setup):
    auditor = client_for(setup.auditor_token)
    for path in ("/api/v1/customers", "/api/v1/orders", "/api/v1/quality/report", "/api/v1/quality/refund-reasons?order=1"):
        assert_error(auditor.get(path), 403, "forbidden")
    assert auditor.get("/api/v1/me").status_code == 200


def test_auditor_in_the_web_app_sees_only_its_audits(setup):
    owners = client_for(setup.tenant.token)
    other = owners.post("/api/v1/quality/audits", payload(setup, at=setup.online, template="online-shop",
                                                           answers=full_answers(setup.tenant.shop, "online-shop")),
                        content_type=JSON).json()
    browser = Client()
    assert browser.login(username="shop-a-auditor", password=TEST_PASSWORD)
    assert browser.get("/").url == "/quality/audits/"
    assert browser.get("/customers/").status_code == 302
    assert browser.get(f"/quality/audits/{other['id']}/").status_code == 404
    assert browser.get(f"/quality/stores/{setup.online.pk}/").status_code == 302
    page = browser.get("/quality/audits/")
    assert page.status_code == 200
    assert setup.online.name not in page.content.decode()
    assert browser.get(f"/quality/audits/new/?store={setup.online.pk}").status_code == 404


def test_another_shops_store_is_unknown(setup):
    other = make_tenant("shop-b")
    response = client_for(setup.tenant.token).post("/api/v1/quality/audits", payload(setup, at=other.store),
                                                   content_type=JSON)
    assert_error(response, 404, "not_found", "store")


@pytest.mark.parametrize(("change", "field"), [
    ({"answers": [{"item": "greeting", "value": 7}]}, "answers[0].value"),
    ({"store": 0}, "store"),
    ({"template": "nope"}, "template"),
    ({"visited_at": "2999-01-01T10:00:00+08:00"}, "visited_at"),
    ({"answers": [{"item": "greeting", "value": 1, "bogus": 1}]}, "answers[0].bogus"),
])
def test_bad_audits_are_4xx_with_the_error_shape(setup, change, field):
    body = payload(setup, **change)
    response = client_for(setup.tenant.token).post("/api/v1/quality/audits", body, content_type=JSON)
    assert response.status_code in (404, 422)
    assert_error(response, response.status_code, response.json()["code"], field)


def test_score_out_of_range_is_422(setup):
    answers = full_answers(setup.tenant.shop, "offline-boutique")
    answers[1]["value"] = 5  # no_pressure is 0–4
    response = submit(setup.tenant.token, payload(setup, answers=answers))
    assert_error(response, 422, "invalid", "answers[1].value")
    assert not Audit.objects.exists()


def test_a_photo_that_is_not_an_image_is_422(setup):
    fake = SimpleUploadedFile("photo.jpg", b"GIF89a? no, just text", content_type="image/jpeg")
    response = submit(setup.tenant.token, payload(setup), [fake])
    assert_error(response, 422, "not_an_image", "photos[0]")
    assert not Audit.objects.exists() and not AuditPhoto.objects.exists()


def test_a_photo_too_big_is_413(setup, monkeypatch):
    monkeypatch.setattr(audits, "MAX_PHOTO_BYTES", 100)
    big = SimpleUploadedFile("big.png", png_bytes((200, 200)), content_type="image/png")
    response = submit(setup.tenant.token, payload(setup), [big])
    assert_error(response, 413, "too_large", "photos[0]")
    assert not Audit.objects.exists()


def test_payload_that_is_not_json_is_4xx(setup):
    response = client_for(setup.tenant.token).post("/api/v1/quality/audits", {"payload": "{nope"})
    assert_error(response, 422, "malformed_json", "payload")


def test_corrective_action_open_done_verified(setup):
    owners = client_for(setup.tenant.token)
    audit = owners.post("/api/v1/quality/audits", payload(setup), content_type=JSON).json()
    created = owners.post(f"/api/v1/quality/audits/{audit['id']}/actions", {
        "owner": setup.associate.pk, "description": "试衣间每小时检查一次", "due_date": "2025-03-15"},
        content_type=JSON)
    assert created.status_code == 201, created.content
    action_id = created.json()["id"]
    assert_error(owners.post(f"/api/v1/quality/actions/{action_id}/status", {"status": "verified"},
                             content_type=JSON), 422, "invalid", "status")
    assert owners.post(f"/api/v1/quality/actions/{action_id}/status", {"status": "done"},
                       content_type=JSON).json()["status"] == "done"
    assert owners.post(f"/api/v1/quality/actions/{action_id}/status", {"status": "verified"},
                       content_type=JSON).json()["status"] == "verified"
    assert CorrectiveAction.objects.get().verified_by == setup.tenant.owner
    # the auditor cannot assign work
    refused = client_for(setup.auditor_token).post(f"/api/v1/quality/audits/{audit['id']}/actions", {
        "owner": setup.associate.pk, "description": "x", "due_date": "2025-03-15"}, content_type=JSON)
    assert_error(refused, 403, "forbidden")
