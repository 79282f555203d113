"""`huitouke quality report --shop SLUG [--month YYYY-MM] [--json]`: the quality dashboard's figures;
`huitouke quality auditor --shop SLUG --user NAME --stores SLUG,SLUG`: an auditor login for those stores only."""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from huitouke.core.errors import DomainError
from huitouke.core.models import Role, Staff
from huitouke.core.selectors import shop_by_slug, store_by_slug
from huitouke.core.services import create_staff
from huitouke.quality.selectors import quality_report
from huitouke.quality.services.audits import assign_auditor


class Command(BaseCommand):
    help = "Quality figures: audit scores per store, satisfaction, products below the threshold, churn reasons."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        report = sub.add_parser("report", help="the quality report (same figures as the dashboard page)")
        report.add_argument("--shop", required=True)
        report.add_argument("--month", help="YYYY-MM (Asia/Shanghai); default: all time")
        report.add_argument("--json", action="store_true", help="one JSON object")
        auditor = sub.add_parser("auditor", help="create (or re-assign) a mystery-shopper login for some stores")
        auditor.add_argument("--shop", required=True)
        auditor.add_argument("--user", required=True, help="username (created when new)")
        auditor.add_argument("--stores", required=True, help="comma-separated store slugs it may audit")
        auditor.add_argument("--password", help="for a new login (default: generated and printed)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "auditor":
            self._auditor(opts)
            return
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

    def _auditor(self, opts: dict[str, Any]) -> None:
        try:
            with transaction.atomic():
                shop = shop_by_slug(opts["shop"])
                stores = [store_by_slug(shop=shop, slug=slug.strip()) for slug in opts["stores"].split(",") if slug.strip()]
                user = get_user_model().objects.filter(username=opts["user"]).first()
                staff = Staff.objects.filter(shop=shop, user=user).first() if user else None
                password = None
                if user is not None and staff is None:
                    raise CommandError(f"the username '{opts['user']}' belongs to another shop")
                if staff is None:
                    password = opts["password"] or secrets.token_urlsafe(9)
                    staff = create_staff(shop=shop, username=opts["user"], password=password, role=Role.AUDITOR)
                elif staff.role not in (Role.AUDITOR,):
                    raise CommandError(f"'{opts['user']}' is a {staff.role}, not an auditor")
                assign_auditor(shop=shop, staff=staff, stores=stores)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"auditor {opts['user']} may audit: {', '.join(s.slug for s in stores)}")
        if password:
            self.stdout.write(f"login: {opts['user']}  password: {password}")
