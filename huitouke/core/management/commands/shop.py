"""`huitouke shop create SLUG --name NAME [--owner USERNAME --password P]` and `huitouke shop list`."""

from __future__ import annotations

import secrets
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from huitouke.core.errors import DomainError
from huitouke.core.models import Role, Shop
from huitouke.core.services import create_shop, create_staff


class Command(BaseCommand):
    help = "Create or list shops (tenants)."

    def add_arguments(self, parser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a shop")
        create.add_argument("slug")
        create.add_argument("--name", default="")
        create.add_argument("--owner", help="also create an owner login with this username")
        create.add_argument("--password", help="owner password (default: generated and printed)")
        sub.add_parser("list", help="list shops")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["action"] == "list":
            for shop in Shop.objects.order_by("slug"):
                self.stdout.write(f"{shop.slug}\t{shop.name}")
            return
        try:
            with transaction.atomic():
                shop = create_shop(slug=opts["slug"], name=opts["name"])
                self.stdout.write(f"created shop {shop.slug} ({shop.name})")
                if opts["owner"]:
                    password = opts["password"] or secrets.token_urlsafe(9)
                    create_staff(shop=shop, username=opts["owner"], password=password, role=Role.OWNER)
                    self.stdout.write(f"owner login: {opts['owner']}  password: {password}")
        except DomainError as exc:
            raise CommandError(exc.message) from exc
