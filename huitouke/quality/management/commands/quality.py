"""`huitouke quality report --shop SLUG [--month YYYY-MM] [--json]`: the quality dashboard's figures."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.quality.selectors import quality_report


class Command(BaseCommand):
    help = "Quality figures: audit scores per store, satisfaction, products below the threshold, churn reasons."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help="the quality report (same figures as the dashboard page)")
        report.add_argument("--shop", required=True)
        report.add_argument("--month", help="YYYY-MM (Asia/Shanghai); default: all time")
        report.add_argument("--json", action="store_true", help="one JSON object")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"])
            report = quality_report(shop=shop, month=opts["month"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        if opts["json"]:
            self.stdout.write(json.dumps(report, ensure_ascii=False))
            return
        self.stdout.write(f"shop {report['shop']}  month {report['month'] or 'all time'}")
        for row in report["stores"]:
            self.stdout.write(f"  store {row['store']:<20} audits {row['audits']:>3}  last {row['last_score']}  "
                              f"average {row['average_score']}  trend {row['trend']}")
        sat = report["satisfaction"]
        self.stdout.write(f"satisfaction: {sat['responses']} answers, CSAT {sat['csat']}%, NPS {sat['nps']}")
        for row in report["products_below_threshold"]:
            self.stdout.write(f"  below threshold: {row['sku']}  sold {row['sold']}  quality refunds "
                              f"{row['quality_refunds']}  OK {row['quality_ok_rate']:.2%}")
        for code, row in report["churn_reasons"].items():
            self.stdout.write(f"  left because {code:<20} {row['count']:>4}  {row['share']}%  (reference {row['reference']}%)")
