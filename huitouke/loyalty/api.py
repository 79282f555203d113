"""/api/v1/loyalty: checkout quote and commit, members and points, coupons, gifts, programme settings.

Writes that a client may retry (commit, points adjustments, gift exchanges, manual coupon issues) take
an `Idempotency-Key` header: the same key gives the same single effect.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from ninja import Header, Path, Query, Router, Status

from huitouke.core.api import MAX_ID, PageQuery, caller, paginate
from huitouke.core.errors import Invalid
from huitouke.core.services import require_manager
from huitouke.customers.selectors import customer_by_id
from huitouke.loyalty import selectors
from huitouke.loyalty.card import card_token
from huitouke.loyalty.schemas import (
    AdjustIn,
    BatchIn,
    BatchOut,
    CheckoutIn,
    CommitOut,
    FavouriteIn,
    GiftExchangeIn,
    GiftIn,
    GiftOut,
    IssuedList,
    IssuedOut,
    IssueIn,
    LadderIn,
    MemberOut,
    ParcelGiftOut,
    PointsEntryOut,
    PointsPage,
    ProgrammeIn,
    ProgrammeOut,
    QuoteOut,
    RefundIn,
    RefundOut,
    ReviewIn,
    TemplateIn,
    TemplateOut,
    TierOut,
)
from huitouke.loyalty.services import checkout, coupons, gifts, programme
from huitouke.loyalty.services import points as points_service
from huitouke.loyalty.services.audiences import audience_ids
from huitouke.orders.selectors import order_by_id
from huitouke.orders.services import record_refund

router = Router(tags=["loyalty"])

CustomerId = Path(..., ge=1, le=MAX_ID, description="customer id")
OrderId = Path(..., ge=1, le=MAX_ID, description="order id")
IdempotencyKey = Header(None, alias="Idempotency-Key", description="any unique string per intended write")


def _key(value: str | None) -> str:
    if not value or not value.strip():
        raise Invalid(_("send an Idempotency-Key header, e.g. a UUID, so a retried request has one effect"),
                      field="Idempotency-Key")
    return value.strip()


def _request(payload: CheckoutIn) -> checkout.CheckoutRequest:
    return checkout.CheckoutRequest(
        customer_id=payload.customer_id,
        lines=tuple(checkout.CartLine(sku=line.sku, quantity=line.quantity, unit_price=line.unit_price)
                    for line in payload.lines),
        coupon_code=payload.coupon_code, points=payload.points, shipping=payload.shipping,
        store=payload.store, order_number=payload.order_number,
    )


@router.post("/quote", response=QuoteOut, summary="Price a basket: discounts with reasons, points, warnings")
def quote(request: HttpRequest, payload: CheckoutIn) -> dict[str, Any]:
    return checkout.quote(shop=request.shop, request=_request(payload))


@router.post("/commit", response=CommitOut, summary="Record a priced basket once (Idempotency-Key header)")
def commit(request: HttpRequest, payload: CheckoutIn, idempotency_key: str | None = IdempotencyKey) -> dict:
    return checkout.commit(shop=request.shop, request=_request(payload), idempotency_key=_key(idempotency_key))


def _tier_out(tier) -> dict[str, Any]:
    return {name: getattr(tier, name) for name in TierOut.model_fields}


@router.get("/programme", response=ProgrammeOut, summary="Programme settings and the tier ladder")
def get_programme(request: HttpRequest) -> dict[str, Any]:
    return _programme_out(request)


def _programme_out(request: HttpRequest) -> dict[str, Any]:
    settings = programme.programme_of(shop=request.shop)
    data = {name: getattr(settings, name) for name in programme.SETTINGS_FIELDS}
    return {**data, "tiers": [_tier_out(t) for t in programme.ladder(shop=request.shop)]}


@router.patch("/programme", response=ProgrammeOut, summary="Change programme settings (owner or manager)")
def patch_programme(request: HttpRequest, payload: ProgrammeIn) -> dict[str, Any]:
    _require_manager(request)
    changes = payload.model_dump(exclude_none=True)
    programme.update_programme(shop=request.shop, **changes)
    return _programme_out(request)


@router.put("/tiers", response=ProgrammeOut, summary="Replace the tier ladder, lowest tier first")
def put_tiers(request: HttpRequest, payload: LadderIn) -> dict[str, Any]:
    _require_manager(request)
    programme.set_ladder(shop=request.shop, tiers=[programme.TierInput(**t.model_dump()) for t in payload.tiers])
    return _programme_out(request)


def _require_manager(request: HttpRequest) -> None:
    require_manager(shop=request.shop, staff=caller(request), action="change the loyalty programme")


@router.get("/members/{customer_id}", response=MemberOut, summary="Tier, points, coupons and the next tier")
def member(request: HttpRequest, customer_id: int = CustomerId) -> dict[str, Any]:
    customer = customer_by_id(shop=request.shop, customer_id=customer_id)
    card = selectors.member_card(shop=request.shop, customer=customer)
    return {
        "customer_id": customer.pk, "tier": _tier_out(card.tier), "points": card.points,
        "coupons": [_coupon_out(c) for c in card.coupons],
        "next_tier": None if card.next_tier is None else {
            "name": card.next_tier.tier.name, "missing": str(card.next_tier.missing), "basis": card.next_tier.basis,
        },
        "demotion_due_on": card.demotion_due_on,
        "card_url": request.build_absolute_uri(reverse("member_card", args=[card_token(customer)])),
    }


def _coupon_out(coupon) -> dict[str, Any]:
    return {
        "code": coupon.code, "name": coupon.template.name, "status": coupon.status, "trigger": coupon.trigger,
        "valid_from": coupon.valid_from, "valid_until": coupon.valid_until,
    }


def _entry_out(entry) -> dict[str, Any]:
    return {
        "id": entry.pk, "at": entry.created_at, "kind": entry.kind, "delta": entry.delta,
        "expires_on": entry.expires_on, "reason": entry.reason, "order_id": entry.order_id,
    }


@router.get("/members/{customer_id}/points", response=PointsPage, summary="The customer's points ledger, newest first")
def points_history(request: HttpRequest, customer_id: int = CustomerId, page: Query[PageQuery] = None) -> dict:
    customer = customer_by_id(shop=request.shop, customer_id=customer_id)
    items, info = paginate(selectors.points_history(shop=request.shop, customer=customer), page or PageQuery())
    return {**info, "items": [_entry_out(e) for e in items]}


@router.post("/members/{customer_id}/points/adjust", response={201: PointsEntryOut},
             summary="Add or take points by hand, with a reason (owner or manager)")
def adjust(request: HttpRequest, payload: AdjustIn, customer_id: int = CustomerId,
           idempotency_key: str | None = IdempotencyKey) -> Status:
    customer = customer_by_id(shop=request.shop, customer_id=customer_id)
    entry = points_service.adjust_points(
        shop=request.shop, customer=customer, delta=payload.delta, reason=payload.reason, staff=caller(request),
        idempotency_key=f"adjust:{_key(idempotency_key)}",
    )
    return Status(201, _entry_out(entry))


@router.post("/members/{customer_id}/gifts", response={201: PointsEntryOut},
             summary="Exchange points for a catalogue gift (stock counted)")
def exchange_gift(request: HttpRequest, payload: GiftExchangeIn, customer_id: int = CustomerId,
                  idempotency_key: str | None = IdempotencyKey) -> Status:
    customer = customer_by_id(shop=request.shop, customer_id=customer_id)
    entry = gifts.exchange_for_points(
        shop=request.shop, customer=customer, gift_id=payload.gift_id, idempotency_key=_key(idempotency_key),
    )
    return Status(201, _entry_out(entry))


@router.post("/orders/{order_id}/refund", response=RefundOut,
             summary="Record the order's refunded total and reverse its points in proportion")
def refund(request: HttpRequest, payload: RefundIn, order_id: int = OrderId) -> dict[str, Any]:
    order = record_refund(shop=request.shop, order_id=order_id, refunded_amount=payload.refunded_amount)
    points_service.reverse_for_refund(shop=request.shop, order=order)
    reversed_points = -sum(
        e.delta for e in selectors.points_of_order(shop=request.shop, order=order) if e.kind == "reversal"
    )
    balance = selectors.balance_of(shop=request.shop, customer_id=order.customer_id)
    return {"order_id": order.pk, "status": order.status, "refunded_amount": order.refunded_amount,
            "points_reversed": reversed_points, "points_balance": balance}


@router.post("/orders/{order_id}/parcel-gift", response=ParcelGiftOut,
             summary="When packing a repeat customer's order: a gift she has never had (recorded)")
def parcel_gift(request: HttpRequest, order_id: int = OrderId) -> dict[str, Any]:
    given = gifts.propose_parcel_gift(shop=request.shop, order=order_by_id(shop=request.shop, order_id=order_id))
    if given is None:
        return {"gift": None, "message": "no gift: not a repeat customer, or she has had every gift in stock"}
    return {"gift": _gift_out(given.gift), "message": f"put {given.gift.name} in the parcel"}


@router.get("/coupon-templates", response=list[TemplateOut], summary="Coupon templates, newest first")
def list_templates(request: HttpRequest) -> list[Any]:
    return [row["template"] for row in selectors.redemption_rates(shop=request.shop)]


@router.post("/coupon-templates", response={201: TemplateOut}, summary="Create a coupon template")
def create_template(request: HttpRequest, payload: TemplateIn) -> Status:
    data = payload.model_dump()
    data["eligible_roles"] = tuple(data["eligible_roles"])
    return Status(201, coupons.create_template(shop=request.shop, data=coupons.TemplateInput(**data)))


def _issued_out(coupon, created: bool = True) -> dict[str, Any]:
    return {"code": coupon.code, "customer_id": coupon.customer_id, "template_id": coupon.template_id,
            "valid_from": coupon.valid_from, "valid_until": coupon.valid_until, "created": created}


@router.post("/coupons", response={201: IssuedOut, 200: IssuedOut}, summary="Issue one coupon by hand")
def issue(request: HttpRequest, payload: IssueIn, idempotency_key: str | None = IdempotencyKey) -> Status:
    template = coupons.template_by_id(shop=request.shop, template_id=payload.template_id)
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    coupon, created = coupons.issue_coupon(
        shop=request.shop, template=template, customer=customer, issue_key=f"manual:{_key(idempotency_key)}",
    )
    return Status(201 if created else 200, _issued_out(coupon, created))


@router.post("/reviews", response=IssuedList, summary="A review was written: good ones earn coupons (好评送券)")
def review(request: HttpRequest, payload: ReviewIn) -> dict[str, Any]:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    issued = coupons.record_good_review(
        shop=request.shop, customer=customer, review_id=payload.review_id, stars=payload.stars
    )
    return {"coupons": [_issued_out(c) for c in issued]}


@router.post("/favourites", response=IssuedList, summary="The customer favourited the shop (收藏送券)")
def favourite(request: HttpRequest, payload: FavouriteIn) -> dict[str, Any]:
    customer = customer_by_id(shop=request.shop, customer_id=payload.customer_id)
    return {"coupons": [_issued_out(c) for c in coupons.record_favourite(shop=request.shop, customer=customer)]}


@router.post("/coupon-batches", response={201: BatchOut}, summary="Issue a template to a segment or a customer list")
def batch(request: HttpRequest, payload: BatchIn) -> Status:
    template = coupons.template_by_id(shop=request.shop, template_id=payload.template_id)
    ids, audience = audience_ids(shop=request.shop, customer_ids=payload.customer_ids, segment=payload.segment)
    issued = coupons.issue_batch(
        shop=request.shop, template=template, customer_ids=ids, audience=audience, staff=caller(request),
        announcement=payload.announcement,
    )
    return Status(201, {"id": issued.pk, "audience": issued.audience, "issued": issued.issued, "skipped": issued.skipped})


def _gift_out(gift) -> dict[str, Any]:
    return {name: getattr(gift, name) for name in GiftOut.model_fields}


@router.get("/gifts", response=list[GiftOut], summary="The gift catalogue")
def list_gifts(request: HttpRequest) -> list[dict[str, Any]]:
    return [_gift_out(g) for g in selectors.gifts(shop=request.shop)]


@router.post("/gifts", response={201: GiftOut}, summary="Add a gift to the catalogue")
def create_gift(request: HttpRequest, payload: GiftIn) -> Status:
    return Status(201, _gift_out(gifts.create_gift(shop=request.shop, **payload.model_dump())))
