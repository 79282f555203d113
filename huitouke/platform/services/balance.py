"""The merchant's prepaid balance: deposit at signing, top-ups, commission deductions, adjustments.

Every write holds the merchant's row lock (on SQLite also the writer turn), appends one entry and moves the
cached balance by the same amount, so the balance always equals the sum of the entries. When the balance
falls below the minimum the merchant is alerted and given 5 Chinese working days (official holidays and
adjusted workdays, `chinese-calendar`) to top up; past that deadline it is suspended until a top-up brings
the balance back to the minimum. Prepayments are never refunded, so there is no refund entry.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import chinese_calendar
from django.db import transaction
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Forbidden, Invalid
from huitouke.core.models import Role, Shop, Staff
from huitouke.core.money import ZERO, money
from huitouke.core.timeutil import local_day
from huitouke.platform.models import BalanceAlert, BalanceEntry, Merchant
from huitouke.platform.services.actors import Terms, create_merchant, submit_agreement
from huitouke.platform.services.common import check_key, locked_merchant, moment, own_merchant

DEPOSIT = Decimal("5000.00")
MIN_TOPUP = Decimal("5000.00")
LOW_BALANCE = Decimal("500.00")
TOPUP_WORKING_DAYS = 5
SUSPENDED_FOR_BALANCE = gettext_noop("prepaid balance below 500 yuan past the top-up deadline")
Kind = BalanceEntry.Kind


def topup_deadline(day: dt.date) -> dt.date:
    """The fifth Chinese working day after `day` (weekends and official holidays skipped, adjusted
    working weekends counted): after Sunday 1 Nov 2026 that is Friday 6 Nov."""
    # find_workday counts from the first working day on or after its date, so from a weekend or a holiday (a
    # statement issued on the 1st often falls on one) it would give one working day more: count from the last
    # working day on or before `day`, which leaves the working days after `day` the same.
    start = day if chinese_calendar.is_workday(day) else chinese_calendar.find_workday(-1, day)
    return chinese_calendar.find_workday(TOPUP_WORKING_DAYS, start)


def require_operator(shop: Shop, staff: Staff | None) -> None:
    """Operator staff only (owner or manager, no merchant login); None is the CLI, run by the operator."""
    if staff is None:
        return  # the CLI, run by the operator
    if staff.shop_id != shop.pk or staff.role not in (Role.OWNER, Role.MANAGER) or hasattr(staff, "merchant_link"):
        raise Forbidden(_("only the operator's owner or a manager can record this"))


def append(
    merchant: Merchant, *, kind: str, amount: Decimal, key: str, at: dt.datetime, **fields,
) -> BalanceEntry:
    """Append one entry to a locked merchant, then apply the low-balance and resumption rules."""
    entry = BalanceEntry.objects.create(
        shop_id=merchant.shop_id, merchant=merchant, kind=kind, amount=amount, idempotency_key=key, at=at, **fields
    )
    merchant.balance = money(merchant.balance + amount)
    update = ["balance"]
    if merchant.balance < LOW_BALANCE and merchant.topup_deadline is None:
        merchant.low_since = at
        merchant.topup_deadline = topup_deadline(local_day(at))
        BalanceAlert.objects.create(
            shop_id=merchant.shop_id, merchant=merchant, balance=merchant.balance, deadline=merchant.topup_deadline,
            at=at,
        )
        update += ["low_since", "topup_deadline"]
    elif merchant.balance >= LOW_BALANCE and merchant.topup_deadline is not None:
        merchant.low_since = merchant.topup_deadline = None
        update += ["low_since", "topup_deadline"]
        if merchant.status == Merchant.Status.SUSPENDED and merchant.suspended_reason == SUSPENDED_FOR_BALANCE:
            merchant.status, merchant.suspended_reason = Merchant.Status.ACTIVE, ""
            update += ["status", "suspended_reason"]
    merchant.save(update_fields=update)
    return entry


def replayed(shop: Shop, key: str, kind: str, merchant: Merchant) -> BalanceEntry | None:
    entry = BalanceEntry.objects.filter(shop=shop, idempotency_key=key).first()
    if entry is not None and (entry.kind != kind or entry.merchant_id != merchant.pk):
        raise Conflict(_("this idempotency key was already used for a different balance entry"),
                       field="idempotency_key")
    return entry


def _write(shop: Shop, merchant: Merchant, *, kind: str, amount: Decimal, key: str, now: dt.datetime | None,
           **fields) -> BalanceEntry:
    key, at = check_key(key), moment(now)
    with write_turn(), transaction.atomic():
        locked = locked_merchant(shop, merchant)
        return replayed(shop, key, kind, locked) or append(locked, kind=kind, amount=amount, key=key, at=at, **fields)


def sign_merchant(
    *, shop: Shop, name: str, terms: Terms, stores: tuple[str, ...] = (), deposit: Decimal = DEPOSIT,
    staff: Staff | None = None, now: dt.datetime | None = None, idempotency_key: str | None = None,
) -> Merchant:
    """Signing: the merchant, its stores, its first agreement (in force at once) and the deposit.

    With an idempotency key (the API) the deposit entry carries it, so a retry returns the merchant it signed;
    without one (the CLI) the merchant's unique name refuses a second signing."""
    require_operator(shop, staff)
    deposit = money(deposit)
    if deposit < DEPOSIT:
        raise Invalid(_("the deposit at signing is at least %(deposit)s yuan"), field="deposit",
                      params={"deposit": DEPOSIT})
    key = _signing_key(idempotency_key) if idempotency_key is not None else None
    with write_turn(), transaction.atomic():
        if key is not None and (earlier := _signed_with(shop, key, name)) is not None:
            return earlier
        merchant = create_merchant(shop=shop, name=name, stores=stores)
        submit_agreement(shop=shop, merchant=merchant, terms=terms, staff=staff, now=now)
        append(merchant, kind=Kind.DEPOSIT, amount=deposit, key=key or f"deposit:{merchant.pk}", at=moment(now),
               staff=staff, reason=gettext_noop("deposit at signing"))
    merchant.refresh_from_db()
    return merchant


def _signing_key(idempotency_key: str) -> str:
    key = check_key(idempotency_key)
    if len(key) > 110:  # the entry's key column holds 120 with the prefix
        raise Invalid(_("an idempotency key for signing is at most 110 characters"), field="idempotency_key")
    return f"sign:{key}"


def _signed_with(shop: Shop, key: str, name: str) -> Merchant | None:
    entry = BalanceEntry.objects.filter(shop=shop, idempotency_key=key).select_related("merchant").first()
    if entry is None:
        return None
    if entry.kind != Kind.DEPOSIT or entry.merchant.name != (name or "").strip():
        raise Conflict(_("this idempotency key already signed a different merchant"), field="idempotency_key")
    return entry.merchant


def top_up(
    *, shop: Shop, merchant: Merchant, amount: Decimal, idempotency_key: str, staff: Staff | None = None,
    now: dt.datetime | None = None,
) -> BalanceEntry:
    """A top-up the operator received (at least 5000 yuan); it lifts a balance suspension."""
    require_operator(shop, staff)
    amount = money(amount)
    if amount < MIN_TOPUP:
        raise Invalid(_("a top-up is at least %(min_topup)s yuan"), field="amount",
                      params={"min_topup": MIN_TOPUP})
    return _write(shop, merchant, kind=Kind.TOPUP, amount=amount, key=idempotency_key, now=now, staff=staff,
                  reason=gettext_noop("top-up"))


def adjust_balance(
    *, shop: Shop, merchant: Merchant, amount: Decimal, reason: str, idempotency_key: str, staff: Staff | None = None,
    now: dt.datetime | None = None,
) -> BalanceEntry:
    """A correction by the operator (a settled dispute, say), with its reason; positive or negative."""
    require_operator(shop, staff)
    amount = money(amount)
    if amount == ZERO:
        raise Invalid(_("an adjustment cannot be zero"), field="amount")
    if not (reason or "").strip():
        raise Invalid(_("an adjustment needs a reason"), field="reason")
    return _write(shop, merchant, kind=Kind.ADJUSTMENT, amount=amount, key=idempotency_key, now=now, staff=staff,
                  reason=reason.strip()[:300])


def deduct_commission(*, merchant: Merchant, amount: Decimal, statement, at: dt.datetime) -> BalanceEntry:
    """The issued statement's commission (caller holds the merchant's lock); may leave the balance in arrears."""
    key = f"commission:{statement.pk}"
    return replayed(merchant.shop, key, Kind.COMMISSION, merchant) or append(
        merchant, kind=Kind.COMMISSION, amount=-money(amount), key=key, at=at, statement=statement,
        reason=f"{gettext_noop('commission')}: {statement.month:%Y-%m}",  # the portal translates the head
    )


def is_overdue(merchant: Merchant, at: dt.datetime) -> bool:
    """Past the top-up deadline with the balance still low (whether or not the suspension job has run)."""
    return merchant.topup_deadline is not None and local_day(at) > merchant.topup_deadline


def suspension_reason(merchant: Merchant, at: dt.datetime) -> str | None:
    if merchant.status == Merchant.Status.SUSPENDED:
        return merchant.suspended_reason or gettext_noop("the merchant is suspended")
    if is_overdue(merchant, at):
        return SUSPENDED_FOR_BALANCE
    return None


def enforce_deadlines(*, shop: Shop, now: dt.datetime | None = None) -> list[Merchant]:
    """Suspend every active merchant past its top-up deadline (run daily; verification also checks)."""
    at = moment(now)
    suspended = []
    for merchant_id in Merchant.objects.for_shop(shop).filter(
        status=Merchant.Status.ACTIVE, topup_deadline__lt=local_day(at)
    ).values_list("id", flat=True):
        with write_turn(), transaction.atomic():
            merchant = locked_merchant(shop, merchant_id)
            if merchant.status == Merchant.Status.ACTIVE and is_overdue(merchant, at):
                merchant.status, merchant.suspended_reason = Merchant.Status.SUSPENDED, SUSPENDED_FOR_BALANCE
                merchant.save(update_fields=["status", "suspended_reason"])
                suspended.append(merchant)
    return suspended


def balance_from_entries(*, shop: Shop, merchant: Merchant) -> Decimal:
    merchant = own_merchant(shop, merchant)
    total = BalanceEntry.objects.filter(shop=shop, merchant=merchant).aggregate(s=Sum("amount"))["s"]
    return ZERO if total is None else total
