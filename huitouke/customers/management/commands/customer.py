"""`huitouke customer list|show|export|erase --shop SLUG …`: the archive from the command line.

Output masks personal data, like every list; `export` writes the full JSON (logged as an export).
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from huitouke.core.errors import DomainError
from huitouke.core.money import fmt
from huitouke.core.pii import mask_name
from huitouke.core.selectors import shop_by_slug
from huitouke.customers import selectors, services

CLI_ACTOR = "cli"


class Command(BaseCommand):
    help = "List, show, export (JSON) or erase a shop's customers."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        listing = sub.add_parser("list", help="search customers (name, phone tail, nickname)")
        listing.add_argument("--shop", required=True)
        listing.add_argument("--query", "-q", default="")
        listing.add_argument("--limit", type=int, default=20)
        for name, text in (("show", "show one customer (masked)"), ("export", "export all personal data as JSON"),
                           ("erase", "anonymise personal data; order figures stay")):
            action = sub.add_parser(name, help=text)
            action.add_argument("customer_id", type=int)
            action.add_argument("--shop", required=True)
            if name == "erase":
                action.add_argument("--yes", action="store_true", help="confirm the erasure")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"])
            getattr(self, f"_{opts['action']}")(shop, opts)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _list(self, shop, opts) -> None:
        for customer in selectors.search_customers(shop=shop, query=opts["query"])[: opts["limit"]]:
            phone = next(iter(customer.phones.all()), None)
            self.stdout.write(
                f"{customer.pk}\t{mask_name(customer.name)}\t{phone.masked if phone else ''}\t"
                f"{customer.purchase_days}\t{fmt(customer.net_spend)}"
            )

    def _show(self, shop, opts) -> None:
        customer = selectors.customer_by_id(shop=shop, customer_id=opts["customer_id"])
        phones = ", ".join(p.masked for p in customer.phones.all())
        self.stdout.write(
            f"#{customer.pk} {mask_name(customer.name)}  {phones}\n"
            f"visits {customer.purchase_days}  purchases {customer.orders_count}  "
            f"net spend {fmt(customer.net_spend)}  completeness {customer.completeness}%"
        )

    def _export(self, shop, opts) -> None:
        customer = selectors.customer_by_id(shop=shop, customer_id=opts["customer_id"])
        data = services.export_customer(shop=shop, customer=customer, staff=None, actor=CLI_ACTOR)
        self.stdout.write(json.dumps(data, ensure_ascii=False, indent=2, cls=DjangoJSONEncoder))

    def _erase(self, shop, opts) -> None:
        customer = selectors.customer_by_id(shop=shop, customer_id=opts["customer_id"])
        if not opts["yes"]:
            raise CommandError("erasure cannot be undone: add --yes to confirm")
        services.erase_customer(shop=shop, customer=customer, staff=None, actor=CLI_ACTOR)
        self.stdout.write(f"customer {customer.pk} erased (order figures kept)")
