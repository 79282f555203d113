"""Import pages: upload an export file, follow its run live, read its problems, see past imports.

The rules (what a valid file is, one import at a time, validate first, write once) live in
orders.importing.services; these views parse the form, call them and show the outcome.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django import forms
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.functional import Promise
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from huitouke.core.errors import Conflict, DomainError, NotFound
from huitouke.orders.importing import selectors
from huitouke.orders.importing.formats import FORMATS
from huitouke.orders.importing.services import queue_upload
from huitouke.orders.models import ImportRun
from huitouke.web.views import staff_required

FORMAT_LABELS: dict[str, Promise] = {
    "taobao": _("Taobao / Tmall order report"),
    "shopify": _("Shopify orders export"),
    "generic": _("Generic CSV (any till or platform)"),
}
FORMAT_SHORT: dict[str, Promise] = {
    "taobao": _("Taobao / Tmall"),
    "shopify": _("Shopify"),
    "generic": _("Generic CSV"),
}
FORMAT_HINTS: dict[str, Promise] = {
    "taobao": _("The seller centre's order report (订单报表) CSV exactly as downloaded, GBK or UTF-8."),
    "shopify": _("Shopify admin → Orders → Export, the CSV with one row per line item."),
    "generic": _("Our documented CSV: rename the columns of a JD, Youzan, Pinduoduo or till export and upload it."),
}
COUNT_LABELS: tuple[tuple[str, Promise], ...] = (
    ("new_customers", _("New customers")),
    ("new_orders", _("New orders")),
    ("updated_orders", _("Updated orders")),
    ("unchanged_orders", _("Unchanged orders")),
    ("merges", _("Customers merged")),
    ("rows", _("Rows read")),
    ("orders_in_file", _("Orders in the file")),
    ("duplicate_orders", _("Orders listed more than once")),
    ("older_states", _("Older states of known orders (ignored)")),
    ("invalid_rows", _("Invalid rows")),
)
STATUS_NOTES: dict[str, Promise] = {
    ImportRun.Status.QUEUED: _("Waiting for the background worker to start this import. If it does not start, "
                               "check that the worker (huitouke worker) is running."),
    ImportRun.Status.RUNNING: _("Checking and importing the file. Nothing is saved until the whole file has "
                                "been checked."),
    ImportRun.Status.DONE: _("The file was imported."),
    ImportRun.Status.CHECKED: _("Dry run: these are the changes the import would make. Nothing was written."),
    ImportRun.Status.REJECTED: _("Nothing was written. Fix the problems below and upload the file again, or tick "
                                 "“Skip invalid rows” to import only the valid rows."),
    ImportRun.Status.FAILED: _("The import stopped on an unexpected error. Nothing was written."),
    ImportRun.Status.INTERRUPTED: _("The import process stopped before it finished. Nothing was written; upload "
                                    "the file again."),
}
STATUS_BADGES = {
    ImportRun.Status.QUEUED: "info", ImportRun.Status.RUNNING: "info", ImportRun.Status.DONE: "ok",
    ImportRun.Status.CHECKED: "info", ImportRun.Status.REJECTED: "danger", ImportRun.Status.FAILED: "danger",
    ImportRun.Status.INTERRUPTED: "warn",
}
NOTHING_WRITTEN = (ImportRun.Status.REJECTED, ImportRun.Status.FAILED, ImportRun.Status.INTERRUPTED)
READ_COUNTS = ("rows", "invalid_rows")  # all that means anything when the import wrote nothing
ACCEPT = ".csv,.txt,.xlsx"
FORMAT_DOC = Path(settings.BASE_DIR).parent / "docs" / "import-formats.md"
EXAMPLE_FILE = Path(settings.BASE_DIR).parent / "docs" / "examples" / "generic-orders.csv"


class ImportForm(forms.Form):
    """The upload form; the store choices are the shop's own stores."""

    store = forms.ModelChoiceField(queryset=None, label=_("Store"), empty_label=None)
    format = forms.ChoiceField(choices=(), label=_("Format"))
    file = forms.FileField(
        label=_("Export file"), help_text=_("CSV or Excel (.xlsx)"),
        widget=forms.ClearableFileInput(attrs={"accept": ACCEPT}),
    )
    dry_run = forms.BooleanField(
        required=False, label=_("Dry run"),
        help_text=_("Check the file and show what would change, without writing anything."),
    )
    skip_invalid = forms.BooleanField(
        required=False, label=_("Skip invalid rows"),
        help_text=_("Import the valid rows and list the others, instead of refusing the whole file."),
    )

    def __init__(self, *args: Any, shop: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["store"].queryset = selectors.import_stores(shop=shop)
        self.fields["format"].choices = [(fmt, FORMAT_LABELS.get(fmt, fmt)) for fmt in FORMATS]


def importer_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Logged-in owners and managers only: associates get a 403 page."""

    @staff_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not selectors.may_import(request.staff):
            raise PermissionDenied(_("Only owners and managers can import files."))
        return view(request, *args, **kwargs)

    return wrapper


def _run_or_404(request: HttpRequest, run_id: int) -> ImportRun:
    try:
        return selectors.import_by_id(shop=request.shop, run_id=run_id)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc


def _row(run: ImportRun) -> dict[str, Any]:
    status = selectors.display_status(run)
    return {
        "run": run, "status": status, "status_label": ImportRun.Status(status).label,
        "badge": STATUS_BADGES.get(status, "info"), "format_label": FORMAT_LABELS.get(run.format, run.format),
        "format_short": FORMAT_SHORT.get(run.format, run.format),
        "wrote": status not in NOTHING_WRITTEN and status not in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING),
        "counts": run.counts or {},
    }


def _run_context(run: ImportRun) -> dict[str, Any]:
    row = _row(run)
    status, counts = row["status"], row["counts"]
    shown = [(key, label) for key, label in COUNT_LABELS if status not in NOTHING_WRITTEN or key in READ_COUNTS]
    return {
        **row,
        "active": status in (ImportRun.Status.QUEUED, ImportRun.Status.RUNNING),
        "progress": selectors.progress_of(run),
        "note": STATUS_NOTES.get(status, ""),
        "count_rows": [(key, label, counts.get(key, 0)) for key, label in shown],
        "more_problems": max(0, run.problems_count - len(run.problems or [])),
        "same_file_as": selectors.earlier_import_of_same_file(run) if status == ImportRun.Status.DONE else None,
        "would_write_nothing": status == ImportRun.Status.CHECKED and run.problems_count and not run.skip_invalid,
        "empty_file": status == ImportRun.Status.REJECTED and not run.problems_count and not run.rows,
        # The service's own words only where the page has none of its own (an unexpected error's text).
        "details": run.message if status == ImportRun.Status.FAILED else "",
    }


def _upload_page(request: HttpRequest, form: ImportForm, *, status: int = 200, error: str = "") -> HttpResponse:
    context = {
        "form": form, "error": error,
        "formats": [(fmt, FORMAT_LABELS.get(fmt, fmt), FORMAT_HINTS.get(fmt, "")) for fmt in FORMATS],
        "rows": [_row(run) for run in selectors.imports_for(shop=request.shop)],
        "has_doc": FORMAT_DOC.is_file(),
    }
    return render(request, "web/imports/list.html", context, status=status)


@importer_required
@require_http_methods(["GET", "POST"])
def import_list(request: HttpRequest) -> HttpResponse:
    """The upload form and the shop's past imports; an upload is queued and opens its run page."""
    if request.method == "GET":
        return _upload_page(request, ImportForm(shop=request.shop, initial={"format": FORMATS[0]}))
    form = ImportForm(request.POST, request.FILES, shop=request.shop)
    if not form.is_valid():
        return _upload_page(request, form, status=400)
    data = form.cleaned_data
    upload = data["file"]
    try:
        run = queue_upload(
            shop=request.shop, store=data["store"], fmt=data["format"], upload=upload, file_name=upload.name,
            staff=request.staff, dry_run=data["dry_run"], skip_invalid=data["skip_invalid"],
        )
    except DomainError as exc:
        status = 409 if isinstance(exc, Conflict) else 400
        if exc.field in form.fields and not isinstance(exc, Conflict):
            form.add_error(exc.field, exc.localized())
            return _upload_page(request, form, status=status)
        return _upload_page(request, form, status=status, error=exc.localized())
    return redirect("import", run_id=run.pk)


@importer_required
@require_GET
def import_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run_or_404(request, run_id)
    return render(request, "web/imports/detail.html", _run_context(run))


@importer_required
@require_GET
def import_progress(request: HttpRequest, run_id: int) -> HttpResponse:
    """The live part of the run page (HTMX polls it every second until the run has finished)."""
    run = _run_or_404(request, run_id)
    return render(request, "web/imports/_run.html", _run_context(run))


@importer_required
@require_GET
def import_problems(request: HttpRequest, run_id: int) -> FileResponse:
    """Every problem of the run as the CSV the import wrote (opens right in Excel: UTF-8 with BOM)."""
    try:
        path = selectors.problems_file_of(shop=request.shop, run_id=run_id)
    except NotFound as exc:
        raise Http404(exc.localized()) from exc
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"import-{run_id}-problems.csv",
        content_type="text/csv; charset=utf-8",
    )


@importer_required
@require_GET
def import_formats(request: HttpRequest) -> HttpResponse:
    """The import format guide (docs/import-formats.md), rendered for the shop owner."""
    from markdown_it import MarkdownIt

    doc = ""
    if FORMAT_DOC.is_file():
        renderer = MarkdownIt("commonmark", {"html": False}).enable("table")
        doc = mark_safe(renderer.render(FORMAT_DOC.read_text(encoding="utf-8")))  # noqa: S308 - raw HTML is off
    context = {
        "doc": doc,
        "formats": [(fmt, FORMAT_LABELS.get(fmt, fmt), FORMAT_HINTS.get(fmt, "")) for fmt in FORMATS],
        "has_example": EXAMPLE_FILE.is_file(),
    }
    return render(request, "web/imports/formats.html", context)


@importer_required
@require_GET
def import_example(request: HttpRequest) -> FileResponse:
    """The example file of the generic format, to start from."""
    if not EXAMPLE_FILE.is_file():
        raise Http404("no example file")
    return FileResponse(EXAMPLE_FILE.open("rb"), as_attachment=True, filename=EXAMPLE_FILE.name,
                        content_type="text/csv; charset=utf-8")
