"""The checkout's reads, as a handful of plain SQL statements (issue 6: ≥ 500 commits/s on PostgreSQL).

Through the ORM a commit spent most of its time compiling SQL and building model instances, not in the
database. These reads fetch exactly the columns the checkout needs, each in one round trip: who the
customer is (with her membership, her store and an earlier commit under the same key), the shop's
programme and ladder, the basket's products. Only the values pricing needs become model instances.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from huitouke.core.bulk import date_adapter, hot_cursor, lock_rows
from huitouke.core.models import Shop
from huitouke.core.money import from_fen
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Programme, Tier
from huitouke.loyalty.services.points import EXPIRY_KEY_PREFIX
from huitouke.loyalty.services.programme import ladder
from huitouke.orders.models import Product
from huitouke.orders.services import FIGURES_SELECT, PurchaseFigures, figures_from_row


@dataclass(frozen=True)
class Member:
    """The customer at the till and her membership."""

    customer: Customer  # only her id, shop and birthday are loaded
    membership_id: int | None
    tier_id: int | None
    points_balance: int
    lots_to_expire: bool  # some lot is past its last day and not written off yet
    store_id: int | None  # the store asked for, when the shop has it
    earlier_checkout_id: int | None  # a commit already made under the key asked for


@dataclass(frozen=True)
class Terms:
    programme: Programme
    tiers: list[Tier]  # by rank

    def tier(self, tier_id: int) -> Tier:
        return next(tier for tier in self.tiers if tier.pk == tier_id)


# Scalar subqueries with NULL parameters (a quote has no store and no key) simply come back NULL.
_CUSTOMER_SQL = f"""
SELECT c.id, c.birthday_calendar, c.birth_month, c.birth_day, c.birth_leap_month,
       m.id, m.tier_id, m.points_balance,
       EXISTS (SELECT 1 FROM loyalty_pointsentry lot
               WHERE lot.shop_id = c.shop_id AND lot.customer_id = c.id AND lot.delta > 0 AND lot.expires_on < %s
                 AND NOT EXISTS (SELECT 1 FROM loyalty_pointsentry x WHERE x.shop_id = c.shop_id
                                 AND x.idempotency_key = '{EXPIRY_KEY_PREFIX}' || CAST(lot.id AS TEXT))),
       (SELECT s.id FROM core_store s WHERE s.shop_id = c.shop_id AND s.slug = %s),
       (SELECT k.id FROM loyalty_checkout k WHERE k.shop_id = c.shop_id AND k.idempotency_key = %s)
FROM customers_customer c
LEFT JOIN loyalty_membership m ON m.shop_id = c.shop_id AND m.customer_id = c.id
WHERE c.shop_id = %s AND c.id = %s AND c.merged_into_id IS NULL
"""


def customer_at_till(*, shop: Shop, customer_id: int, on: dt.date, store: str = "", key: str = "") -> Member | None:
    """The shop's (unmerged) customer, or None. `on` decides which lots are past their last day."""
    with hot_cursor() as cursor:
        cursor.execute(_CUSTOMER_SQL, [date_adapter()(on), store or None, key or None, shop.pk, customer_id])
        row = cursor.fetchone()
    if row is None:
        return None
    pk, calendar, month, day, leap, membership_id, tier_id, balance, to_expire, store_id, checkout_id = row
    customer = Customer(pk=pk, shop_id=shop.pk, birthday_calendar=calendar, birth_month=month, birth_day=day,
                        birth_leap_month=bool(leap))
    return Member(customer, membership_id, tier_id, balance or 0, bool(to_expire), store_id, checkout_id)


_PROGRAMME_FIELDS = ("tier_basis", "points_per_yuan", "expiry_policy", "expiry_days", "points_per_yuan_redeemed",
                     "max_discount_percent")
_TIER_FIELDS = ("id", "rank", "name", "min_spend", "min_purchases", "discount_percent", "free_shipping",
                "birthday_extra_percent", "points_multiplier")
_TERMS_SQL = "SELECT {}, {} FROM loyalty_programme p JOIN loyalty_tier t ON t.shop_id = p.shop_id " \
             "WHERE p.shop_id = %s ORDER BY t.rank".format(
                 ", ".join(f"p.{name}" for name in _PROGRAMME_FIELDS), ", ".join(f"t.{name}" for name in _TIER_FIELDS))


def terms(*, shop: Shop) -> Terms:
    """The shop's programme and ladder (created with the defaults on first use), in one statement."""
    rows = _terms_rows(shop)
    if not rows:
        ladder(shop=shop)
        rows = _terms_rows(shop)
    programme = Programme(shop_id=shop.pk, **dict(zip(_PROGRAMME_FIELDS, rows[0][:len(_PROGRAMME_FIELDS)], strict=True)))
    programme.max_discount_percent = _decimal(programme.max_discount_percent)
    tiers = []
    for row in rows:
        values = dict(zip(_TIER_FIELDS, row[len(_PROGRAMME_FIELDS):], strict=True))
        tiers.append(Tier(
            shop_id=shop.pk, id=values["id"], rank=values["rank"], name=values["name"],
            min_spend=from_fen(values["min_spend"]), min_purchases=values["min_purchases"],
            discount_percent=_decimal(values["discount_percent"]), free_shipping=bool(values["free_shipping"]),
            birthday_extra_percent=_decimal(values["birthday_extra_percent"]),
            points_multiplier=_decimal(values["points_multiplier"]),
        ))
    return Terms(programme, tiers)


def _terms_rows(shop: Shop) -> list[tuple[Any, ...]]:
    with hot_cursor() as cursor:
        cursor.execute(_TERMS_SQL, [shop.pk])
        return cursor.fetchall()


def _decimal(value: Any) -> Decimal:
    """A DECIMAL column's raw value: a Decimal on PostgreSQL, an int or float on SQLite (numeric affinity)."""
    return value if isinstance(value, Decimal) else Decimal(str(value))


@dataclass(frozen=True)
class ProductRow:
    id: int
    sku: str
    title: str
    price_fen: int
    role: str


def products(*, shop: Shop, skus: set[str]) -> dict[str, ProductRow]:
    """The shop's products with these SKUs, by SKU."""
    ordered = sorted(skus)
    sql = f"SELECT id, sku, title, price, role FROM {Product._meta.db_table} WHERE shop_id = %s AND sku IN ({', '.join(['%s'] * len(ordered))})"
    with hot_cursor() as cursor:
        cursor.execute(sql, [shop.pk, *ordered])
        return {row[1]: ProductRow(*row) for row in cursor.fetchall()}


_LOCK_SQL = (
    f"SELECT m.tier_id, m.points_balance, {FIGURES_SELECT} FROM loyalty_membership m"
    f" JOIN customers_customer c ON c.shop_id = m.shop_id AND c.id = m.customer_id WHERE m.shop_id = %s AND m.id = %s"
)


def lock_member(*, shop: Shop, membership_id: int) -> tuple[int, int, PurchaseFigures]:
    """Take the member's row lock (every points write holds it) and her customer row's (every change of her
    purchase figures holds that), in one statement; her tier, balance and figures as they are under them."""
    with hot_cursor() as cursor:
        cursor.execute(_LOCK_SQL + lock_rows("m", "c"), [shop.pk, membership_id])
        tier_id, balance, *figures = cursor.fetchone()
    return tier_id, balance, figures_from_row(figures)
