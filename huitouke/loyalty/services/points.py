"""Writes to the points ledger: earn, redeem, refund reversal, expiry, manual adjustment.

Every write holds the customer's membership row lock, appends one entry and moves the cached balance by
the same delta, so the balance always equals the sum of the entries. Every write carries an idempotency
key (unique per shop): a retried request finds its entry and returns it, with exactly one effect.
Expired lots are written off before any debit, so a redemption can never spend expired points.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import date_adapter, datetime_adapter, hot_cursor, insert_few
from huitouke.core.errors import Conflict, Invalid
from huitouke.core.models import Shop, Staff
from huitouke.core.money import to_fen
from huitouke.core.services import require_manager
from huitouke.core.timeutil import today
from huitouke.customers.models import Customer
from huitouke.loyalty import ledger
from huitouke.loyalty.models import Gift, Membership, PointsEntry, Programme
from huitouke.loyalty.services.programme import membership_of, programme_of
from huitouke.orders.models import Order

MAX_POINTS = 10**12
Kind = PointsEntry.Kind
EXPIRY_KEY_PREFIX = "expiry:"  # + the lot's id: one expiry entry per lot, ever


def _check_key(key: str) -> str:
    key = (key or "").strip()
    if not key or len(key) > 120:
        raise Invalid(_("an idempotency key of 1 to 120 characters is required"), field="idempotency_key")
    return key


def _check_points(points: int, field: str = "points") -> int:
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= MAX_POINTS:
        raise Invalid(_("%(field)s must be a whole number from 1 to %(max_points)s"), field=field,
                      params={"field": field, "max_points": MAX_POINTS})
    return points


def _replayed(shop: Shop, key: str, kind: str, customer: Customer) -> PointsEntry | None:
    """The entry an earlier request with this key wrote, or None; a different request under it is refused."""
    entry = PointsEntry.objects.filter(shop=shop, idempotency_key=key).first()
    if entry is not None and (entry.kind != kind or entry.customer_id != customer.pk):
        raise Conflict(_("this idempotency key was already used for a different points request"),
                       field="idempotency_key")
    return entry


def _append(membership: Membership, *, kind: str, delta: int, key: str, **fields) -> PointsEntry:
    entry = PointsEntry.objects.create(
        shop_id=membership.shop_id, customer_id=membership.customer_id, kind=kind, delta=delta,
        idempotency_key=key, **fields,
    )
    membership.points_balance += delta
    membership.save(update_fields=["points_balance"])
    return entry


def _entries(membership: Membership) -> list[ledger.Entry]:
    rows = PointsEntry.objects.filter(shop_id=membership.shop_id, customer_id=membership.customer_id).values_list(
        "id", "delta", "expires_on", "lot_id"
    )
    return [ledger.Entry(*row) for row in rows]


def _expire_due(membership: Membership, on: dt.date) -> list[PointsEntry]:
    written = []
    for lot_id, points in ledger.due_for_expiry(_entries(membership), today=on):
        written.append(_append(
            membership, kind=Kind.EXPIRY, delta=-points, key=f"{EXPIRY_KEY_PREFIX}{lot_id}", lot_id=lot_id,
            reason=f"lot {lot_id} expired",
        ))
    return written


def write_off_expired(membership: Membership, on: dt.date) -> int:
    """Write off the lots due before `on` (caller holds the membership lock); her balance afterwards."""
    _expire_due(membership, on)
    return membership.points_balance


@dataclass(frozen=True)
class NewEntry:
    kind: str
    delta: int
    key: str
    reason: str = ""
    expires_on: dt.date | None = None


_ENTRY_FIELDS = ("shop", "customer", "kind", "delta", "expires_on", "order", "reason", "idempotency_key", "created_at")


def append_entries(*, shop: Shop, customer_id: int, membership_id: int, entries: list[NewEntry],
                   order_id: int | None = None) -> int:
    """Append several entries and move the cached balance by their sum, in two statements that read nothing
    back, so they may run in core.bulk.pipelined() (caller holds the membership lock and checked the
    balance). Returns the sum."""
    if not entries:
        return 0
    to_date, now = date_adapter(), datetime_adapter()(timezone.now())
    insert_few(PointsEntry, _ENTRY_FIELDS, [
        (shop.pk, customer_id, e.kind, e.delta, to_date(e.expires_on), order_id, e.reason[:300], e.key, now)
        for e in entries
    ], returning=False)
    delta = sum(e.delta for e in entries)
    with hot_cursor() as cursor:
        cursor.execute(
            "UPDATE loyalty_membership SET points_balance = points_balance + %s WHERE shop_id = %s AND id = %s",
            [delta, shop.pk, membership_id],
        )
    return delta


def lot_expiry(programme: Programme, earned_on: dt.date) -> dt.date | None:
    return ledger.expiry_date(programme.expiry_policy, earned_on=earned_on, days=programme.expiry_days)


def _lock(shop: Shop, customer: Customer) -> Membership:
    if customer.shop_id != shop.pk:
        raise Invalid(_("no such customer in this shop"), field="customer")
    return membership_of(shop=shop, customer=customer, lock=True)


def credit(
    membership: Membership, *, kind: str, points: int, key: str, earned_on: dt.date,
    programme: Programme | None = None, **fields,
) -> PointsEntry:
    """A new lot (caller holds the lock and checked the key) that expires by the programme's policy."""
    programme = programme or programme_of(shop=membership.shop_id)
    return _append(membership, kind=kind, delta=points, key=key, expires_on=lot_expiry(programme, earned_on), **fields)


def debit(membership: Membership, *, kind: str, points: int, key: str, on: dt.date, **fields) -> PointsEntry:
    """Take points (caller holds the lock and checked the key); refuses to go below zero."""
    _expire_due(membership, on)
    if points > membership.points_balance:
        raise Conflict(
            _("the customer has %(points_balance)s points, fewer than the %(points)s asked for"),
            field="points", code="insufficient_points",
            params={"points_balance": membership.points_balance, "points": points},
        )
    return _append(membership, kind=kind, delta=-points, key=key, **fields)


@transaction.atomic
def earn_points(
    *, shop: Shop, customer: Customer, points: int, idempotency_key: str, order: Order | None = None,
    reason: str = "", on: dt.date | None = None,
) -> PointsEntry:
    key, points = _check_key(idempotency_key), _check_points(points)
    membership = _lock(shop, customer)
    return _replayed(shop, key, Kind.EARN, customer) or credit(
        membership, kind=Kind.EARN, points=points, key=key, earned_on=on or today(), order=order,
        reason=reason[:300],
    )


@transaction.atomic
def redeem_points(
    *, shop: Shop, customer: Customer, points: int, idempotency_key: str, reason: str = "",
    order: Order | None = None, gift: Gift | None = None, on: dt.date | None = None,
) -> PointsEntry:
    key, points = _check_key(idempotency_key), _check_points(points)
    membership = _lock(shop, customer)
    return _replayed(shop, key, Kind.REDEEM, customer) or debit(
        membership, kind=Kind.REDEEM, points=points, key=key, on=on or today(), order=order, gift=gift,
        reason=reason[:300],
    )


@transaction.atomic
def adjust_points(
    *, shop: Shop, customer: Customer, delta: int, reason: str, staff: Staff, idempotency_key: str,
    on: dt.date | None = None,
) -> PointsEntry:
    """A correction by an owner or manager, with the reason; it may not take the balance below zero."""
    key = _check_key(idempotency_key)
    require_manager(shop=shop, staff=staff, action="adjust points")
    if not (reason or "").strip():
        raise Invalid(_("an adjustment needs a reason"), field="reason")
    _check_points(abs(delta) if isinstance(delta, int) and not isinstance(delta, bool) else 0, "delta")
    membership = _lock(shop, customer)
    fields = {"reason": reason.strip()[:300], "staff": staff}
    if (entry := _replayed(shop, key, Kind.ADJUSTMENT, customer)) is not None:
        return entry
    on = on or today()
    if delta > 0:
        return credit(membership, kind=Kind.ADJUSTMENT, points=delta, key=key, earned_on=on, **fields)
    return debit(membership, kind=Kind.ADJUSTMENT, points=-delta, key=key, on=on, **fields)


def points_earned_on(*, shop: Shop, order: Order) -> int:
    return PointsEntry.objects.filter(shop=shop, order=order, kind=Kind.EARN).aggregate(s=Sum("delta"))["s"] or 0


@transaction.atomic
def reverse_for_refund(*, shop: Shop, order: Order, on: dt.date | None = None) -> PointsEntry | None:
    """Take back the share of the order's points that its refund represents (refunded / paid).

    Idempotent by construction: the target reversal follows from the order's amounts, and only the
    difference to what earlier reversals took is written. Points the customer already spent cannot be
    taken back below zero: the reversal stops at her balance and says so in its reason.
    """
    if order.shop_id != shop.pk or order.customer_id is None:
        return None
    earned = points_earned_on(shop=shop, order=order)
    if not earned or not order.paid_amount:
        return None
    share = min(Decimal(order.refunded_amount) / Decimal(order.paid_amount), Decimal(1))
    target = refund_share_of(earned, refunded=order.refunded_amount, paid=order.paid_amount)
    membership = _lock(shop, Customer.objects.including_merged(shop).get(pk=order.customer_id))
    done = -(PointsEntry.objects.filter(shop=shop, order=order, kind=Kind.REVERSAL).aggregate(s=Sum("delta"))["s"] or 0)
    missing = target - done
    if missing <= 0:
        return None
    _expire_due(membership, on or today())
    taken = min(missing, membership.points_balance)
    if taken <= 0:
        return None
    lot = PointsEntry.objects.filter(shop=shop, order=order, kind=Kind.EARN).order_by("id").first()
    reason = f"refund of order {order.external_id}: {share:.0%} of {earned} points"
    if taken < missing:
        reason += f"; {missing - taken} already spent"
    return _append(
        membership, kind=Kind.REVERSAL, delta=-taken, key=f"reversal:{order.pk}:{done + taken}",
        order=order, lot=lot, reason=reason[:300],
    )


def reverse_refunded_orders(*, shop: Shop, on: dt.date | None = None) -> int:
    """Reverse the points of every order refunded since its points were earned, however the refund came
    in (the refund API, a re-imported export with a new refunded amount, the admin). Idempotent: run daily.

    Returns the number of reversal entries written.
    """
    earned_orders = PointsEntry.objects.filter(shop=shop, kind=Kind.EARN, order__isnull=False).values("order_id")
    refunded = Order.objects.filter(shop=shop, pk__in=earned_orders, refunded_amount__gt=0).order_by("id")
    written = 0
    for order in refunded.iterator(chunk_size=2000):
        written += reverse_for_refund(shop=shop, order=order, on=on) is not None
    return written


def refund_share_of(earned: int, *, refunded: Decimal, paid: Decimal) -> int:
    """earned × refunded / paid, rounded half up to a whole point, in exact integer arithmetic."""
    refunded_fen, paid_fen = min(to_fen(refunded), to_fen(paid)), to_fen(paid)
    return (2 * earned * refunded_fen + paid_fen) // (2 * paid_fen)


def expire_points(*, shop: Shop, on: dt.date | None = None) -> int:
    """Write off every lot whose last day is before `on` (today): one expiry entry per lot, ever.

    Each customer in her own transaction, so a run over many customers holds no long lock and an
    interrupted run resumes where it stopped.
    """
    on = on or today()
    customer_ids = (
        PointsEntry.objects.filter(shop=shop, delta__gt=0, expires_on__lt=on)
        .values_list("customer_id", flat=True).distinct().order_by()
    )
    expired = 0
    for customer_id in customer_ids:
        with transaction.atomic():
            membership = Membership.objects.select_for_update().get(shop=shop, customer_id=customer_id)
            expired += -sum(entry.delta for entry in _expire_due(membership, on))
    return expired


def balance_from_entries(*, shop: Shop, customer: Customer) -> int:
    return PointsEntry.objects.filter(shop=shop, customer=customer).aggregate(s=Sum("delta"))["s"] or 0
