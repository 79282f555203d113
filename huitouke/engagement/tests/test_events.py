"""VIP events: invitations by tier, RSVP, attendance, the four-a-year suggestion; API errors and tenancy."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.engagement import selectors
from huitouke.engagement.services import events
from huitouke.loyalty.models import Membership
from huitouke.loyalty.services import programme
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory


def member(shop, tier):
    customer = CustomerFactory(shop=shop)
    programme.membership_of(shop=shop, customer=customer)
    Membership.objects.filter(shop=shop, customer=customer).update(tier=tier)
    return customer


def test_invite_by_tier_rsvp_attendance_and_the_yearly_suggestion(shop):
    entry, silver, gold, *_ = programme.ladder(shop=shop)
    golds = [member(shop, gold) for _ in range(2)]
    silver_member = member(shop, silver)
    member(shop, entry)
    erased = member(shop, gold)
    erased.__class__.objects.filter(pk=erased.pk).update(erased_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    event = events.create_event(shop=shop, title="秋冬新品私享会", starts_on=dt.date(2026, 10, 18), place="南京西路店",
                                tier_ids=[gold.pk, silver.pk])
    assert events.invite_tiers(shop=shop, event_id=event.pk) == 3
    assert events.invite_tiers(shop=shop, event_id=event.pk) == 0  # nobody twice
    events.record_rsvp(shop=shop, event_id=event.pk, customer_id=golds[0].pk, answer="yes")
    events.record_rsvp(shop=shop, event_id=event.pk, customer_id=silver_member.pk, answer="no")
    with pytest.raises(Conflict):
        events.record_attendance(shop=shop, event_id=event.pk, customer_id=golds[0].pk, on=dt.date(2026, 10, 17))
    events.record_attendance(shop=shop, event_id=event.pk, customer_id=golds[0].pk, on=dt.date(2026, 10, 18))
    with pytest.raises(NotFound):
        events.record_rsvp(shop=shop, event_id=event.pk, customer_id=erased.pk, answer="yes")
    with pytest.raises(Invalid):
        events.record_rsvp(shop=shop, event_id=event.pk, customer_id=golds[1].pk, answer="maybe")
    year = selectors.events_of_year(shop=shop, year=2026)
    [row] = year["events"]
    assert (row.invited, row.coming, row.declined, row.attended) == (3, 1, 1, 1)
    assert "4" in year["warning"] and "1" in year["warning"]
    for month in (3, 6, 12):
        events.create_event(shop=shop, title="会员日", starts_on=dt.date(2026, month, 1), place="店内", tier_ids=[gold.pk])
    assert selectors.events_of_year(shop=shop, year=2026)["warning"] == ""
    assert selectors.events_of_year(shop=shop, year=2027)["warning"] != ""


def test_events_api_errors_and_tenancy(tenant_a, tenant_b):
    gold = programme.ladder(shop=tenant_a.shop)[2]
    customer = member(tenant_a.shop, gold)
    api = client_for(tenant_a.token)
    response = api.post("/api/v1/engagement/events", {"title": "私享会", "starts_on": "2026-10-18", "place": "店内",
                                                      "tier_ids": [gold.pk]}, content_type=JSON)
    assert response.status_code == 201, response.content
    event_id = response.json()["id"]
    assert api.post(f"/api/v1/engagement/events/{event_id}/invite").json() == {"invited": 1}
    answered = api.post(f"/api/v1/engagement/events/{event_id}/rsvp", {"customer_id": customer.pk, "answer": "yes"},
                        content_type=JSON).json()
    assert (answered["rsvp"], answered["tier_name"]) == ("yes", gold.name)
    listed = api.get("/api/v1/engagement/events?year=2026").json()
    assert [(e["id"], e["invited"], e["coming"]) for e in listed["events"]] == [(event_id, 1, 1)]
    assert listed["warning"]
    assert_error(api.post("/api/v1/engagement/events", {"title": "x", "starts_on": "2026-10-18", "place": "店内",
                                                        "tier_ids": []}, content_type=JSON), 422, "invalid", "tier_ids")
    assert_error(api.post(f"/api/v1/engagement/events/{event_id}/rsvp", {"customer_id": customer.pk,
                                                                         "answer": "maybe"}, content_type=JSON),
                 422, "invalid", "answer")

    other = client_for(tenant_b.token)
    assert other.get("/api/v1/engagement/events?year=2026").json()["events"] == []
    assert_error(other.post(f"/api/v1/engagement/events/{event_id}/invite"), 404, "not_found")
    assert_error(other.post("/api/v1/engagement/events", {"title": "x", "starts_on": "2026-10-18", "place": "店内",
                                                          "tier_ids": [gold.pk]}, content_type=JSON),
                 404, "not_found", "tier_ids")
