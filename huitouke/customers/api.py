"""/api/v1/customers: the customer archive. Personal data is masked unless revealed (and logged)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _
from ninja import Path, Query, Router, Schema, Status

from huitouke.core.api import MAX_ID, PageQuery, actor, caller, paginate
from huitouke.core.errors import NotFound
from huitouke.core.models import Shop
from huitouke.core.pii import mask_address, mask_email, mask_name, scrub
from huitouke.core.selectors import store_by_slug
from huitouke.customers import merges, selectors, services
from huitouke.customers.models import Customer
from huitouke.customers.schemas import (
    ConsentIn,
    ConsentOut,
    CustomerCreate,
    CustomerDetail,
    CustomerListQuery,
    CustomerPage,
    CustomerUpdate,
    ErasedOut,
)

router = Router(tags=["customers"])

CustomerId = Path(..., ge=1, le=MAX_ID, description="customer id")
_PROFILE_OUT = [name for name in services.PROFILE_FIELDS if name != "name"]


def _profile_changes(data: dict[str, Any]) -> dict[str, Any]:
    """Profile fields from a request body; `null` means "clear", i.e. the field's default."""
    return {
        name: Customer._meta.get_field(name).get_default() if value is None else value
        for name, value in data.items()
    }


def _list_item(customer: Customer) -> dict[str, Any]:
    phones = list(customer.phones.all())  # prefetched, primary first
    return {
        "id": customer.pk,
        "name": mask_name(customer.name),
        "phone": phones[0].masked if phones else None,
        "completeness": customer.completeness,
        "orders_count": customer.orders_count,
        "purchase_days": customer.purchase_days,
        "net_spend": customer.net_spend,
        "last_purchase_at": customer.last_purchase_at,
        "registered_at": customer.registered_at,
        "do_not_contact": customer.do_not_contact,
    }


def _detail(*, shop: Shop, customer: Customer, reveal: bool) -> dict[str, Any]:
    """The 360 view of one customer; phones, e-mails, addresses and name in full only when revealed."""
    show_name = reveal or customer.is_erased  # an erased name is a placeholder, not personal data
    profile = {name: getattr(customer, name) for name in _PROFILE_OUT}
    if not reveal:
        profile = {name: scrub(value) if isinstance(value, str) else value for name, value in profile.items()}
    consents = [c for c in selectors.current_consents(shop=shop, customer=customer).values() if c is not None]
    score = selectors.completeness_of(customer)
    return {
        "id": customer.pk,
        "name": customer.name if show_name else mask_name(customer.name),
        "revealed": reveal,
        "erased": customer.is_erased,
        "do_not_contact": customer.do_not_contact,
        "registered_at": customer.registered_at,
        "registered_store": customer.registered_store.slug if customer.registered_store else None,
        "registered_by": customer.registered_by.display_name if customer.registered_by else None,
        "profile": profile,
        "phones": [
            {"phone": (p.e164 or p.masked) if reveal else p.masked, "is_primary": p.is_primary}
            for p in customer.phones.order_by("-is_primary", "id")
        ],
        "emails": [e.email if reveal else mask_email(e.email) for e in customer.emails.order_by("id")],
        "addresses": [
            {
                "recipient": a.recipient if reveal else mask_name(a.recipient),
                "region": a.region,
                "detail": a.detail if reveal else mask_address(a.detail),
                "postcode": a.postcode,
                "is_default": a.is_default,
            }
            for a in customer.addresses.order_by("-is_default", "id")
        ],
        "identities": [
            {"platform": i.platform, "handle": i.handle} for i in customer.identities.order_by("platform", "id")
        ],
        "tags": selectors.tag_names(shop=shop, customer=customer),
        "consents": [
            {"channel": c.channel, "granted": c.granted, "at": c.at, "source": c.source} for c in consents
        ],
        "completeness": {
            "score": score.score, "hard_missing": list(score.hard_missing), "soft_missing": list(score.soft_missing),
        },
        "stats": {
            "orders_count": customer.orders_count,
            "items_count": customer.items_count,
            "purchase_days": customer.purchase_days,
            "net_spend": customer.net_spend,
            "average_order_value": customer.average_order_value,
            "first_purchase_at": customer.first_purchase_at,
            "last_purchase_at": customer.last_purchase_at,
        },
    }


@router.get("", response=CustomerPage, summary="Search and list customers (masked)")
def list_customers(
    request: HttpRequest, filters: Query[CustomerListQuery], page: Query[PageQuery]
) -> dict[str, Any]:
    customers = selectors.search_customers(
        shop=request.shop, query=filters.q, order=filters.order, tag=filters.tag
    )
    items, info = paginate(customers, page)
    return {**info, "items": [_list_item(c) for c in items]}


@router.post("", response={201: CustomerDetail}, summary="Register a customer (name and phone required)")
def create_customer(request: HttpRequest, payload: CustomerCreate) -> Status:
    data = payload.model_dump(exclude_unset=True, mode="json")
    name, phone = data.pop("name"), data.pop("phone")
    store_slug, email = data.pop("store", None), data.pop("email", None)
    tags = data.pop("tags", [])
    data.pop("consents", None)  # read from the payload below, with their defaults
    consents = [consent.model_dump(mode="json") for consent in payload.consents]  # with their defaults
    shop, staff = request.shop, caller(request)
    with transaction.atomic():  # all or nothing: a bad e-mail must not leave a half-registered customer
        store = store_by_slug(shop=shop, slug=store_slug) if store_slug else None
        customer = services.register_customer(
            shop=shop, name=name, phone=phone, registered_by=staff, store=store, profile=_profile_changes(data),
        )
        if email:
            services.add_email(shop=shop, customer=customer, email=email)
        if tags:
            services.set_tags(shop=shop, customer=customer, names=tags)
        for consent in consents:
            services.record_consent(shop=shop, customer=customer, recorded_by=staff, **consent)
    customer = selectors.customer_by_id(shop=shop, customer_id=customer.pk)
    return Status(201, _detail(shop=shop, customer=customer, reveal=False))


@router.get("/{customer_id}", response=CustomerDetail, summary="One customer's 360 view")
def get_customer(request: HttpRequest, customer_id: int = CustomerId, reveal: bool = False) -> dict[str, Any]:
    """`?reveal=true` shows phones, e-mails and addresses in full: owners and managers only, and logged."""
    customer = selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    staff = caller(request)
    if reveal:
        services.record_reveal(shop=request.shop, staff=staff, actor=actor(request), customer=customer)
    return _detail(shop=request.shop, customer=customer, reveal=reveal)


@router.patch("/{customer_id}", response=CustomerDetail, summary="Change profile fields and/or tags")
def update_customer(request: HttpRequest, payload: CustomerUpdate, customer_id: int = CustomerId) -> dict[str, Any]:
    shop = request.shop
    customer = selectors.customer_by_id(shop=shop, customer_id=customer_id)
    data = payload.model_dump(exclude_unset=True, mode="json")
    tags_given, tags = "tags" in data, data.pop("tags", None)
    with transaction.atomic():
        if data:
            services.update_profile(shop=shop, customer=customer, changes=_profile_changes(data))
        if tags_given:
            services.set_tags(shop=shop, customer=customer, names=tags or [])
    customer = selectors.customer_by_id(shop=shop, customer_id=customer_id)
    return _detail(shop=shop, customer=customer, reveal=False)


@router.post("/{customer_id}/consents", response={201: ConsentOut}, summary="Record a consent decision")
def add_consent(request: HttpRequest, payload: ConsentIn, customer_id: int = CustomerId) -> Status:
    customer = selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    consent = services.record_consent(
        shop=request.shop, customer=customer, channel=payload.channel.value, granted=payload.granted,
        source=payload.source, recorded_by=caller(request),
    )
    return Status(201, {"channel": consent.channel, "granted": consent.granted, "at": consent.at,
                        "source": consent.source})


@router.get("/{customer_id}/export", response=dict[str, Any], summary="Data-subject export (logged)")
def export_customer(request: HttpRequest, customer_id: int = CustomerId) -> dict[str, Any]:
    """Everything held about the customer in full, so owners and managers only; each export is logged."""
    customer = selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    staff = caller(request)
    return services.export_customer(shop=request.shop, customer=customer, staff=staff, actor=actor(request))


@router.post("/{customer_id}/erase", response=ErasedOut, summary="Erase personal data on request (owner only)")
def erase_customer(request: HttpRequest, customer_id: int = CustomerId) -> dict[str, Any]:
    customer = selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    staff = caller(request)
    customer = services.erase_customer(shop=request.shop, customer=customer, staff=staff, actor=actor(request))
    return {"id": customer.pk, "erased_at": customer.erased_at}


class MergeOut(Schema):
    id: int
    kept_id: int
    absorbed_id: int
    reason: str
    evidence: str
    source: str
    created_at: dt.datetime
    undone_at: dt.datetime | None


@router.post(
    "/{customer_id}/merges/{merge_id}/undo", response=MergeOut,
    summary="Undo a merge of this customer: the merged-away record is a customer again (owners and managers)",
)
def undo_merge(
    request: HttpRequest, customer_id: int = CustomerId,
    merge_id: int = Path(..., ge=1, le=MAX_ID, description="merge id"),
) -> dict[str, Any]:
    customer = selectors.customer_by_id(shop=request.shop, customer_id=customer_id)
    if merge_id not in {m.pk for m in merges.merges_of(shop=request.shop, customer_ids=[customer.pk])}:
        raise NotFound(_("customer %(customer)s has no merge %(merge)s"), field="merge",
                       params={"customer": customer_id, "merge": merge_id})
    merge = merges.undo_merge(shop=request.shop, merge_id=merge_id, staff=caller(request))
    return {
        "id": merge.pk, "kept_id": merge.kept_id, "absorbed_id": merge.absorbed_id, "reason": merge.reason,
        "evidence": merge.evidence, "source": merge.source, "created_at": merge.created_at,
        "undone_at": merge.undone_at,
    }
