"""/api/v1/engagement: inbound SMS replies (opt-out), delivery receipts, the outbox, the care-tone check and
previews.

The inbound and receipt webhooks take the usual Bearer token, or — for SMS providers that can only call a URL —
`?shop=SLUG&key=…` where the key is `inbound_key` in the secret store named by the shop's SMS channel.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.http import HttpRequest
from ninja import Query, Router, Schema
from ninja.security import APIKeyQuery

from huitouke.api import TokenAuth
from huitouke.core.api import Id, PageQuery, StrictSchema, paginate
from huitouke.core.models import Shop
from huitouke.customers.selectors import customer_by_id
from huitouke.engagement import library, selectors
from huitouke.engagement.channels import load_secrets
from huitouke.engagement.library import Kind
from huitouke.engagement.models import ChannelConfig, MessageChannel
from huitouke.engagement.services import inbound
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
