"""A statement as PDF: the same lines and totals as the CSV, laid out for a merchant's accounts department.

Chinese needs a CJK font embedded (subset) in the file; without one the export refuses with the fix rather
than printing empty boxes. The labels follow the active language (zh-hans by default).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from fpdf import FPDF
from fpdf.enums import XPos, YPos

from huitouke.core.errors import Conflict
from huitouke.core.money import fmt
from huitouke.core.timeutil import SHANGHAI
from huitouke.platform.models import Statement
from huitouke.platform.services.statements import statement_rows

FONT = "cjk"
# (width mm, align) of: line, record, completed (Shanghai), member, store, amount; A4 portrait has 190 mm
COLUMNS = ((12, "R"), (24, "R"), (42, "L"), (34, "L"), (48, "L"), (30, "R"))
ROW_HEIGHT = 6


def require_font() -> Path:
    path = Path(settings.PLATFORM_PDF_FONT)
    if not path.is_file():
        raise Conflict(
            gettext_lazy("PDF statements need a CJK font and %(path)s is missing: install "
                         "Debian's fonts-noto-cjk (apt-get install fonts-noto-cjk) or point "
                         "HUITOUKE_PDF_FONT at a CJK .ttf/.otf/.ttc file"),
            code="pdf_font_missing", params={"path": path})
    return path


def _document(font: Path) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    face = settings.PLATFORM_PDF_FONT_FACE if font.suffix.lower() == ".ttc" else 0
    pdf.add_font(FONT, fname=str(font), collection_font_number=face)
    pdf.set_font(FONT, size=10)
    return pdf


def _row(pdf: FPDF, cells: tuple[str, ...]) -> None:
    for text, (width, align) in zip(cells, COLUMNS, strict=True):
        pdf.cell(width, ROW_HEIGHT, text, border="B", align=align)
    pdf.ln(ROW_HEIGHT)


def _header(pdf: FPDF, statement: Statement) -> None:
    pdf.set_font(FONT, size=16)
    pdf.cell(0, 10, _("Statement %(month)s · %(merchant)s") % {
        "month": f"{statement.month:%Y-%m}", "merchant": statement.merchant.name}, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.set_font(FONT, size=10)
    facts = (
        (_("Platform"), statement.shop.name),
        (_("Statement no."), str(statement.pk)),
        (_("Issued"), f"{statement.issued_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}"),
        (_("Settle by"), f"{statement.due_on:%Y-%m-%d}"),
    )
    for label, value in facts:
        pdf.cell(0, ROW_HEIGHT, f"{label}: {value}", new_x=XPos.LMARGIN, new_y=YPos.NEXT)
    pdf.ln(2)


def _totals(pdf: FPDF, statement: Statement) -> None:
    pdf.ln(3)
    for label, value in (
        (_("Consumption records"), str(statement.consumptions)),
        (_("Repeat-customer spend"), f"¥{fmt(statement.spend)}"),
        (_("Commission rate"), str(statement.rate)),
        (_("Commission"), f"¥{fmt(statement.commission)}"),
    ):
        pdf.cell(sum(width for width, _align in COLUMNS[:-1]), ROW_HEIGHT, label, align="R")
        pdf.cell(COLUMNS[-1][0], ROW_HEIGHT, value, align="R", new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def statement_pdf(statement: Statement, *, language: str = "zh-hans") -> bytes:
    """The statement as PDF bytes; Conflict (pdf_font_missing) when no CJK font is installed."""
    pdf = _document(require_font())
    with translation.override(language):
        pdf.add_page()
        _header(pdf, statement)
        _row(pdf, ("#", _("Record"), _("Completed"), _("Member"), _("Store"), _("Amount")))
        for row in statement_rows(statement):
            kind = "" if row.kind == "record" else f" ({_('reversal')})"
            _row(pdf, (str(row.index), f"{row.consumption_id}{kind}", f"{row.completed_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M}",
                       row.member, row.store, f"¥{fmt(row.amount)}"))
        _totals(pdf, statement)
    return bytes(pdf.output())
