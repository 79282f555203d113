"""`huitouke store create SLUG --shop SLUG --platform P [--name NAME]` and `huitouke store list --shop SLUG`."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from huitouke.core.errors import DomainError
from huitouke.core.models import Platform, Store
from huitouke.core.selectors import shop_by_slug
from huitouke.core.services import create_store


class Command(BaseCommand):
    help = "Create or list a shop's stores (sales channels)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a store")
        create.add_argument("slug")
        create.add_argument("--shop", required=True)
        create.add_argument("--platform", required=True, help=", ".join(Platform.values))
        create.add_argument("--name", default="")
        listing = sub.add_parser("list", help="list stores")
        listing.add_argument("--shop", required=True)

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"])
            if opts["action"] == "list":
                for store in Store.objects.for_shop(shop).order_by("slug"):
                    self.stdout.write(f"{store.slug}\t{store.platform}\t{store.name}")
                return
            store = create_store(shop=shop, slug=opts["slug"], platform=opts["platform"], name=opts["name"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"created store {store.slug} ({store.platform}) in shop {shop.slug}")
