"""`huitouke bench http|demo`: latency of the main pages on the 100k demo; demo build time."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console

from huitouke.demo import bench


class Command(BaseCommand):
    help = ("Benchmarks (in var/bench/): `bench http` page latency, `bench demo` build time, `bench import` "
            "import speed and memory, `bench analytics` model speed against lifetimes (`--refresh`: a whole refresh), `bench checkout` loyalty commits/s, `bench platform` till and statements, "
            "`bench campaign` a million-customer campaign and the worker's delivery rate.")

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="which", required=True)
        http = sub.add_parser("http", help="p50/p95 of the main pages against `huitouke serve`")
        http.add_argument("--database-url", help="bench database (default: SQLite var/bench/bench.sqlite3)")
        http.add_argument("--customers", type=int, default=100_000, help="demo size to build if missing")
        http.add_argument("--requests", type=int, default=60, help="sequential requests per page (default 60)")
        http.add_argument("--max-seconds", type=float, default=30.0, help="time limit per page (default 30)")
        http.add_argument("--json", type=Path, help="also write the results as JSON here")
        demo = sub.add_parser("demo", help="wall time of `huitouke demo --customers N` on a fresh database")
        demo.add_argument("--customers", type=int, default=100_000)
        demo.add_argument("--runs", type=int, default=1)
        demo.add_argument("--database-url", help="database to use (default: a scratch SQLite file, deleted after)")
        imp = sub.add_parser("import", help="import a synthetic Taobao export twice (rows/s, peak memory)")
        imp.add_argument("--rows", type=int, default=1_000_000)
        imp.add_argument("--customers", type=int, default=300_000)
        imp.add_argument("--database-url", help="database to use (default: a scratch SQLite file, deleted after)")
        imp.add_argument("--json", type=Path, help="also write the results as JSON here")
        analytics = sub.add_parser("analytics", help="our BTYD models against lifetimes; --refresh: a whole refresh")
        analytics.add_argument("--refresh", action="store_true",
                               help="time a full analytics refresh of a bulk-built shop, phase by phase")
        analytics_run = sub.add_parser("analytics-refresh-run", help="(internal) the refresh measurement")
        for command in (analytics, analytics_run):
            command.add_argument("--customers", type=int, default=1_000_000, help="buying customers (default 1M)")
            command.add_argument("--orders-per-customer", type=int, default=10, help="mean orders each (default 10)")
        analytics.add_argument("--database-url", help="database to use (default: a scratch SQLite file, rebuilt; "
                               "a named one keeps the shop for the next run)")
        analytics.add_argument("--json", type=Path, help="also write the results as JSON here")
        checkout = sub.add_parser("checkout", help="loyalty checkout commits/s and p99 with concurrent clients")
        checkout.add_argument("--database-url", help="database to use (default: a scratch SQLite file)")
        checkout.add_argument("--clients", type=int, default=8, help="concurrent clients (default 8)")
        checkout.add_argument("--per-client", type=int, default=250, help="commits per client (default 250)")
        checkout.add_argument("--json", type=Path, help="also write the results as JSON here")
        run = sub.add_parser("checkout-run", help="(internal) the checkout measurement, on the current database")
        run.add_argument("--clients", type=int, default=8)
        run.add_argument("--per-client", type=int, default=250)
        platform = sub.add_parser("platform", help="platform: verify + record per second, monthly statements time")
        platform_run = sub.add_parser("platform-run", help="(internal) the platform measurement, on the current database")
        for command in (platform, platform_run):
            command.add_argument("--clients", type=int, default=4, help="concurrent tills (default 4)")
            command.add_argument("--per-client", type=int, default=250, help="verifications + records per till")
            command.add_argument("--merchants", type=int, default=100, help="merchants for the statements run")
            command.add_argument("--per-merchant", type=int, default=1000, help="records per merchant in the month")
        platform.add_argument("--database-url", help="database to use (default: a scratch SQLite file)")
        platform.add_argument("--json", type=Path, help="also write the results as JSON here")
        campaign = sub.add_parser("campaign", help="plan + enqueue a campaign to N customers; worker delivery rate")
        campaign_run = sub.add_parser("campaign-run", help="(internal) the campaign measurement, on the current database")
        for command in (campaign, campaign_run):
            command.add_argument("--customers", type=int, default=1_000_000)
            command.add_argument("--messages", type=int, default=3000, help="messages delivered per provider")
            command.add_argument("--providers", default="aliyun,tencent,twilio",
                                 help="SDKs to deliver through, comma-separated (default all three)")
            command.add_argument("--concurrency", type=int, default=8, help="provider calls in flight (default 8)")
        campaign.add_argument("--database-url", help="database to use (default: a scratch SQLite file)")
        campaign.add_argument("--json", type=Path, help="also write the results as JSON here")
        sub.add_parser("probe", help="(internal) print sample ids and search terms of the demo as JSON")

    def handle(self, *args: Any, **opts: Any) -> None:
        console = Console(file=self.stdout._out, width=max(120, Console().width))  # type: ignore[attr-defined]
        if opts["which"] in ("platform", "platform-run"):
            from huitouke.platform import bench as platform_bench

            sizes = {name: opts[name] for name in ("clients", "per_client", "merchants", "per_merchant")}
            if opts["which"] == "platform-run":
                self.stdout.write(json.dumps(platform_bench.platform_run(**sizes)))
                return
            report = platform_bench.platform_bench(database_url=opts["database_url"], console=console, **sizes)
            if opts["json"]:
                opts["json"].write_text(json.dumps(report, indent=2))
            return
        if opts["which"] in ("campaign", "campaign-run"):
            self._campaign(opts, console)
            return
        if opts["which"] == "checkout-run":
            from huitouke.loyalty.bench import checkout_run

            self.stdout.write(json.dumps(checkout_run(clients=opts["clients"], per_client=opts["per_client"])))
        elif opts["which"] == "checkout":
            from huitouke.loyalty.bench import checkout_bench

            report = checkout_bench(database_url=opts["database_url"], clients=opts["clients"],
                                    per_client=opts["per_client"], console=console)
            if opts["json"]:
                opts["json"].write_text(json.dumps(report, indent=2))
        elif opts["which"] == "probe":
            self.stdout.write(json.dumps(bench.probe_data(), ensure_ascii=False))
        elif opts["which"] == "import":
            from huitouke.orders.importing.bench import import_bench

            report = import_bench(rows=opts["rows"], customers=opts["customers"],
                                  database_url=opts["database_url"], console=console)
            if opts["json"]:
                opts["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        elif opts["which"] == "analytics-refresh-run":
            from huitouke.analytics.refresh_bench import refresh_run

            self.stdout.write(json.dumps(refresh_run(
                customers=opts["customers"], orders_per_customer=opts["orders_per_customer"])))
        elif opts["which"] == "analytics" and opts["refresh"]:
            from huitouke.analytics.refresh_bench import refresh_bench

            report = refresh_bench(customers=opts["customers"], orders_per_customer=opts["orders_per_customer"],
                                   database_url=opts["database_url"], console=console)
            if opts["json"]:
                opts["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
        elif opts["which"] == "analytics":
            from huitouke.analytics.bench import model_bench

            console.print(model_bench(console))
        elif opts["which"] == "http":
            bench.http_bench(
                database_url=opts["database_url"], customers=opts["customers"], requests=opts["requests"],
                max_seconds=opts["max_seconds"], json_path=opts["json"], console=console,
            )
        else:
            times = bench.demo_bench(
                customers=opts["customers"], runs=opts["runs"], database_url=opts["database_url"], console=console,
            )
            console.print(f"demo --customers {opts['customers']}: {', '.join(f'{t:.1f} s' for t in times)}")

    def _campaign(self, opts: dict[str, Any], console: Console) -> None:
        from huitouke.engagement import bench as campaign_bench

        providers = [p.strip() for p in opts["providers"].split(",") if p.strip()]
        unknown = sorted(set(providers) - set(campaign_bench.PROVIDER_SETTINGS))
        if unknown:
            raise CommandError(f"unknown provider {unknown[0]!r}; use {', '.join(campaign_bench.PROVIDER_SETTINGS)}")
        if opts["customers"] < 1 or opts["messages"] < 1 or opts["concurrency"] < 1:
            raise CommandError("--customers, --messages and --concurrency must be at least 1")
        sizes = {"customers": opts["customers"], "messages": opts["messages"], "providers": providers,
                 "concurrency": opts["concurrency"]}
        if opts["which"] == "campaign-run":
            self.stdout.write(json.dumps(campaign_bench.campaign_run(**sizes), ensure_ascii=False))
            return
        report = campaign_bench.campaign_bench(database_url=opts["database_url"], console=console, **sizes)
        if opts["json"]:
            opts["json"].write_text(json.dumps(report, indent=2, ensure_ascii=False))
