"""Campaigns: audiences, the set-based policy equals the per-message one, preview (count, samples, segments, cost,
suppressions), schedule → send into the outbox with a hold-out group, results with the honest uplift; API errors
and tenancy."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.db import transaction

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer
from huitouke.customers.services import record_consent, set_tags
from huitouke.engagement import policy, selectors
from huitouke.engagement.models import CampaignMember, Message
from huitouke.engagement.policy import decide, decide_many
from huitouke.engagement.services import campaigns
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.preview import preview_text
from huitouke.engagement.tests.conftest import NOON, contactable
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, OrderFactory, StaffFactory

TEXT = "{称呼}，春装上新，会员满300减50。"
NAMES = ["王芳", "李娜", "张敏", "刘洋", "陈静", "杨丽", "黄蓉", "周洁", "吴倩", "郑爽"]


def mixed_audience(shop):
    """Ten customers: 7 reachable, one without consent, one opted out, one do-not-contact."""
    ok = [contactable(shop, name=NAMES[i]) for i in range(7)]
    no_consent = contactable(shop, name="李雷", channels=())
    opted_out = contactable(shop, name="韩梅梅")
    record_consent(shop=shop, customer=opted_out, channel="sms", granted=False, source="SMS reply “T”",
                   at=NOON - dt.timedelta(days=1))
    dnc = contactable(shop, name="赵六", do_not_contact=True)
    return ok, no_consent, opted_out, dnc


@pytest.mark.parametrize("whole_shop", [False, True], ids=["in-lists", "whole-shop-pass"])
def test_set_based_policy_decides_like_the_per_message_policy(shop, monkeypatch, whole_shop):
    if whole_shop:  # a large audience reads each table once, raw; here every audience counts as large
        monkeypatch.setattr(policy, "WHOLE_SHOP_AT", 1)
    ok, no_consent, opted_out, dnc = mixed_audience(shop)
    capped = ok[0]
    enqueue_message(shop=shop, customer=capped, rule="birthday", kind="birthday", channel="sms", text="生日快乐",
                    day=NOON.date(), now=NOON)
    everyone = [*ok, no_consent, opted_out, dnc, CustomerFactory(shop=shop, name="无电话")]
    for kind, text in (("commercial", "春装上新"), ("season", "天凉了，注意添衣"), ("season", "换季新品八折")):
        many = decide_many(shop=shop, customers=everyone, kind=kind, channel="sms", texts={c.pk: text for c in everyone},
                           day=NOON.date(), now=NOON)
        for customer in everyone:
            one = decide(shop=shop, customer=customer, kind=kind, channel="sms", text=text, day=NOON.date(), now=NOON)
            assert many[customer.pk] == one, (customer.name, kind, text)
    assert decide_many(shop=shop, customers=[capped], kind="commercial", channel="sms", texts={capped.pk: "x"},
                       day=NOON.date(), now=NOON)[capped.pk].reason == "daily_cap"


def test_bulk_written_outbox_rows_are_what_enqueue_writes_one_by_one(shop, monkeypatch):
    """send_campaign writes with core.bulk: same text, recipient, associate, status and reason, key, and an SMS
    sent at 22:00 held until 09:00, as the per-message path would write them."""
    monkeypatch.setattr(policy, "WHOLE_SHOP_AT", 1)
    lin = StaffFactory(shop=shop, display_name="小林")
    ok, no_consent, opted_out, dnc = mixed_audience(shop)
    Customer.objects.filter(pk__in=[c.pk for c in ok[:4]]).update(registered_by=lin)
    everyone = list(Customer.objects.filter(shop=shop).select_related("registered_by").order_by("id"))
    template = "{称呼}，{导购}给您留了几件春装，会员满300减50。"
    campaign = campaigns.create_campaign(shop=shop, name="春装", template=template, audience_kind="list",
                                         audience_value=[c.pk for c in everyone], holdout_percent=0, seed=1)
    night = NOON.replace(hour=22)
    columns = ("text", "recipient", "associate_id", "status", "reason", "detail", "next_attempt_at",
               "idempotency_key", "day", "kind", "channel")
    with transaction.atomic():  # what the per-message path writes, rolled back
        expected = {}
        for customer in everyone:
            message = enqueue_message(
                shop=shop, customer=customer, rule=campaign.rule, kind="commercial", channel="sms", now=night,
                text=preview_text(shop=shop, customer=customer, kind="commercial", template=template),
                day=night.date(), associate=customer.registered_by)
            message.refresh_from_db()
            expected[customer.pk] = tuple(getattr(message, name) for name in columns)
        transaction.set_rollback(True)
    campaigns.send_campaign(shop=shop, campaign_id=campaign.pk, now=night)
    written = {m.customer_id: tuple(getattr(m, name) for name in columns)
               for m in Message.objects.filter(rule=campaign.rule)}
    assert written == expected
    assert {row[6] for row in written.values() if row[3] == "queued"} == {
        dt.datetime.combine(night.date() + dt.timedelta(days=1), dt.time(9), tzinfo=SHANGHAI)}
    assert "小林给您留了" in written[ok[0].pk][0] and "您的导购给您留了" in written[ok[5].pk][0]


def test_preview_counts_samples_segments_cost_and_suppressions(shop):
    ok, no_consent, opted_out, dnc = mixed_audience(shop)
    ids = [c.pk for c in (*ok, no_consent, opted_out, dnc)]
    campaign = campaigns.create_campaign(shop=shop, name="春装", template=TEXT, audience_kind="list",
                                         audience_value=ids, holdout_percent=20, price_per_segment=Decimal("0.05"),
                                         seed=42)
    send, holdout = campaigns.split(sorted(ids), percent=20, seed=42)
    assert len(holdout) == 2 and len(send) == 8
    preview = campaigns.preview_campaign(shop=shop, campaign=campaign, now=NOON, sample=3)
    reasons = {c.pk: r for c, r in ((no_consent, "no_consent"), (opted_out, "opted_out"), (dnc, "do_not_contact"))}
    expected = {reasons[i] for i in send if i in reasons}
    assert (preview["audience"], preview["holdout"], preview["send"]) == (10, 2, 8)
    assert preview["would_queue"] == 8 - len(expected)
    assert set(preview["suppressed"]) == expected and sum(preview["suppressed"].values()) == len(expected)
    first = preview["samples"][0]
    assert first["text"] == f"【江南小店】{first['name'][0]}女士，春装上新，会员满300减50。 回T退订"
    assert first["segments"] == 1
    assert preview["sms_segments"] == preview["would_queue"]
    assert preview["cost"] == Decimal("0.05") * preview["would_queue"]
    assert Message.objects.count() == 0 and CampaignMember.objects.count() == 0


def test_send_keeps_the_holdout_out_and_results_show_the_uplift(shop):
    customers = [contactable(shop, name=NAMES[i]) for i in range(10)]
    campaign = campaigns.create_campaign(shop=shop, name="回购", template="{称呼}，新品到店。", audience_kind="list",
                                         audience_value=[c.pk for c in customers], holdout_percent=20, seed=7)
    campaigns.schedule_campaign(shop=shop, campaign_id=campaign.pk, at=NOON)
    assert campaigns.send_due_campaigns(shop=shop, now=NOON - dt.timedelta(minutes=1)) == []
    [sent] = campaigns.send_due_campaigns(shop=shop, now=NOON)
    assert (sent.status, sent.audience_count, sent.holdout_count, sent.queued_count, sent.suppressed_count) == (
        "sent", 10, 2, 8, 0)
    holdout = set(CampaignMember.objects.filter(holdout=True).values_list("customer_id", flat=True))
    messaged = set(Message.objects.filter(rule=f"campaign:{campaign.pk}").values_list("customer_id", flat=True))
    assert len(holdout) == 2 and not holdout & messaged and len(messaged) == 8
    with pytest.raises(Conflict):
        campaigns.send_campaign(shop=shop, campaign_id=campaign.pk, now=NOON)

    sent_ids = sorted(messaged)
    Message.objects.filter(customer_id__in=sent_ids[:6]).update(status="delivered")
    Message.objects.filter(customer_id=sent_ids[6]).update(status="failed")
    record_consent(shop=shop, customer=customers[0].__class__.objects.get(pk=sent_ids[7]), channel="sms",
                   granted=False, source="SMS reply “T”", at=NOON + dt.timedelta(hours=1))
    for customer_id in sent_ids[:4]:  # 4 of 8 buy within 30 days; one more on day 31 does not count
        OrderFactory(shop=shop, customer_id=customer_id, ordered_at=NOON + dt.timedelta(days=3))
    OrderFactory(shop=shop, customer_id=sent_ids[5], ordered_at=NOON + dt.timedelta(days=31))
    OrderFactory(shop=shop, customer_id=sorted(holdout)[0], ordered_at=NOON + dt.timedelta(days=10))  # 1 of 2
    results = selectors.campaign_results(shop=shop, campaign=sent)
    assert (results["sent"], results["delivered"], results["failed"], results["queued"], results["opted_out"]) == (
        6, 6, 1, 1, 1)
    assert results["groups"] == {"send": {"customers": 8, "repurchased": 4, "rate": 50.0},
                                 "holdout": {"customers": 2, "repurchased": 1, "rate": 50.0}}
    assert results["uplift"] == 0.0


def test_audiences_by_tag_and_segment_and_bad_ones(shop):
    tagged = contactable(shop)
    set_tags(shop=shop, customer=tagged, names=["VIP"])
    contactable(shop)
    campaign = campaigns.create_campaign(shop=shop, name="VIP", template="{称呼}您好", audience_kind="tag",
                                         audience_value="VIP", holdout_percent=0)
    assert campaigns.audience(shop=shop, campaign=campaign) == [tagged.pk]
    with pytest.raises(NotFound):
        campaigns.create_campaign(shop=shop, name="x", template="您好", audience_kind="tag", audience_value="无此标签")
    with pytest.raises(Invalid):
        campaigns.create_campaign(shop=shop, name="x", template="您好", audience_kind="segment",
                                  audience_value="nobody")
    with pytest.raises(Invalid, match="placeholder"):
        campaigns.create_campaign(shop=shop, name="x", template="{生日}快乐", audience_kind="tag", audience_value="VIP")
    care = campaigns.create_campaign(shop=shop, name="换季", kind="season", template="{称呼}，天凉了，新品八折",
                                     audience_kind="tag", audience_value="VIP")
    with pytest.raises(Invalid, match="新品"):
        campaigns.schedule_campaign(shop=shop, campaign_id=care.pk, at=NOON)


def test_campaign_api_errors_and_tenancy(tenant_a, tenant_b, settings, tmp_path):
    settings.VAR_DIR = tmp_path
    customer = contactable(tenant_a.shop)
    api = client_for(tenant_a.token)
    url = "/api/v1/engagement/campaigns"
    response = api.post(url, {"name": "上新", "template": TEXT, "audience_kind": "list",
                              "audience_value": [customer.pk], "holdout_percent": 0}, content_type=JSON)
    assert response.status_code == 201, response.content
    campaign_id = response.json()["id"]
    preview = api.get(f"{url}/{campaign_id}/preview").json()
    assert (preview["audience"], preview["would_queue"], preview["cost"]) == (1, 1, "0.05")
    assert_error(api.post(url, {"name": "x", "template": TEXT, "audience_kind": "list", "audience_value": [1],
                                "holdout_percent": 90}, content_type=JSON), 422, "invalid", "holdout_percent")
    assert_error(api.post(url, {"name": "x", "template": TEXT, "audience_kind": "mailing"}, content_type=JSON),
                 422, "invalid", "audience_kind")
    sent = api.post(f"{url}/{campaign_id}/send").json()
    assert (sent["status"], sent["queued_count"]) == ("sent", 1)
    assert_error(api.post(f"{url}/{campaign_id}/send"), 409, "conflict", "status")
    assert api.get(f"{url}/{campaign_id}/results").json()["queued"] == 1

    other = client_for(tenant_b.token)
    assert other.get(url).json()["count"] == 0
    assert_error(other.get(f"{url}/{campaign_id}/results"), 404, "not_found")
    assert_error(other.post(f"{url}/{campaign_id}/cancel"), 404, "not_found")
    other_campaign = other.post(url, {"name": "x", "template": "您好", "audience_kind": "list",
                                      "audience_value": [customer.pk]}, content_type=JSON).json()
    assert other.get(f"{url}/{other_campaign['id']}/preview").json()["audience"] == 0  # A's customer is not B's
