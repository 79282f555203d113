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
    """The operator, one merchant and its members, enrolled the way a group-buy enrols them (each with her
    record in the operator's customer archive)."""
    from huitouke.core.services import create_shop
    from huitouke.platform.services.actors import Terms, record_group_buy
    from huitouke.platform.services.balance import sign_merchant

    shop = create_shop(slug=f"bench-platform-{os.getpid()}", name="Platform bench")
    terms = Terms(discount_rate=Decimal("0.85"), valid_from=dt.date(2020, 1, 1), valid_until=dt.date(2099, 12, 31))
    merchant = sign_merchant(shop=shop, name="Till bench", terms=terms, now=_signed())
    phones = [f"+86139{n:08d}" for n in range(members)]
    for phone in phones:
        record_group_buy(shop=shop, merchant=merchant, phone=phone, day=dt.date(2025, 1, 1))
    return shop, merchant, phones


def _signed() -> dt.datetime:
    from huitouke.core.timeutil import SHANGHAI

    return dt.datetime(2025, 1, 1, tzinfo=SHANGHAI)


def _month_of_records(shop, merchants: int, per_merchant: int) -> int:
    """Write `merchants` merchants, each with an agreement and a month of `per_merchant` records, column-wise
    (core.bulk: the ORM's bulk_create would take longer than the statements). Returns the records written."""
    from django.db import connection, transaction

    from huitouke.core.bulk import date_adapter, datetime_adapter, insert_rows, reserve_ids
    from huitouke.core.money import to_fen
    from huitouke.core.timeutil import SHANGHAI
    from huitouke.platform.models import Agreement, Consumption, Member, Merchant

    moment = dt.datetime(2026, 3, 15, 12, tzinfo=SHANGHAI)
    member = Member.objects.create(shop=shop, phone_e164="+8613700000000")
    as_datetime, as_date = datetime_adapter(), date_adapter()
    no_items = Consumption._meta.get_field("items").get_db_prep_save([], connection)
    methods = Agreement._meta.get_field("methods").get_db_prep_save(["phone", "qr"], connection)
    amounts = [to_fen(Decimal(10 + n % 300)) for n in range(per_merchant)]
    keys = [f"b{n}" for n in range(per_merchant)]
    with transaction.atomic():
        ids = reserve_ids(Merchant, merchants)
        insert_rows(Merchant, {"id": ids, "shop": [shop.pk] * merchants, "name": [f"M{i:05d}" for i in range(merchants)],
                               "balance": [to_fen(Decimal(5000))] * merchants,
                               "created_at": [as_datetime(_signed())] * merchants}, merchants)
        agreement_ids = reserve_ids(Agreement, merchants)
        insert_rows(Agreement, {
            "id": agreement_ids, "shop": [shop.pk] * merchants, "merchant": ids, "version": [1] * merchants,
            "discount_rate": ["0.85"] * merchants, "valid_from": [as_date(dt.date(2020, 1, 1))] * merchants,
            "valid_until": [as_date(dt.date(2099, 12, 31))] * merchants, "methods": [methods] * merchants,
            "commission_rate": ["0.05"] * merchants, "commission_tiers": [no_items] * merchants,
            "excluded_items": [no_items] * merchants, "effective_from": [as_datetime(_signed())] * merchants,
            "submitted_at": [as_datetime(_signed())] * merchants}, merchants)
    completed, month, now = as_datetime(moment), as_date(dt.date(2026, 3, 1)), as_datetime(moment)
    for merchant_id, agreement_id in zip(ids, agreement_ids, strict=True):
        with transaction.atomic():
            insert_rows(Consumption, {
                "shop": [shop.pk] * per_merchant, "merchant": [merchant_id] * per_merchant,
                "member": [member.pk] * per_merchant, "agreement": [agreement_id] * per_merchant,
                "amount": amounts, "items": [no_items] * per_merchant, "points": [0] * per_merchant,
                "completed_at": [completed] * per_merchant, "month": [month] * per_merchant,
                "idempotency_key": keys, "recorded_at": [now] * per_merchant}, per_merchant)
    return merchants * per_merchant


def _copy_reference(shop) -> float:
    """The floor for writing one line per record: copy the month's records into a bare table, one INSERT …
    SELECT, no indexes, no totals. Seconds."""
    from django.db import connection, transaction

    from huitouke.platform.models import Consumption

    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_line_reference")
        cursor.execute("CREATE TABLE bench_line_reference (consumption_id bigint, amount bigint)")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO bench_line_reference SELECT id, amount FROM {Consumption._meta.db_table} "
                       "WHERE shop_id = %s", [shop.pk])
    return time.perf_counter() - start


def _statements(shop, merchants: int, per_merchant: int) -> dict[str, Any]:
    """Bulk-load a month of records for `merchants` merchants, then time issuing their statements."""
    from huitouke.core.timeutil import SHANGHAI
    from huitouke.platform.services import statements

    start = time.perf_counter()
    records = _month_of_records(shop, merchants, per_merchant)
    built = time.perf_counter() - start
    reference = _copy_reference(shop)
    start = time.perf_counter()
    issued = statements.issue_statements(shop=shop, month=dt.date(2026, 3, 1),
                                         now=dt.datetime(2026, 4, 1, 9, tzinfo=SHANGHAI))
    return {"merchants": merchants, "per_merchant": per_merchant, "records": records, "build_seconds": built,
            "statements": len(issued), "seconds": time.perf_counter() - start, "reference_seconds": reference}


def _api_till(shop, merchant, phones: list[str], clients: int):
    """work(client, i) for run_clients: the same verify + record as a till integration sends it, through the API
    (token auth, request parsing, JSON answers) in-process with Django's test client, one login per till."""
    import json

    from django.conf import settings
    from django.test import Client

    from huitouke.core.models import Role
    from huitouke.core.services import create_staff, create_token
    from huitouke.platform.services.actors import link_login

    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "testserver"]
    tokens = []
    for n in range(clients):
        staff = create_staff(shop=shop, username=f"till-{os.getpid()}-{n}", password=None, role=Role.ASSOCIATE)
        link_login(shop=shop, merchant=merchant, staff=staff)
        tokens.append(create_token(staff=staff, name="bench till")[1])

    # A server answers many calls: load the URLconf and the API's schemas once, before the tills fork (each
    # would otherwise spend its first call importing them, seconds that say nothing about a till's rate).
    Client(HTTP_AUTHORIZATION=f"Bearer {tokens[0]}").get("/api/v1/me")

    http_clients: dict[int, Client] = {}  # one per till, made in its process (each Client loads the middleware)

    def till(client: int, i: int) -> None:
        if client not in http_clients:
            http_clients[client] = Client(HTTP_AUTHORIZATION=f"Bearer {tokens[client]}")
        http = http_clients[client]
        phone = phones[(i * clients + client) % len(phones)]
        verified = http.post("/api/v1/platform/verify", json.dumps({"phone": phone}), content_type="application/json")
        recorded = http.post(
            "/api/v1/platform/consumptions", content_type="application/json", HTTP_IDEMPOTENCY_KEY=f"api-{client}-{i}",
            data=json.dumps({"phone": phone, "amount": "88.00", "verification_id": verified.json()["verification_id"]}))
        if recorded.status_code != 201:
            raise RuntimeError(f"the API refused a bench recording: {recorded.status_code} {recorded.content!r}")

    return till


def platform_run(*, clients: int, per_client: int, merchants: int, per_merchant: int) -> dict[str, Any]:
    """The measurement itself (in the child process, on the scratch database)."""
    from django.db import connection

    from huitouke.loyalty.bench import bare_insert, run_clients
    from huitouke.platform.services import consumption, verification

    shop, merchant, phones = _operator(members=clients * 100)
    reference = bare_insert(clients, per_client)

    def till(client: int, i: int) -> None:
        phone = phones[(i * clients + client) % len(phones)]
        result = verification.verify(shop=shop, merchant=merchant, phone=phone)
        consumption.record_consumption(shop=shop, merchant=merchant, phone=phone, amount=Decimal("88.00"),
                                       idempotency_key=f"bench-{client}-{i}",
                                       verification=result.verification)

    verification.MAX_LOOKUPS = 10**9  # the bench tills are not guessing numbers: do not throttle the measurement
    tills = run_clients("verify + record", clients, per_client, till)
    api_tills = run_clients("verify + record through the API", clients, per_client,
                            _api_till(shop, merchant, phones, clients))
    return {"vendor": connection.vendor, "clients": clients,
            "reference": {**asdict(reference), "per_second": reference.per_second},
            "till": {**asdict(tills), "per_second": tills.per_second},
            "api_till": {**asdict(api_tills), "per_second": api_tills.per_second},
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
    reference, till, stm = report["reference"], report["till"], report["statements"]
    table.add_row(reference["label"], str(reference["operations"]), f"{reference['per_second']:.0f}/s",
                  f"{reference['p50_ms']:.1f}", f"{reference['p99_ms']:.1f}", "reference")
    table.add_row("verify + record", str(till["operations"]), f"{till['per_second']:.0f}/s", f"{till['p50_ms']:.1f}",
                  f"{till['p99_ms']:.1f}", TARGETS["till"])
    api = report["api_till"]
    table.add_row("the same through the API (in-process)", str(api["operations"]), f"{api['per_second']:.0f}/s",
                  f"{api['p50_ms']:.1f}", f"{api['p99_ms']:.1f}", "reported")
    table.add_row("copy the records (bare INSERT … SELECT)", str(stm["records"]), f"{stm['reference_seconds']:.1f} s",
                  "", "", "reference")
    table.add_row(f"statements {stm['merchants']} × {stm['per_merchant']}", str(stm["statements"]),
                  f"{stm['seconds']:.1f} s", "", "", TARGETS["statements"])
    till_ratio = reference["per_second"] / till["per_second"] if till["per_second"] else float("inf")
    copy_ratio = stm["seconds"] / stm["reference_seconds"] if stm["reference_seconds"] else float("inf")
    table.caption = (f"one verify + record costs {till_ratio:.1f} bare INSERT transactions; the statements take "
                     f"{copy_ratio:.1f}× the bare copy of their records (same run; data built in "
                     f"{stm['build_seconds']:.0f} s)")
    console.print(table)
    return report
