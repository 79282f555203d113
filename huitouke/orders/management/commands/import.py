"""`huitouke import FILE --shop SLUG --store STORE --format taobao|shopify|generic`: bring in an export."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug, store_by_slug
from huitouke.orders.importing.formats import FORMATS
from huitouke.orders.importing.services import ImportRequest, import_file, start_run
from huitouke.orders.models import ImportRun

COUNT_LABELS = {
    "rows": "rows read",
    "orders_in_file": "orders in the file",
    "invalid_rows": "invalid rows",
    "duplicate_orders": "orders repeated in the file (latest state kept)",
    "older_states": "older states of known orders (ignored)",
    "new_customers": "new customers",
    "new_orders": "new orders",
    "updated_orders": "updated orders (status / refund changed)",
    "unchanged_orders": "unchanged orders",
    "merges": "customers merged (same phone / e-mail)",
}


class Command(BaseCommand):
    help = (
        "Import an order export (CSV or .xlsx). The whole file is checked first: if any row is invalid, "
        "nothing is written and every problem is listed (also saved as FILE.problems.csv)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--shop", required=True, help="shop slug")
        parser.add_argument("--store", required=True, help="store slug (the export's storefront or till)")
        parser.add_argument("--format", required=True, choices=FORMATS, dest="fmt")
        parser.add_argument("--items", type=Path, help="taobao: the item report (宝贝报表) of the same orders")
        parser.add_argument("--refunds", type=Path,
                            help="taobao: the refund report (退款报表) of the same orders, for the refund reasons")
        parser.add_argument("--dry-run", action="store_true", help="report what would change; write nothing")
        parser.add_argument("--skip-invalid", action="store_true", help="import the valid rows, report the rest")
        parser.add_argument("--json", action="store_true", help="print the result as one JSON object")
        parser.add_argument("--no-progress", action="store_true", help="no progress bar")

    def handle(self, *args: Any, **opts: Any) -> None:
        try:
            shop = shop_by_slug(opts["shop"])
            request = ImportRequest(
                shop=shop, store=store_by_slug(shop=shop, slug=opts["store"]), path=opts["file"], fmt=opts["fmt"],
                items_path=opts["items"], refunds_path=opts["refunds"], dry_run=opts["dry_run"], skip_invalid=opts["skip_invalid"],
            )
            run = start_run(request)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        show_progress = not (opts["no_progress"] or opts["json"])
        console = Console(file=sys.stderr)
        with Progress(
            TextColumn("[bold]{task.description}"), BarColumn(), DownloadColumn(), TextColumn("{task.fields[rows]:,} rows"),
            TextColumn("{task.fields[rate]:,.0f} rows/s"), TimeElapsedColumn(),
            # refreshed by the import's own progress calls (every 1,000 rows), not by rich's refresh thread: with a
            # thread running the import could not fork its parse process (orders.importing.parse_process)
            console=console, disable=not show_progress, transient=True, auto_refresh=False,
        ) as bar:
            task = bar.add_task(request.path.name, total=request.path.stat().st_size, rows=0, rate=0.0)

            def progress(rows: int, done: int, size: int) -> None:
                elapsed = bar.tasks[task].elapsed or 0.0
                bar.update(task, completed=done, total=size, rows=rows, rate=rows / elapsed if elapsed else 0.0,
                           refresh=True)

            run = import_file(request, progress=progress, run=run)
        self._report(run, as_json=opts["json"])
        if run.status in (ImportRun.Status.REJECTED, ImportRun.Status.FAILED):
            raise CommandError(run.message or "the import failed", returncode=1)

    def _report(self, run: ImportRun, *, as_json: bool) -> None:
        if as_json:
            self.stdout.write(json.dumps({
                "import": run.pk, "status": run.status, "message": run.message, "counts": run.counts,
                "problems": run.problems_count, "problems_file": run.problems_file or None,
                "first_problems": run.problems[:20], "dry_run": run.dry_run,
            }, ensure_ascii=False))
            return
        self.stdout.write(f"import #{run.pk}: {run.get_status_display()}")
        if run.rows:  # a file rejected as a whole has nothing to count
            for key, label in COUNT_LABELS.items():
                self.stdout.write(f"  {label:<48}{run.counts.get(key, 0):>12,}")
        if run.problems_count:
            self.stdout.write(f"{run.problems_count} problem(s); all of them are in {run.problems_file}")
            for problem in run.problems[:20]:
                where = f"{problem['file']}:{problem['line']}" if problem["line"] else problem["file"]
                column = f" [{problem['column']}]" if problem["column"] else ""
                value = f" {problem['value']!r}" if problem["value"] else ""
                self.stdout.write(f"  {where}{column}{value}: {problem['reason']}")
            if run.problems_count > 20:
                self.stdout.write(f"  … and {run.problems_count - 20} more in the problems file")
        if run.message and run.status not in (ImportRun.Status.REJECTED, ImportRun.Status.FAILED):
            self.stdout.write(run.message)
