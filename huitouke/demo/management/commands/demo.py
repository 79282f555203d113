"""`huitouke demo`: build a realistic demo shop (slug `demo`) with two years of orders."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connection
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from huitouke.core.bulk import fast_sqlite_load
from huitouke.core.cliargs import iso_date
from huitouke.core.errors import Conflict
from huitouke.core.timeutil import today
from huitouke.demo import services
from huitouke.platform.demo import MERCHANT_LOGIN, OWNER_LOGIN


class Command(BaseCommand):
    help = "Build the demo shop 'demo' (「衣见倾心」女装): staff, two stores, catalogue, customers and orders."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--customers", type=int, default=5000, help="number of customers (default 5000)")
        parser.add_argument("--seed", type=int, default=20240618, help="random seed (same seed, same data)")
        parser.add_argument("--end-date", default=None,
                            help="last day of the two years of orders, YYYY-MM-DD (default: today, Shanghai)")
        parser.add_argument("--reset", action="store_true", help="delete an existing demo shop first")
        parser.add_argument("--no-progress", action="store_true", help="no progress bars")
        parser.add_argument("--no-platform", action="store_true",
                            help="without the demo platform operator (merchants, members, tills)")

    def handle(self, *args: Any, **opts: Any) -> None:
        if opts["customers"] < 10:
            raise CommandError("--customers must be at least 10")
        end_date = iso_date(opts["end_date"], option="--end-date") if opts["end_date"] else today()
        console = Console(file=self.stdout._out, stderr=False)  # type: ignore[attr-defined]
        started = time.perf_counter()
        if services.demo_shop() is not None and not opts["reset"]:
            raise CommandError(
                "the demo shop 'demo' already exists; run `huitouke demo --reset` to delete it and build a new one"
            )
        password = secrets.token_urlsafe(12)
        with self._progress(console, disabled=opts["no_progress"]) as report, fast_sqlite_load(connection):
            if opts["reset"]:
                services.delete_demo(progress=report)
            try:
                summary = services.build_demo(
                    customers=opts["customers"], seed=opts["seed"], end_date=end_date, password=password,
                    progress=report, platform=not opts["no_platform"],
                )
            except Conflict as exc:
                raise CommandError(str(exc)) from exc
        elapsed = time.perf_counter() - started
        self._save_password(password)
        counts = summary.counts
        console.print(
            f"[bold green]Demo shop ready[/] in {elapsed:.1f} s: {counts['customers']:,} customers, "
            f"{counts['orders']:,} orders, {counts['lines']:,} order lines, {counts['products']} products "
            f"(seed {opts['seed']}, ending {end_date})."
        )
        console.print(f"Logins: {', '.join(summary.usernames)} (owner: demo; platform operator: {OWNER_LOGIN}, "
                      f"a merchant's till: {MERCHANT_LOGIN}). Password for all of them: "
                      f"[bold]{password}[/]  (saved to {settings.HUITOUKE_DEMO_PASSWORD_FILE})")

    @contextlib.contextmanager
    def _progress(self, console: Console, *, disabled: bool) -> Iterator[services.Progress]:
        bars = Progress(
            TextColumn("{task.description:<18}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
            console=console, disable=disabled, transient=False,
        )
        tasks: dict[str, Any] = {}

        def report(label: str, done: int, total: int) -> None:
            if label not in tasks:
                tasks[label] = bars.add_task(label, total=max(total, 1))
            bars.update(tasks[label], completed=done if total else 1, total=max(total, 1))

        with bars:
            yield report

    @staticmethod
    def _save_password(password: str) -> None:
        path = Path(settings.HUITOUKE_DEMO_PASSWORD_FILE)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600, exist_ok=True)
        path.chmod(0o600)
        path.write_text(password + "\n")
