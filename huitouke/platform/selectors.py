"""Reads of platform mode, always scoped by the operator's shop (and by the merchant for merchant logins)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, QuerySet, Sum
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.prepared import Prepared
from huitouke.core.timeutil import local_day
from huitouke.customers.phones import parse_phone
from huitouke.platform.models import (
    Agreement,
    BalanceEntry,
    Consumption,
    Dispute,
    Member,
    Merchant,
    MerchantStaff,
    Prize,
    Statement,
    Verification,
)

# Read at the till on every verification and recording: compiled once (core.prepared).
_AGREEMENT_IN_FORCE = Prepared(lambda shop_id, merchant_id, at: (
    Agreement.objects.filter(shop_id=shop_id, merchant_id=merchant_id, effective_from__lte=at)
    .order_by("-effective_from", "-version")[:1]))
_MEMBER_BY_PHONE = Prepared(lambda shop_id, e164: Member.objects.filter(shop_id=shop_id, phone_e164=e164)[:1])


def agreement_in_force(*, shop: Shop, merchant: Merchant, at: dt.datetime) -> Agreement | None:
    """The terms in force at that moment: the newest version already effective then."""
    return _AGREEMENT_IN_FORCE.first(shop_id=shop.pk, merchant_id=merchant.pk, at=at)


_CONSUMPTION_KEY = Prepared(lambda shop_id, merchant_id, key: Consumption.objects.filter(
    shop_id=shop_id, merchant_id=merchant_id, idempotency_key=key).order_by().values_list("pk")[:1])


def key_was_used(*, shop: Shop, merchant: Merchant, key: str) -> bool:
    """Has the merchant recorded a consumption under this idempotency key (the till is retrying)?"""
    return bool(_CONSUMPTION_KEY.rows(shop_id=shop.pk, merchant_id=merchant.pk, key=key))


def member_with_phone(*, shop: Shop, e164: str) -> Member | None:
    return _MEMBER_BY_PHONE.first(shop_id=shop.pk, e164=e164)


def pending_changes(*, shop: Shop, merchant: Merchant, at: dt.datetime) -> QuerySet[Agreement]:
    return Agreement.objects.for_shop(shop).filter(merchant=merchant, effective_from__gt=at).order_by("effective_from")


_MERCHANT_OF_LOGIN = Prepared(lambda shop_id, staff_id: MerchantStaff.objects.filter(
    shop_id=shop_id, staff_id=staff_id).select_related("merchant").order_by()[:1])


def merchant_of(*, shop: Shop, staff: Staff) -> Merchant | None:
    """The merchant a login acts for, or None for the operator's own staff (read on every till call)."""
    link = _MERCHANT_OF_LOGIN.first(shop_id=shop.pk, staff_id=staff.pk)
    return link.merchant if link else None


def merchant_for(*, shop: Shop, staff: Staff, merchant_id: int) -> Merchant:
    """A merchant the caller may see: any for operator staff, only its own for a merchant login (else 404)."""
    own = merchant_of(shop=shop, staff=staff)
    if own is not None and own.pk != merchant_id:
        raise NotFound(_("no such merchant"), field="merchant")
    found = Merchant.objects.for_shop(shop).filter(pk=merchant_id).first()
    if found is None:
        raise NotFound(_("no such merchant"), field="merchant")
    return found


def balance_history(*, shop: Shop, merchant: Merchant) -> QuerySet[BalanceEntry]:
    return BalanceEntry.objects.for_shop(shop).filter(merchant=merchant).order_by("at", "id")


@dataclass(frozen=True)
class BalanceRow:
    merchant_id: int
    name: str
    balance: Decimal
    status: str
    suspended_reason: str
    low_since: dt.date | None
    topup_deadline: dt.date | None
    overdue: bool


def balances(*, shop: Shop, at: dt.datetime) -> list[BalanceRow]:
    """Every merchant's balance, top-up deadline and suspension, for the operator."""
    today = local_day(at)
    return [
        BalanceRow(
            merchant_id=m.pk, name=m.name, balance=m.balance, status=m.status, suspended_reason=m.suspended_reason,
            low_since=local_day(m.low_since) if m.low_since else None, topup_deadline=m.topup_deadline,
            overdue=m.topup_deadline is not None and today > m.topup_deadline,
        )
        for m in Merchant.objects.for_shop(shop).order_by("name")
    ]


def member_by_phone(*, shop: Shop, phone: str) -> Member:
    parsed = parse_phone(phone)
    member = member_with_phone(shop=shop, e164=parsed.e164) if parsed.e164 else None
    if member is None:
        raise NotFound(_("no platform member with this phone number"), field="phone")
    return member


def statements_of(*, shop: Shop, merchant: Merchant) -> QuerySet[Statement]:
    return Statement.objects.for_shop(shop).filter(merchant=merchant).select_related("merchant").order_by("-month")


@dataclass(frozen=True)
class Console:
    merchants: list[BalanceRow]
    suspended: int
    in_arrears: int  # balance below the minimum, deadline running or past
    month_spend: Decimal
    month_consumptions: int
    statements_due: list[Statement]  # issued, settle-by day not yet past
    statements_overdue: list[Statement]  # settle-by day past while the merchant's balance is negative


def console(*, shop: Shop, at: dt.datetime) -> Console:
    """The operator's figures: merchants with balances and suspensions, this month's spend, statements."""
    rows = balances(shop=shop, at=at)
    today = local_day(at)
    month = Consumption.objects.for_shop(shop).filter(month=today.replace(day=1)).aggregate(
        s=Sum("amount"), n=Count("id"))
    recent = list(Statement.objects.for_shop(shop).select_related("merchant").filter(
        month__gte=(today.replace(day=1) - dt.timedelta(days=62)).replace(day=1)).order_by("due_on", "merchant__name"))
    return Console(
        merchants=rows, suspended=sum(r.status == Merchant.Status.SUSPENDED or r.overdue for r in rows),
        in_arrears=sum(r.topup_deadline is not None for r in rows),
        month_spend=month["s"] or Decimal("0.00"), month_consumptions=month["n"] or 0,
        statements_due=[s for s in recent if s.due_on >= today],
        statements_overdue=[s for s in recent if s.due_on < today and s.merchant.balance < 0],
    )


def consumptions_of(*, shop: Shop, merchant: Merchant, limit: int = 50) -> QuerySet[Consumption]:
    """The newest records, each with its statement line (if billed yet) for the dispute form."""
    return (Consumption.objects.for_shop(shop).filter(merchant=merchant)
            .select_related("member", "store", "statement_line__statement")
            .order_by("-completed_at", "-id")[:limit])


def disputes(*, shop: Shop, merchant: Merchant | None = None, status: str | None = None) -> QuerySet[Dispute]:
    """The operator's disputes (one merchant's when given), newest first."""
    found = Dispute.objects.for_shop(shop).select_related("merchant", "line__statement", "line__consumption",
                                                          "adjustment")
    if merchant is not None:
        found = found.filter(merchant=merchant)
    if status is not None:
        found = found.filter(status=status)
    return found.order_by("-raised_at", "-id")


def statement_for(*, shop: Shop, statement_id: int, merchant: Merchant | None) -> Statement | None:
    """A statement the caller may see: any of the operator's, or only its own merchant's (None otherwise)."""
    found = Statement.objects.for_shop(shop).select_related("merchant").filter(pk=statement_id)
    if merchant is not None:
        found = found.filter(merchant=merchant)
    return found.first()


def prizes(*, shop: Shop | int) -> QuerySet[Prize]:
    return Prize.objects.for_shop(shop).filter(active=True).order_by("points_cost", "name")


def verification_of(*, shop: Shop, merchant: Merchant, verification_id: int) -> Verification:
    """An eligible verification of this merchant (the till records against it), else NotFound."""
    found = (Verification.objects.for_shop(shop).select_related("member")
             .filter(merchant=merchant, pk=verification_id, outcome=Verification.Outcome.ELIGIBLE).first())
    if found is None:
        raise NotFound(_("verify the member first"), field="verification")
    return found
