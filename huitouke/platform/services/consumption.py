"""Recording what a verified member spent, the points it earns her, and corrections (reversal + new record).

A record is written under the member's row lock with its points entry and her SMS, so her cached points
balance always equals the sum of her entries and every record has exactly one notice. It counts in the
statement of the Shanghai month in which it completed.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, DomainError, Invalid, NotFound
from huitouke.core.i18n import localized_text_lazy
from huitouke.core.models import Shop, Staff
from huitouke.core.money import ZERO, money, to_fen
from huitouke.core.prepared import Prepared
from huitouke.core.timeutil import local_day
from huitouke.platform.models import Consumption, Member, MemberPoints, Merchant, MerchantStore, Verification
from huitouke.platform.selectors import member_by_phone
from huitouke.platform.services.common import check_key, id_of, moment, own_merchant
from huitouke.platform.services.notices import queue_notice
from huitouke.platform.services.verification import (
    Eligibility,
    eligibility,
    eligibility_as_verified,
    own_store,
)

POINTS_PER_YUAN = 10
MAX_AMOUNT = Decimal("1000000.00")

# The till's reads, compiled once per process (core.prepared).
_LOCKED_MEMBER = Prepared(lambda shop_id, pk: Member.objects.select_for_update(of=("self",))
                          .select_related("customer").filter(shop_id=shop_id, pk=pk))
_VERIFICATION = Prepared(lambda shop_id, merchant_id, member_id, pk: Verification.objects.filter(
    shop_id=shop_id, merchant_id=merchant_id, member_id=member_id, pk=pk).select_related("agreement"))


def points_for(amount: Decimal) -> int:
    """10 points per yuan, whole points, rounded down (¥12.34 → 123)."""
    return to_fen(amount) * POINTS_PER_YUAN // 100


def month_of(moment_: dt.datetime) -> dt.date:
    return local_day(moment_).replace(day=1)


def _points(member: Member, *, kind: str, delta: int, key: str, consumption: Consumption, at: dt.datetime) -> None:
    if delta:
        MemberPoints.objects.create(shop_id=member.shop_id, member=member, kind=kind, delta=delta,
                                    idempotency_key=key, consumption=consumption, at=at)
        member.points_balance += delta
        member.save(update_fields=["points_balance"])


def _replayed(shop: Shop, merchant: Merchant, key: str, member: Member, amount: Decimal) -> Consumption | None:
    found = Consumption.objects.filter(shop=shop, merchant=merchant, idempotency_key=key).first()
    if found is not None and (found.member_id != member.pk or found.amount != amount):
        raise Conflict(_("this idempotency key was already used for a different consumption"),
                       field="idempotency_key")
    return found


def record_consumption(
    *, shop: Shop, merchant: Merchant, phone: str, amount: Decimal, idempotency_key: str,
    items: list[str] | tuple[str, ...] = (), store: MerchantStore | int | None = None,
    started_at: dt.datetime | None = None, completed_at: dt.datetime | None = None,
    verification: Verification | int | None = None, staff: Staff | None = None, now: dt.datetime | None = None,
) -> Consumption:
    """The merchant records a repeat customer's spend (after discount); she earns points for it and gets an
    SMS saying so (queued in the same transaction).

    The member must be eligible under the terms in force when the purchase started (or completed). A retry
    with the same key returns the first record.
    """
    now, key = moment(now), check_key(idempotency_key)
    amount = money(amount)
    if not ZERO < amount <= MAX_AMOUNT:
        raise Invalid(_("the amount must be above 0 and at most %(max_amount)s"), field="amount",
                      params={"max_amount": MAX_AMOUNT})
    completed_at = completed_at or now
    if started_at and started_at > completed_at:
        raise Invalid(_("a consumption cannot complete before it started"), field="started_at")
    if completed_at > now + dt.timedelta(minutes=5):
        raise Invalid(_("a consumption cannot complete in the future"), field="completed_at")
    items = [str(item)[:100] for item in items][:100]
    merchant = own_merchant(shop, merchant)
    store = own_store(shop, merchant, store)
    member = member_by_phone(shop=shop, phone=phone)
    try:
        verdict, verified = _allowed(shop, merchant, member, store, verification, items, at=started_at or completed_at)
    except DomainError:
        # a retry answers with the first record even if the terms changed since; looked up only here, as
        # a fresh key would find nothing (a duplicate that gets this far is caught by the unique key below)
        if (earlier := _replayed(shop, merchant, key, member, amount)) is not None:
            return earlier
        raise
    try:
        with write_turn(), transaction.atomic():
            member = _LOCKED_MEMBER.first(shop_id=shop.pk, pk=member.pk)
            record = Consumption.objects.create(
                shop=shop, merchant=merchant, member=member, store=store, agreement=verdict.agreement,
                verification=verified, amount=amount, items=items, points=points_for(amount), started_at=started_at,
                completed_at=completed_at, month=month_of(completed_at), idempotency_key=key, staff=staff,
                recorded_at=now,
            )
            _points(member, kind=MemberPoints.Kind.EARN, delta=record.points, key=f"earn:{record.pk}",
                    consumption=record, at=now)
            queue_notice(shop=shop, consumption=record, member=member, merchant_name=merchant.name, now=now)
    except IntegrityError:  # the same request, sent twice at once: the other one wrote it
        if (earlier := _replayed(shop, merchant, key, member, amount)) is not None:
            return earlier
        raise
    return record


def _verification_of(shop: Shop, merchant: Merchant, member: Member,
                     verification: Verification | int | None) -> Verification | None:
    if verification is None:
        return None
    verification_id = id_of(verification)
    verified = None if verification_id is None else _VERIFICATION.first(
        shop_id=shop.pk, merchant_id=merchant.pk, member_id=member.pk, pk=verification_id)
    if verified is None:
        raise NotFound(_("no such verification of this member at this merchant"), field="verification")
    return verified


def _allowed(
    shop: Shop, merchant: Merchant, member: Member, store: MerchantStore | None,
    verification: Verification | int | None, items: list[str], *, at: dt.datetime,
) -> tuple[Eligibility, Verification | None]:
    """The rules for recording: eligible at `at` (the till's verification, when still conclusive, spares the
    second look-up) and no excluded item. They only read, so they run before the writer's turn (on SQLite
    every writer waits for it), which then holds just the writes."""
    verified = _verification_of(shop, merchant, member, verification)
    verdict = None
    if verified is not None:
        verdict = eligibility_as_verified(shop=shop, merchant=merchant, verification=verified, store=store, at=at)
    if verdict is None:
        verdict = eligibility(shop=shop, merchant=merchant, member=member, store=store, at=at)
    if not verdict.eligible:
        raise Conflict(_("not a repeat-customer purchase: %(reason)s"), code=verdict.outcome,
                       params={"reason": localized_text_lazy(verdict.reason)})
    excluded = sorted(set(items) & set(verdict.agreement.excluded_items))
    if excluded:
        raise Invalid(_("items excluded from the discount: %(excluded)s"), field="items",
                      params={"excluded": ", ".join(excluded)})
    return verdict, verified


def correct_consumption(
    *, shop: Shop, merchant: Merchant, consumption: Consumption | int, amount: Decimal | None, reason: str,
    idempotency_key: str, staff: Staff | None = None, now: dt.datetime | None = None,
) -> tuple[Consumption, Consumption | None]:
    """Reverse a record (and its points) and, unless `amount` is None, write the corrected one in its place.

    Both count in the month they were written; the original and its statement stay as they were."""
    now, key = moment(now), check_key(idempotency_key)
    if not (reason or "").strip():
        raise Invalid(_("a correction needs a reason"), field="reason")
    with write_turn(), transaction.atomic():
        merchant = own_merchant(shop, merchant)
        consumption_id = consumption.pk if isinstance(consumption, Consumption) else consumption
        original = Consumption.objects.filter(shop=shop, merchant=merchant, pk=consumption_id,
                                              kind=Consumption.Kind.RECORD).first()
        if original is None:
            raise NotFound(_("no such consumption record at this merchant"), field="consumption")
        member = Member.objects.select_for_update().get(pk=original.member_id)
        existing = Consumption.objects.filter(shop=shop, merchant=merchant, reverses=original).first()
        if existing is not None:
            if existing.idempotency_key != f"{key}:reversal":
                raise Conflict(_("this record was already corrected"),
                               field="consumption", code="already_corrected")
            return existing, Consumption.objects.filter(shop=shop, merchant=merchant, idempotency_key=key).first()
        reversal = Consumption.objects.create(
            shop=shop, merchant=merchant, member=member, store=original.store, agreement=original.agreement,
            kind=Consumption.Kind.REVERSAL, reverses=original, amount=-original.amount, items=original.items,
            points=-original.points, completed_at=now, month=month_of(now), idempotency_key=f"{key}:reversal",
            staff=staff, reason=reason.strip()[:300], recorded_at=now,
        )
        _points(member, kind=MemberPoints.Kind.REVERSAL, delta=-original.points, key=f"reversal:{original.pk}",
                consumption=reversal, at=now)
        queue_notice(shop=shop, consumption=reversal, member=member, merchant_name=merchant.name, now=now)
        replacement = None
        if amount is not None:
            amount = money(amount)
            if not ZERO < amount <= MAX_AMOUNT:
                raise Invalid(_("the amount must be above 0 and at most %(max_amount)s"), field="amount",
                              params={"max_amount": MAX_AMOUNT})
            replacement = Consumption.objects.create(
                shop=shop, merchant=merchant, member=member, store=original.store, agreement=original.agreement,
                amount=amount, items=original.items, points=points_for(amount), started_at=original.started_at,
                completed_at=now, month=month_of(now), idempotency_key=key, staff=staff,
                reason=f"correction of #{original.pk}: {reason.strip()}"[:300], recorded_at=now,
            )
            _points(member, kind=MemberPoints.Kind.EARN, delta=replacement.points, key=f"earn:{replacement.pk}",
                    consumption=replacement, at=now)
            queue_notice(shop=shop, consumption=replacement, member=member, merchant_name=merchant.name, now=now)
    return reversal, replacement


def points_from_entries(*, shop: Shop, member: Member) -> int:
    return MemberPoints.objects.filter(shop=shop, member=member).aggregate(s=Sum("delta"))["s"] or 0
