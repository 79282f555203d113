"""Verification at the till: by phone, QR token or back-office search; rate-limited, locked out against
phone-number enumeration, and logged whatever the outcome.

The throttle counter is a database row per merchant login (so it holds across processes), taken under its
row lock; the clock is injected (`now`), so tests move time instead of sleeping.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.core.pii import mask_phone
from huitouke.core.prepared import Prepared
from huitouke.core.timeutil import local_day
from huitouke.customers.phones import parse_phone
from huitouke.platform import qr, selectors
from huitouke.platform.models import (
    Agreement,
    AgreementStore,
    GroupBuy,
    Member,
    Merchant,
    MerchantStore,
    Method,
    Verification,
)
from huitouke.platform.models import VerifyThrottle as Throttle
from huitouke.platform.services.balance import suspension_reason
from huitouke.platform.services.common import id_of, moment, own_merchant

WINDOW = dt.timedelta(minutes=10)
MAX_LOOKUPS = 120  # per login and window: a till never needs more
MAX_MISSES = 5  # unknown numbers, forged tokens … per window, then the lockout
LOCKOUT = dt.timedelta(minutes=30)
Outcome = Verification.Outcome
MISSES = {Outcome.NOT_MEMBER, Outcome.NO_GROUP_BUY, Outcome.BAD_TOKEN}

# The till's reads, compiled once per process (core.prepared): Django's query building cost more than SQLite.
_LATEST_GROUP_BUY = Prepared(lambda shop_id, merchant_id, member_id: GroupBuy.objects.filter(
    shop_id=shop_id, merchant_id=merchant_id, member_id=member_id).order_by("-day")[:1])
_AGREEMENT_STORES = Prepared(lambda shop_id, agreement_id: AgreementStore.objects.filter(
    shop_id=shop_id, agreement_id=agreement_id).values_list("store_id"))
_NEWER_AGREEMENT = Prepared(lambda shop_id, merchant_id, after, until: Agreement.objects.filter(
    shop_id=shop_id, merchant_id=merchant_id, effective_from__gt=after, effective_from__lte=until,
).order_by().values_list("pk")[:1])
_STORE = Prepared(lambda shop_id, merchant_id, pk: MerchantStore.objects.filter(
    shop_id=shop_id, merchant_id=merchant_id, pk=pk).order_by())
_THROTTLE = Prepared(lambda shop_id, key: Throttle.objects.select_for_update().filter(shop_id=shop_id, key=key))
# English for the API and the log; the till page shows them in its language (platform locale).
REASONS = {
    Outcome.ELIGIBLE: gettext_noop("eligible for the repeat-customer discount"),
    Outcome.NOT_MEMBER: gettext_noop("no platform member with this phone number"),
    Outcome.NO_GROUP_BUY: gettext_noop("the member has no group-buy at this merchant"),
    Outcome.EXPIRED: gettext_noop("the repeat-customer discount has expired"),
    Outcome.NOT_YET_VALID: gettext_noop("the repeat-customer discount is not valid yet"),
    Outcome.EXCLUDED_STORE: gettext_noop("the agreement does not cover this store"),
    Outcome.METHOD_NOT_ALLOWED: gettext_noop("the agreement does not allow this verification method"),
    Outcome.NO_AGREEMENT: gettext_noop("no agreement is in force"),
    Outcome.BAD_TOKEN: gettext_noop("the QR code is forged or expired: ask the member to refresh it"),
    Outcome.LOCKED: gettext_noop("too many failed look-ups: verification is locked for a while"),
    Outcome.THROTTLED: gettext_noop("too many look-ups: slow down"),
}


@dataclass(frozen=True)
class Eligibility:
    outcome: str
    reason: str
    agreement: Agreement | None = None
    valid_until: dt.date | None = None

    @property
    def eligible(self) -> bool:
        return self.outcome == Outcome.ELIGIBLE


@dataclass(frozen=True)
class Result:
    verification: Verification
    eligibility: Eligibility
    member_masked: str

    @property
    def eligible(self) -> bool:
        return self.eligibility.eligible


def _says(outcome: str, agreement: Agreement | None = None, reason: str | None = None, **extra) -> Eligibility:
    return Eligibility(outcome=outcome, reason=reason or REASONS[outcome], agreement=agreement, **extra)


def eligibility(
    *, shop: Shop, merchant: Merchant, member: Member | None, store: MerchantStore | None, at: dt.datetime,
    method: str | None = None,
) -> Eligibility:
    """May this member have the merchant's discount at this store at this moment, and if not, why not."""
    if (suspended := suspension_reason(merchant, at)) is not None:
        return _says(Outcome.SUSPENDED, reason=f"the merchant is suspended: {suspended}")
    agreement = selectors.agreement_in_force(shop=shop, merchant=merchant, at=at)
    if agreement is None:
        return _says(Outcome.NO_AGREEMENT)
    if method is not None and method not in agreement.methods:
        return _says(Outcome.METHOD_NOT_ALLOWED, agreement)
    if member is None:
        return _says(Outcome.NOT_MEMBER, agreement)
    bought = _LATEST_GROUP_BUY.first(shop_id=shop.pk, merchant_id=merchant.pk, member_id=member.pk)
    if bought is None:
        return _says(Outcome.NO_GROUP_BUY, agreement)
    day = local_day(at)
    if agreement.validity == Agreement.Validity.AFTER_GROUP_BUY:
        start, until = bought.day, bought.day + dt.timedelta(days=agreement.valid_days or 0)
    else:
        start, until = agreement.valid_from, agreement.valid_until
    if start and day < start:
        return _says(Outcome.NOT_YET_VALID, agreement, valid_until=until)
    if until and day > until:
        return _says(Outcome.EXPIRED, agreement, reason=f"{REASONS[Outcome.EXPIRED]}: {until}",
                     valid_until=until)
    allowed = {store_id for (store_id,) in _AGREEMENT_STORES.rows(shop_id=shop.pk, agreement_id=agreement.pk)}
    if allowed and (store is None or store.pk not in allowed):
        return _says(Outcome.EXCLUDED_STORE, agreement)
    return _says(Outcome.ELIGIBLE, agreement, valid_until=until)


def eligibility_as_verified(
    *, shop: Shop, merchant: Merchant, verification: Verification, store: MerchantStore | None, at: dt.datetime,
) -> Eligibility | None:
    """The verdict of an eligible verification of this member, when nothing it rested on can have changed by
    `at`; None means: check again. Same store and Shanghai day (validity is counted in days), the merchant not
    suspended at `at`, and no agreement version taking effect between the two moments (a newer group-buy
    only moves her window later)."""
    if (verification.outcome != Outcome.ELIGIBLE or verification.agreement is None
            or verification.store_id != (store.pk if store else None) or local_day(verification.at) != local_day(at)):
        return None
    if suspension_reason(merchant, at) is not None:
        return None
    low, high = sorted((verification.at, at))
    if _NEWER_AGREEMENT.rows(shop_id=shop.pk, merchant_id=merchant.pk, after=low, until=high):
        return None
    return _says(Outcome.ELIGIBLE, verification.agreement)


def own_store(shop: Shop, merchant: Merchant, store: MerchantStore | int | None) -> MerchantStore | None:
    if store is None:
        return None
    store_id = id_of(store)
    found = None if store_id is None else _STORE.first(shop_id=shop.pk, merchant_id=merchant.pk, pk=store_id)
    if found is None:
        raise NotFound(_("the merchant has no such store"), field="store")
    return found


def _throttle(shop: Shop, merchant: Merchant, staff: Staff | None, now: dt.datetime) -> Throttle:
    """The login's counter, locked; made on its first look-up (one query on every later one)."""
    key = f"{merchant.pk}:{staff.pk if staff else 0}"
    throttle = _THROTTLE.first(shop_id=shop.pk, key=key)
    if throttle is None:
        Throttle.objects.get_or_create(shop=shop, key=key, defaults={
            "merchant": merchant, "staff": staff, "window_start": now})
        throttle = _THROTTLE.first(shop_id=shop.pk, key=key)
    if now - throttle.window_start >= WINDOW:
        throttle.window_start, throttle.lookups, throttle.misses = now, 0, 0
    return throttle


def _identify(shop: Shop, method: str, phone: str | None, token: str | None, now: dt.datetime) -> tuple[
        Member | None, str, bool]:
    """(member or None, masked phone for the log, token was bad)."""
    if method == Method.QR:
        member = qr.member_from_token(shop=shop, token=token or "", now=now)
        return member, mask_phone(member.phone_e164) if member else "", member is None
    if not phone:
        raise Invalid(_("a phone number is needed"), field="phone")
    parsed = parse_phone(phone)
    if parsed.e164 is None:
        raise Invalid(_("a masked phone cannot identify a member"), field="phone")
    return selectors.member_with_phone(shop=shop, e164=parsed.e164), parsed.masked, False


def verify(
    *, shop: Shop, merchant: Merchant, method: str = Method.PHONE, phone: str | None = None, token: str | None = None,
    store: MerchantStore | int | None = None, staff: Staff | None = None, now: dt.datetime | None = None,
) -> Result:
    """Check a member at the till and log it. Never raises for a refusal: the result says why."""
    now = moment(now)
    if method not in Method.values:
        raise Invalid(_("method must be one of %(choices)s"), field="method",
                      params={"choices": ", ".join(Method.values)})
    merchant = own_merchant(shop, merchant)
    store = own_store(shop, merchant, store)
    # The look-up and the rules only read: they run before the writer's turn, which then holds just the
    # throttle counter and the log (on SQLite every writer waits for that turn). A locked or throttled login
    # learns nothing from them: the outcome it gets is the lock.
    member, masked, bad_token = _identify(shop, method, phone, token, now)
    verdict = _says(Outcome.BAD_TOKEN) if bad_token else eligibility(
        shop=shop, merchant=merchant, member=member, store=store, at=now, method=method)
    with write_turn(), transaction.atomic():
        throttle = _throttle(shop, merchant, staff, now)
        if throttle.locked_until and throttle.locked_until > now:
            result = _says(Outcome.LOCKED, reason=f"{REASONS[Outcome.LOCKED]} (until {throttle.locked_until:%H:%M} UTC)")
            member, masked = None, ""
        elif throttle.lookups >= MAX_LOOKUPS:
            result, member, masked = _says(Outcome.THROTTLED), None, ""
        else:
            throttle.lookups += 1
            result = verdict
            if result.outcome in MISSES:
                throttle.misses += 1
                if throttle.misses >= MAX_MISSES:
                    throttle.locked_until = now + LOCKOUT
        throttle.save(update_fields=["window_start", "lookups", "misses", "locked_until"])
        agreement = result.agreement
        logged = Verification.objects.create(
            shop=shop, merchant=merchant, store=store, staff=staff, method=method, member=member,
            phone_masked=masked, outcome=result.outcome, agreement=agreement, at=now,
            discount_rate=agreement.discount_rate if result.eligible else None,
        )
    return Result(verification=logged, eligibility=result, member_masked=masked)


def discount_of(result: Result) -> Decimal | None:
    return result.eligibility.agreement.discount_rate if result.eligible else None
