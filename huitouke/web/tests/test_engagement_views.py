"""Care pages: outbox, rules, preview with the tone check, tasks, team, complaints, campaigns, events, the 360
panel; roles and tenancy."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.models import Campaign, Complaint, FollowUpTask, Message, RuleSetting, VipEvent
from huitouke.engagement.services import complaints, followups
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.loyalty.services import coupons, programme

pytestmark = pytest.mark.django_db

NOON = dt.datetime(2026, 5, 20, 12, tzinfo=SHANGHAI)


def test_every_care_page_renders_for_the_owner(owner_client, data_a):
    enqueue_message(shop=data_a.tenant.shop, customer=data_a.li, rule="birthday", kind="birthday", channel="sms",
                    text="生日快乐", day=NOON.date(), now=NOON)  # no consent: suppressed with the reason
    for url in ("/care/", "/care/?status=suppressed", "/care/rules/", "/care/preview/", "/care/tasks/",
                "/care/tasks/?view=overdue", "/care/team/", "/care/complaints/", "/care/campaigns/", "/care/events/"):
        response = owner_client.get(url)
        assert response.status_code == 200, url
    body = owner_client.get("/care/?status=suppressed").content.decode()
    assert "李*" in body and "李雷" not in body  # masked in lists
    assert "该渠道未获同意" in body


def test_preview_highlights_the_words_the_tone_check_refuses(owner_client, data_a):
    response = owner_client.get("/care/preview/", {"customer_id": data_a.wang.pk, "kind": "season",
                                                   "template": "{称呼}，天凉了，新品八折"})
    body = response.content.decode()
    assert '<mark class="tone-problem"' in body and ">新品</mark>" in body
    assert "<mark>新品</mark> — 新品</li>" in body and "new arrivals" not in body  # the reason in Chinese
    ok = owner_client.get("/care/preview/", {"customer_id": data_a.wang.pk, "kind": "season",
                                             "template": "{称呼}，天凉了，注意添衣"}).content.decode()
    assert "tone-problem" not in ok and "王小芳，天凉了，注意添衣" in ok


def test_rules_page_switches_a_rule_and_associates_cannot(owner_client, tenant_a, client):
    response = owner_client.post("/care/rules/", {"rule": "big_purchase", "params": '{"min_amount": 3000}'})
    assert response.status_code == 302
    row = RuleSetting.objects.get(shop=tenant_a.shop, rule="big_purchase")
    assert (row.enabled, row.params) == (False, {"min_amount": 3000})
    bad = owner_client.post("/care/rules/", {"rule": "big_purchase", "enabled": "on", "params": "{nope"})
    assert "JSON" in bad.content.decode()


def test_associate_may_not_change_rules(associate_client):
    assert associate_client.post("/care/rules/", {"rule": "birthday", "params": "{}"}).status_code == 403


def test_tasks_page_adds_and_closes_with_an_outcome(owner_client, data_a):
    response = owner_client.post("/care/tasks/?view=open", {
        "task-customer_id": data_a.wang.pk, "task-kind": "call", "task-title": "回访真丝裙", "task-due_on": "2026-05-27"})
    assert response.status_code == 302
    task = FollowUpTask.objects.get()
    assert task.owner == data_a.tenant.owner  # she was registered by the owner
    missing = owner_client.post("/care/tasks/?view=open", {"task_id": "x", "outcome": "ok"}).content.decode()
    assert "找不到回访任务" in missing  # the page's language; the API keeps "task x not found"
    refused = owner_client.post("/care/tasks/?view=open", {"task_id": task.pk, "action": "done", "outcome": ""})
    assert "请记录回访结果" in refused.content.decode()
    owner_client.post("/care/tasks/?view=open", {"task_id": task.pk, "action": "done", "outcome": "很满意"})
    task.refresh_from_db()
    assert (task.status, task.outcome) == ("done", "很满意")
    team = owner_client.get("/care/team/").content.decode()
    assert 'data-testid="team-figures"' in team and 'data-testid="contest"' in team


def test_complaint_pages_file_step_compensate_and_other_shops_get_404(owner_client, data_a, data_b):
    shop = data_a.tenant.shop
    response = owner_client.post("/care/complaints/", {"customer_id": data_a.wang.pk, "description": "裙子起球",
                                                       "route": "region", "region": "华东"})
    complaint = Complaint.objects.get(shop=shop)
    assert response.status_code == 302 and response["Location"] == f"/care/complaints/{complaint.pk}/"
    owner_client.post(f"/care/complaints/{complaint.pk}/", {"step": "listen", "note": "听完了"})
    template = coupons.create_template(shop=shop, data=coupons.TemplateInput(name="补偿券", kind="amount_off", value=20))
    owner_client.post(f"/care/complaints/{complaint.pk}/", {"compensation": f"coupon:{template.pk}", "note": ""})
    complaint.refresh_from_db()
    assert complaint.acknowledged_at is not None and complaint.coupon is not None
    page = owner_client.get(f"/care/complaints/{complaint.pk}/").content.decode()
    assert "听完了" in page and complaint.coupon.code in page
    other = complaints.file_complaint(shop=data_b.tenant.shop, customer=data_b.wang, description="B 店的投诉")
    assert owner_client.get(f"/care/complaints/{other.pk}/").status_code == 404
    assert "B 店的投诉" not in owner_client.get("/care/complaints/?all=1").content.decode()
    followups.create_task(shop=data_b.tenant.shop, customer=data_b.wang, kind="call", title="B 店的任务",
                          due_on=NOON.date())
    assert "B 店的任务" not in owner_client.get("/care/tasks/?view=open").content.decode()


def test_campaign_pages_create_preview_and_send(owner_client, data_a):
    response = owner_client.post("/care/campaigns/", {
        "name": "夏装上新", "kind": "commercial", "channel": "sms", "template": "{称呼}，夏装到店。",
        "audience_kind": "list", "audience_value": f"{data_a.wang.pk}，{data_a.li.pk}", "holdout_percent": "0",
        "price_per_segment": "0.05"})
    campaign = Campaign.objects.get()
    assert response.status_code == 302 and campaign.audience_value == sorted([data_a.wang.pk, data_a.li.pk])
    page = owner_client.get(f"/care/campaigns/{campaign.pk}/").content.decode()
    assert 'data-testid="campaign-preview"' in page and "¥0.05" in page
    bad_time = owner_client.post(f"/care/campaigns/{campaign.pk}/", {"action": "schedule", "at": "tomorrow"})
    assert bad_time.status_code == 200 and Campaign.objects.get().status == "draft"
    owner_client.post(f"/care/campaigns/{campaign.pk}/", {"action": "send"})
    campaign.refresh_from_db()
    assert (campaign.status, campaign.queued_count, campaign.suppressed_count) == ("sent", 1, 1)
    assert Message.objects.filter(rule=f"campaign:{campaign.pk}").count() == 2
    assert 'data-testid="campaign-results"' in owner_client.get(f"/care/campaigns/{campaign.pk}/").content.decode()


def test_event_pages_plan_invite_and_warn(owner_client, data_a):
    shop = data_a.tenant.shop
    tiers = programme.ladder(shop=shop)
    programme.membership_of(shop=shop, customer=data_a.wang)
    response = owner_client.post("/care/events/", {"title": "会员日", "starts_on": "2026-06-01", "place": "店内",
                                                   "tier_ids": [tiers[0].pk]})
    event = VipEvent.objects.get()
    assert response.status_code == 302
    owner_client.post(f"/care/events/{event.pk}/", {"action": "invite"})
    owner_client.post(f"/care/events/{event.pk}/", {"action": "yes", "customer_id": data_a.wang.pk})
    assert event.invitations.get().rsvp == "yes"
    assert 'data-testid="events-warning"' in owner_client.get("/care/events/?year=2026").content.decode()


def test_customer_360_shows_the_care_panel_with_her_complaint_link(owner_client, data_a):
    followups.create_task(shop=data_a.tenant.shop, customer=data_a.wang, kind="call", title="回访真丝裙",
                          due_on=NOON.date())
    body = owner_client.get(f"/customers/{data_a.wang.pk}/").content.decode()
    assert 'data-testid="engagement-panel"' in body and "回访真丝裙" in body
    # The token is signed with the time, so compare whom it names, not its text (a second may tick over).
    token = re.search(r'href="/feedback/([^"/]+)/"', body).group(1)
    assert complaints.customer_from_token(token) == data_a.wang
