"""Engagement reads, always for one shop: the outbox, a customer's messages (360 timeline, export)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db.models import Avg, Count, Q, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.timeutil import day_start
from huitouke.customers.extensions import Panel, TimelineEntry
from huitouke.customers.models import Customer
from huitouke.engagement.lookup import shop_row
from huitouke.engagement.models import (
    Campaign,
    CampaignMember,
    Complaint,
    ComplaintStep,
    FollowUpTask,
    Invitation,
    Message,
    MessageStatus,
    Rsvp,
    SpotCheck,
    TaskStatus,
    VipEvent,
)


def messages(*, shop: Shop, status: str | None = None, customer_id: int | None = None) -> QuerySet[Message]:
    rows = Message.objects.for_shop(shop).order_by("-created_at", "-id")
    if status:
        rows = rows.filter(status=status)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def message_by_id(*, shop: Shop, message_id: int) -> Message:
    message = Message.objects.for_shop(shop).filter(pk=message_id).first()
    if message is None:
        raise NotFound(_("message %(message_id)s not found"), params={"message_id": message_id})
    return message


def status_counts(*, shop: Shop) -> dict[str, int]:
    return dict(Message.objects.for_shop(shop).values_list("status").annotate(n=Count("id")).order_by())


def reason_label(reason: str) -> str:
    from huitouke.engagement.policy import Suppression

    labels = {**dict(Suppression.choices), "provider_error": _("Provider error"), "rejected": _("Rejected by the provider"),
              "interrupted": _("Interrupted: check the provider's log")}
    return str(labels.get(reason, reason))


def message_timeline_entries(*, shop: Shop, customer: Customer) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=m.sent_at or m.created_at, kind="message", title=f"{m.get_kind_display()} · {m.get_channel_display()}",
            detail={"text": m.text, "status": m.status, "status_label": m.get_status_display(), "reason": m.reason,
                    "reason_label": reason_label(m.reason), "detail": m.detail},
            template="engagement/timeline/_message.html",
        )
        for m in messages(shop=shop, customer_id=customer.pk)[:200]
    ]


def message_export_data(*, shop: Shop, customer: Customer) -> list[dict[str, Any]]:
    return [
        {"day": m.day.isoformat(), "rule": m.rule, "kind": m.kind, "channel": m.channel, "text": m.text,
         "status": m.status, "reason": m.reason, "sent_at": m.sent_at.isoformat() if m.sent_at else None}
        for m in messages(shop=shop, customer_id=customer.pk)
    ]


# Follow-up tasks and associates -------------------------------------------------------------------

def staff_member(*, shop: Shop, staff_id: int, field: str = "owner_id") -> Staff:
    member = Staff.objects.for_shop(shop).filter(pk=staff_id).first()
    if member is None:
        raise NotFound(_("staff member %(staff_id)s not found"), field=field, params={"staff_id": staff_id})
    return member


def tasks(
    *, shop: Shop, status: str | None = None, owner_id: int | None = None, customer_id: int | None = None,
    overdue_on: dt.date | None = None,
) -> QuerySet[FollowUpTask]:
    """Tasks by due day; `overdue_on`: the open ones due before that day."""
    rows = FollowUpTask.objects.for_shop(shop).select_related("customer", "owner").order_by("due_on", "id")
    if status:
        rows = rows.filter(status=status)
    if owner_id is not None:
        rows = rows.filter(owner_id=owner_id)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    if overdue_on is not None:
        rows = rows.filter(status=TaskStatus.OPEN, due_on__lt=overdue_on)
    return rows


def month_bounds(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The Shanghai month holding `month` as [start, end) aware datetimes."""
    first = month.replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    return day_start(first), day_start(following)


@dataclass(frozen=True)
class AssociateFigures:
    staff: Staff
    open_tasks: int
    overdue_tasks: int
    tasks_done: int  # closed as done in the month
    contacts: int  # tasks done + messages sent in her name, in the month
    registered: int  # customers registered in the month
    registered_total: int
    avg_completeness: float | None  # over all the customers she registered


def associate_figures(*, shop: Shop, month: dt.date, today: dt.date, staff_id: int | None = None) -> list[AssociateFigures]:
    """Per staff member (or one): the figures of the associate and manager pages, a few grouped queries."""
    start, end = month_bounds(month)
    people = Staff.objects.for_shop(shop).order_by("display_name", "id")
    if staff_id is not None:
        people = people.filter(pk=staff_id)
    task_rows = FollowUpTask.objects.for_shop(shop)
    open_by = dict(task_rows.filter(status=TaskStatus.OPEN).values_list("owner_id").annotate(n=Count("id")).order_by())
    overdue_by = dict(task_rows.filter(status=TaskStatus.OPEN, due_on__lt=today).values_list("owner_id")
                      .annotate(n=Count("id")).order_by())
    done_by = dict(task_rows.filter(status=TaskStatus.DONE, closed_at__gte=start, closed_at__lt=end)
                   .values_list("closed_by_id").annotate(n=Count("id")).order_by())
    sent_by = dict(Message.objects.for_shop(shop).filter(
        status__in=(MessageStatus.SENT, MessageStatus.DELIVERED), sent_at__gte=start, sent_at__lt=end,
    ).values_list("associate_id").annotate(n=Count("id")).order_by())
    customers = Customer.objects.for_shop(shop).filter(erased_at__isnull=True, registered_by__isnull=False)
    registered = {row["registered_by_id"]: row for row in customers.values("registered_by_id").annotate(
        total=Count("id"), month=Count("id", filter=Q(registered_at__gte=start, registered_at__lt=end)),
        avg=Avg("completeness"),
    ).order_by()}
    return [
        AssociateFigures(
            staff=person, open_tasks=open_by.get(person.pk, 0), overdue_tasks=overdue_by.get(person.pk, 0),
            tasks_done=done_by.get(person.pk, 0), contacts=done_by.get(person.pk, 0) + sent_by.get(person.pk, 0),
            registered=registered.get(person.pk, {}).get("month", 0),
            registered_total=registered.get(person.pk, {}).get("total", 0),
            avg_completeness=(round(float(registered[person.pk]["avg"]), 1) if person.pk in registered else None),
        )
        for person in people
    ]


def quarter_bounds(year: int, quarter: int) -> tuple[dt.date, dt.date]:
    """[first day, first day of the next quarter)."""
    first = dt.date(year, 3 * quarter - 2, 1)
    return first, (dt.date(year + 1, 1, 1) if quarter == 4 else dt.date(year, 3 * quarter + 1, 1))


@dataclass(frozen=True)
class ContestRow:
    staff: Staff
    q1_registered: int  # profiles registered in Q1
    q2_complete: int  # profiles she registered that are complete (≥ COMPLETE_AT %) by the end of Q2
    q3_checked: int
    q3_valid: int

    @property
    def q3_validity(self) -> float | None:
        return round(100 * self.q3_valid / self.q3_checked, 1) if self.q3_checked else None


COMPLETE_AT = 80  # completeness (%) from which a profile counts as complete in the Q2 round


def archive_contest(*, shop: Shop, year: int) -> dict[str, Any]:
    """The quarterly archive contest: Q1 most profiles registered, Q2 most complete profiles, Q3 spot-check
    validity; each round's winner (None when nobody scored)."""
    q1_start, q1_end = quarter_bounds(year, 1)
    _q2_start, q2_end = quarter_bounds(year, 2)
    q3_start, q3_end = quarter_bounds(year, 3)
    customers = Customer.objects.for_shop(shop).filter(erased_at__isnull=True, registered_by__isnull=False)
    q1 = dict(customers.filter(registered_at__gte=day_start(q1_start), registered_at__lt=day_start(q1_end))
              .values_list("registered_by_id").annotate(n=Count("id")).order_by())
    q2 = dict(customers.filter(registered_at__lt=day_start(q2_end), completeness__gte=COMPLETE_AT)
              .values_list("registered_by_id").annotate(n=Count("id")).order_by())
    q3 = {row["associate_id"]: row for row in SpotCheck.objects.for_shop(shop).filter(
        checked_on__gte=q3_start, checked_on__lt=q3_end, associate__isnull=False,
    ).values("associate_id").annotate(checked=Count("id"), valid=Count("id", filter=Q(valid=True))).order_by()}
    rows = [
        ContestRow(staff=person, q1_registered=q1.get(person.pk, 0), q2_complete=q2.get(person.pk, 0),
                   q3_checked=q3.get(person.pk, {}).get("checked", 0), q3_valid=q3.get(person.pk, {}).get("valid", 0))
        for person in Staff.objects.for_shop(shop).order_by("display_name", "id")
    ]

    def winner(score) -> Staff | None:
        scored = [(score(row), row) for row in rows if score(row)]
        return max(scored, key=lambda pair: pair[0])[1].staff if scored else None

    return {"year": year, "rows": rows, "winners": {
        "q1": winner(lambda r: r.q1_registered), "q2": winner(lambda r: r.q2_complete),
        "q3": winner(lambda r: r.q3_validity),
    }}


# Complaints --------------------------------------------------------------------------------------

def complaints(*, shop: Shop, open_only: bool = False, customer_id: int | None = None) -> QuerySet[Complaint]:
    rows = (Complaint.objects.for_shop(shop).select_related("customer", "coupon", "gift", "filed_by")
            .prefetch_related("steps__by").order_by("-received_at", "-id"))
    if open_only:
        rows = rows.filter(resolved_at__isnull=True)
    if customer_id is not None:
        rows = rows.filter(customer_id=customer_id)
    return rows


def overdue_complaints(*, shop: Shop, now: dt.datetime) -> list[tuple[Complaint, list[str]]]:
    """Open complaints past a deadline (acknowledge the same day, resolve within 3 days), with which ones."""
    from huitouke.engagement.services.complaints import overdue_flags

    return [(c, flags) for c in complaints(shop=shop, open_only=True) if (flags := overdue_flags(c, now=now))]


def steps_in_order(complaint: Complaint) -> list[dict[str, Any]]:
    """The nine steps, each with its record (or None when not done yet)."""
    done = {record.step: record for record in complaint.steps.all()}
    return [{"step": step, "label": label, "record": done.get(step)} for step, label in ComplaintStep.choices]


def _compensation(complaint: Complaint) -> str:
    if complaint.coupon_id:
        return f"{complaint.coupon.code}"
    return complaint.gift.name if complaint.gift_id else ""


def complaint_timeline_entries(*, shop: Shop, customer: Customer) -> list[TimelineEntry]:
    return [
        TimelineEntry(
            at=c.received_at, kind="complaint", title=f"{_('Complaint')} #{c.pk} · {c.get_route_display()}",
            detail={"description": c.description, "resolved": c.resolved_at is not None,
                    "steps": [str(s["label"]) for s in steps_in_order(c) if s["record"]],
                    "compensation": _compensation(c)},
            template="engagement/timeline/_complaint.html",
        )
        for c in complaints(shop=shop, customer_id=customer.pk)[:100]
    ]


def complaint_export_data(*, shop: Shop, customer: Customer) -> list[dict[str, Any]]:
    return [
        {"id": c.pk, "received_at": c.received_at.isoformat(), "description": c.description, "route": c.route,
         "region": c.region, "via": c.via,
         "acknowledged_at": c.acknowledged_at.isoformat() if c.acknowledged_at else None,
         "resolved_at": c.resolved_at.isoformat() if c.resolved_at else None,
         "compensation": _compensation(c),
         "steps": [{"step": r.step, "at": r.at.isoformat(), "note": r.note} for r in c.steps.all()]}
        for c in complaints(shop=shop, customer_id=customer.pk)
    ]


# Campaigns ---------------------------------------------------------------------------------------

REPURCHASE_DAYS = 30


def campaigns(*, shop: Shop) -> QuerySet[Campaign]:
    return Campaign.objects.for_shop(shop).order_by("-created_at", "-id")


def campaign_by_id(*, shop: Shop, campaign_id: int) -> Campaign:
    return shop_row(Campaign, shop=shop, pk=campaign_id, label="campaign")


def campaign_results(*, shop: Shop, campaign: Campaign) -> dict[str, Any]:
    """Sent, delivered, failed, suppressed, opted out after it; and repurchase within 30 days in the send group
    (everyone picked to receive it, suppressed or not: intention to treat) against the hold-out group."""
    from huitouke.customers.models import Consent
    from huitouke.engagement.models import CONSENT_CHANNEL
    from huitouke.orders.models import Order

    statuses = dict(Message.objects.for_shop(shop).filter(rule=campaign.rule).values_list("status")
                    .annotate(n=Count("id")).order_by())
    result: dict[str, Any] = {
        "queued": statuses.get(MessageStatus.QUEUED, 0) + statuses.get(MessageStatus.SENDING, 0),
        "sent": statuses.get(MessageStatus.SENT, 0) + statuses.get(MessageStatus.DELIVERED, 0),
        "delivered": statuses.get(MessageStatus.DELIVERED, 0), "failed": statuses.get(MessageStatus.FAILED, 0),
        "suppressed": statuses.get(MessageStatus.SUPPRESSED, 0), "opted_out": 0, "groups": {}, "uplift": None,
    }
    if campaign.sent_at is None:
        return result
    members = CampaignMember.objects.for_shop(shop).filter(campaign=campaign)
    until = campaign.sent_at + dt.timedelta(days=REPURCHASE_DAYS)
    result["opted_out"] = Consent.objects.for_shop(shop).filter(
        customer_id__in=members.filter(holdout=False).values("customer_id"), channel=CONSENT_CHANNEL[campaign.channel],
        granted=False, at__gte=campaign.sent_at, at__lt=until,
    ).values("customer_id").distinct().count()
    for name, holdout in (("send", False), ("holdout", True)):
        group = members.filter(holdout=holdout).values("customer_id")
        size = members.filter(holdout=holdout).count()
        bought = Order.objects.for_shop(shop).filter(
            customer_id__in=group, is_purchase=True, ordered_at__gte=campaign.sent_at, ordered_at__lt=until,
        ).values("customer_id").distinct().count()
        result["groups"][name] = {"customers": size, "repurchased": bought,
                                  "rate": round(100 * bought / size, 1) if size else None}
    send, hold = result["groups"]["send"]["rate"], result["groups"]["holdout"]["rate"]
    if send is not None and hold is not None:
        result["uplift"] = round(send - hold, 1)  # percentage points
    return result


# VIP events --------------------------------------------------------------------------------------

def events_of_year(*, shop: Shop, year: int) -> dict[str, Any]:
    """The year's events with their invitation figures, and a warning when fewer than four are planned."""
    from huitouke.engagement.services.events import EVENTS_PER_YEAR

    rows = list(VipEvent.objects.for_shop(shop).filter(starts_on__year=year).order_by("starts_on", "id").annotate(
        invited=Count("invitations"), coming=Count("invitations", filter=Q(invitations__rsvp=Rsvp.YES)),
        declined=Count("invitations", filter=Q(invitations__rsvp=Rsvp.NO)),
        attended=Count("invitations", filter=Q(invitations__attended=True)),
    ))
    warning = (_("Only %(n)s VIP event(s) planned for %(year)s: at least %(min)s a year are suggested.")
               % {"n": len(rows), "year": year, "min": EVENTS_PER_YEAR}) if len(rows) < EVENTS_PER_YEAR else ""
    return {"year": year, "events": rows, "warning": str(warning)}


def invitations(*, shop: Shop, event_id: int) -> QuerySet[Invitation]:
    return Invitation.objects.for_shop(shop).filter(event_id=event_id).select_related("customer").order_by(
        "customer_id")


def engagement_panel(*, shop: Shop, customer: Customer) -> Panel:
    """The 360 page's care section: open follow-ups, complaints, recent messages and her complaint link."""
    from huitouke.engagement.services.complaints import complaint_token

    return Panel("engagement/_panel.html", {
        "tasks": list(tasks(shop=shop, customer_id=customer.pk, status=TaskStatus.OPEN)[:10]),
        "complaints": list(complaints(shop=shop, customer_id=customer.pk)[:5]),
        "messages": list(messages(shop=shop, customer_id=customer.pk)[:5]),
        "complaint_token": complaint_token(customer),
    })
