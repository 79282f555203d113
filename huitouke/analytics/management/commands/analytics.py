"""`huitouke analytics fit-summary FILE.csv [--json]`: BG/NBD, Pareto/NBD and Gamma-Gamma on a summary CSV;
`huitouke analytics refresh --shop SLUG [--as-of YYYY-MM-DD]`: recompute and store a shop's customer scores;
`huitouke analytics refresh-all`: queue a refresh of every shop for the worker (the nightly cron line).

The CSV has the BTYD literature's layout, one customer per line with columns frequency, recency, T,
monetary_value (other columns are ignored). Each subcommand is one `_<name>` method (dashes become
underscores), so others such as `refresh` sit beside `fit-summary`.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from django.core.management.base import BaseCommand, CommandError, CommandParser
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from huitouke.analytics.models.fit_summary import fit_summary_models
from huitouke.analytics.models.fitting import first_invalid_row
from huitouke.analytics.models.scores import Segment
from huitouke.analytics.selectors import segment_counts
from huitouke.analytics.services import refresh_scores
from huitouke.analytics.tasks import enqueue_refresh_all
from huitouke.core.cliargs import iso_date
from huitouke.core.errors import DomainError
from huitouke.core.selectors import shop_by_slug
from huitouke.customers.selectors import auto_tag_counts

COLUMNS = ("frequency", "recency", "T", "monetary_value")
MODEL_TITLES = {"bgnbd": "BG/NBD", "pareto_nbd": "Pareto/NBD", "gamma_gamma": "Gamma-Gamma"}


class Command(BaseCommand):
    help = (
        "Customer analytics: `refresh --shop SLUG` recomputes a shop's customer scores; `refresh-all` queues "
        "that for every shop (nightly, from cron); "
        "`fit-summary FILE.csv` fits the purchase and spend models on a summary CSV."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        fit = sub.add_parser(
            "fit-summary",
            help="fit BG/NBD, Pareto/NBD and Gamma-Gamma on frequency,recency,T,monetary_value",
        )
        fit.add_argument("file", type=Path, help="CSV with the columns frequency, recency, T, monetary_value")
        fit.add_argument("--json", action="store_true", help="print the parameters as JSON")
        refresh = sub.add_parser("refresh", help="recompute RFM segments, P(alive), expected purchases and CLV")
        refresh.add_argument("--shop", required=True, help="the shop's slug")
        refresh.add_argument("--as-of", dest="as_of", help="score as of this day (YYYY-MM-DD; default today)")
        sub.add_parser(
            "refresh-all", help="queue a refresh of every shop for `huitouke worker` (run it nightly from cron)"
        )

    def handle(self, *args: Any, **opts: Any) -> None:
        getattr(self, "_" + opts["action"].replace("-", "_"))(opts)

    def _refresh(self, opts: dict[str, Any]) -> None:
        as_of = iso_date(opts["as_of"], option="--as-of") if opts["as_of"] else None
        try:
            shop = shop_by_slug(opts["shop"])
            run = refresh_scores(shop=shop, as_of=as_of)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"shop {shop.slug}: {run.customers} customers scored as of {run.as_of} in {run.duration_seconds:.1f} s"
        )
        for value, count in segment_counts(shop=shop).items():
            self.stdout.write(f"  {Segment(value).label} ({value}): {count}")
        for name, title in MODEL_TITLES.items():  # params also hold the model choice and the fit sample
            if fields := run.params.get(name):
                params = "  ".join(f"{key} = {_round(value):g}" for key, value in fields.items())
                self.stdout.write(f"{title}: {params}")
        if chosen := run.params.get("purchase_model"):
            sample = run.params.get("fit_sample", {})
            fitted_on = f" (fitted on {sample.get(chosen):,} customers)" if sample.get(chosen) else ""
            self.stdout.write(f"purchase model used for the scores: {MODEL_TITLES[chosen]}{fitted_on}")
        for line in filter(None, run.message.splitlines()):
            self.stdout.write(f"not fitted: {line}")
        tags = auto_tag_counts(shop=shop)
        if tags:
            self.stdout.write("rule tags: " + ", ".join(f"{name} {count}" for name, count in tags.items()))

    def _refresh_all(self, opts: dict[str, Any]) -> None:
        shop_ids = enqueue_refresh_all()
        self.stdout.write(f"queued a score refresh for {len(shop_ids)} shops; `huitouke worker` runs them")

    def _fit_summary(self, opts: dict[str, Any]) -> None:
        columns = read_summary_csv(opts["file"])
        results = fit_summary_models(**columns)
        rounded = {
            name: {key: _round(value) for key, value in fields.items()} for name, fields in results.items()
        }
        if opts["json"]:
            self.stdout.write(json.dumps(rounded, ensure_ascii=False))
            return
        table = Table(title=f"{opts['file'].name}: {columns['T'].size} customers")
        table.add_column("model")
        table.add_column("parameters")
        table.add_column("log-likelihood", justify="right")
        for name, fields in rounded.items():
            if "error" in fields:
                table.add_row(MODEL_TITLES[name], f"[red]{escape(fields['error'])}[/red]", "")
                continue
            params = "  ".join(f"{key} = {value:g}" for key, value in fields.items() if key != "loglik")
            table.add_row(MODEL_TITLES[name], params, f"{fields['loglik']:g}")
        buffer = io.StringIO()
        Console(file=buffer, width=120).print(table)
        self.stdout.write(buffer.getvalue(), ending="")


def read_summary_csv(path: Path) -> dict[str, np.ndarray]:
    """The four columns as float arrays; CommandError naming a missing column, or a bad value and its line."""
    try:
        handle = path.open(newline="", encoding="utf-8-sig")
    except OSError as exc:
        raise CommandError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        reader = csv.reader(handle)
        try:
            header = [name.strip() for name in next(reader, [])]
            missing = [name for name in COLUMNS if name not in header]
            if missing:
                raise CommandError(
                    f"{path}: missing column {', '.join(repr(name) for name in missing)} "
                    f"(the header line must name {', '.join(COLUMNS)})"
                )
            position = {name: header.index(name) for name in COLUMNS}
            values: dict[str, list[float]] = {name: [] for name in COLUMNS}
            lines: list[int] = []
            for row in reader:
                if not any(cell.strip() for cell in row):
                    continue
                for name in COLUMNS:
                    values[name].append(_number(path, reader.line_num, name, row, position[name]))
                lines.append(reader.line_num)
        except (csv.Error, UnicodeDecodeError) as exc:
            raise CommandError(f"{path}: not a readable CSV file ({exc})") from exc
    if not lines:
        raise CommandError(f"{path}: no customers below the header line")
    columns = {name: np.array(column) for name, column in values.items()}
    bad = first_invalid_row(columns["frequency"], columns["recency"], columns["T"])
    negative = np.flatnonzero(columns["monetary_value"] < 0)
    if negative.size and (bad is None or negative[0] < bad[0]):
        bad = (int(negative[0]), "monetary_value is negative")
    if bad is not None:
        raise CommandError(f"{path} line {lines[bad[0]]}: {bad[1]}")
    return columns


def _number(path: Path, line: int, name: str, row: list[str], position: int) -> float:
    if position >= len(row):
        raise CommandError(f"{path} line {line}: no value for {name}")
    text = row[position].strip()
    try:
        value = float(text)
    except ValueError:
        raise CommandError(f"{path} line {line}: {name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise CommandError(f"{path} line {line}: {name} {text!r} is not a finite number")
    return value


def _round(value: Any) -> Any:
    """Six significant digits for numbers; messages pass through."""
    return float(f"{value:.6g}") if isinstance(value, float) else value
