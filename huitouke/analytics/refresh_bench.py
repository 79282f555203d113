"""`huitouke bench analytics --refresh`: the full analytics refresh of a shop with N customers × K orders.

The shop is built straight into a scratch database with `core.bulk` (customers with their purchase stats,
orders with net amounts and purchase days, one line per order on products with categories and roles), in
numpy, so 10,000,000 orders take minutes rather than the hours of the demo generator. Purchase histories
follow a buy-till-you-die process (customers stop buying at random), so the purchase models fit as on real
data. The refresh is then timed phase by phase, with a reference measured in the same run: a plain read of
the same orders' (customer, purchase day, net amount) columns. Reported, never asserted.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import numpy as np
from rich.console import Console
from rich.table import Table

SLUG = "bench-refresh"
AS_OF = dt.date(2026, 6, 30)
HISTORY_DAYS = 3 * 365  # first purchases fall in the three years before AS_OF
MEAN_LIFETIME_DAYS = 500  # how long a customer keeps buying (the mean of her exponential leaving rate is 1/500)
CATEGORIES = ("连衣裙", "衬衫", "裤装", "外套", "针织", "半身裙", "T恤", "配饰", "鞋", "包")
PRODUCTS = 200
CHUNK = 500_000  # orders per bulk insert (bounds the memory of the row tuples)
TARGET_SECONDS = 60.0


def refresh_run(*, customers: int, orders_per_customer: int) -> dict[str, Any]:
    """Build the bench shop if the database does not hold it yet, then time a refresh (in the child process)."""
    from django.db import connection

    from huitouke.analytics.services import refresh_scores
    from huitouke.core.models import Shop

    shop = Shop.objects.filter(slug=SLUG).first()
    built_seconds = None
    if shop is None or not _has_orders(shop, customers):
        started = time.perf_counter()
        shop = build_shop(customers=customers, orders_per_customer=orders_per_customer)
        built_seconds = time.perf_counter() - started
    reference = _reference_read(shop)
    phases: dict[str, float] = {}
    started, cpu_started = time.perf_counter(), time.process_time()
    run = refresh_scores(shop=shop, as_of=AS_OF, phases=phases)
    total, cpu = time.perf_counter() - started, time.process_time() - cpu_started
    return {
        "vendor": connection.vendor, "customers": run.customers, "orders": reference["rows"],
        "built_seconds": built_seconds, "reference_seconds": reference["seconds"], "refresh_seconds": total,
        "reference_cpu_seconds": reference["cpu_seconds"], "refresh_cpu_seconds": cpu,
        "phases": phases, "ratio": total / reference["seconds"], "params": run.params, "message": run.message,
    }


def refresh_bench(
    *, customers: int, orders_per_customer: int, database_url: str | None, console: Console,
) -> dict[str, Any]:
    """Migrate a scratch database (kept when `database_url` names one: a second run skips the build), time
    the refresh in a child process, print the table."""
    from huitouke.demo.bench import run_on_scratch

    report = run_on_scratch(
        "analytics-refresh", database_url, "bench", "analytics-refresh-run",
        "--customers", str(customers), "--orders-per-customer", str(orders_per_customer),
    )
    table = Table(title=(
        f"analytics refresh, {report['customers']:,} customers, {report['orders']:,} orders ({report['vendor']}); "
        f"target ≤ {TARGET_SECONDS:.0f} s"
    ))
    for column in ("phase", "seconds", "× reference read"):
        table.add_column(column, justify="left" if column == "phase" else "right")
    reference = report["reference_seconds"]
    table.add_row("reference: SELECT customer, day, net of the orders", f"{reference:.2f}", "1.0")
    for name, seconds in report["phases"].items():
        table.add_row(name, f"{seconds:.2f}", f"{seconds / reference:.1f}")
    table.add_row("whole refresh", f"{report['refresh_seconds']:.2f}", f"{report['ratio']:.1f}")
    # CPU seconds of this process (both threads) are what other sessions on a shared machine distort least.
    table.add_row("CPU: reference read / whole refresh",
                  f"{report['reference_cpu_seconds']:.2f} / {report['refresh_cpu_seconds']:.2f}",
                  f"{report['refresh_cpu_seconds'] / max(report['reference_cpu_seconds'], 1e-9):.1f}")
    if report["built_seconds"] is not None:
        table.add_row("(building the bench shop)", f"{report['built_seconds']:.0f}", "")
    console.print(table)
    return report


def _has_orders(shop, customers: int) -> bool:
    from huitouke.customers.models import Customer

    return Customer.objects.for_shop(shop).count() == customers


def _reference_read(shop) -> dict[str, float]:
    """The floor of any refresh: the purchase columns of the shop's orders read into Python, nothing else."""
    from django.db import connection

    from huitouke.orders.models import Order

    sql = f"SELECT customer_id, purchase_day, net_amount FROM {Order._meta.db_table} WHERE shop_id = %s"
    started, cpu_started = time.perf_counter(), time.process_time()
    rows = 0
    with connection.cursor() as cursor:
        cursor.execute(sql, [shop.pk])
        while batch := cursor.fetchmany(100_000):
            rows += len(batch)
    return {"rows": rows, "seconds": time.perf_counter() - started, "cpu_seconds": time.process_time() - cpu_started}


# Building the shop -------------------------------------------------------------------------------


def build_shop(*, customers: int, orders_per_customer: int, seed: int = 2026):
    """A shop with `customers` buyers and about `customers × orders_per_customer` paid orders, in bulk."""
    from django.db import connection, transaction

    from huitouke.core.bulk import fast_sqlite_load
    from huitouke.core.models import Shop
    from huitouke.core.services import create_shop, create_store

    Shop.objects.filter(slug=SLUG).delete()
    rng = np.random.default_rng(seed)
    with fast_sqlite_load(connection, cache_kib=1_000_000), transaction.atomic():
        shop = create_shop(slug=SLUG, name="Refresh bench")
        store = create_store(shop=shop, slug="main", platform="taobao")
        history = _histories(rng, customers, orders_per_customer)
        customer_ids = _insert_customers(shop, rng, history)
        product_ids, _ = _insert_products(shop, rng)
        _insert_orders(shop, store, rng, history, customer_ids, product_ids)
    return shop


class _History:
    """Orders sorted by customer and day: owner (customer index), day (ordinal), paid second of the day
    (Shanghai), fen, discounted, repeat."""

    def __init__(self, owner: np.ndarray, day: np.ndarray, second: np.ndarray, fen: np.ndarray,
                 discount: np.ndarray, n: int):
        self.owner, self.day, self.second, self.fen, self.discount, self.n = owner, day, second, fen, discount, n
        first = np.full(n, np.iinfo(np.int64).max)
        np.minimum.at(first, owner, day)
        self.first_day = first
        self.repeat = day > first[owner]


def _histories(rng: np.random.Generator, n: int, per_customer: int) -> _History:
    """Purchase histories from the Pareto/NBD story, so both purchase models have something to fit: each
    customer buys at her own Poisson rate until she leaves at an exponential time of her own rate. The rate
    scale is set from a first draw so that customers make `per_customer` orders on average."""
    last = AS_OF.toordinal()
    age = rng.integers(0, HISTORY_DAYS, n)  # days from the first purchase to AS_OF
    rate = rng.gamma(1.0, 1.0, n)
    leave = rng.gamma(2.0, 1.0 / (2.0 * MEAN_LIFETIME_DAYS), n)
    active = np.minimum(rng.exponential(1.0 / leave), age)
    exposure = float(np.mean(rate * active))
    scale = max(per_customer - 1, 0) / exposure if exposure > 0 else 0.0
    repeats = rng.poisson(rate * scale * active)
    counts = 1 + repeats
    owner = np.repeat(np.arange(n), counts)
    offset = np.floor(rng.uniform(0.0, 1.0, owner.size) * active[owner]).astype(np.int64)
    offset[np.cumsum(counts) - counts] = 0  # each customer's first order is on her first day
    day = last - age[owner] + offset
    order = np.lexsort((day, owner))
    owner, day = owner[order], day[order]
    fen = np.round(rng.lognormal(np.log(25_000), 0.6, owner.size), -2).astype(np.int64)
    discount = rng.uniform(size=owner.size) < 0.3
    second = rng.integers(9 * 3600, 22 * 3600, owner.size)
    return _History(owner, day, second, fen, discount, n)


def _datetimes(days: np.ndarray, seconds: np.ndarray) -> np.ndarray:
    """Database text of UTC datetimes at Shanghai `days` (ordinals) + `seconds` (SQLite's naive UTC form)."""
    from django.db import connection

    epoch = dt.date(1970, 1, 1).toordinal()
    moment = ((days - epoch) * 86_400 + seconds - 8 * 3600).astype("datetime64[s]")
    text = np.char.replace(np.datetime_as_string(moment), "T", " ")
    return text if connection.vendor == "sqlite" else np.char.add(text, "+00")


def _dates(days: np.ndarray) -> np.ndarray:
    return np.datetime_as_string((days - dt.date(1970, 1, 1).toordinal()).astype("datetime64[D]"))


def _insert_customers(shop, rng: np.random.Generator, h: _History) -> np.ndarray:
    from huitouke.core.bulk import datetime_adapter, insert_rows, reserve_ids
    from huitouke.customers.models import Customer

    n = h.n
    ids = np.array(reserve_ids(Customer, n), dtype=np.int64)
    orders = np.bincount(h.owner, minlength=n)
    distinct = np.ones(h.owner.size, dtype=bool)
    distinct[1:] = (h.owner[1:] != h.owner[:-1]) | (h.day[1:] != h.day[:-1])
    moment = h.day * 86_400 + h.second
    first, last = np.full(n, np.iinfo(np.int64).max), np.zeros(n, dtype=np.int64)
    np.minimum.at(first, h.owner, moment)
    np.maximum.at(last, h.owner, moment)
    known = rng.uniform(size=n) < 0.4  # 40% told us their birthday
    registered = datetime_adapter()(dt.datetime(2023, 1, 1, tzinfo=dt.UTC))
    insert_rows(Customer, {
        "id": ids.tolist(), "shop": [shop.pk] * n, "name": [f"客户{i}" for i in range(n)],
        "birth_month": np.where(known, rng.integers(1, 13, n), None).tolist(),
        "birth_day": np.where(known, rng.integers(1, 29, n), None).tolist(),
        "registered_at": [registered] * n, "orders_count": orders.tolist(), "items_count": orders.tolist(),
        "purchase_days": np.bincount(h.owner[distinct], minlength=n).tolist(),
        "net_spend": np.bincount(h.owner, weights=h.fen, minlength=n).astype(np.int64).tolist(),
        "first_purchase_at": _datetimes(first // 86_400, first % 86_400).tolist(),
        "last_purchase_at": _datetimes(last // 86_400, last % 86_400).tolist(),
    }, n)
    return ids


def _insert_products(shop, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    from huitouke.core.bulk import insert_rows, reserve_ids
    from huitouke.orders.models import Product, ProductRole

    ids = np.array(reserve_ids(Product, PRODUCTS), dtype=np.int64)
    category = rng.integers(0, len(CATEGORIES), PRODUCTS)
    roles = ProductRole.values
    insert_rows(Product, {
        "id": ids.tolist(), "shop": [shop.pk] * PRODUCTS, "sku": [f"SKU{i:04d}" for i in range(PRODUCTS)],
        "title": [f"商品{i}" for i in range(PRODUCTS)], "price": [19_900] * PRODUCTS,
        "category": [CATEGORIES[c] for c in category],
        "role": [roles[i % len(roles)] for i in range(PRODUCTS)],
    }, PRODUCTS)
    return ids, category


def _insert_orders(shop, store, rng, h: _History, customer_ids: np.ndarray, product_ids: np.ndarray) -> None:
    """Orders and one line each, in chunks of CHUNK orders."""
    from huitouke.core.bulk import insert_rows, reserve_ids
    from huitouke.orders.models import Order, OrderLine, OrderStatus

    total = h.owner.size
    order_ids = np.array(reserve_ids(Order, total), dtype=np.int64)
    line_ids = np.array(reserve_ids(OrderLine, total), dtype=np.int64)
    for start in range(0, total, CHUNK):
        part = slice(start, min(total, start + CHUNK))
        n = part.stop - part.start
        day, fen, discount = h.day[part], h.fen[part], h.discount[part]
        paid = _datetimes(day, h.second[part]).tolist()
        discount_fen = np.where(discount, fen // 10, 0)
        insert_rows(Order, {
            "id": order_ids[part].tolist(), "shop": [shop.pk] * n, "store": [store.pk] * n,
            "external_id": [f"B{i}" for i in range(part.start, part.stop)],
            "customer": customer_ids[h.owner[part]].tolist(), "status": [OrderStatus.COMPLETED.value] * n,
            "ordered_at": paid, "paid_at": paid, "goods_amount": (fen + discount_fen).tolist(),
            "discount_amount": discount_fen.tolist(), "paid_amount": fen.tolist(), "net_amount": fen.tolist(),
            "is_purchase": [True] * n, "purchase_day": _dates(day).tolist(), "is_repeat": h.repeat[part].tolist(),
            "items_count": [1] * n,
        }, n)
        product = product_ids[rng.integers(0, product_ids.size, n)]
        insert_rows(OrderLine, {
            "id": line_ids[part].tolist(), "shop": [shop.pk] * n, "order": order_ids[part].tolist(),
            "product": product.tolist(), "sku": [""] * n, "title": ["商品"] * n, "quantity": [1] * n,
            "unit_price": fen.tolist(), "line_amount": fen.tolist(),
        }, n)
