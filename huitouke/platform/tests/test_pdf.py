"""Statements as PDF: the file parses, carries the lines (members masked) and the totals in Chinese, comes from
the portal, the console, the API and the CLI, and without a CJK font the export refuses with the fix."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import CommandError, call_command
from pypdf import PdfReader

from huitouke.core.errors import Conflict
from huitouke.core.models import Role
from huitouke.core.services import create_token
from huitouke.platform.models import Statement
from huitouke.platform.pdf import statement_pdf
from huitouke.platform.services import actors, consumption, statements
from huitouke.platform.tests.helpers import at, signed
from huitouke.testing.api import assert_error, client_for
from huitouke.testing.factories import StaffFactory

pytestmark = pytest.mark.django_db
PHONE = "13812345678"
MARCH = dt.date(2026, 3, 1)


def text_of(data: bytes) -> str:
    """The PDF's text without the spaces (or NULs) an extractor puts between CJK glyphs."""
    reader = PdfReader(io.BytesIO(data))
    return "".join(page.extract_text() for page in reader.pages).replace(" ", "").replace("\x00", "")


@pytest.fixture
def statement(tenant_a) -> Statement:
    shop = tenant_a.shop
    merchant = signed(shop, "老王火锅", commission_rate="0.06")
    actors.record_group_buy(shop=shop, merchant=merchant, phone=PHONE, day=dt.date(2026, 2, 1))
    for index, amount in enumerate(["128.50", "1000.00"]):
        moment = at(2026, 3, 10 + index, 19)
        consumption.record_consumption(shop=shop, merchant=merchant, phone=PHONE, amount=amount,
                                       idempotency_key=f"k{index}", completed_at=moment, now=moment)
    return statements.issue_statement(shop=shop, merchant=merchant, month=MARCH, now=at(2026, 4, 1, 2))


@pytest.fixture
def no_font(settings, tmp_path):
    settings.PLATFORM_PDF_FONT = str(tmp_path / "missing.ttc")


def test_the_pdf_parses_and_shows_each_line_masked_and_the_totals_in_chinese(statement):
    data = statement_pdf(statement)
    assert data.startswith(b"%PDF-")
    text = text_of(data)
    assert "对账单2026-03·老王火锅" in text
    assert "138****5678" in text and PHONE not in text
    assert "¥128.50" in text and "¥1000.00" in text
    assert "回头客消费¥1128.50" in text.replace(",", "") and "佣金¥67.71" in text  # 1128.50 × 6% = 67.71


def test_without_a_cjk_font_the_export_refuses_with_the_fix(statement, no_font):
    with pytest.raises(Conflict) as exc:
        statement_pdf(statement)
    assert exc.value.code == "pdf_font_missing" and "fonts-noto-cjk" in exc.value.message


def test_portal_console_and_api_serve_the_pdf_and_another_merchant_gets_404(tenant_a, statement):
    from huitouke.platform.tests.test_pages import logged_in

    shop = tenant_a.shop
    other = signed(shop, "别家")
    own = StaffFactory(shop=shop, user__username="a-login", role=Role.ASSOCIATE)
    stranger = StaffFactory(shop=shop, user__username="b-login", role=Role.ASSOCIATE)
    actors.link_login(shop=shop, merchant=statement.merchant, staff=own)
    actors.link_login(shop=shop, merchant=other, staff=stranger)
    portal = logged_in(own).get("/platform/merchant/").content.decode()
    assert f"/platform/statements/{statement.pk}.pdf" in portal
    download = logged_in(own).get(f"/platform/statements/{statement.pk}.pdf")
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert "¥128.50" in text_of(download.content)
    assert logged_in(stranger).get(f"/platform/statements/{statement.pk}.pdf").status_code == 404
    console = logged_in(tenant_a.owner).get(f"/platform/merchants/{statement.merchant_id}/").content.decode()
    assert f"/platform/statements/{statement.pk}.pdf" in console
    api = client_for(create_token(staff=own)[1]).get(f"/api/v1/platform/statements/{statement.pk}.pdf")
    assert api.status_code == 200 and api.content.startswith(b"%PDF-")
    other_api = client_for(create_token(staff=stranger)[1])
    assert_error(other_api.get(f"/api/v1/platform/statements/{statement.pk}.pdf"), 404, "not_found", "statement")


def test_without_a_font_the_api_answers_409_and_the_page_says_why(tenant_a, statement, no_font):
    from huitouke.platform.tests.test_pages import logged_in

    api = client_for(tenant_a.token).get(
        f"/api/v1/platform/statements/{statement.pk}.pdf?merchant_id={statement.merchant_id}")
    assert_error(api, 409, "pdf_font_missing", None)
    page = logged_in(tenant_a.owner).get(f"/platform/statements/{statement.pk}.pdf")
    assert page.status_code == 409 and "fonts-noto-cjk" in page.content.decode()


def test_the_statements_command_writes_pdf_and_csv_files(tenant_a, statement, tmp_path, capsys):
    call_command("platform", "statements", "--month", "2026-03", "--json", "--pdf", str(tmp_path),
                 "--csv", str(tmp_path))
    [row] = json.loads(capsys.readouterr().out)
    assert "¥1000.00" in text_of((tmp_path / f"statement-{statement.pk}-2026-03.pdf").read_bytes())
    assert row["pdf"].endswith(".pdf") and (tmp_path / f"statement-{statement.pk}-2026-03.csv").exists()


def test_the_command_refuses_pdf_without_a_font_before_issuing_anything(tenant_a, statement, tmp_path, no_font):
    with pytest.raises(CommandError, match="fonts-noto-cjk"):
        call_command("platform", "statements", "--month", "2026-04", "--pdf", str(tmp_path))
    assert not Statement.objects.filter(month=dt.date(2026, 4, 1)).exists()
