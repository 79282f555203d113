"""`huitouke bench campaign`: a campaign for a million customers and the worker's delivery rate.

The run happens in a child process on a scratch database (SQLite in var/bench/ unless `--database-url` names
a PostgreSQL one). It builds a shop of N customers with core.bulk (phones, SMS consent with some refusals and
gaps, do-not-contact, a few already messaged today, one tag for the audience), then measures:

- planning (preview) and planning + enqueuing (send) a commercial SMS campaign to the whole tag, with a 10%
  hold-out, against a bare INSERT loop of the same number of rows into a scratch table (the floor of writing
  the outbox);
- the worker (`deliver_due`, as `huitouke worker` runs it) delivering M messages through each provider's SDK
  to the local fake SMS server (its own process), against a bare keep-alive HTTP POST loop to that server.

Reported, never asserted; figures with the machine's load go to bench/RESULTS.md. Targets (issue 7):
planning + enqueuing 1,000,000 customers ≤ 60 s; ≥ 500 messages/s delivered.
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import time
from typing import Any

from rich.console import Console
from rich.table import Table

PLAN_TARGET_SECONDS = 60.0
DELIVERY_TARGET_PER_SECOND = 500.0
TAG = "会员"
TEMPLATE = "{称呼}，冬装到店，会员满300减50，{导购}在店里等您。"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗欧阳"
GIVEN = ("芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "秀英", "桂兰")


def _noon() -> dt.datetime:
    """A fixed weekday noon in Shanghai: outside quiet hours, so the run does not depend on the clock."""
    from huitouke.core.timeutil import SHANGHAI

    return dt.datetime(2026, 11, 23, 12, 0, tzinfo=SHANGHAI)


def build_shop(customers: int) -> Any:
    """The scratch shop, written column-wise with core.bulk (the demo generator simulates orders we do not need)."""
    import numpy as np
    from django.db import transaction

    from huitouke.core import bulk
    from huitouke.core.services import create_shop, create_staff
    from huitouke.customers.models import Consent, Customer, CustomerPhone, CustomerTag, Tag
    from huitouke.engagement.models import Message

    rng = np.random.default_rng(7)
    noon = _noon()
    with transaction.atomic():
        shop = create_shop(slug="bench-campaign", name="江南小店")
        associates = [create_staff(shop=shop, username=f"bench-associate-{i}", password=None,
                                   display_name=f"导购小{SURNAMES[i]}").pk for i in range(20)]
        ids = bulk.reserve_ids(Customer, customers)
        at = bulk.datetime_adapter()(noon - dt.timedelta(days=90))
        shop_col = [shop.pk] * customers
        surnames, given = rng.integers(0, len(SURNAMES) - 2, customers), rng.integers(0, len(GIVEN), customers)
        bulk.insert_rows(Customer, {
            "id": ids, "shop": shop_col,
            "name": [SURNAMES[s] + GIVEN[g] for s, g in zip(surnames.tolist(), given.tolist(), strict=True)],
            "gender": rng.choice(np.array(["female", "male", ""]), customers, p=[0.6, 0.3, 0.1]).tolist(),
            "registered_by": rng.choice(associates, customers).tolist(),
            "do_not_contact": (rng.random(customers) < 0.01).tolist(), "registered_at": [at] * customers,
        }, customers)
        bulk.insert_rows(CustomerPhone, {
            "shop": shop_col, "customer": ids, "e164": [f"+8613{n:09d}" for n in range(customers)],
            "masked": [f"13{n // 10_000 % 10}****{n % 10_000:04d}" for n in range(customers)],
            "tail4": [f"{n % 10_000:04d}" for n in range(customers)], "is_primary": [True] * customers,
            "created_at": [at] * customers,
        }, customers)
        # 95% said yes to SMS, 2% said yes then no (an SMS reply), 3% were never asked
        draw = rng.random(customers)
        asked = [i for i, d in zip(ids, draw.tolist(), strict=True) if d < 0.97]
        refused = [i for i, d in zip(ids, draw.tolist(), strict=True) if d >= 0.95 and d < 0.97]
        later = bulk.datetime_adapter()(noon - dt.timedelta(days=10))
        bulk.insert_rows(Consent, {
            "shop": [shop.pk] * (len(asked) + len(refused)), "customer": asked + refused, "channel": ["sms"] * (
                len(asked) + len(refused)), "granted": [True] * len(asked) + [False] * len(refused),
            "at": [at] * len(asked) + [later] * len(refused),
            "source": ["in-store form"] * len(asked) + ["SMS reply “T”"] * len(refused),
        }, len(asked) + len(refused))
        tag = Tag.objects.create(shop=shop, name=TAG)
        bulk.insert_rows(CustomerTag, {"shop": shop_col, "customer": ids, "tag": [tag.pk] * customers,
                                       "created_at": [at] * customers}, customers)
        # 1% already had their message today: the daily cap suppresses them
        capped = ids[::100]
        day = bulk.date_adapter()(noon.date())
        bulk.insert_rows(Message, {
            "shop": [shop.pk] * len(capped), "customer": capped, "rule": ["birthday"] * len(capped),
            "kind": ["birthday"] * len(capped), "channel": ["sms"] * len(capped), "day": [day] * len(capped),
            "text": ["生日快乐"] * len(capped), "idempotency_key": [f"{i}:birthday:{noon.date()}" for i in capped],
            "status": ["sent"] * len(capped), "created_at": [at] * len(capped),
        }, len(capped))
    return shop


def _bare_insert(rows: int) -> float:
    """Seconds to INSERT `rows` rows of (id, customer, text) in one transaction: the floor of writing an outbox."""
    from django.db import connection, transaction

    text = "【江南小店】王女士，冬装到店，会员满300减50，导购小王在店里等您。 回T退订"
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS bench_reference")
        cursor.execute("CREATE TABLE bench_reference (id integer PRIMARY KEY, customer integer, text varchar(500))")
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        for first in range(0, rows, 20_000):
            cursor.executemany("INSERT INTO bench_reference (id, customer, text) VALUES (%s, %s, %s)",
                               [(i, i, text) for i in range(first, min(rows, first + 20_000))])
    return time.perf_counter() - start


def _serve_fake(ports: Any) -> None:
    from huitouke.testing.fake_sms import FakeSmsServer

    with FakeSmsServer() as server:
        ports.put(server.port)
        server.thread.join()


def start_fake_server() -> tuple[multiprocessing.Process, int]:
    """The fake providers in a process of their own, so the worker does not share its interpreter lock."""
    from django.db import connections

    context = multiprocessing.get_context("fork")
    ports = context.Queue()
    connections.close_all()  # the child must not inherit an open database connection
    process = context.Process(target=_serve_fake, args=(ports,), daemon=True)
    process.start()
    return process, ports.get(timeout=30)


def _fake_count(port: int) -> int:
    import requests

    return requests.get(f"http://127.0.0.1:{port}/count", timeout=10).json()["count"]


def _bare_http(port: int, requests_count: int) -> float:
    """Requests per second of a bare keep-alive POST loop (one session) to the fake server."""
    import requests

    session = requests.Session()
    body = {"PhoneNumbers": "13800000000", "TemplateParam": '{"content": "王女士，冬装到店"}'}
    start = time.perf_counter()
    for _ in range(requests_count):
        session.post(f"http://127.0.0.1:{port}/", data=body, timeout=10).raise_for_status()
    return requests_count / (time.perf_counter() - start)


PROVIDER_SETTINGS = {
    "aliyun": (lambda port: {"endpoint": f"127.0.0.1:{port}", "protocol": "http", "sign_name": "江南小店",
                             "template_code": "SMS_1"}, {"access_key_id": "ak", "access_key_secret": "sk"}),
    "tencent": (lambda port: {"endpoint": f"127.0.0.1:{port}", "scheme": "http", "sdk_app_id": "1400000000",
                              "sign_name": "江南小店", "template_id": "1"}, {"secret_id": "id", "secret_key": "key"}),
    "twilio": (lambda port: {"base_url": f"http://127.0.0.1:{port}", "from_number": "+15005550006"},
               {"account_sid": "AC" + "0" * 32, "auth_token": "token"}),
}


def _deliver(shop: Any, provider: str, port: int, messages: int, concurrency: int) -> dict[str, Any]:
    """Point the shop's SMS channel at the fake server through `provider`'s SDK and let the worker deliver."""
    from huitouke.engagement.services.delivery import deliver_due
    from huitouke.engagement.services.setup import configure_channel

    settings, secrets = PROVIDER_SETTINGS[provider]
    for key, value in secrets.items():
        os.environ[f"HUITOUKE_SECRET_BENCH_SMS_{key.upper()}"] = value
    configure_channel(shop=shop, channel="sms", provider=provider, secret_name="bench-sms", settings=settings(port))
    sent = failed = 0
    start = time.perf_counter()
    while sent + failed < messages:
        report = deliver_due(shop=shop, limit=min(500, messages - sent - failed), now=_noon(),
                             concurrency=concurrency)
        sent, failed = sent + report.sent, failed + report.failed + report.retrying
        if not report.message_ids:
            break
    seconds = time.perf_counter() - start
    return {"provider": provider, "sent": sent, "failed": failed, "seconds": seconds,
            "per_second": sent / seconds if seconds else 0.0}


def campaign_run(*, customers: int, messages: int, providers: list[str], concurrency: int) -> dict[str, Any]:
    """The measurement itself (in the child process, on the scratch database)."""
    from django.db import connection

    from huitouke.engagement.models import Message, MessageStatus
    from huitouke.engagement.services import campaigns

    start = time.perf_counter()
    shop = build_shop(customers)
    build = time.perf_counter() - start
    reference = _bare_insert(customers)
    campaign = campaigns.create_campaign(shop=shop, name="冬装到店", template=TEMPLATE, audience_kind="tag",
                                         audience_value=TAG, holdout_percent=10, seed=1, now=_noon())
    start = time.perf_counter()
    preview = campaigns.preview_campaign(shop=shop, campaign=campaign, now=_noon())
    preview_seconds = time.perf_counter() - start
    start = time.perf_counter()
    campaign = campaigns.send_campaign(shop=shop, campaign_id=campaign.pk, now=_noon())
    send_seconds = time.perf_counter() - start
    outbox = Message.objects.filter(shop=shop, rule=campaign.rule)
    process, port = start_fake_server()
    try:
        bare_rate = _bare_http(port, messages)
        before = _fake_count(port)
        deliveries = [_deliver(shop, provider, port, messages, concurrency) for provider in providers]
        received = _fake_count(port) - before
    finally:
        process.terminate()
        process.join()
    return {
        "vendor": connection.vendor, "customers": customers, "build_seconds": build, "bare_insert_seconds": reference,
        "preview_seconds": preview_seconds, "send_seconds": send_seconds,
        "audience": campaign.audience_count, "holdout": campaign.holdout_count, "queued": campaign.queued_count,
        "suppressed": preview["suppressed"], "outbox_rows": outbox.count(),
        "bare_http_per_second": bare_rate, "deliveries": deliveries, "concurrency": concurrency,
        "fake_received": received, "marked_sent": outbox.filter(status=MessageStatus.SENT).count(),
        "load_average": os.getloadavg(),
    }


def campaign_bench(*, database_url: str | None, customers: int, messages: int, providers: list[str],
                   concurrency: int, console: Console) -> dict[str, Any]:
    """Migrate a scratch database, run the measurement in a child, print the tables."""
    from huitouke.demo.bench import run_on_scratch

    report = run_on_scratch("campaign", database_url, "bench", "campaign-run", "--customers", str(customers),
                            "--messages", str(messages), "--providers", ",".join(providers),
                            "--concurrency", str(concurrency))
    for table in _tables(report):
        console.print(table)
    return report


def _tables(report: dict[str, Any]) -> list[Table]:
    plan = Table(title=f"campaign to {report['customers']:,} customers, {report['vendor']} "
                       f"(load average {', '.join(f'{x:.2f}' for x in report['load_average'])})")
    for column in ("", "seconds", "× bare INSERT", "target"):
        plan.add_column(column, justify="right" if column else "left")
    reference = report["bare_insert_seconds"]
    plan.add_row(f"bare INSERT of {report['customers']:,} rows", f"{reference:.2f}", "1", "")
    plan.add_row("preview (plan, nothing written)", f"{report['preview_seconds']:.1f}",
                 f"{report['preview_seconds'] / reference:.1f}", "")
    plan.add_row("send (plan + members + outbox)", f"{report['send_seconds']:.1f}",
                 f"{report['send_seconds'] / reference:.1f}", f"≤ {PLAN_TARGET_SECONDS:.0f} s")
    plan.caption = (f"shop built in {report['build_seconds']:.1f} s; audience {report['audience']:,}, hold-out "
                    f"{report['holdout']:,}, queued {report['queued']:,}, suppressed {report['suppressed']}")
    deliver = Table(title=f"worker delivery to the local fake SMS server ({report['concurrency']} threads)")
    for column in ("", "sent", "per second", "× bare HTTP loop", "target"):
        deliver.add_column(column, justify="right" if column else "left")
    bare = report["bare_http_per_second"]
    deliver.add_row("bare keep-alive POST loop", "", f"{bare:.0f}", "1", "")
    for row in report["deliveries"]:
        deliver.add_row(f"deliver_due via {row['provider']} SDK", f"{row['sent']:,}", f"{row['per_second']:.0f}",
                        f"{row['per_second'] / bare:.2f}", f"≥ {DELIVERY_TARGET_PER_SECOND:.0f}/s")
    deliver.caption = (f"the fake server received {report['fake_received']:,} sends; "
                       f"{report['marked_sent']:,} messages marked sent")
    return [plan, deliver]
