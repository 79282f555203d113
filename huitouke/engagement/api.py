"""/api/v1/engagement: inbound SMS replies (opt-out), delivery receipts, the outbox, the care-tone check and
previews.

The inbound and receipt webhooks take the usual Bearer token, or — for SMS providers that can only call a URL —
`?shop=SLUG&key=…` where the key is `inbound_key` in the secret store named by the shop's SMS channel.
"""

from __future__ import annotations

import datetime as dt
import hmac
from decimal import Decimal
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema, Status
from ninja.security import APIKeyQuery

from huitouke.api import TokenAuth
from huitouke.core.api import Id, PageQuery, StrictSchema, caller, paginate
from huitouke.core.models import Shop
from huitouke.core.timeutil import today
from huitouke.customers.selectors import customer_by_id
from huitouke.engagement import library, selectors
from huitouke.engagement.channels import load_secrets
from huitouke.engagement.library import Kind
from huitouke.engagement.models import (
    AudienceKind,
    ChannelConfig,
    ComplaintRoute,
    ComplaintStep,
    ComplaintVia,
    MessageChannel,
    TaskKind,
    TaskStatus,
)
from huitouke.engagement.services import campaigns, complaints, events, followups, inbound
from huitouke.engagement.services.outbox import outgoing_text
from huitouke.engagement.services.preview import preview_text

router = Router(tags=["engagement"])


class InboundKey(APIKeyQuery):
    """`?shop=SLUG&key=…`: the shop's inbound key from its SMS channel's secret store."""

    param_name = "key"

    def authenticate(self, request: HttpRequest, key: str | None):
        shop = Shop.objects.filter(slug=request.GET.get("shop", "")).first()
        if shop is None or not key:
            return None
        config = ChannelConfig.objects.filter(shop=shop, channel=MessageChannel.SMS).first()
        expected = load_secrets(config.secret_name).get("inbound_key", "") if config else ""
        if not expected or not hmac.compare_digest(expected.encode(), key.encode()):
            return None
        request.shop = shop
        return shop


class InboundIn(StrictSchema):
    phone: str
    text: str


class InboundOut(Schema):
    id: int
    customer_id: int | None
    opted_out: bool


@router.post("/inbound-sms", response=InboundOut, auth=[TokenAuth(), InboundKey()],
             summary="A customer's SMS reply; T, TD or 退订 refuses the shop's SMS")
def inbound_sms(request: HttpRequest, payload: InboundIn) -> Any:
    return inbound.receive_sms(shop=request.shop, phone=payload.phone, text=payload.text)


class MessageOut(Schema):
    id: int
    customer_id: int
    rule: str
    kind: str
    channel: str
    day: str
    text: str
    status: str
    reason: str
    detail: str
    attempts: int
    sent_at: str | None

    @staticmethod
    def resolve_day(obj) -> str:
        return obj.day.isoformat()

    @staticmethod
    def resolve_sent_at(obj) -> str | None:
        return obj.sent_at.isoformat() if obj.sent_at else None


class ReceiptIn(StrictSchema):
    provider_message_id: str
    delivered: bool
    error: str = ""


@router.post("/receipts", response=MessageOut, auth=[TokenAuth(), InboundKey()],
             summary="A provider's delivery report for a sent message (delivered, or failed with the error)")
def receipt(request: HttpRequest, payload: ReceiptIn) -> Any:
    return inbound.record_receipt(shop=request.shop, provider_message_id=payload.provider_message_id,
                                  delivered=payload.delivered, error=payload.error)


class MessageFilter(Schema):
    status: str | None = None
    customer_id: Id | None = None


@router.get("/messages", summary="The outbox, newest first (filter by status or customer)")
def list_messages(request: HttpRequest, filters: Query[MessageFilter], page: Query[PageQuery]) -> dict[str, Any]:
    rows = selectors.messages(shop=request.shop, status=filters.status, customer_id=filters.customer_id)
    items, info = paginate(rows, page)
    return {**info, "items": [MessageOut.from_orm(m).model_dump() for m in items]}


class ToneIn(StrictSchema):
    text: str
    kind: Kind


class SpanOut(Schema):
    start: int
    end: int
    text: str
    reason: str


class ToneOut(Schema):
    ok: bool
    problems: list[SpanOut]
    sms_text: str
    sms_length: int
    sms_segments: int


@router.post("/tone-check", response=ToneOut, summary="Check a text: the words a care message must not have")
def tone_check(request: HttpRequest, payload: ToneIn) -> dict[str, Any]:
    problems = library.tone_problems(payload.text, kind=payload.kind)
    sms = outgoing_text(shop=request.shop, kind=payload.kind, channel=MessageChannel.SMS, text=payload.text)
    return {"ok": not problems, "problems": problems, "sms_text": sms, "sms_length": library.sms_length(sms),
            "sms_segments": library.sms_segments(sms)}


class PreviewIn(StrictSchema):
    customer_id: Id
    kind: Kind
    template: str | None = None


@router.post("/preview", response=ToneOut, summary="A library text (or yours) filled in for a real customer")
def preview(request: HttpRequest, payload: PreviewIn) -> dict[str, Any]:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    text = preview_text(shop=request.shop, customer=customer, kind=payload.kind, template=payload.template)
    return tone_check(request, ToneIn(text=text, kind=payload.kind))


# Follow-up tasks ---------------------------------------------------------------------------------

class TaskOut(Schema):
    id: int
    customer_id: int
    kind: str
    title: str
    due_on: dt.date
    owner_id: int | None
    status: str
    outcome: str
    source: str
    rule: str
    overdue: bool

    @staticmethod
    def resolve_overdue(obj) -> bool:
        return obj.status == TaskStatus.OPEN and obj.due_on < today()


class TaskFilter(Schema):
    status: TaskStatus | None = None
    owner_id: Id | None = None
    customer_id: Id | None = None
    overdue: bool = False


@router.get("/tasks", summary="Follow-up tasks by due day (filter by status, owner, customer; overdue only)")
def list_tasks(request: HttpRequest, filters: Query[TaskFilter], page: Query[PageQuery]) -> dict[str, Any]:
    rows = selectors.tasks(shop=request.shop, status=filters.status, owner_id=filters.owner_id,
                           customer_id=filters.customer_id, overdue_on=today() if filters.overdue else None)
    items, info = paginate(rows, page)
    return {**info, "items": [TaskOut.from_orm(t).model_dump(mode="json") for t in items]}


class TaskIn(StrictSchema):
    customer_id: Id
    kind: TaskKind
    title: str
    due_on: dt.date
    owner_id: Id | None = None


@router.post("/tasks", response={201: TaskOut}, summary="Add a follow-up task (owner: her own associate unless given)")
def create_task(request: HttpRequest, payload: TaskIn) -> Any:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    owner = selectors.staff_member(shop=request.shop, staff_id=payload.owner_id) if payload.owner_id else None
    task, _ = followups.create_task(shop=request.shop, customer=customer, kind=payload.kind, title=payload.title,
                                    due_on=payload.due_on, owner=owner)
    return Status(201, task)


class CloseIn(StrictSchema):
    outcome: str = ""


@router.post("/tasks/{task_id}/done", response=TaskOut, summary="Done, with the outcome (what she said)")
def task_done(request: HttpRequest, task_id: Id, payload: CloseIn) -> Any:
    return followups.close_task(shop=request.shop, task_id=task_id, by=caller(request), outcome=payload.outcome)


@router.post("/tasks/{task_id}/cancel", response=TaskOut, summary="Cancel a task (the note says why)")
def task_cancel(request: HttpRequest, task_id: Id, payload: CloseIn) -> Any:
    return followups.close_task(shop=request.shop, task_id=task_id, by=caller(request), outcome=payload.outcome,
                                done=False)


class OwnerIn(StrictSchema):
    owner_id: Id


@router.post("/tasks/{task_id}/owner", response=TaskOut, summary="Give the task to another staff member")
def task_owner(request: HttpRequest, task_id: Id, payload: OwnerIn) -> Any:
    owner = selectors.staff_member(shop=request.shop, staff_id=payload.owner_id)
    return followups.reassign_task(shop=request.shop, task_id=task_id, owner=owner)


class AssociateOut(Schema):
    staff_id: int
    name: str
    open_tasks: int
    overdue_tasks: int
    tasks_done: int
    contacts: int
    registered: int
    registered_total: int
    avg_completeness: float | None


class MonthQuery(Schema):
    month: dt.date | None = None  # any day of the month; default this month


@router.get("/associates", response=list[AssociateOut],
            summary="Per associate: tasks open/overdue/done, contacts, customers registered, profile completeness")
def associates(request: HttpRequest, query: Query[MonthQuery]) -> list[dict[str, Any]]:
    rows = selectors.associate_figures(shop=request.shop, month=query.month or today(), today=today())
    return [{"staff_id": r.staff.pk, "name": r.staff.display_name, **{
        key: getattr(r, key) for key in AssociateOut.model_fields if key not in ("staff_id", "name")}} for r in rows]


class SpotCheckIn(StrictSchema):
    customer_id: Id
    valid: bool
    note: str = ""
    checked_on: dt.date | None = None


class SpotCheckOut(Schema):
    id: int
    customer_id: int
    associate_id: int | None
    valid: bool
    checked_on: dt.date


@router.post("/spot-checks", response={201: SpotCheckOut}, summary="Record a profile spot check (valid or not)")
def spot_check(request: HttpRequest, payload: SpotCheckIn) -> Any:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    return Status(201, followups.record_spot_check(
        shop=request.shop, customer=customer, checked_by=caller(request), valid=payload.valid, note=payload.note,
        on=payload.checked_on or today()))


# Complaints --------------------------------------------------------------------------------------

class StepOut(Schema):
    step: str
    by: str | None
    at: dt.datetime
    note: str


class ComplaintOut(Schema):
    id: int
    customer_id: int
    description: str
    route: str
    region: str
    via: str
    received_at: dt.datetime
    acknowledged_at: dt.datetime | None
    resolved_at: dt.datetime | None
    coupon_code: str | None
    gift: str | None
    overdue: list[str]
    steps: list[StepOut]


def _complaint_out(complaint) -> dict[str, Any]:
    return {
        **{key: getattr(complaint, key) for key in ("id", "customer_id", "description", "route", "region", "via",
                                                     "received_at", "acknowledged_at", "resolved_at")},
        "coupon_code": complaint.coupon.code if complaint.coupon_id else None,
        "gift": complaint.gift.name if complaint.gift_id else None,
        "overdue": complaints.overdue_flags(complaint, now=timezone.now()),
        "steps": [{"step": r.step, "by": r.by.display_name if r.by else None, "at": r.at, "note": r.note}
                  for r in complaint.steps.order_by("at", "id")],
    }


class ComplaintIn(StrictSchema):
    customer_id: Id
    description: str
    route: ComplaintRoute = ComplaintRoute.HEAD_OFFICE
    region: str = ""


@router.post("/complaints", response={201: ComplaintOut}, summary="File a complaint (region or head office)")
def file_complaint(request: HttpRequest, payload: ComplaintIn) -> Any:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    complaint = complaints.file_complaint(shop=request.shop, customer=customer, description=payload.description,
                                          route=payload.route, region=payload.region, via=ComplaintVia.API,
                                          filed_by=caller(request))
    return Status(201, _complaint_out(complaint))


class ComplaintFilter(Schema):
    open: bool = False
    customer_id: Id | None = None


@router.get("/complaints", summary="Complaints, newest first, each with its steps and overdue flags")
def list_complaints(request: HttpRequest, filters: Query[ComplaintFilter], page: Query[PageQuery]) -> dict[str, Any]:
    rows = selectors.complaints(shop=request.shop, open_only=filters.open, customer_id=filters.customer_id)
    items, info = paginate(rows, page)
    return {**info, "items": [ComplaintOut.model_validate(_complaint_out(c)).model_dump(mode="json") for c in items]}


@router.get("/complaints/{complaint_id}", response=ComplaintOut, summary="One complaint with its steps")
def get_complaint(request: HttpRequest, complaint_id: Id) -> Any:
    return _complaint_out(complaints.complaint_by_id(shop=request.shop, complaint_id=complaint_id))


class StepIn(StrictSchema):
    step: ComplaintStep
    note: str = ""


@router.post("/complaints/{complaint_id}/steps", response=ComplaintOut,
             summary="Record one of the nine steps (any step acknowledges; confirm resolves)")
def complaint_step(request: HttpRequest, complaint_id: Id, payload: StepIn) -> Any:
    complaints.record_step(shop=request.shop, complaint_id=complaint_id, step=payload.step, by=caller(request),
                           note=payload.note)
    return _complaint_out(complaints.complaint_by_id(shop=request.shop, complaint_id=complaint_id))


class CompensationIn(StrictSchema):
    coupon_template_id: Id | None = None
    gift_id: Id | None = None
    note: str = ""


@router.post("/complaints/{complaint_id}/compensation", response=ComplaintOut,
             summary="Compensate once: a loyalty coupon (issued now) or a gift")
def complaint_compensation(request: HttpRequest, complaint_id: Id, payload: CompensationIn) -> Any:
    return _complaint_out(complaints.compensate(
        shop=request.shop, complaint_id=complaint_id, by=caller(request),
        coupon_template_id=payload.coupon_template_id, gift_id=payload.gift_id, note=payload.note))


# Campaigns ---------------------------------------------------------------------------------------

class CampaignIn(StrictSchema):
    name: str
    template: str
    audience_kind: AudienceKind
    audience_value: str | int | list[int]
    kind: Kind = Kind.COMMERCIAL
    channel: MessageChannel = MessageChannel.SMS
    holdout_percent: int = 10
    price_per_segment: Decimal = Decimal("0.045")


class CampaignOut(Schema):
    id: int
    name: str
    kind: str
    channel: str
    template: str
    audience_kind: str
    audience_value: str | int | list[int]
    holdout_percent: int
    price_per_segment: Decimal
    status: str
    scheduled_for: dt.datetime | None
    sent_at: dt.datetime | None
    audience_count: int
    holdout_count: int
    queued_count: int
    suppressed_count: int


@router.post("/campaigns", response={201: CampaignOut}, summary="Create a campaign (a draft) for an audience")
def create_campaign(request: HttpRequest, payload: CampaignIn) -> Any:
    return Status(201, campaigns.create_campaign(shop=request.shop, created_by=caller(request), **payload.dict()))


@router.get("/campaigns", summary="Campaigns, newest first")
def list_campaigns(request: HttpRequest, page: Query[PageQuery]) -> dict[str, Any]:
    items, info = paginate(selectors.campaigns(shop=request.shop), page)
    return {**info, "items": [CampaignOut.from_orm(c).model_dump(mode="json") for c in items]}


@router.get("/campaigns/{campaign_id}/preview",
            summary="Count, sample texts, SMS segments and cost, who would be suppressed and why (nothing saved)")
def preview_campaign(request: HttpRequest, campaign_id: Id) -> dict[str, Any]:
    campaign = selectors.campaign_by_id(shop=request.shop, campaign_id=campaign_id)
    result = campaigns.preview_campaign(shop=request.shop, campaign=campaign)
    for sample in result["samples"]:
        sample["tone_problems"] = [vars(p) for p in sample["tone_problems"]]
    return {**result, "cost": str(result["cost"])}


class ScheduleIn(StrictSchema):
    at: dt.datetime


@router.post("/campaigns/{campaign_id}/schedule", response=CampaignOut, summary="Schedule (care run sends it then)")
def schedule_campaign(request: HttpRequest, campaign_id: Id, payload: ScheduleIn) -> Any:
    return campaigns.schedule_campaign(shop=request.shop, campaign_id=campaign_id, at=payload.at)


@router.post("/campaigns/{campaign_id}/send", response=CampaignOut, summary="Send now: into the outbox")
def send_campaign(request: HttpRequest, campaign_id: Id) -> Any:
    return campaigns.send_campaign(shop=request.shop, campaign_id=campaign_id)


@router.post("/campaigns/{campaign_id}/cancel", response=CampaignOut, summary="Cancel a draft or scheduled campaign")
def cancel_campaign(request: HttpRequest, campaign_id: Id) -> Any:
    return campaigns.cancel_campaign(shop=request.shop, campaign_id=campaign_id)


@router.get("/campaigns/{campaign_id}/results",
            summary="Sent, delivered, failed, opted out; repurchase within 30 days against the hold-out group")
def campaign_results(request: HttpRequest, campaign_id: Id) -> dict[str, Any]:
    campaign = selectors.campaign_by_id(shop=request.shop, campaign_id=campaign_id)
    return selectors.campaign_results(shop=request.shop, campaign=campaign)


# VIP events --------------------------------------------------------------------------------------

class EventIn(StrictSchema):
    title: str
    starts_on: dt.date
    place: str
    tier_ids: list[Id]


class EventOut(Schema):
    id: int
    title: str
    starts_on: dt.date
    place: str
    tier_ids: list[int]
    invited: int = 0
    coming: int = 0
    declined: int = 0
    attended: int = 0


@router.post("/events", response={201: EventOut}, summary="Plan a VIP event for some loyalty tiers")
def create_event(request: HttpRequest, payload: EventIn) -> Any:
    return Status(201, events.create_event(shop=request.shop, **payload.dict()))


class YearQuery(Schema):
    year: int | None = None


class EventsOut(Schema):
    year: int
    events: list[EventOut]
    warning: str


@router.get("/events", response=EventsOut, summary="The year's events (warning when fewer than four are planned)")
def list_events(request: HttpRequest, query: Query[YearQuery]) -> Any:
    return selectors.events_of_year(shop=request.shop, year=query.year or today().year)


class InvitedOut(Schema):
    invited: int


@router.post("/events/{event_id}/invite", response=InvitedOut, summary="Invite the members of the event's tiers")
def invite(request: HttpRequest, event_id: Id) -> Any:
    return {"invited": events.invite_tiers(shop=request.shop, event_id=event_id)}


class RsvpIn(StrictSchema):
    customer_id: Id
    answer: str


class InvitationOut(Schema):
    customer_id: int
    tier_name: str
    rsvp: str
    attended: bool


@router.post("/events/{event_id}/rsvp", response=InvitationOut, summary="Her answer: yes or no")
def rsvp(request: HttpRequest, event_id: Id, payload: RsvpIn) -> Any:
    return events.record_rsvp(shop=request.shop, event_id=event_id, customer_id=payload.customer_id,
                              answer=payload.answer)


class AttendanceIn(StrictSchema):
    customer_id: Id
    attended: bool = True


@router.post("/events/{event_id}/attendance", response=InvitationOut, summary="She came (or not)")
def attendance(request: HttpRequest, event_id: Id, payload: AttendanceIn) -> Any:
    return events.record_attendance(shop=request.shop, event_id=event_id, customer_id=payload.customer_id,
                                    attended=payload.attended)
