"""The statement CSV as an HTTP download, shared by the API and the portal."""

from __future__ import annotations

from django.http import HttpResponse

from huitouke.platform.models import Statement
from huitouke.platform.services.statements import statement_csv


def csv_response(statement: Statement) -> HttpResponse:
    response = HttpResponse(statement_csv(statement), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="statement-{statement.pk}-{statement.month:%Y-%m}.csv"'
    return response
