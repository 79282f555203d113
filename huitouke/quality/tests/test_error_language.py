"""A refused quality action reads Chinese on the (default zh-hans) page and English through the API."""

from __future__ import annotations

import pytest
from django.test import Client

from huitouke.quality.models import CorrectiveAction
from huitouke.quality.tests.test_audits_api import payload
from huitouke.testing.api import JSON, assert_error, client_for

pytestmark = pytest.mark.django_db


def test_verifying_an_open_action_reads_chinese_on_the_store_page_and_english_in_the_api(setup):
    owners = client_for(setup.tenant.token)
    audit = owners.post("/api/v1/quality/audits", payload(setup), content_type=JSON).json()
    action_id = owners.post(f"/api/v1/quality/audits/{audit['id']}/actions", {
        "owner": setup.associate.pk, "description": "试衣间每小时检查一次", "due_date": "2025-03-15"},
        content_type=JSON).json()["id"]
    browser = Client()
    browser.force_login(setup.tenant.owner.user)
    page = browser.post(f"/quality/actions/{action_id}/status/", {"status": "verified"}, follow=True)
    assert page.status_code == 200
    assert "只有已完成的整改项才能验收" in page.content.decode()
    refused = owners.post(f"/api/v1/quality/actions/{action_id}/status", {"status": "verified"},
                          content_type=JSON, HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert assert_error(refused, 422, "invalid", "status")["message"] == "only a done action can be verified"
    assert CorrectiveAction.objects.get().status == "open"
