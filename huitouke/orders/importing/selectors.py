"""Reads on import runs for the upload page, the run page and the API; every function takes the shop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.db.models import QuerySet

from huitouke.core.errors import NotFound
from huitouke.core.models import Shop, Store
from huitouke.orders.importing import services
from huitouke.orders.models import ImportRun

# The rule lives with the service that enforces it; re-exported for the pages and the API.
IMPORT_ROLES = services.IMPORT_ROLES
may_import = services.may_import
require_importer = services.require_importer


def import_stores(*, shop: Shop) -> QuerySet[Store]:
    """The stores an upload may go to: the shop's own, by name."""
    return Store.objects.for_shop(shop).order_by("name", "id")


def import_runs(*, shop: Shop) -> QuerySet[ImportRun]:
    """All the shop's import runs, newest first."""
    return ImportRun.objects.for_shop(shop).select_related("store", "created_by").order_by("-created_at", "-id")


def imports_for(*, shop: Shop, limit: int = 50) -> list[ImportRun]:
    """The shop's most recent import runs, newest first."""
    return list(import_runs(shop=shop)[:limit])


def import_by_id(*, shop: Shop, run_id: int) -> ImportRun:
    """The shop's run, or NotFound (also for another shop's run: its existence must not leak)."""
    run = ImportRun.objects.for_shop(shop).select_related("store", "created_by").filter(pk=run_id).first()
    if run is None:
        raise NotFound(f"no import {run_id}", field="import")
    return run


def earlier_import_of_same_file(run: ImportRun) -> int | None:
    """The id of an earlier successful import of the very same file (by SHA-256), if there was one."""
    return (
        ImportRun.objects.for_shop(run.shop_id).filter(file_sha256=run.file_sha256, status=ImportRun.Status.DONE,
                                                       created_at__lte=run.created_at)
        .exclude(pk=run.pk).order_by("created_at", "id").values_list("pk", flat=True).first()
    )


def display_status(run: ImportRun) -> str:
    """The run's status as a person should see it: a RUNNING run whose process is gone is interrupted
    (nothing was written: its transaction never committed)."""
    if run.status == ImportRun.Status.RUNNING and not services._process_alive(run.pid):
        return ImportRun.Status.INTERRUPTED
    return run.status


def is_active(run: ImportRun) -> bool:
    """Still queued or really running (worth polling for progress)."""
    return display_status(run) in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING)


def progress_of(run: ImportRun) -> dict[str, Any] | None:
    """Live progress ({"rows", "bytes", "size", "percent"}) of an active run, else None."""
    return services.read_progress(run) if is_active(run) else None


def problems_file_of(*, shop: Shop, run_id: int) -> Path:
    """The full problems CSV of the shop's run; NotFound when the run had none or the file is gone."""
    run = import_by_id(shop=shop, run_id=run_id)
    path = Path(run.problems_file) if run.problems_file else None
    if path is None or not path.is_file():
        raise NotFound(f"import {run_id} has no problems file", field="import")
    return path
