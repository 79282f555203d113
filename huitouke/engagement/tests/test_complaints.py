"""Complaints: filing (staff service, API, the customer's signed link), the nine steps, same-day acknowledgement
and 3-day resolution with overdue flags, compensation by coupon or gift, the timeline and export, tenancy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core import signing
from django.test import Client

from huitouke.core.errors import Conflict, Invalid
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.extensions import export_sections_for, timeline_for
from huitouke.engagement import selectors
from huitouke.engagement.models import Complaint, FollowUpTask
from huitouke.engagement.services import complaints
from huitouke.loyalty.services import coupons, gifts
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, StaffFactory

RECEIVED = dt.datetime(2026, 5, 20, 15, 0, tzinfo=SHANGHAI)


def hours(n: float) -> dt.datetime:
    return RECEIVED + dt.timedelta(hours=n)


def test_deadlines_steps_and_the_follow_up_call(shop):
    lin = StaffFactory(shop=shop, display_name="小林")
    customer = CustomerFactory(shop=shop, registered_by=lin)
    complaint = complaints.file_complaint(shop=shop, customer=customer, description="裙子起球了", route="region",
                                          region="华东", now=RECEIVED)
    assert complaints.overdue_flags(complaint, now=hours(8.9)) == []  # 23:54 the same day
    assert complaints.overdue_flags(complaint, now=hours(9)) == ["acknowledgement"]  # midnight in Shanghai
    assert complaints.overdue_flags(complaint, now=hours(72)) == ["acknowledgement", "resolution"]

    complaints.record_step(shop=shop, complaint_id=complaint.pk, step="listen", by=lin, note="电话里听她说完",
                           now=hours(1))
    complaint.refresh_from_db()
    assert complaint.acknowledged_at == hours(1)
    assert complaints.overdue_flags(complaint, now=hours(72)) == ["resolution"]
    assert [(o.pk, flags) for o, flags in selectors.overdue_complaints(shop=shop, now=hours(72))] == [
        (complaint.pk, ["resolution"])]

    complaints.record_step(shop=shop, complaint_id=complaint.pk, step="confirm", by=lin, note="她满意", now=hours(30))
    complaint.refresh_from_db()
    assert complaint.resolved_at == hours(30)
    assert complaints.overdue_flags(complaint, now=hours(100)) == []
    [task] = FollowUpTask.objects.all()
    assert (task.kind, task.owner, task.due_on, task.source, task.title) == (
        "call", lin, dt.date(2026, 5, 28), "complaint", f"投诉回访（#{complaint.pk}）")
    steps = [(s["step"], s["record"] is not None) for s in selectors.steps_in_order(complaint)]
    assert steps == [("listen", True), ("talk", False), ("apologise", False), ("analyse", False), ("explain", False),
                     ("handle", False), ("compensate", False), ("confirm", True), ("follow_up", False)]
    with pytest.raises(Invalid):
        complaints.record_step(shop=shop, complaint_id=complaint.pk, step="shrug", by=lin)


def test_bad_filings_are_refused(shop):
    customer = CustomerFactory(shop=shop)
    with pytest.raises(Invalid, match="region"):
        complaints.file_complaint(shop=shop, customer=customer, description="x", route="region")
    with pytest.raises(Invalid, match="what happened"):
        complaints.file_complaint(shop=shop, customer=customer, description="  ")


def test_compensation_by_coupon_once_or_by_gift(shop):
    customer = CustomerFactory(shop=shop)
    template = coupons.create_template(shop=shop, data=coupons.TemplateInput(name="无门槛20元", kind="amount_off",
                                                                           value=20))
    complaint = complaints.file_complaint(shop=shop, customer=customer, description="发错货", now=RECEIVED)
    done = complaints.compensate(shop=shop, complaint_id=complaint.pk, by=None, coupon_template_id=template.pk,
                                 note="致歉", now=hours(2))
    assert done.coupon.customer_id == customer.pk and done.coupon.issue_key == f"complaint:{complaint.pk}"
    [step] = done.steps.all()
    assert (step.step, step.note) == ("compensate", f"优惠券 无门槛20元（{done.coupon.code}）：致歉")
    assert done.acknowledged_at == hours(2)
    with pytest.raises(Conflict):
        complaints.compensate(shop=shop, complaint_id=complaint.pk, by=None, coupon_template_id=template.pk)
    gift = gifts.create_gift(shop=shop, name="真丝发圈", stock=5)
    other = complaints.file_complaint(shop=shop, customer=customer, description="慢", now=RECEIVED)
    assert complaints.compensate(shop=shop, complaint_id=other.pk, by=None, gift_id=gift.pk).gift == gift
    gift.refresh_from_db()
    assert gift.stock == 4  # taken from stock
    gift.stock = 0
    gift.save()
    third = complaints.file_complaint(shop=shop, customer=customer, description="又慢", now=RECEIVED)
    with pytest.raises(Conflict, match="out of stock"):
        complaints.compensate(shop=shop, complaint_id=third.pk, by=None, gift_id=gift.pk)
    with pytest.raises(Invalid):
        complaints.compensate(shop=shop, complaint_id=other.pk, by=None)


def test_timeline_and_export_hold_the_complaint(shop):
    customer = CustomerFactory(shop=shop)
    complaint = complaints.file_complaint(shop=shop, customer=customer, description="裙子起球了", now=RECEIVED)
    complaints.record_step(shop=shop, complaint_id=complaint.pk, step="apologise", by=None, note="道歉",
                           now=hours(1))
    [entry] = [e for e in timeline_for(shop=shop, customer=customer) if e.kind == "complaint"]
    assert (entry.at, entry.detail["description"], entry.detail["resolved"]) == (RECEIVED, "裙子起球了", False)
    [exported] = export_sections_for(shop=shop, customer=customer)["complaints"]
    assert (exported["id"], exported["route"], [s["step"] for s in exported["steps"]]) == (
        complaint.pk, "head_office", ["apologise"])


def test_customer_link_files_a_complaint_and_forged_or_expired_links_are_404(shop):
    customer = CustomerFactory(shop=shop, name="王小芳")
    token = complaints.complaint_token(customer)
    client = Client()
    page = client.get(f"/feedback/{token}/")
    assert page.status_code == 200 and "王小芳" not in page.content.decode()
    response = client.post(f"/feedback/{token}/", {"description": "快递盒压坏了", "route": "head_office"})
    assert response.status_code == 200
    [complaint] = Complaint.objects.all()
    assert (complaint.customer, complaint.via, complaint.description) == (customer, "link", "快递盒压坏了")
    assert f"{complaint.pk}" in response.content.decode()

    forged = signing.dumps([shop.pk, customer.pk + 1], salt="another-salt", compress=True)
    assert client.get(f"/feedback/{forged}/").status_code == 404
    assert client.get(f"/feedback/{token[:-2]}xx/").status_code == 404
    assert complaints.customer_from_token(token, max_age=-1) is None  # expired
    old = signing.TimestampSigner(salt=complaints.LINK_SALT)
    assert old.unsign_object(token) == [shop.pk, customer.pk]  # the token is (shop, customer) and nothing else


def test_an_expired_link_is_404_through_the_view(shop, monkeypatch):
    token = complaints.complaint_token(CustomerFactory(shop=shop))
    monkeypatch.setattr(complaints, "LINK_MAX_AGE", -1)
    assert Client().get(f"/feedback/{token}/").status_code == 404


def test_complaints_api_errors_and_tenancy(tenant_a, tenant_b):
    customer = CustomerFactory(shop=tenant_a.shop)
    api = client_for(tenant_a.token)
    url = "/api/v1/engagement/complaints"
    response = api.post(url, {"customer_id": customer.pk, "description": "退款慢"}, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["route"], body["via"], body["acknowledged_at"], body["steps"]) == ("head_office", "api", None, [])
    stepped = api.post(f"{url}/{body['id']}/steps", {"step": "listen", "note": "已致电"}, content_type=JSON).json()
    assert [(s["step"], s["by"], s["note"]) for s in stepped["steps"]] == [
        ("listen", tenant_a.owner.display_name, "已致电")]
    assert stepped["acknowledged_at"] is not None
    assert_error(api.post(url, {"customer_id": customer.pk, "description": "x", "route": "region"},
                          content_type=JSON), 422, "invalid", "region")
    assert_error(api.post(f"{url}/{body['id']}/steps", {"step": "shrug"}, content_type=JSON), 422, "invalid",
                 "step")
    assert_error(api.post(f"{url}/{body['id']}/compensation", {}, content_type=JSON), 422, "invalid",
                 "coupon_template_id")
    assert_error(api.post(f"{url}/{body['id']}/compensation", {"gift_id": 999999}, content_type=JSON), 404,
                 "not_found", "gift_id")

    other = client_for(tenant_b.token)
    assert other.get(url).json()["count"] == 0
    assert_error(other.get(f"{url}/{body['id']}"), 404, "not_found")
    assert_error(other.post(f"{url}/{body['id']}/steps", {"step": "listen"}, content_type=JSON), 404, "not_found")
    assert_error(other.post(url, {"customer_id": customer.pk, "description": "x"}, content_type=JSON), 404,
                 "not_found", "customer")
    assert api.get(f"{url}?open=true").json()["count"] == 1
