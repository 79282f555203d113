"""The import pages: upload, the run page with live progress, problems, past imports, who may see them."""

from __future__ import annotations

import csv
import io
import os
import subprocess
import sys

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from huitouke.core.models import Role
from huitouke.customers.models import Customer
from huitouke.orders.importing.services import progress_path
from huitouke.orders.models import ImportRun, Order
from huitouke.testing.factories import StaffFactory, StoreFactory

pytestmark = pytest.mark.django_db

HX = {"HTTP_HX_REQUEST": "true"}

HEADER = "订单号,下单时间,付款时间,状态,实付金额,退款金额,会员名,姓名,手机,地址,商品名称,数量,单价"
# A till export renamed to the generic format: 李小雨 buys twice (one person), a second buyer with a masked phone.
GOOD_ROWS = (
    "M20250301001,2025-03-01 10:12:00,2025-03-01 10:13:05,已完成,299.00,0,小鱼儿2019,李小雨,13812345678,"
    "浙江省杭州市西湖区文三路100号,真丝连衣裙,1,299.00",
    "M20250315002,2025-03-15 20:01:00,2025-03-15 20:02:00,已完成,158.00,0,小鱼儿2019,李小雨,13812345678,"
    "浙江省杭州市西湖区文三路100号,桑蚕丝围巾,2,79.00",
    "M20250402003,2025-04-02 09:30:00,2025-04-02 09:31:00,已发货,89.90,0,tb_8890,张伟,139****0001,"
    "上海市浦东新区世纪大道1号,纯棉T恤,1,89.90",
)
BAD_ROW = (
    "M20250405004,2025-04-05 11:00:00,2025-04-05 11:02:00,已完成,八十九元,0,tb_7777,王芳,13700001111,"
    "北京市朝阳区建国路88号,亚麻衬衫,1,89.00"
)


def csv_file(*rows: str, name: str = "门店订单-2025Q1.csv", header: str = HEADER) -> SimpleUploadedFile:
    """A generic-format export as a shop would save it from Excel: UTF-8 with BOM, CRLF line ends."""
    text = "\r\n".join((header, *rows)) + "\r\n"
    return SimpleUploadedFile(name, ("\ufeff" + text).encode("utf-8"), content_type="text/csv")


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    """Uploads, progress and problem files go to a scratch directory, not the project's var/."""
    settings.VAR_DIR = tmp_path
    return tmp_path


@pytest.fixture
def upload(owner_client, tenant_a, django_capture_on_commit_callbacks):
    """POST the upload form as the owner; the queued import runs when the request's work commits."""

    def post(file: SimpleUploadedFile, *, store=None, fmt: str = "generic", client=None, **options: bool):
        data = {"store": (store or tenant_a.store).pk, "format": fmt, "file": file}
        data.update({key: "on" for key, on in options.items() if on})
        with django_capture_on_commit_callbacks(execute=True):
            return (client or owner_client).post(reverse("imports"), data)

    return post


def _text(response) -> str:
    return response.content.decode()


def _count(text: str, key: str) -> str:
    """The number shown on the run page for one count."""
    marker = f'data-count="{key}"'
    assert marker in text, key
    value = text.split(marker, 1)[1].split('class="stat-value">', 1)[1]
    return value.split("<", 1)[0]


def _run_of(response) -> ImportRun:
    assert response.status_code == 302, _text(response)[:2000]
    run_id = int(response["Location"].rstrip("/").rsplit("/", 1)[1])
    return ImportRun.objects.get(pk=run_id)


# Access -----------------------------------------------------------------------------------------


def test_import_pages_require_login(client, tenant_a):
    response = client.get(reverse("imports"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_associates_cannot_import_or_see_imports(associate_client, tenant_a):
    run = ImportRun.objects.create(shop=tenant_a.shop, store=tenant_a.store, format="generic", file_name="a.csv",
                                   file_sha256="0" * 64, status=ImportRun.Status.DONE)
    assert 'href="/imports/"' not in _text(associate_client.get(reverse("dashboard")))
    for url in (reverse("imports"), reverse("import", args=[run.pk]), reverse("import_progress", args=[run.pk]),
                reverse("import_problems", args=[run.pk]), reverse("import_formats")):
        response = associate_client.get(url)
        assert response.status_code == 403, url
    response = associate_client.post(reverse("imports"), {"store": tenant_a.store.pk, "format": "generic",
                                                         "file": csv_file(*GOOD_ROWS)})
    assert response.status_code == 403
    assert "只有店主和店长可以导入文件" in _text(response)
    assert ImportRun.objects.count() == 1 and Order.objects.count() == 0


@pytest.mark.parametrize("role", [Role.OWNER, Role.MANAGER])
def test_owners_and_managers_find_imports_in_the_nav(client, tenant_a, role):
    staff = tenant_a.owner if role == Role.OWNER else StaffFactory(shop=tenant_a.shop, role=role)
    client.force_login(staff.user)
    text = _text(client.get(reverse("dashboard")))
    assert '<a href="/imports/" >导入</a>' in text
    assert client.get(reverse("imports")).status_code == 200


# Upload and the run page ------------------------------------------------------------------------


def test_upload_form_offers_the_shops_stores_and_the_formats(owner_client, tenant_a, tenant_b):
    second = StoreFactory(shop=tenant_a.shop, slug="shop-a-till", name="西湖门店", platform="offline")
    text = _text(owner_client.get(reverse("imports")))
    assert f'<option value="{tenant_a.store.pk}"' in text and f'<option value="{second.pk}"' in text
    assert f'<option value="{tenant_b.store.pk}"' not in text
    for value in ("taobao", "shopify", "generic"):
        assert f'<option value="{value}"' in text and f'data-format="{value}"' in text
    assert "淘宝 / 天猫订单报表" in text
    assert 'accept=".csv,.txt,.xlsx"' in text
    assert f'href="{reverse("import_formats")}"' in text
    assert "还没有导入记录" in text


def test_upload_imports_the_file_and_the_run_page_shows_the_counts(upload, owner_client, tenant_a):
    run = _run_of(upload(csv_file(*GOOD_ROWS)))
    assert run.status == ImportRun.Status.DONE and run.created_by == tenant_a.owner
    assert run.file_name == "门店订单-2025Q1.csv" and run.store == tenant_a.store and run.format == "generic"
    assert Customer.objects.for_shop(tenant_a.shop).count() == 2
    assert Order.objects.filter(shop=tenant_a.shop).count() == 3

    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">已导入<' in text
    assert (_count(text, "new_customers"), _count(text, "new_orders"), _count(text, "rows")) == ("2", "3", "3")
    assert (_count(text, "updated_orders"), _count(text, "merges"), _count(text, "invalid_rows")) == ("0", "0", "0")
    assert "新顾客" in text and "新订单" in text
    assert "hx-trigger" not in text  # finished: nothing polls
    assert 'data-testid="problems-csv"' not in text

    listing = _text(owner_client.get(reverse("imports")))
    row = listing.split(f'data-run="{run.pk}"', 1)[1].split("</tr>", 1)[0]
    assert "门店订单-2025Q1.csv" in row and "通用 CSV" in row and "已导入" in row
    assert '<td class="num">2</td>\n        <td class="num">3</td>' in row


def test_importing_the_same_file_again_changes_nothing_and_says_so(upload, owner_client, tenant_a):
    first = _run_of(upload(csv_file(*GOOD_ROWS)))
    again = _run_of(upload(csv_file(*GOOD_ROWS)))
    assert again.counts["new_orders"] == 0 and again.counts["unchanged_orders"] == 3
    text = _text(owner_client.get(reverse("import", args=[again.pk])))
    assert _count(text, "unchanged_orders") == "3" and _count(text, "new_customers") == "0"
    note = text.split('data-testid="same-file">', 1)[1].split("</p>", 1)[0]
    assert f'<a href="{reverse("import", args=[first.pk])}">导入 #{first.pk}</a>' in note
    assert "这个文件之前已经导入过" in note
    first_page = _text(owner_client.get(reverse("import", args=[first.pk])))
    assert 'data-testid="same-file"' not in first_page


def test_a_bad_row_rejects_the_file_lists_the_problem_and_the_csv_has_it(upload, owner_client, tenant_a):
    run = _run_of(upload(csv_file(*GOOD_ROWS, BAD_ROW)))
    assert run.status == ImportRun.Status.REJECTED and run.problems_count == 1
    assert Order.objects.filter(shop=tenant_a.shop).count() == 0  # validate first, write once
    assert Customer.objects.including_merged(tenant_a.shop).count() == 0

    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">已拒绝：未写入任何数据<' in text
    assert "什么都没有写入" in text
    assert 'data-count="rows"' in text and _count(text, "invalid_rows") == "1"
    assert 'data-count="new_orders"' not in text  # nothing was written: no write counts to show
    assert "--skip-invalid" not in text  # the command line's advice is not for the web page
    problems = text.split('class="table compact problems-table"', 1)[1].split("</table>", 1)[0]
    assert '<td class="num">5</td>' in problems  # header is line 1: the fourth data row
    assert "<td>实付金额</td>" in problems and "八十九元" in problems
    assert 'data-testid="problems-csv"' in text

    response = owner_client.get(reverse("import_problems", args=[run.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == f'attachment; filename="import-{run.pk}-problems.csv"'
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0] == ["file", "line", "column", "value", "reason"]
    assert rows[1][1:4] == ["5", "实付金额", "八十九元"] and rows[1][4]


def test_the_problems_csv_names_the_file_as_the_user_uploaded_it(upload, owner_client):
    run = _run_of(upload(csv_file(*GOOD_ROWS, BAD_ROW)))
    response = owner_client.get(reverse("import_problems", args=[run.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert rows[1][0] == "门店订单-2025Q1.csv"


def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(upload, owner_client, tenant_a):
    run = _run_of(upload(csv_file(*GOOD_ROWS, BAD_ROW), skip_invalid=True))
    assert run.status == ImportRun.Status.DONE and run.problems_count == 1
    assert set(Order.objects.filter(shop=tenant_a.shop).values_list("external_id", flat=True)) == {
        "M20250301001", "M20250315002", "M20250402003"}
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert _count(text, "new_orders") == "3" and _count(text, "invalid_rows") == "1"
    assert "八十九元" in text


def test_dry_run_shows_what_would_change_and_writes_nothing(upload, owner_client, tenant_a):
    run = _run_of(upload(csv_file(*GOOD_ROWS), dry_run=True))
    assert run.status == ImportRun.Status.CHECKED and run.dry_run
    assert Order.objects.filter(shop=tenant_a.shop).count() == 0
    assert Customer.objects.including_merged(tenant_a.shop).count() == 0
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">已检查（试运行）<' in text
    assert _count(text, "new_customers") == "2" and _count(text, "new_orders") == "3"
    assert "试运行" in text and "什么都没有写入" in text
    assert "正式导入将不会写入任何数据" not in text


def test_a_dry_run_of_a_file_with_problems_warns_that_the_import_would_write_nothing(upload, owner_client):
    run = _run_of(upload(csv_file(*GOOD_ROWS, BAD_ROW), dry_run=True))
    assert run.status == ImportRun.Status.CHECKED and run.problems_count == 1
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert "正式导入将不会写入任何数据" in text and "八十九元" in text


def test_a_header_only_file_is_rejected_and_the_page_says_why(upload, owner_client, tenant_a):
    run = _run_of(upload(csv_file()))
    assert run.status == ImportRun.Status.REJECTED and run.problems_count == 1
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">已拒绝：未写入任何数据<' in text
    assert "the file has a header but no data rows" in text.split('class="table compact problems-table"', 1)[1]
    # A run rejected for having no rows, with no problem recorded, still says so in the page's words.
    bare = ImportRun.objects.create(shop=tenant_a.shop, store=tenant_a.store, format="generic", file_name="空.csv",
                                    file_sha256="5" * 64, status=ImportRun.Status.REJECTED,
                                    message="the file has no data rows")
    text = _text(owner_client.get(reverse("import", args=[bare.pk])))
    assert "文件里没有数据行，只有表头" in text and "the file has no data rows" not in text


def test_a_file_missing_a_required_column_is_rejected_with_its_name(upload, owner_client):
    header = HEADER.replace("实付金额,", "")
    row = GOOD_ROWS[0].replace(",299.00,0,", ",0,", 1)
    run = _run_of(upload(csv_file(row, header=header)))
    assert run.status == ImportRun.Status.REJECTED
    assert "missing required column: paid_amount" in run.message
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert "missing required column: paid_amount" in text  # the reason, shown with the status
    assert "<td class=\"num\">1</td>" in text and "<td>paid_amount</td>" in text  # line 1: the header
    assert owner_client.get(reverse("import_problems", args=[run.pk])).status_code == 200


# Bad input: the form again with the reason, never a 500 --------------------------------------------


def test_upload_without_a_file_shows_the_form_again(owner_client, tenant_a):
    response = owner_client.post(reverse("imports"), {"store": tenant_a.store.pk, "format": "generic"})
    assert response.status_code == 400
    assert "这个字段是必填项" in _text(response) and 'id="upload-form"' in _text(response)
    assert ImportRun.objects.count() == 0


def test_a_file_of_the_wrong_kind_is_refused(upload):
    file = SimpleUploadedFile("订单.pdf", b"%PDF-1.4 not an export", content_type="application/pdf")
    response = upload(file)
    assert response.status_code == 400
    assert "请上传 .csv 或 .xlsx 文件" in _text(response)  # the Chinese page gives the reason in Chinese
    assert ImportRun.objects.count() == 0


def test_another_shops_store_is_refused(upload, tenant_b):
    response = upload(csv_file(*GOOD_ROWS), store=tenant_b.store)
    assert response.status_code == 400
    assert "选择一个有效的选项" in _text(response)
    assert ImportRun.objects.count() == 0 and Order.objects.count() == 0


def test_a_second_import_while_one_runs_is_refused_with_409(upload, tenant_a):
    running = ImportRun.objects.create(
        shop=tenant_a.shop, store=tenant_a.store, format="generic", file_name="大文件.csv", file_sha256="1" * 64,
        status=ImportRun.Status.RUNNING, pid=os.getpid(),
    )
    response = upload(csv_file(*GOOD_ROWS))
    assert response.status_code == 409
    assert f"导入 #{running.pk}（大文件.csv）仍在进行中" in _text(response) and 'data-testid="upload-error"' in _text(response)
    assert ImportRun.objects.count() == 1 and Order.objects.count() == 0


# Live progress ----------------------------------------------------------------------------------


def test_a_running_import_shows_progress_and_the_partial_keeps_polling(owner_client, tenant_a):
    run = ImportRun.objects.create(
        shop=tenant_a.shop, store=tenant_a.store, format="taobao", file_name="订单报表.csv", file_sha256="2" * 64,
        file_size=1000, status=ImportRun.Status.RUNNING, pid=os.getpid(),
    )
    path = progress_path(run)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text('{"rows": 4200, "bytes": 420, "size": 1000}')

    page = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert f'hx-get="{reverse("import_progress", args=[run.pk])}"' in page and 'hx-trigger="every 1s"' in page
    assert "42% · 已读取 4200 行" in page
    assert 'data-testid="run-counts"' not in page

    partial = _text(owner_client.get(reverse("import_progress", args=[run.pk]), **HX))
    assert partial.lstrip().startswith('<div id="run-live"') and "<html" not in partial
    assert 'hx-trigger="every 1s"' in partial and 'aria-valuenow="42"' in partial


def test_when_the_run_finishes_the_partial_swaps_in_the_result_and_stops_polling(owner_client, tenant_a):
    run = ImportRun.objects.create(
        shop=tenant_a.shop, store=tenant_a.store, format="generic", file_name="till.csv", file_sha256="3" * 64,
        status=ImportRun.Status.DONE, rows=3,
        counts={"rows": 3, "new_customers": 2, "new_orders": 3, "merges": 1},
    )
    partial = _text(owner_client.get(reverse("import_progress", args=[run.pk]), **HX))
    assert "hx-trigger" not in partial and 'data-status="done"' in partial
    assert _count(partial, "new_customers") == "2" and _count(partial, "merges") == "1"


def test_a_running_import_whose_process_is_gone_shows_as_interrupted(owner_client, tenant_a):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    run = ImportRun.objects.create(
        shop=tenant_a.shop, store=tenant_a.store, format="generic", file_name="till.csv", file_sha256="4" * 64,
        status=ImportRun.Status.RUNNING, pid=int(finished.stdout),
    )
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">已中断：未写入任何数据<' in text
    assert "hx-trigger" not in text
    listing = _text(owner_client.get(reverse("imports")))
    assert "已中断：未写入任何数据" in listing.split(f'data-run="{run.pk}"', 1)[1].split("</tr>", 1)[0]


# Tenancy ----------------------------------------------------------------------------------------


def test_another_shops_run_and_its_problems_are_not_found(upload, owner_client, tenant_b):
    run = _run_of(upload(csv_file(*GOOD_ROWS, BAD_ROW)))
    client = Client()
    client.force_login(tenant_b.owner.user)
    for url in (reverse("import", args=[run.pk]), reverse("import_progress", args=[run.pk]),
                reverse("import_problems", args=[run.pk])):
        assert client.get(url).status_code == 404, url
    assert "门店订单-2025Q1.csv" not in _text(client.get(reverse("imports")))
    assert owner_client.get(reverse("import_problems", args=[run.pk])).status_code == 200


def test_a_run_without_problems_has_no_problems_file(upload, owner_client):
    run = _run_of(upload(csv_file(*GOOD_ROWS)))
    assert owner_client.get(reverse("import_problems", args=[run.pk])).status_code == 404


def test_the_format_guide_lists_every_format(owner_client):
    text = _text(owner_client.get(reverse("import_formats")))
    assert "淘宝 / 天猫订单报表" in text and "Shopify 订单导出" in text and "通用 CSV" in text


def test_the_format_guide_renders_the_doc_and_offers_the_example(owner_client, monkeypatch, tmp_path):
    from huitouke.web import imports

    doc = tmp_path / "import-formats.md"
    doc.write_text("# 导入格式\n\n| 列名 | 别名 |\n|---|---|\n| order_id | 订单号 |\n\n<script>alert(1)</script>\n",
                   encoding="utf-8")
    example = tmp_path / "generic-orders.csv"
    example.write_text(HEADER + "\n" + GOOD_ROWS[0] + "\n", encoding="utf-8")
    monkeypatch.setattr(imports, "FORMAT_DOC", doc)
    monkeypatch.setattr(imports, "EXAMPLE_FILE", example)

    text = _text(owner_client.get(reverse("import_formats")))
    assert "<h1>导入格式</h1>" in text and "<td>order_id</td>" in text
    assert "<script>alert(1)</script>" not in text  # raw HTML in the doc is shown as text, never run
    response = owner_client.get(reverse("import_example"))
    assert response.status_code == 200 and "M20250301001" in b"".join(response.streaming_content).decode()


def test_the_pages_speak_english_too(owner_client, upload):
    run = _run_of(upload(csv_file(*GOOD_ROWS)))
    owner_client.cookies["django_language"] = "en"
    listing = _text(owner_client.get(reverse("imports")))
    assert ">Imports</a>" in listing and "Upload and import" in listing and "Past imports" in listing
    text = _text(owner_client.get(reverse("import", args=[run.pk])))
    assert 'data-testid="run-status">Imported<' in text and "New customers" in text and "导入" not in text
