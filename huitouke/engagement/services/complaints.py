"""Complaints (DOMAIN.md §5): easy to file (staff, API, the customer's own signed link), handled in nine steps,
acknowledged the same day and resolved within 3 days, compensated with a coupon or a gift."""

from __future__ import annotations

import datetime as dt

from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.timeutil import day_start, local_day
from huitouke.customers.models import Customer
from huitouke.engagement.lookup import shop_row
from huitouke.engagement.models import (
    Complaint,
    ComplaintRoute,
    ComplaintStep,
    ComplaintStepRecord,
    ComplaintVia,
    TaskKind,
    TaskSource,
)
from huitouke.engagement.services.followups import create_task
from huitouke.loyalty.services import coupons, gifts

RESOLVE_WITHIN = dt.timedelta(days=3)
FOLLOW_UP_AFTER_DAYS = 7
LINK_SALT = "huitouke.engagement.complaint-link"
LINK_MAX_AGE = 60 * 60 * 24 * 30  # a complaint link works for 30 days


def complaint_token(customer: Customer) -> str:
    """The signed key of her complaint form: (shop, customer), no personal data; it expires after 30 days."""
    return signing.dumps([customer.shop_id, customer.pk], salt=LINK_SALT, compress=True)


def customer_from_token(token: str, *, max_age: int | None = None) -> Customer | None:
    """The live customer the link was made for, or None for a forged, expired or erased one."""
    try:
        shop_id, customer_id = signing.loads(token, salt=LINK_SALT, max_age=LINK_MAX_AGE if max_age is None else max_age)
    except (signing.BadSignature, ValueError, TypeError):  # SignatureExpired is a BadSignature
        return None
    return Customer.objects.for_shop(shop_id).filter(pk=customer_id, erased_at__isnull=True).first()


def acknowledge_by(complaint: Complaint) -> dt.datetime:
    """The end of the Shanghai day it came in."""
    return day_start(local_day(complaint.received_at) + dt.timedelta(days=1))


def resolve_by(complaint: Complaint) -> dt.datetime:
    return complaint.received_at + RESOLVE_WITHIN


def overdue_flags(complaint: Complaint, *, now: dt.datetime) -> list[str]:
    """"acknowledgement" and/or "resolution" when that deadline passed without it."""
    flags = []
    if complaint.acknowledged_at is None and now >= acknowledge_by(complaint):
        flags.append("acknowledgement")
    if complaint.resolved_at is None and now >= resolve_by(complaint):
        flags.append("resolution")
    return flags


@transaction.atomic
def file_complaint(
    *, shop: Shop, customer: Customer, description: str, route: str = ComplaintRoute.HEAD_OFFICE, region: str = "",
    via: str = ComplaintVia.STAFF, filed_by: Staff | None = None, now: dt.datetime | None = None,
) -> Complaint:
    if customer.shop_id != shop.pk or customer.is_erased:
        raise NotFound(gettext_lazy("no such customer in this shop"), field="customer_id")
    if not description.strip():
        raise Invalid(gettext_lazy("say what happened"), field="description")
    if route not in ComplaintRoute.values:
        raise Invalid(gettext_lazy("route must be one of %(choices)s"), field="route",
                      params={"choices": ", ".join(ComplaintRoute.values)})
    if route == ComplaintRoute.REGION and not region.strip():
        raise Invalid(gettext_lazy("name the region the complaint is about"), field="region")
    if filed_by is not None and filed_by.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such staff member"), field="filed_by")
    return Complaint.objects.create(
        shop=shop, customer=customer, description=description.strip()[:5000], route=route,
        region=region.strip()[:50] if route == ComplaintRoute.REGION else "", via=via, filed_by=filed_by,
        received_at=now or timezone.now(),
    )


def complaint_by_id(*, shop: Shop, complaint_id: int, lock: bool = False) -> Complaint:
    return shop_row(Complaint, shop=shop, pk=complaint_id, label="complaint", lock=lock)


@transaction.atomic
def record_step(
    *, shop: Shop, complaint_id: int, step: str, by: Staff | None, note: str = "", now: dt.datetime | None = None,
) -> ComplaintStepRecord:
    """Record one of the nine steps. Any step acknowledges the complaint; "confirm" resolves it and books the
    follow-up call a week later for her own associate."""
    if step not in ComplaintStep.values:
        raise Invalid(gettext_lazy("step must be one of %(choices)s"), field="step",
                      params={"choices": ", ".join(ComplaintStep.values)})
    if by is not None and by.shop_id != shop.pk:
        raise NotFound(gettext_lazy("no such staff member"), field="by")
    complaint = complaint_by_id(shop=shop, complaint_id=complaint_id, lock=True)
    now = now or timezone.now()
    record, _ = ComplaintStepRecord.objects.update_or_create(
        shop=shop, complaint=complaint, step=step, defaults={"by": by, "at": now, "note": note.strip()[:2000]},
    )
    changed = []
    if complaint.acknowledged_at is None:
        complaint.acknowledged_at = now
        changed.append("acknowledged_at")
    if step == ComplaintStep.CONFIRM and complaint.resolved_at is None:
        complaint.resolved_at = now
        changed.append("resolved_at")
        create_task(
            shop=shop, customer=complaint.customer, kind=TaskKind.CALL, title=f"投诉回访（#{complaint.pk}）",
            due_on=local_day(now) + dt.timedelta(days=FOLLOW_UP_AFTER_DAYS), source=TaskSource.COMPLAINT,
            rule="complaint", source_key=f"complaint:{complaint.pk}:follow_up", now=now,
        )
    if changed:
        complaint.save(update_fields=changed)
    return record


@transaction.atomic
def compensate(
    *, shop: Shop, complaint_id: int, by: Staff | None, coupon_template_id: int | None = None,
    gift_id: int | None = None, note: str = "", now: dt.datetime | None = None,
) -> Complaint:
    """Compensate once: a coupon issued through the loyalty programme, or a gift taken from stock (handed
    over in person or in her next parcel). Records the "compensate" step."""
    if (coupon_template_id is None) == (gift_id is None):
        raise Invalid(gettext_lazy("give either a coupon template or a gift"), field="coupon_template_id")
    complaint = complaint_by_id(shop=shop, complaint_id=complaint_id, lock=True)
    if complaint.coupon_id or complaint.gift_id:
        raise Conflict(gettext_lazy("this complaint was already compensated"), field="coupon_template_id")
    now = now or timezone.now()
    if coupon_template_id is not None:
        template = coupons.template_by_id(shop=shop, template_id=coupon_template_id)
        complaint.coupon, _ = coupons.issue_coupon(shop=shop, template=template, customer=complaint.customer,
                                                   issue_key=f"complaint:{complaint.pk}", on=local_day(now))
        what = f"优惠券 {template.name}（{complaint.coupon.code}）"
    else:
        complaint.gift = gifts.take_from_stock(shop=shop, gift_id=gift_id)
        what = f"礼品 {complaint.gift.name}"
    complaint.save(update_fields=["coupon", "gift"])
    record_step(shop=shop, complaint_id=complaint.pk, step=ComplaintStep.COMPENSATE, by=by,
                note=f"{what}{'：' + note.strip() if note.strip() else ''}", now=now)
    complaint.refresh_from_db()
    return complaint
