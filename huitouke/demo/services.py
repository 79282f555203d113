"""Write the simulated demo shop into the database in bulk, or remove it.

Small tables (shop, stores, staff, products, tags) go through the ORM; the large ones are
inserted with `executemany` and explicit ids in one transaction, which is portable (SQLite and
PostgreSQL) and an order of magnitude faster than per-row services. Sequences are reset after.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.core.management.color import no_style
from django.db import connection, models, transaction
from django.db.models import Max

from huitouke.core.bulk import insert_rows
from huitouke.core.errors import Conflict
from huitouke.core.models import Role, Shop, Staff, Store
from huitouke.core.money import from_fen
from huitouke.core.pii import mask_phone
from huitouke.core.services import purge_shop
from huitouke.customers.models import (
    Address,
    Consent,
    Customer,
    CustomerEmail,
    CustomerPhone,
    CustomerTag,
    PlatformIdentity,
    Tag,
)
from huitouke.demo import generator
from huitouke.demo.generator import Demo
from huitouke.loyalty.demo import seed_demo_loyalty
from huitouke.orders.models import Order, OrderLine, Product
from huitouke.platform.demo import (
    MERCHANT_LOGIN,
    OPERATOR,
    OWNER_LOGIN,
    delete_demo_platform,
    demo_platform_shop,
    seed_demo_platform,
)

DEMO_SLUG = generator.SHOP["slug"]
Progress = Callable[[str, int, int], None]  # (table, rows done so far, rows in total)


@dataclass(frozen=True)
class DemoSummary:
    shop: Shop
    usernames: tuple[str, ...]
    counts: dict[str, int]


def demo_shop() -> Shop | None:
    return Shop.objects.filter(slug=DEMO_SLUG).first()


def demo_usernames() -> tuple[str, ...]:
    """The boutique's logins, then the platform operator's (its owner and one merchant's till)."""
    return (*(username for username, *_ in generator.STAFF), OWNER_LOGIN, MERCHANT_LOGIN)


def delete_demo(*, progress: Progress | None = None) -> bool:
    """Delete the demo shop and the demo platform operator with all their rows and staff logins; False when
    there was neither."""
    platform_deleted = delete_demo_platform()
    shop = demo_shop()
    if shop is None:
        return platform_deleted
    report = progress or (lambda *_: None)
    purge_shop(shop=shop, progress=lambda done, total: report("delete", done, total))
    return True


def build_demo(
    *, customers: int, seed: int, end_date: dt.date, password: str, progress: Progress | None = None,
    platform: bool = True,
) -> DemoSummary:
    """Simulate and store the demo shop, and (with `platform`) the demo platform operator beside it. Neither
    may exist (see delete_demo)."""
    report = progress or (lambda *_: None)
    report("simulate", 0, 1)
    demo = generator.simulate(customers=customers, seed=seed, end_date=end_date)
    report("simulate", 1, 1)
    summary = write_demo(demo, password=password, progress=report)
    report("loyalty", 0, 1)
    seed_demo_loyalty(shop=summary.shop, on=end_date, seed=seed)
    report("loyalty", 1, 1)
    if platform:
        report("platform", 0, 1)
        seed_demo_platform(end_date=end_date, seed=seed, password=password)
        report("platform", 1, 1)
    return summary


@transaction.atomic
def write_demo(demo: Demo, *, password: str, progress: Progress) -> DemoSummary:
    if demo_shop() is not None:
        raise Conflict(f"shop '{DEMO_SLUG}' already exists", field="slug")
    usernames = demo_usernames()
    if demo_platform_shop() is not None:
        raise Conflict(f"shop '{OPERATOR['slug']}' already exists", field="slug")
    taken = sorted(get_user_model().objects.filter(username__in=usernames).values_list("username", flat=True))
    if taken:
        raise Conflict(f"login(s) already taken by another shop: {', '.join(taken)}", field="username")
    writer = _Writer(demo, progress)
    shop, stores, staff, products, tags = writer.small_tables(password)
    writer.customers(shop, stores, staff)
    writer.customer_rows(shop, staff, tags)
    writer.orders(shop, stores, products)
    writer.reset_sequences()
    return DemoSummary(shop=shop, usernames=usernames, counts=demo.counts)


def _moments(seconds: np.ndarray) -> list[Any]:
    """Epoch seconds (-1 = none) as the database driver takes timestamps: UTC text."""
    seconds = np.asarray(seconds, np.int64)
    text = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
    suffix = "" if connection.vendor == "sqlite" else "+00:00"  # Django keeps naive UTC text in SQLite
    out: list[Any] = [f"{s[:10]} {s[11:]}{suffix}" for s in text.tolist()]
    for i in np.flatnonzero(seconds < 0).tolist():
        out[i] = None
    return out


def _days(days: np.ndarray) -> list[Any]:
    """Days since the epoch (-1 = none) as ISO dates."""
    days = np.asarray(days, np.int64)
    out: list[Any] = np.datetime_as_string(days.astype("datetime64[D]"), unit="D").tolist()
    for i in np.flatnonzero(days < 0).tolist():
        out[i] = None
    return out


def _ids(index: np.ndarray, ids: Sequence[int] | np.ndarray) -> list[int | None]:
    """Map 0-based row indices (-1 = none) to database ids."""
    index = np.asarray(index, np.int64)
    lookup = np.asarray(ids, np.int64)
    out: list[int | None] = lookup[np.maximum(index, 0)].tolist()
    for i in np.flatnonzero(index < 0).tolist():
        out[i] = None
    return out


class _Writer:
    def __init__(self, demo: Demo, progress: Progress) -> None:
        self.demo = demo
        self.progress = progress
        self.start = dt.datetime.fromtimestamp(demo.start, dt.UTC)
        self.models: list[type[models.Model]] = []

    # --- small tables through the ORM
    def small_tables(self, password: str) -> tuple[Shop, list[Store], list[Staff], list[int], list[int]]:
        shop = Shop.objects.create(slug=DEMO_SLUG, name=generator.SHOP["name"], created_at=self.start)
        stores = [Store.objects.create(shop=shop, created_at=self.start, **spec) for spec in generator.STORES]
        encoded = make_password(password)  # hashed once: every demo login shares the password
        user_model = get_user_model()
        staff = []
        for username, display_name, role, store, *_ in generator.STAFF:
            user = user_model.objects.create(
                username=username, password=encoded, first_name=display_name, date_joined=self.start,
                is_staff=role == Role.OWNER,
            )
            staff.append(Staff.objects.create(
                shop=shop, user=user, role=role, display_name=display_name,
                store=None if store is None else stores[store],
            ))
        p = self.demo.products
        products = Product.objects.bulk_create([
            Product(
                shop=shop, sku=p["sku"][i], title=p["title"][i], category=p["category"][i],
                price=from_fen(int(p["price"][i])), cost=None if p["cost"][i] is None else from_fen(int(p["cost"][i])),
                role=p["role"][i], is_active=p["is_active"][i],
            )
            for i in range(len(p["sku"]))
        ])
        tags = Tag.objects.bulk_create([Tag(shop=shop, name=name) for name in generator.TAGS + generator.AUTO_TAGS])
        return shop, stores, staff, [x.pk for x in products], [t.pk for t in tags]

    # --- large tables with executemany
    def customers(self, shop: Shop, stores: list[Store], staff: list[Staff]) -> None:
        c = self.demo.customers
        n = len(c["name"])
        self.customer_ids = self._next_ids(Customer, n)
        columns = {
            name: c[name] for name in (
                "name", "gender", "birthday_calendar", "birth_year", "birth_month", "birth_day", "approx_age",
                "ethnicity", "clothing_size", "occupation", "family", "personality", "shopping_habits",
                "style_preferences", "hobbies", "lifestyle", "preferred_channel", "values", "notes", "completeness",
            )
        }
        columns.update({
            "id": self.customer_ids.tolist(), "shop": [shop.pk] * n,
            "registered_by": _ids(c["registered_by"], [s.pk for s in staff]),
            "registered_store": _ids(c["registered_store"], [s.pk for s in stores]),
            "registered_at": _moments(c["registered_at"]), "do_not_contact": c["do_not_contact"].tolist(),
            "orders_count": c["orders_count"].tolist(), "items_count": c["items_count"].tolist(),
            "purchase_days": c["purchase_days"].tolist(), "net_spend": c["net_spend"].tolist(),
            "first_purchase_at": _moments(c["first_purchase_at"]), "last_purchase_at": _moments(c["last_purchase_at"]),
        })
        self._insert(Customer, columns, n)

    def customer_rows(self, shop: Shop, staff: list[Staff], tags: list[int]) -> None:
        d = self.demo
        cid = self.customer_ids
        ph = d.phones
        n = len(ph["e164"])
        self._insert(CustomerPhone, {
            "shop": [shop.pk] * n, "customer": _ids(ph["customer"], cid), "e164": ph["e164"],
            "masked": [mask_phone(e) for e in ph["e164"]], "tail4": [e[-4:] for e in ph["e164"]],
            "is_primary": [True] * n, "created_at": _moments(ph["created_at"]),
        }, n)
        idn = d.identities
        n = len(idn["handle"])
        self._insert(PlatformIdentity, {
            "shop": [shop.pk] * n, "customer": _ids(idn["customer"], cid), "platform": ["taobao"] * n,
            "handle": idn["handle"], "created_at": _moments(idn["created_at"]),
        }, n)
        em = d.emails
        n = len(em["email"])
        self._insert(CustomerEmail, {
            "shop": [shop.pk] * n, "customer": _ids(em["customer"], cid), "email": em["email"],
            "created_at": _moments(em["created_at"]),
        }, n)
        ad = d.addresses
        n = len(ad["detail"])
        self._insert(Address, {
            "shop": [shop.pk] * n, "customer": _ids(ad["customer"], cid), "recipient": ad["recipient"],
            "region": ad["region"], "detail": ad["detail"], "postcode": ad["postcode"], "is_default": [True] * n,
            "created_at": _moments(ad["created_at"]),
        }, n)
        co = d.consents
        n = len(co["channel"])
        self._insert(Consent, {
            "shop": [shop.pk] * n, "customer": _ids(co["customer"], cid), "channel": co["channel"],
            "granted": co["granted"].tolist(), "at": _moments(co["at"]), "source": co["source"],
            "recorded_by": _ids(co["recorded_by"], [s.pk for s in staff]),
        }, n)
        ct = d.customer_tags
        n = len(ct["source"])
        self._insert(CustomerTag, {
            "shop": [shop.pk] * n, "customer": _ids(ct["customer"], cid), "tag": _ids(ct["tag"], tags),
            "source": ct["source"], "created_at": _moments(ct["created_at"]),
        }, n)

    def orders(self, shop: Shop, stores: list[Store], products: list[int]) -> None:
        o = self.demo.orders
        n = len(o["external_id"])
        order_ids = self._next_ids(Order, n)
        self._insert(Order, {
            "id": order_ids.tolist(), "shop": [shop.pk] * n, "store": _ids(o["store"], [s.pk for s in stores]),
            "external_id": o["external_id"], "customer": _ids(o["customer"], self.customer_ids),
            "status": [generator.STATUS_CODES[s] for s in o["status"].tolist()],
            "ordered_at": _moments(o["ordered_at"]), "paid_at": _moments(o["paid_at"]),
            **{name: o[name].tolist() for name in (
                "goods_amount", "shipping_amount", "discount_amount", "paid_amount", "refunded_amount", "net_amount",
                "is_purchase", "is_repeat", "items_count",
            )},
            "purchase_day": _days(o["purchase_day"]), "note": o["note"],
        }, n)
        li = self.demo.lines
        n = li["order"].size
        p = self.demo.products
        product = li["product"]
        self._insert(OrderLine, {
            "shop": [shop.pk] * n, "order": _ids(li["order"], order_ids), "product": _ids(product, products),
            "sku": np.asarray(p["sku"], object)[product].tolist(),
            "title": np.asarray(p["title"], object)[product].tolist(),
            "quantity": li["quantity"].tolist(), "unit_price": li["unit_price"].tolist(),
            "line_amount": li["line_amount"].tolist(),
        }, n)

    def _next_ids(self, model: type[models.Model], n: int) -> np.ndarray:
        first = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
        return np.arange(first, first + n, dtype=np.int64)

    def _insert(self, model: type[models.Model], columns: dict[str, list[Any]], n: int) -> None:
        label = str(model._meta.verbose_name_plural)
        self.progress(label, 0, n)
        if n:
            self.models.append(model)
            insert_rows(model, columns, n, progress=lambda done, total: self.progress(label, done, total))

    def reset_sequences(self) -> None:
        statements = connection.ops.sequence_reset_sql(no_style(), self.models)
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)

