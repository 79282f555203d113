"""/api/v1/platform: what a till integrates (verify a member, record a consumption, correct one), what a
merchant may read of its own (balance, consumptions), and the operator's writes (sign a merchant, record a
top-up). A merchant login acts for its merchant only; the operator's staff name the merchant. Another
merchant's rows, and the operator's routes, answer a merchant login 404.

Writes a till may retry take an `Idempotency-Key` header: the same key gives the same single effect.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext_lazy as _
from ninja import Field, Header, Path, Query, Router, Schema, Status

from huitouke.core.api import MAX_ID, MoneyIn, MoneyOut, PageQuery, StrictSchema, caller, paginate
from huitouke.core.errors import DomainError, Forbidden, Invalid, NotFound
from huitouke.core.i18n import localized_text_lazy
from huitouke.core.pii import mask_phone
from huitouke.core.timeutil import local_day
from huitouke.platform import qr, selectors
from huitouke.platform.exports import csv_response, pdf_response
from huitouke.platform.models import BalanceEntry, Consumption, Merchant, Statement
from huitouke.platform.services import balance as balance_service
from huitouke.platform.services import consumption, verification
from huitouke.platform.services.actors import Terms
from huitouke.platform.services.common import moment

router = Router(tags=["platform"])
IdempotencyKey = Header(None, alias="Idempotency-Key", description="any unique string per intended write")
MerchantId = Field(None, ge=1, le=MAX_ID, description="the merchant (operator staff only; a merchant login acts for its own)")


class Throttled(DomainError):
    status = 429
    code = "throttled"


def _key(value: str | None) -> str:
    if not value or not value.strip():
        raise Invalid(_("send an Idempotency-Key header, e.g. a UUID, so a retried request has one effect"),
                      field="Idempotency-Key")
    return value.strip()


def _merchant(request: HttpRequest, merchant_id: int | None) -> Merchant:
    own = selectors.merchant_of(shop=request.shop, staff=caller(request))
    if own is not None and merchant_id is None:
        return own
    if merchant_id is None:
        raise Invalid(_("name the merchant (merchant_id)"), field="merchant_id")
    return selectors.merchant_for(shop=request.shop, staff=caller(request), merchant_id=merchant_id)


class VerifyIn(StrictSchema):
    merchant_id: int | None = MerchantId
    method: str = "phone"
    phone: str | None = Field(None, max_length=40)
    token: str | None = Field(None, max_length=500)
    store_id: int | None = Field(None, ge=1, le=MAX_ID)


class VerifyOut(Schema):
    verification_id: int
    eligible: bool
    outcome: str
    reason: str
    member: str = Field(description="the member's phone, masked")
    discount_rate: Decimal | None
    agreement_version: int | None
    excluded_items: list[str]
    valid_until: dt.date | None


@router.post("/verify", response=VerifyOut, summary="Verify a member at the till (phone, QR token, back-office)")
def verify(request: HttpRequest, payload: VerifyIn) -> dict[str, Any]:
    result = verification.verify(
        shop=request.shop, merchant=_merchant(request, payload.merchant_id), method=payload.method,
        phone=payload.phone, token=payload.token, store=payload.store_id, staff=caller(request),
    )
    verdict = result.eligibility
    if verdict.outcome in (verification.Outcome.LOCKED, verification.Outcome.THROTTLED):
        raise Throttled(localized_text_lazy(verdict.reason))  # logged first: the service committed its row
    agreement = verdict.agreement
    return {
        "verification_id": result.verification.pk, "eligible": result.eligible, "outcome": verdict.outcome,
        "reason": verdict.reason, "member": result.member_masked, "discount_rate": verification.discount_of(result),
        "agreement_version": agreement.version if agreement else None,
        "excluded_items": agreement.excluded_items if agreement and result.eligible else [],
        "valid_until": verdict.valid_until if result.eligible else None,
    }


class ConsumptionIn(StrictSchema):
    merchant_id: int | None = MerchantId
    phone: str = Field(..., max_length=40)
    amount: MoneyIn = Field(..., description="what the member paid, after the discount")
    items: list[str] = Field(default_factory=list, max_length=100)
    store_id: int | None = Field(None, ge=1, le=MAX_ID)
    verification_id: int | None = Field(None, ge=1, le=MAX_ID)
    started_at: dt.datetime | None = None
    completed_at: dt.datetime | None = None


class ConsumptionOut(Schema):
    id: int
    kind: str
    member: str
    amount: MoneyOut
    points: int
    items: list[str]
    store_id: int | None
    agreement_version: int
    started_at: dt.datetime | None
    completed_at: dt.datetime
    month: str
    reverses_id: int | None


def _consumption_out(record: Consumption) -> dict[str, Any]:
    return {
        "id": record.pk, "kind": record.kind, "member": mask_phone(record.member.phone_e164), "amount": record.amount,
        "points": record.points, "items": record.items, "store_id": record.store_id,
        "agreement_version": record.agreement.version, "started_at": record.started_at,
        "completed_at": record.completed_at, "month": f"{record.month:%Y-%m}", "reverses_id": record.reverses_id,
    }


def _aware(value: dt.datetime | None, field: str) -> dt.datetime | None:
    if value is not None and value.tzinfo is None:
        raise Invalid(_("give the time with its offset, e.g. 2026-03-10T19:30:00+08:00"), field=field)
    return value


@router.post("/consumptions", response={201: ConsumptionOut, 200: ConsumptionOut},
             summary="Record a repeat customer's spend after discount (Idempotency-Key header)")
def record(request: HttpRequest, payload: ConsumptionIn, idempotency_key: str | None = IdempotencyKey) -> Status:
    key = _key(idempotency_key)
    merchant = _merchant(request, payload.merchant_id)
    existed = selectors.key_was_used(shop=request.shop, merchant=merchant, key=key)
    written = consumption.record_consumption(
        shop=request.shop, merchant=merchant, phone=payload.phone, amount=payload.amount, idempotency_key=key,
        items=payload.items, store=payload.store_id, verification=payload.verification_id,
        started_at=_aware(payload.started_at, "started_at"), completed_at=_aware(payload.completed_at, "completed_at"),
        staff=caller(request),
    )
    return Status(200 if existed else 201, _consumption_out(written))


class CorrectIn(StrictSchema):
    merchant_id: int | None = MerchantId
    amount: MoneyIn | None = Field(None, description="the corrected amount; leave out to only reverse")
    reason: str = Field(..., min_length=1, max_length=300)


class CorrectOut(Schema):
    reversal: ConsumptionOut
    replacement: ConsumptionOut | None


@router.post("/consumptions/{consumption_id}/correct", response=CorrectOut,
             summary="Correct a record: a reversal plus a new record (Idempotency-Key header)")
def correct(request: HttpRequest, payload: CorrectIn, consumption_id: int = Path(..., ge=1, le=MAX_ID),
            idempotency_key: str | None = IdempotencyKey) -> dict[str, Any]:
    reversal, replacement = consumption.correct_consumption(
        shop=request.shop, merchant=_merchant(request, payload.merchant_id), consumption=consumption_id,
        amount=payload.amount, reason=payload.reason, idempotency_key=_key(idempotency_key), staff=caller(request),
    )
    return {"reversal": _consumption_out(reversal),
            "replacement": _consumption_out(replacement) if replacement else None}


class ConsumptionPage(Schema):
    count: int
    page: int
    page_size: int
    results: list[ConsumptionOut]


class MerchantQuery(PageQuery):
    merchant_id: int | None = MerchantId


@router.get("/consumptions", response=ConsumptionPage, summary="The merchant's consumption records, newest first")
def consumptions(request: HttpRequest, query: Query[MerchantQuery]) -> dict[str, Any]:
    merchant = _merchant(request, query.merchant_id)
    rows, info = paginate(
        Consumption.objects.for_shop(request.shop).filter(merchant=merchant)
        .select_related("member", "agreement").order_by("-completed_at", "-id"), query)
    return {"count": info["count"], "page": info["page"], "page_size": info["page_size"],
            "results": [_consumption_out(row) for row in rows]}


class BalanceEntryOut(Schema):
    kind: str
    amount: MoneyOut
    at: dt.datetime
    reason: str


class BalanceOut(Schema):
    merchant_id: int
    merchant: str
    balance: MoneyOut
    status: str
    suspended_reason: str
    topup_deadline: dt.date | None
    entries: list[BalanceEntryOut]


@router.get("/balance", response=BalanceOut, summary="The merchant's prepaid balance and its history")
def balance(request: HttpRequest, merchant_id: int | None = Query(None, ge=1, le=MAX_ID)) -> dict[str, Any]:
    merchant = _merchant(request, merchant_id)
    return {
        "merchant_id": merchant.pk, "merchant": merchant.name, "balance": merchant.balance, "status": merchant.status,
        "suspended_reason": merchant.suspended_reason, "topup_deadline": merchant.topup_deadline,
        "entries": [{"kind": e.kind, "amount": e.amount, "at": e.at, "reason": e.reason}
                    for e in selectors.balance_history(shop=request.shop, merchant=merchant)],
    }


class QrIn(StrictSchema):
    phone: str = Field(..., max_length=40)


class QrOut(Schema):
    token: str
    expires_at: dt.datetime
    svg: str


@router.post("/members/qr", response=QrOut, summary="A member's short-lived QR token (operator staff only)")
def member_qr(request: HttpRequest, payload: QrIn) -> dict[str, Any]:
    if selectors.merchant_of(shop=request.shop, staff=caller(request)) is not None:
        raise Forbidden(_("only the operator issues member QR codes"))
    member = selectors.member_by_phone(shop=request.shop, phone=payload.phone)
    now = moment(None)
    token = qr.member_token(member, now=now)
    return {"token": token, "expires_at": now + qr.LIFETIME, "svg": qr.qr_svg(token)}


class StatementOut(Schema):
    id: int
    merchant_id: int
    month: str
    spend: MoneyOut
    rate: Decimal
    commission: MoneyOut
    consumptions: int
    issued_at: dt.datetime
    due_on: dt.date


@router.get("/statements", response=list[StatementOut], summary="The merchant's monthly statements, newest first")
def statement_list(request: HttpRequest, merchant_id: int | None = Query(None, ge=1, le=MAX_ID)) -> list[dict]:
    merchant = _merchant(request, merchant_id)
    return [
        {"id": s.pk, "merchant_id": s.merchant_id, "month": f"{s.month:%Y-%m}", "spend": s.spend, "rate": s.rate,
         "commission": s.commission, "consumptions": s.consumptions, "issued_at": s.issued_at, "due_on": s.due_on}
        for s in selectors.statements_of(shop=request.shop, merchant=merchant)
    ]


def _statement(request: HttpRequest, statement_id: int, merchant_id: int | None) -> Statement:
    merchant = _merchant(request, merchant_id)
    statement = selectors.statements_of(shop=request.shop, merchant=merchant).filter(pk=statement_id).first()
    if statement is None:
        raise NotFound(_("no such statement"), field="statement")
    return statement


@router.get("/statements/{statement_id}.csv", summary="One statement as CSV, a line per consumption record")
def statement_csv(request: HttpRequest, statement_id: int = Path(..., ge=1, le=MAX_ID),
                  merchant_id: int | None = Query(None, ge=1, le=MAX_ID)) -> HttpResponse:
    return csv_response(_statement(request, statement_id, merchant_id))


@router.get("/statements/{statement_id}.pdf", summary="One statement as PDF (409 pdf_font_missing without a CJK font)")
def statement_pdf(request: HttpRequest, statement_id: int = Path(..., ge=1, le=MAX_ID),
                  merchant_id: int | None = Query(None, ge=1, le=MAX_ID)) -> HttpResponse:
    return pdf_response(_statement(request, statement_id, merchant_id))


# The operator's writes ---------------------------------------------------------------------------------------

def _operator_only(request: HttpRequest) -> None:
    """A merchant login does not learn that these routes exist."""
    if selectors.merchant_of(shop=request.shop, staff=caller(request)) is not None:
        raise NotFound(_("no such route"))


class SignIn(StrictSchema):
    name: str = Field(..., max_length=100)
    stores: list[str] = Field(default_factory=list, max_length=50)
    discount_rate: Decimal = Field(..., description="share of the price a repeat customer pays: 0.85 is 8.5折")
    valid_from: dt.date | None = Field(None, description="default: today")
    valid_until: dt.date
    commission_rate: Decimal = Decimal("0.05")
    deposit: MoneyIn = Decimal("5000")


class MerchantOut(Schema):
    merchant_id: int
    name: str
    stores: list[str]
    agreement_version: int
    balance: MoneyOut
    status: str


@router.post("/merchants", response={201: MerchantOut, 200: MerchantOut},
             summary="Sign a merchant: stores, first agreement, 5000 deposit (operator; Idempotency-Key header)")
def sign(request: HttpRequest, payload: SignIn, idempotency_key: str | None = IdempotencyKey) -> Status:
    _operator_only(request)
    key = _key(idempotency_key)
    existed = BalanceEntry.objects.filter(shop=request.shop, idempotency_key=f"sign:{key}").exists()
    terms = Terms(discount_rate=payload.discount_rate, valid_from=payload.valid_from or local_day(moment(None)),
                  valid_until=payload.valid_until, commission_rate=payload.commission_rate)
    merchant = balance_service.sign_merchant(
        shop=request.shop, name=payload.name, terms=terms, stores=tuple(payload.stores), deposit=payload.deposit,
        staff=caller(request), idempotency_key=key)
    agreement = selectors.agreement_in_force(shop=request.shop, merchant=merchant, at=moment(None))
    return Status(200 if existed else 201, {
        "merchant_id": merchant.pk, "name": merchant.name, "stores": sorted(s.name for s in merchant.stores.all()),
        "agreement_version": agreement.version if agreement else 1, "balance": merchant.balance,
        "status": merchant.status})


class TopUpIn(StrictSchema):
    amount: MoneyIn = Field(..., description="at least 5000 yuan")


class TopUpOut(Schema):
    entry_id: int
    merchant_id: int
    amount: MoneyOut
    balance: MoneyOut
    status: str


@router.post("/merchants/{merchant_id}/topups", response={201: TopUpOut, 200: TopUpOut},
             summary="Record a top-up of at least 5000 yuan; lifts a balance suspension (operator; Idempotency-Key)")
def topup(request: HttpRequest, payload: TopUpIn, merchant_id: int = Path(..., ge=1, le=MAX_ID),
          idempotency_key: str | None = IdempotencyKey) -> Status:
    _operator_only(request)
    key = _key(idempotency_key)
    existed = BalanceEntry.objects.filter(shop=request.shop, idempotency_key=key).exists()
    entry = balance_service.top_up(shop=request.shop, merchant=merchant_id, amount=payload.amount,
                                   idempotency_key=key, staff=caller(request))
    merchant = Merchant.objects.get(pk=entry.merchant_id)
    return Status(200 if existed else 201, {
        "entry_id": entry.pk, "merchant_id": merchant.pk, "amount": entry.amount, "balance": merchant.balance,
        "status": merchant.status})
