"""`huitouke bench checkout`: committed checkouts per second with concurrent clients, and their p50/p99.

The bench runs in a child process against a scratch database (SQLite in var/bench/ unless
`--database-url` names a PostgreSQL one), so the caller's own database is never touched. The
reference, measured in the same run with the same clients: a bare transaction that inserts one row,
the floor any commit pays; the ratio says how many such transactions one checkout costs.
Reported, never asserted (figures go to bench/RESULTS.md).
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

TARGETS = {"postgresql": (500.0, 50.0), "sqlite": (150.0, None)}  # issue 6: commits/s, p99 ms


@dataclass(frozen=True)
class Throughput:
    label: str
    operations: int
    seconds: float
    p50_ms: float
    p99_ms: float

    @property
    def per_second(self) -> float:
        return self.operations / self.seconds if self.seconds else 0.0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))] if ordered else 0.0


def run_clients(label: str, clients: int, per_client: int, work: Callable[[int, int], None]) -> Throughput:
    """`clients` processes (one connection each, like web workers serving separate tills) each run
    work(client, i) `per_client` times, released together; threads would share one interpreter lock."""
    from django.db import connections

    context = multiprocessing.get_context("fork")
    barrier, results = context.Barrier(clients + 1), context.Queue()
    connections.close_all()  # a forked child must open its own connection, never share the parent's

    def client(index: int) -> None:
        latencies = []
        barrier.wait()
        for i in range(per_client):
            start = time.perf_counter()
            work(index, i)
            latencies.append(time.perf_counter() - start)
        connections.close_all()
        results.put(latencies)

    processes = [context.Process(target=client, args=(n,)) for n in range(clients)]
    for process in processes:
        process.start()
    barrier.wait()
    start = time.perf_counter()
    flat = [value * 1000 for _ in processes for value in results.get()]
    elapsed = time.perf_counter() - start
    for process in processes:
        process.join()
        if process.exitcode:
            raise RuntimeError(f"a bench client failed (exit code {process.exitcode}); see its traceback above")
    return Throughput(label, len(flat), elapsed, _percentile(flat, 0.50), _percentile(flat, 0.99))


def bare_insert(clients: int, per_client: int) -> Throughput:
    """The reference every write bench compares against: one transaction inserting one row, same clients."""
    from django.db import connection, transaction

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_reference")
        cursor.execute("CREATE TABLE bench_reference (id integer PRIMARY KEY, client integer, n integer)")

    def insert(client: int, i: int) -> None:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("INSERT INTO bench_reference (id, client, n) VALUES (%s, %s, %s)",
                           [client * 10_000_000 + i, client, i])

    return run_clients("bare INSERT transaction", clients, per_client, insert)


def _bench_shop(customers: int):
    from huitouke.core.services import create_shop, create_store
    from huitouke.customers.models import Customer
    from huitouke.loyalty.services import points
    from huitouke.orders.models import Product

    shop = create_shop(slug=f"bench-checkout-{os.getpid()}", name="Checkout bench")
    store = create_store(shop=shop, slug="till", platform="offline", name="Till")
    Product.objects.bulk_create([
        Product(shop=shop, sku=f"SKU{n:03d}", title=f"商品{n}", price=Decimal(99 + n), role=("edge", "traffic")[n % 2])
        for n in range(50)
    ])
    people = Customer.objects.bulk_create([Customer(shop=shop, name=f"顾客{n}") for n in range(customers)])
    for person in people[: customers // 2]:  # half of them can pay with points
        points.earn_points(shop=shop, customer=person, points=100_000, idempotency_key=f"seed-{person.pk}")
    return shop, store, [person.pk for person in people]


def checkout_run(*, clients: int, per_client: int) -> dict[str, Any]:
    """The measurement itself (in the child process, on the scratch database)."""
    from django.db import connection

    from huitouke.loyalty.services import checkout

    shop, store, customer_ids = _bench_shop(customers=clients * 50)
    reference = bare_insert(clients, per_client)

    def commit(client: int, i: int) -> None:
        customer_id = customer_ids[(i * clients + client) % len(customer_ids)]
        request = checkout.CheckoutRequest(
            customer_id=customer_id, store=store.slug, points=1000 if customer_id in paying else 0,
            lines=(checkout.CartLine(sku=f"SKU{i % 50:03d}", quantity=1),
                   checkout.CartLine(sku=f"SKU{(i + 7) % 50:03d}", quantity=2)),
        )
        checkout.commit(shop=shop, request=request, idempotency_key=f"bench-{client}-{i}")

    paying = set(customer_ids[: len(customer_ids) // 2])
    commits = run_clients("checkout commit", clients, per_client, commit)
    return {"vendor": connection.vendor, "clients": clients,
            "results": [{**asdict(t), "per_second": t.per_second} for t in (reference, commits)]}


def checkout_bench(*, database_url: str | None, clients: int, per_client: int, console: Console) -> dict[str, Any]:
    """Migrate a scratch database, run the measurement in a child, print the table."""
    from huitouke.demo.bench import run_on_scratch

    report = run_on_scratch("checkout", database_url, "bench", "checkout-run", "--clients", str(clients),
                            "--per-client", str(per_client))
    console.print(_table(report))
    return report


def _table(report: dict[str, Any]) -> Table:
    reference, commits = report["results"]
    rate_target, p99_target = TARGETS.get(report["vendor"], (None, None))
    table = Table(title=f"checkout commit, {report['clients']} concurrent clients, {report['vendor']}")
    for column in ("", "operations", "per second", "p50 ms", "p99 ms", "target"):
        table.add_column(column, justify="right" if column else "left")
    table.add_row(reference["label"], str(reference["operations"]), f"{reference['per_second']:.0f}",
                  f"{reference['p50_ms']:.1f}", f"{reference['p99_ms']:.1f}", "reference")
    target = f"≥ {rate_target:.0f}/s" + (f", p99 ≤ {p99_target:.0f} ms" if p99_target else "") if rate_target else ""
    table.add_row(commits["label"], str(commits["operations"]), f"{commits['per_second']:.0f}",
                  f"{commits['p50_ms']:.1f}", f"{commits['p99_ms']:.1f}", target)
    ratio = reference["per_second"] / commits["per_second"] if commits["per_second"] else float("inf")
    table.caption = f"one commit costs {ratio:.1f} bare INSERT transactions (same clients, same run)"
    return table
