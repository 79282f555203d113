"""`huitouke token create|list|revoke`: API tokens of a shop's staff. The plain token is shown once."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from huitouke.core import selectors, services
from huitouke.core.errors import DomainError


def _when(moment: Any) -> str:
    return moment.strftime("%Y-%m-%d %H:%M") if moment else "-"


class Command(BaseCommand):
    help = "Create, list and revoke API tokens (Authorization: Bearer <token>)."

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = actions.add_parser("create", help="create a token for a staff member and print it (only now)")
        create.add_argument("--shop", required=True, help="shop slug")
        create.add_argument("--user", required=True, help="username of a staff member of that shop")
        create.add_argument("--name", default="api", help="what the token is for, e.g. 'erp sync'")
        listing = actions.add_parser("list", help="list the shop's tokens (never the secrets)")
        listing.add_argument("--shop", required=True, help="shop slug")
        revoke = actions.add_parser("revoke", help="revoke a token by its id (see `token list`)")
        revoke.add_argument("--shop", required=True, help="shop slug")
        revoke.add_argument("--id", required=True, type=int, dest="token_id", help="token id")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            getattr(self, f"_{options['action']}")(**options)
        except DomainError as exc:
            raise CommandError(exc.message) from exc

    def _create(self, *, shop: str, user: str, name: str, **_: Any) -> None:
        name = name.strip()
        if not name or len(name) > 100:
            raise CommandError("--name must be 1–100 characters")
        the_shop = selectors.shop_by_slug(shop)
        staff = selectors.staff_by_username(shop=the_shop, username=user)
        token, plain = services.create_token(staff=staff, name=name)
        self.stderr.write(
            f"Token #{token.pk} '{token.name}' for {user} in shop '{shop}'. "
            "Copy it now: it is not stored and will not be shown again."
        )
        self.stdout.write(plain)

    def _list(self, *, shop: str, **_: Any) -> None:
        tokens = selectors.list_tokens(shop=selectors.shop_by_slug(shop))
        rows = [
            (str(t.pk), f"{t.prefix}…", t.name, t.staff.user.username, _when(t.created_at), _when(t.last_used_at),
             _when(t.revoked_at))
            for t in tokens
        ]
        header = ("ID", "PREFIX", "NAME", "USER", "CREATED", "LAST USED", "REVOKED")
        widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
        for row in [header, *rows]:
            self.stdout.write("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
        if not rows:
            self.stderr.write(f"shop '{shop}' has no API tokens")

    def _revoke(self, *, shop: str, token_id: int, **_: Any) -> None:
        token = services.revoke_token(shop=selectors.shop_by_slug(shop), token_id=token_id)
        self.stdout.write(f"revoked token #{token.pk} ({token.prefix}…, '{token.name}')")
