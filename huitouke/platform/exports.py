"""Statement downloads (CSV, PDF) as HTTP responses, shared by the API and the portal."""

from __future__ import annotations

from django.http import HttpResponse

from huitouke.platform.models import Statement
from huitouke.platform.pdf import statement_pdf
from huitouke.platform.services.statements import statement_csv


def _attachment(response: HttpResponse, statement: Statement, suffix: str) -> HttpResponse:
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.pk}-{statement.month:%Y-%m}.{suffix}"'
    return response


def csv_response(statement: Statement) -> HttpResponse:
    return _attachment(HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8"), statement, "csv")


def pdf_response(statement: Statement) -> HttpResponse:
    """Raises Conflict (pdf_font_missing) when the server has no CJK font."""
    return _attachment(HttpResponse(statement_pdf(statement), content_type="application/pdf"), statement, "pdf")
