"""In a real chromium: upload an export through the form, read the result, watch a run finish live, undo a merge."""

from __future__ import annotations

import os

import pytest

from huitouke.customers.models import CustomerMerge
from huitouke.orders.importing.services import progress_path
from huitouke.orders.models import ImportRun, Order
from huitouke.testing.fixtures import make_tenant
from huitouke.web.tests.test_browser import _shot, log_in, page  # noqa: F401 - the chromium page fixture
from huitouke.web.tests.test_imports import BAD_ROW, HEADER

# Playwright's sync API runs an event loop in this thread; Django's ORM calls from the test are safe here.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.browser

# A till export in the generic format: 李小雨 with two accounts (same full phone), and 张伟 with a masked phone.
EXPORT = "\r\n".join((
    HEADER,
    "M20250301001,2025-03-01 10:12:00,2025-03-01 10:13:05,已完成,299.00,0,小鱼儿2019,李小雨,13812345678,"
    "浙江省杭州市西湖区文三路100号,真丝连衣裙,1,299.00",
    "M20250402003,2025-04-02 09:30:00,2025-04-02 09:31:00,已发货,89.90,0,tb_8890,张伟,139****0001,"
    "上海市浦东新区世纪大道1号,纯棉T恤,1,89.90",
    "M20250520002,2025-05-20 21:40:00,2025-05-20 21:41:10,已完成,158.00,0,yu_li_88,李小雨,+86 138 1234 5678,"
    "浙江省杭州市西湖区文三路100号,桑蚕丝围巾,2,79.00",
)) + "\r\n"


@pytest.fixture(autouse=True)
def var_dir(settings, tmp_path):
    settings.VAR_DIR = tmp_path
    return tmp_path


def _count(browser_page, key: str):
    return browser_page.locator(f'[data-count="{key}"] .stat-value')


def _upload(browser_page, live_server, path, *, dry_run: bool = False) -> None:
    browser_page.goto(f"{live_server.url}/imports/")
    browser_page.select_option("#id_format", "generic")
    browser_page.set_input_files("#id_file", str(path))
    if dry_run:
        browser_page.check("#id_dry_run")
    browser_page.get_by_test_id("upload").click()


def test_owner_uploads_an_export_and_reads_the_outcome(live_server, transactional_db, page, var_dir):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    export = var_dir / "门店订单-2025Q2.csv"
    export.write_bytes(("\ufeff" + EXPORT).encode("utf-8"))

    log_in(page, live_server)
    page.click("nav.mainnav >> text=导入")
    expect(page.locator("h1")).to_have_text("导入")
    expect(page.locator("#id_store option")).to_have_count(1)
    expect(page.locator(".format-hints li")).to_have_count(3)
    _shot(page, "20-imports-empty")

    # A dry run first: what would change, nothing written.
    _upload(page, live_server, export, dry_run=True)
    expect(page.get_by_test_id("run-status")).to_have_text("已检查（试运行）")
    expect(_count(page, "new_orders")).to_have_text("3")
    assert Order.objects.count() == 0

    # The real import.
    _upload(page, live_server, export)
    expect(page.get_by_test_id("run-status")).to_have_text("已导入")
    expect(_count(page, "new_orders")).to_have_text("3")
    expect(_count(page, "merges")).to_have_text("1")
    expect(_count(page, "rows")).to_have_text("3")
    expect(page.get_by_test_id("run-counts")).to_contain_text("新订单")
    expect(page.get_by_test_id("run-counts")).to_contain_text("合并的顾客")
    assert Order.objects.filter(shop=tenant.shop).count() == 3
    _shot(page, "21-import-done")

    # A file with a bad amount: rejected, the problem shown with its line, column and value.
    bad = var_dir / "门店订单-有错误.csv"
    bad.write_bytes(("\ufeff" + EXPORT + BAD_ROW + "\r\n").encode("utf-8"))
    _upload(page, live_server, bad)
    expect(page.get_by_test_id("run-status")).to_have_text("已拒绝：未写入任何数据")
    row = page.locator(".problems-table tbody tr").first
    expect(row).to_contain_text("实付金额")
    expect(row).to_contain_text("八十九元")
    expect(row.locator("td").first).to_have_text("5")
    with page.expect_download() as download:
        page.get_by_test_id("problems-csv").click()
    assert "八十九元" in download.value.path().read_text(encoding="utf-8-sig")
    _shot(page, "22-import-rejected")

    # The history lists all three runs, newest first.
    page.click(".breadcrumb a")
    expect(page.locator(".imports-table tbody tr")).to_have_count(3)
    expect(page.locator(".imports-table tbody tr").first).to_contain_text("已拒绝")
    _shot(page, "23-imports-history")

    # The merge the import made, undone from the customer page.
    merge = CustomerMerge.objects.get(shop=tenant.shop)
    page.goto(f"{live_server.url}/customers/{merge.absorbed_id}/")
    expect(page).to_have_url(f"{live_server.url}/customers/{merge.kept_id}/")
    expect(page.locator(".messages")).to_contain_text("已合并到这位顾客")
    section = page.get_by_test_id("merges")
    expect(section).to_contain_text("手机号相同")
    expect(section).to_contain_text("138****5678")
    section.scroll_into_view_if_needed()
    _shot(page, "24-customer-merges")
    page.once("dialog", lambda dialog: dialog.accept())
    section.get_by_test_id("undo-merge").click()
    expect(page.locator(".message-success")).to_contain_text("重新成为单独的顾客")
    expect(section).to_contain_text("已撤销")
    merge.refresh_from_db()
    assert merge.undone_at is not None
    _shot(page, "25-customer-merge-undone")


def test_the_run_page_follows_a_running_import_live(live_server, transactional_db, page):  # noqa: F811
    from playwright.sync_api import expect

    tenant = make_tenant("shop-a")
    run = ImportRun.objects.create(
        shop=tenant.shop, store=tenant.store, format="taobao", file_name="订单报表-2024全年.csv",
        file_sha256="9" * 64, file_size=10_000, status=ImportRun.Status.RUNNING, pid=os.getpid(),
        created_by=tenant.owner,
    )
    progress = progress_path(run)
    progress.parent.mkdir(parents=True, exist_ok=True)
    progress.write_text('{"rows": 1200, "bytes": 3000, "size": 10000}')

    log_in(page, live_server)
    page.goto(f"{live_server.url}/imports/{run.pk}/")
    expect(page.get_by_test_id("run-status")).to_have_text("导入中")
    expect(page.get_by_test_id("run-progress")).to_contain_text("30% · 已读取 1200 行")
    _shot(page, "26-import-running")

    progress.write_text('{"rows": 3400, "bytes": 8000, "size": 10000}')
    expect(page.get_by_test_id("run-progress")).to_contain_text("80% · 已读取 3400 行")  # polled, no reload

    ImportRun.objects.filter(pk=run.pk).update(
        status=ImportRun.Status.DONE, pid=None, rows=4000,
        counts={"rows": 4000, "orders_in_file": 3900, "new_customers": 2100, "new_orders": 3900, "merges": 12},
    )
    progress.unlink()
    expect(page.get_by_test_id("run-status")).to_have_text("已导入")
    expect(_count(page, "new_customers")).to_have_text("2100")
    expect(page.get_by_test_id("run-progress")).to_have_count(0)
    assert page.locator("#run-live[hx-trigger]").count() == 0  # polling stopped
    _shot(page, "27-import-finished-live")
