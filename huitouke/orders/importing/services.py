"""Importing an export file: record the run, validate and write in one transaction, report problems.

Validate first, write once: rows are written batch by batch inside ONE transaction; the first
invalid row stops the writing (the rest of the file is still checked, so every problem is reported)
and the transaction is rolled back. A dry run does all the work and rolls back too, so its counts are
exactly what a real run would do. A killed process leaves the database as it was (the transaction
never commits); its run shows as interrupted.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import rare_gc_passes, temporary_files_on_disk
from huitouke.core.errors import Conflict, Forbidden, Invalid, NotFound
from huitouke.core.models import Role, Shop, Staff, Store
from huitouke.orders.importing.engine import BATCH, ImportCounts, ImportEngine, store_has_orders, with_columns
from huitouke.orders.importing.formats import FORMATS, open_reader
from huitouke.orders.importing.parse_process import ChildReader, can_fork
from huitouke.orders.importing.records import FileRejected, OrderRecord, Problem, StoredOrder, UnchangedRow
from huitouke.orders.models import ImportRun

PROGRESS_EVERY = 1_000  # rows between progress reports (a rich bar update costs more than a row)
STORED_PROBLEMS = 200  # kept on the run for the UI; all of them go to the problems CSV
Progress = Callable[[int, int, int], None]  # (rows read, bytes read, file size)


@dataclass(frozen=True)
class ImportRequest:
    shop: Shop
    store: Store
    path: Path
    fmt: str
    file_name: str = ""  # as the user knows it (uploads are stored under another name)
    items_path: Path | None = None
    refunds_path: Path | None = None  # taobao: the refund report (退款报表), for the refund reasons
    dry_run: bool = False
    skip_invalid: bool = False
    staff: Staff | None = None
    problems_path: Path | None = None  # default: next to the file, else under var/imports/


IMPORT_ROLES = (Role.OWNER, Role.MANAGER)


def may_import(staff: Staff | None) -> bool:
    """Owners and managers bring in export files; sales associates do not. `None` is the shell operator."""
    return staff is None or staff.role in IMPORT_ROLES


def require_importer(staff: Staff | None) -> None:
    if not may_import(staff):
        raise Forbidden(_("only owners and managers may import files or see imports"), field="file")


def start_run(request: ImportRequest, *, status: str = ImportRun.Status.RUNNING) -> ImportRun:
    """Check the request and record the run (committed at once, so it is visible while it works)."""
    require_importer(request.staff)
    if request.store.shop_id != request.shop.pk:
        raise NotFound(_("no such store"), field="store")
    if request.fmt not in FORMATS:
        raise Invalid(_("format must be one of %(choices)s"), field="format", params={"choices": ", ".join(FORMATS)})
    for path in (request.path, request.items_path, request.refunds_path):
        if path is not None and not path.is_file():
            raise Invalid(_("no such file: %(path)s"), field="file", params={"path": path})
    _refuse_concurrent_import(request.shop)
    return ImportRun.objects.create(
        shop=request.shop, store=request.store, format=request.fmt,
        file_name=(request.file_name or request.path.name)[:255], file_sha256=file_sha256(request.path),
        file_size=request.path.stat().st_size,
        items_file_name=request.items_path.name[:255] if request.items_path else "",
        dry_run=request.dry_run, skip_invalid=request.skip_invalid, status=status,
        pid=os.getpid() if status == ImportRun.Status.RUNNING else None, created_by=request.staff,
    )


def _refuse_concurrent_import(shop: Shop) -> None:
    for run in ImportRun.objects.for_shop(shop).filter(status=ImportRun.Status.RUNNING):
        if _process_alive(run.pid):
            raise Conflict(_("import #%(id)s (%(file)s) is still running for this shop"), field="file",
                           params={"id": run.pk, "file": run.file_name})
        mark_interrupted(run)


def mark_interrupted(run: ImportRun) -> None:
    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.INTERRUPTED, finished_at=timezone.now(),
        message="the import process stopped before it finished; nothing was written",
    )


def _process_alive(pid: int | None) -> bool:
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def import_file(request: ImportRequest, *, progress: Progress | None = None, run: ImportRun | None = None) -> ImportRun:
    """Import (or check, with dry_run) one export file; returns the finished run with its counts."""
    run = run or start_run(request)
    ImportRun.objects.filter(pk=run.pk).update(status=ImportRun.Status.RUNNING, pid=os.getpid())
    sink = _ProblemSink(request.problems_path or _default_problems_path(request.path, run),
                        shown_as={request.path.name: run.file_name})
    progress = _both(ProgressFile(run), progress)  # the web page shows command-line imports live too
    counts = ImportCounts()
    opener = functools.partial(open_reader, request.path, request.fmt, platform=request.store.platform,
                               items_path=request.items_path, refunds_path=request.refunds_path)
    try:
        with (ChildReader(opener, prepare=with_columns) if _parse_aside(request) else opener()) as reader:
            counts = _run_batches(request, run, reader, sink, progress)
    except FileRejected as rejected:
        sink.add(rejected.problem)
        return _finish(run, counts, sink, ImportRun.Status.REJECTED, rejected.problem.reason)
    except Exception as exc:
        _finish(run, counts, sink, ImportRun.Status.FAILED, f"{type(exc).__name__}: {exc}")
        raise
    finally:
        sink.close()
    return _finish(run, counts, sink, *_outcome(request, counts, sink))


def _parse_aside(request: ImportRequest) -> bool:
    """Whether to parse the file in a second process (parse_process): a large file (the child costs a fork and
    the pickling of every row), into a store with no orders yet (a re-import asks the database which rows it
    may skip as it reads, so it reads in-process; it also parses few rows)."""
    minimum = settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES
    return (
        minimum is not None and request.path.stat().st_size >= minimum and can_fork()
        and not store_has_orders(request.shop, request.store)
    )


def _both(first: Progress, second: Progress | None) -> Progress:
    if second is None:
        return first

    def report(rows: int, done: int, size: int) -> None:
        first(rows, done, size)
        second(rows, done, size)

    return report


def _run_batches(request: ImportRequest, run: ImportRun, reader: Any, sink: _ProblemSink,
                 progress: Progress) -> ImportCounts:
    engine = ImportEngine(shop=request.shop, store=request.store, source=f"import #{run.pk}")
    counts = engine.counts
    writing = True
    reported = 0
    with rare_gc_passes(), temporary_files_on_disk(), transaction.atomic():
        batch = _Batch(engine, reader)
        if engine.has_orders_on_file():
            reader.skip_known_rows(batch.known_rows)
        for parsed in reader:
            counts.rows += parsed.rows
            if parsed.problems:
                for problem in parsed.problems:
                    sink.add(problem)
                writing = writing and (request.skip_invalid or request.dry_run)
            if parsed.record is None:
                counts.invalid_rows += parsed.rows
            elif writing:
                batch.add(parsed.record, counts.rows, parsed.bytes_read)
            if not writing:
                batch.drop()  # an invalid row was found: keep checking, stop writing (it is rolled back)
            if counts.rows - reported >= PROGRESS_EVERY:
                reported = counts.rows
                progress(counts.rows, parsed.bytes_read, reader.size)
        if writing:
            batch.write()
        progress(counts.rows, reader.size, reader.size)
        if writing:
            engine.finish()
        if request.dry_run or not writing:
            transaction.set_rollback(True)
    return counts


class _Batch:
    """The valid rows read and not written yet: written BATCH at a time, and before the reader asks which rows
    are on file already, so that the answer takes every earlier row of the file into account."""

    def __init__(self, engine: ImportEngine, reader: Any) -> None:
        self.engine, self.reader = engine, reader
        self.rows: list[OrderRecord | UnchangedRow] = []
        self.started = False
        self.read = (0, 0)  # (rows, bytes) read so far, for the engine's estimate of the file's rows

    def add(self, row: OrderRecord | UnchangedRow, rows_read: int, bytes_read: int) -> None:
        self.rows.append(row)
        self.read = (rows_read, bytes_read)
        if len(self.rows) >= BATCH:
            self.write()

    def write(self) -> None:
        if not self.rows:
            return
        if not self.started:
            self.started = True
            rows, done = self.read
            self.engine.prepare_bulk_load(expected_rows=rows * self.reader.size // done if done else len(self.rows))
        self.engine.write_batch(self.rows)
        self.rows = []

    def drop(self) -> None:
        self.rows = []

    def known_rows(self, pairs: list[tuple[str, int]]) -> dict[tuple[str, int], StoredOrder]:
        self.write()
        return self.engine.known_rows(pairs)


def _outcome(request: ImportRequest, counts: ImportCounts, sink: _ProblemSink) -> tuple[str, str]:
    if request.dry_run:
        note = "" if not sink.count or request.skip_invalid else "; without --skip-invalid nothing would be imported"
        return ImportRun.Status.CHECKED, f"dry run: nothing was written{note}"
    if sink.count and not request.skip_invalid:
        return ImportRun.Status.REJECTED, (
            f"{sink.count} problem(s) found: nothing was written. Fix the file, or import the valid rows "
            "with --skip-invalid."
        )
    if counts.rows == 0:
        return ImportRun.Status.REJECTED, "the file has no data rows"
    return ImportRun.Status.DONE, ""


def _finish(run: ImportRun, counts: ImportCounts, sink: _ProblemSink, status: str, message: str) -> ImportRun:
    run.status, run.message = status, message[:2000]
    run.rows, run.counts = counts.rows, counts.as_dict()
    run.problems_count, run.problems = sink.count, sink.first
    run.problems_file = str(sink.path) if sink.count else ""
    run.finished_at, run.pid = timezone.now(), None
    run.save()
    progress_path(run).unlink(missing_ok=True)
    same = ImportRun.objects.for_shop(run.shop_id).filter(
        file_sha256=run.file_sha256, status=ImportRun.Status.DONE).exclude(pk=run.pk).order_by("created_at").first()
    if same is not None and status == ImportRun.Status.DONE:
        run.message = f"the same file was imported before as #{same.pk}"
        run.save(update_fields=["message"])
    return run


def _default_problems_path(path: Path, run: ImportRun) -> Path:
    beside = path.with_name(f"{path.name}.problems.csv")
    if os.access(path.parent, os.W_OK) and not str(path.parent).startswith(str(upload_dir())):
        return beside
    return upload_dir().parent / f"import-{run.pk}-problems.csv"


def upload_dir() -> Path:
    return Path(settings.VAR_DIR) / "imports" / "uploads"


class _ProblemSink:
    """Every problem goes to a CSV (opened on the first one); the first few are kept for the run record."""

    HEADER = ("file", "line", "column", "value", "reason")

    def __init__(self, path: Path, *, shown_as: dict[str, str]) -> None:
        self.path = path
        self.shown_as = shown_as  # an upload is stored under another name; problems use the user's
        self.count = 0
        self.first: list[dict[str, Any]] = []
        self._handle: IO[str] | None = None
        self._writer: Any = None

    def add(self, problem: Problem) -> None:
        if problem.file in self.shown_as:
            problem = dataclasses.replace(problem, file=self.shown_as[problem.file])
        if self._writer is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._handle = self.path.open("w", encoding="utf-8-sig", newline="")  # BOM: Excel opens it right
            self._writer = csv.writer(self._handle)
            self._writer.writerow(self.HEADER)
        self._writer.writerow([problem.file, problem.line, problem.column, problem.value, problem.reason])
        self.count += 1
        if len(self.first) < STORED_PROBLEMS:
            self.first.append(problem.as_row())

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None


# --- background imports (uploads from the web page) ----------------------------------------------


def progress_path(run: ImportRun) -> Path:
    """Live progress of a running import, outside the database: the import's own transaction holds
    the write lock (SQLite) and its writes are invisible to others until it commits."""
    return Path(settings.VAR_DIR) / "imports" / f"run-{run.pk}.progress.json"


class ProgressFile:
    """Writes (rows, bytes, size) for the UI at most twice a second."""

    def __init__(self, run: ImportRun) -> None:
        self.path = progress_path(run)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._last = 0.0

    def __call__(self, rows: int, done: int, size: int) -> None:
        now = time.monotonic()
        if now - self._last < 0.5 and done < size:
            return
        self._last = now
        scratch = self.path.with_suffix(".tmp")
        scratch.write_text(json.dumps({"rows": rows, "bytes": done, "size": size, "at": time.time()}))
        scratch.replace(self.path)  # atomic: a reader never sees half a file


def read_progress(run: ImportRun) -> dict[str, Any]:
    """{"rows", "bytes", "size", "percent"} of a running import (zeros before the first write)."""
    try:
        data = json.loads(progress_path(run).read_text())
    except (OSError, ValueError):
        data = {"rows": 0, "bytes": 0, "size": run.file_size}
    size = data.get("size") or run.file_size or 1
    return {**data, "percent": min(100, round(100 * data.get("bytes", 0) / size))}


def queue_upload(
    *, shop: Shop, store: Store, fmt: str, upload: IO[bytes], file_name: str, staff: Staff | None,
    dry_run: bool = False, skip_invalid: bool = False,
) -> ImportRun:
    """Keep an uploaded file under var/imports/uploads/ and queue its import for the worker."""
    from huitouke.orders.tasks import run_queued_import

    suffix = Path(file_name).suffix.lower()
    if suffix not in (".csv", ".txt", ".xlsx"):
        raise Invalid(_("upload a .csv or .xlsx file"), field="file")
    upload_dir().mkdir(parents=True, exist_ok=True)
    stored = upload_dir() / f"{timezone.now():%Y%m%d-%H%M%S}-{os.getpid()}-{time.monotonic_ns()}{suffix}"
    with stored.open("wb") as handle:
        for block in iter(lambda: upload.read(1 << 20), b""):
            handle.write(block)
    request = ImportRequest(shop=shop, store=store, path=stored, fmt=fmt, file_name=file_name, dry_run=dry_run,
                            skip_invalid=skip_invalid, staff=staff)
    run = start_run(request, status=ImportRun.Status.QUEUED)
    ImportRun.objects.filter(pk=run.pk).update(stored_path=str(stored))
    transaction.on_commit(lambda: run_queued_import.enqueue(run.pk))
    return run


def run_queued(run_id: int) -> ImportRun:
    """The worker's side of `queue_upload`."""
    run = ImportRun.objects.select_related("shop", "store", "created_by").get(pk=run_id)
    if run.status != ImportRun.Status.QUEUED:
        return run  # a retry of a job that already ran
    request = ImportRequest(
        shop=run.shop, store=run.store, path=Path(run.stored_path), fmt=run.format, file_name=run.file_name,
        dry_run=run.dry_run, skip_invalid=run.skip_invalid, staff=run.created_by,
    )
    return import_file(request, run=run)
