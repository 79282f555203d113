"""`huitouke bench platform`: verification + recording per second with concurrent tills (p50/p99), and the
time to issue a month's statements for M merchants × N consumption records each.

Runs in a child process against a scratch database (SQLite in var/bench/ unless `--database-url` names a
PostgreSQL one). Reported, never asserted (figures go to bench/RESULTS.md).
"""

from __future__ import annotations

import datetime as dt
import os
import time
from dataclasses import asdict
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.table import Table

TARGETS = {"till": "≥ 200/s (SQLite, 4 clients), p99 ≤ 100 ms", "statements": "1,000 × 10,000 in ≤ 60 s"}


def _operator(members: int):
    from huitouke.core.services import create_shop
    from huitouke.platform.models import GroupBuy, Member
    from huitouke.platform.services.actors import Terms
    from huitouke.platform.services.balance import sign_merchant

    shop = create_shop(slug=f"bench-platform-{os.getpid()}", name="Platform bench")
    terms = Terms(discount_rate=Decimal("0.85"), valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2099, 12, 31))
    merchant = sign_merchant(shop=shop, name="Till bench", terms=terms, now=_signed())
    people = Member.objects.bulk_create(
        [Member(shop=shop, phone_e164=f"+86139{n:08d}") for n in range(members)], batch_size=2000)
    GroupBuy.objects.bulk_create(
        [GroupBuy(shop=shop, merchant=merchant, member=m, day=dt.date(2025, 1, 1)) for m in people], batch_size=2000)
    return shop, merchant, [m.phone_e164 for m in people]


def _signed() -> dt.datetime:
    from huitouke.core.timeutil import SHANGHAI

    return dt.datetime(2025, 1, 1, tzinfo=SHANGHAI)


def _statements(shop, merchants: int, per_merchant: int) -> dict[str, Any]:
    """Bulk-load a month of records for `merchants` merchants, then time issuing their statements."""
    from huitouke.core.timeutil import SHANGHAI
    from huitouke.platform.models import Agreement, Consumption, Member, Merchant
    from huitouke.platform.services import statements

    moment = dt.datetime(2026, 3, 15, 12, tzinfo=SHANGHAI)
    member = Member.objects.create(shop=shop, phone_e164="+8613700000000")
    template = Agreement.objects.filter(shop=shop).first()
    for index in range(merchants):
        merchant = Merchant.objects.create(shop=shop, name=f"M{index:05d}", balance=Decimal("5000"))
        agreement = Agreement.objects.create(
            shop=shop, merchant=merchant, version=1, discount_rate=template.discount_rate, valid_from=template.valid_from,
            valid_until=template.valid_until, methods=template.methods, commission_rate=Decimal("0.05"),
            effective_from=_signed())
        Consumption.objects.bulk_create([
            Consumption(shop=shop, merchant=merchant, member=member, agreement=agreement,
                        amount=Decimal(10 + n % 300), points=0, completed_at=moment, month=dt.date(2026, 3, 1),
                        idempotency_key=f"b{n}") for n in range(per_merchant)], batch_size=5000)
    start = time.perf_counter()
    issued = statements.issue_statements(shop=shop, month=dt.date(2026, 3, 1), now=moment + dt.timedelta(days=30))
    return {"merchants": merchants, "per_merchant": per_merchant, "statements": len(issued),
            "seconds": time.perf_counter() - start}


def platform_run(*, clients: int, per_client: int, merchants: int, per_merchant: int) -> dict[str, Any]:
    """The measurement itself (in the child process, on the scratch database)."""
    from django.db import connection

    from huitouke.loyalty.bench import run_clients
    from huitouke.platform.services import consumption, verification

    shop, merchant, phones = _operator(members=clients * 100)
    def till(client: int, i: int) -> None:
        phone = phones[(i * clients + client) % len(phones)]
        result = verification.verify(shop=shop, merchant=merchant, phone=phone)
        consumption.record_consumption(shop=shop, merchant=merchant, phone=phone, amount=Decimal("88.00"),
                                       idempotency_key=f"bench-{client}-{i}",
                                       verification=result.verification)

    verification.MAX_LOOKUPS = 10**9  # one login serves every bench till: do not throttle the measurement
    tills = run_clients("verify + record", clients, per_client, till)
    return {"vendor": connection.vendor, "clients": clients, "till": {**asdict(tills), "per_second": tills.per_second},
            "statements": _statements(shop, merchants, per_merchant)}


def platform_bench(*, database_url: str | None, clients: int, per_client: int, merchants: int, per_merchant: int,
                   console: Console) -> dict[str, Any]:
    """Migrate a scratch database, run the measurement in a child, print the table."""
    from huitouke.demo.bench import run_on_scratch

    report = run_on_scratch("platform", database_url, "bench", "platform-run", "--clients", str(clients),
                            "--per-client", str(per_client), "--merchants", str(merchants),
                            "--per-merchant", str(per_merchant))
    table = Table(title=f"platform, {report['clients']} concurrent tills, {report['vendor']}")
    for column in ("", "operations", "per second / seconds", "p50 ms", "p99 ms", "target"):
        table.add_column(column)
    till, stm = report["till"], report["statements"]
    table.add_row("verify + record", str(till["operations"]), f"{till['per_second']:.0f}/s", f"{till['p50_ms']:.1f}",
                  f"{till['p99_ms']:.1f}", TARGETS["till"])
    table.add_row(f"statements {stm['merchants']} × {stm['per_merchant']}", str(stm["statements"]),
                  f"{stm['seconds']:.1f} s", "", "", TARGETS["statements"])
    console.print(table)
    return report
