"""Importing real-looking export files end to end: validate first, write once, idempotent, recorded."""

from __future__ import annotations

import json
from decimal import Decimal
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from huitouke.customers.models import Customer, CustomerMerge, PlatformIdentity
from huitouke.orders.importing import services as services_module
from huitouke.orders.importing.services import ImportRequest, import_file
from huitouke.orders.models import ImportRun, Order
from huitouke.orders.selectors import headline
from huitouke.testing.factories import StoreFactory

pytestmark = pytest.mark.django_db

HEADER = ("订单编号,买家会员名,买家应付货款,买家应付邮费,买家实际支付金额,订单状态,收货人姓名,收货地址,联系手机,"
          "订单创建时间,订单付款时间,宝贝标题,宝贝总数量,退款金额,店铺名称")
# Four buyers. 小鱼儿 buys on two days (repeat), 阿花 twice on ONE day (not a repeat), 大橙子's order was
# closed unpaid, tb_889 was refunded 20 of 59.90. A Tmall order of 小鱼儿 on the same day is a second row.
ROWS = [
    '="3012345678901234",小鱼儿,¥199.00,0.00,¥199.00,交易成功,李小雨,浙江省 杭州市 西湖区 文三路 100号(310000),13812345678,2025-01-05 10:00:00,2025-01-05 10:01:00,真丝连衣裙,1,0.00,衣见倾心',
    '="3012345678901235",小鱼儿,¥299.00,0.00,¥299.00,交易成功,李小雨,浙江省 杭州市 西湖区 文三路 100号(310000),13812345678,2025-02-05 10:00:00,2025-02-05 10:01:00,羊毛开衫,1,0.00,衣见倾心',
    '="3012345678901236",阿花,¥100.00,0.00,¥100.00,交易成功,张花,北京市 北京市 朝阳区 建国路 8号,13900001111,2025-03-01 09:00:00,2025-03-01 09:01:00,丝巾,1,0.00,衣见倾心',
    '="3012345678901237",阿花,¥50.00,0.00,¥50.00,交易成功,张花,北京市 北京市 朝阳区 建国路 8号,13900001111,2025-03-01 20:00:00,2025-03-01 20:01:00,发夹,2,0.00,衣见倾心',
    '="3012345678901238",大橙子,¥80.00,0.00,¥0.00,交易关闭,陈橙,广东省 深圳市 南山区 科技园 1号,13700002222,2025-03-02 09:00:00,,针织衫,1,0.00,衣见倾心',
    '="3012345678901239",tb_889,¥59.90,0.00,¥59.90,交易成功,王芳,上海市 上海市 徐汇区 漕溪北路 1号,139****0001,2025-03-03 10:00:00,2025-03-03 10:01:00,袜子,3,20.00,衣见倾心',
]


def write(tmp_path: Path, rows: list[str], name: str = "订单报表.csv", encoding: str = "gb18030") -> Path:
    path = tmp_path / name
    path.write_text("\n".join([HEADER, *rows]) + "\n", encoding=encoding)
    return path


def request(tenant, path: Path, **options) -> ImportRequest:
    return ImportRequest(shop=tenant.shop, store=tenant.store, path=path, fmt="taobao", **options)


@pytest.fixture(params=["in-process", "parse-process"])
def parse_where(request, settings, monkeypatch):
    """The test twice: the file parsed in this process, and in a forked child (parse_process, which large first
    imports use), so that both give the same results."""
    if request.param == "in-process":
        settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES = None
        yield
        return
    settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES = 0
    # a thread elsewhere in the test process (a browser test's live server) would otherwise turn the child off
    monkeypatch.setattr(services_module, "can_fork", lambda: True)
    opened = []
    real = services_module.ChildReader
    monkeypatch.setattr(services_module, "ChildReader", lambda *args, **kw: opened.append(1) or real(*args, **kw))
    yield
    assert opened, "the file was not read by a child process"


@pytest.mark.usefixtures("parse_where")
def test_a_taobao_export_gives_the_headline_figures_computed_by_hand(tenant_a, tmp_path):
    run = import_file(request(tenant_a, write(tmp_path, ROWS)))
    assert run.status == ImportRun.Status.DONE, run.message
    assert run.counts["new_customers"] == 4 and run.counts["new_orders"] == 6
    figures = headline(shop=tenant_a.shop).as_json()
    # customers 4; buyers: 小鱼儿, 阿花, tb_889 (大橙子 never paid) = 3; repeat: only 小鱼儿 = 1
    # revenue 199 + 299 + 100 + 50 + (59.90 - 20) = 687.90; repeat revenue: 小鱼儿's second day = 299
    assert figures == {
        "customers": 4, "buyers": 3, "repeat_customers": 1, "repeat_rate": round(1 / 3, 4), "purchases": 5,
        "net_revenue": "687.90", "repeat_revenue": "299.00", "repeat_revenue_share": round(299 / 687.90, 4),
    }


@pytest.mark.usefixtures("parse_where")
def test_importing_the_same_file_twice_changes_nothing_the_second_time(tenant_a, tmp_path):
    path = write(tmp_path, ROWS)
    first = import_file(request(tenant_a, path))
    before = headline(shop=tenant_a.shop).as_json(), Order.objects.count(), Customer.objects.count()
    second = import_file(request(tenant_a, path))
    assert second.status == ImportRun.Status.DONE
    assert second.counts["new_orders"] == 0 and second.counts["updated_orders"] == 0
    assert second.counts["unchanged_orders"] == 6 and second.counts["new_customers"] == 0
    assert (headline(shop=tenant_a.shop).as_json(), Order.objects.count(), Customer.objects.count()) == before
    assert second.message == f"the same file was imported before as #{first.pk}"
    assert second.file_sha256 == first.file_sha256


def test_a_newer_export_updates_the_orders_whose_state_changed(tenant_a, tmp_path):
    import_file(request(tenant_a, write(tmp_path, ROWS, "old.csv")))
    newer = [row.replace("¥59.90,交易成功", "¥59.90,交易关闭").replace(",3,20.00,", ",3,59.90,") for row in ROWS]
    run = import_file(request(tenant_a, write(tmp_path, newer, "new.csv")))
    assert run.counts["updated_orders"] == 1 and run.counts["unchanged_orders"] == 5
    order = Order.objects.get(external_id="3012345678901239")
    assert (order.status, order.refunded_amount, order.is_purchase) == ("refunded", Decimal("59.90"), False)
    assert headline(shop=tenant_a.shop).buyers == 2


@pytest.mark.usefixtures("parse_where")
def test_one_bad_row_means_nothing_is_written_and_every_problem_is_reported(tenant_a, tmp_path):
    bad = [*ROWS, '="3012345678901299",坏行,abc,0.00,¥10.00,交易成功,某,地址,13800000000,2025-13-45 10:00:00,,裙,-1,0.00,店']
    path = write(tmp_path, bad)
    run = import_file(request(tenant_a, path))
    assert run.status == ImportRun.Status.REJECTED
    assert Order.objects.count() == 0 and Customer.objects.count() == 0
    assert {(p["line"], p["column"]) for p in run.problems} == {(8, "订单创建时间"), (8, "买家应付货款"), (8, "宝贝总数量")}
    saved = Path(run.problems_file)
    assert saved == tmp_path / "订单报表.csv.problems.csv"
    lines = saved.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == "file,line,column,value,reason" and len(lines) == 4
    assert "订单报表.csv,8,宝贝总数量,-1," in saved.read_text(encoding="utf-8-sig")


@pytest.mark.usefixtures("parse_where")
def test_skip_invalid_imports_the_valid_rows_and_reports_the_rest(tenant_a, tmp_path):
    bad = [*ROWS, '="3012345678901299",坏行,¥10.00,0.00,¥10.00,不知道,某,地址,13800000000,2025-03-01 10:00:00,,裙,1,0.00,店']
    run = import_file(request(tenant_a, write(tmp_path, bad), skip_invalid=True))
    assert run.status == ImportRun.Status.DONE
    assert run.counts["new_orders"] == 6 and run.counts["invalid_rows"] == 1 and run.problems_count == 1
    assert run.problems[0]["column"] == "订单状态"


@pytest.mark.usefixtures("parse_where")
def test_a_dry_run_reports_what_would_change_and_writes_nothing(tenant_a, tmp_path):
    rows = [*ROWS, ROWS[0].replace("3012345678901234", "3012345678909999").replace("小鱼儿", "小鱼儿的小号")]
    run = import_file(request(tenant_a, write(tmp_path, rows), dry_run=True))
    assert run.status == ImportRun.Status.CHECKED
    assert run.counts["new_orders"] == 7 and run.counts["new_customers"] == 4 and run.counts["merges"] == 1
    assert Order.objects.count() == 0 and Customer.objects.including_merged(tenant_a.shop).count() == 0
    assert CustomerMerge.objects.count() == 0
    assert ImportRun.objects.get(pk=run.pk).dry_run is True


@pytest.mark.usefixtures("parse_where")
def test_the_same_buyer_on_taobao_and_jd_becomes_one_customer(tenant_a, tmp_path):
    import_file(request(tenant_a, write(tmp_path, ROWS)))
    jd = StoreFactory(shop=tenant_a.shop, slug="jd", platform="jd")
    generic = tmp_path / "jd.csv"
    generic.write_text(
        "订单号,下单时间,付款时间,状态,实付金额,买家ID,姓名,手机,商品名称,数量,单价\n"
        "JD-1,2025-04-01 10:00:00,2025-04-01 10:05:00,已完成,88.00,jd_xiaoyu,李小雨,138 1234 5678,围巾,1,88.00\n",
        encoding="utf-8",
    )
    run = import_file(ImportRequest(shop=tenant_a.shop, store=jd, path=generic, fmt="generic"))
    assert run.status == ImportRun.Status.DONE, run.problems
    assert run.counts["merges"] == 1
    person = PlatformIdentity.objects.get(handle="小鱼儿").customer
    assert set(person.identities.values_list("platform", "handle")) == {("taobao", "小鱼儿"), ("jd", "jd_xiaoyu")}
    assert person.orders_count == 3 and person.net_spend == Decimal("586.00")


def test_every_import_is_recorded_with_who_what_and_counts(tenant_a, tmp_path):
    run = import_file(request(tenant_a, write(tmp_path, ROWS), staff=tenant_a.owner))
    stored = ImportRun.objects.get(pk=run.pk)
    assert (stored.shop, stored.store, stored.created_by, stored.format) == (
        tenant_a.shop, tenant_a.store, tenant_a.owner, "taobao")
    assert stored.rows == 6 and stored.finished_at is not None and stored.file_name == "订单报表.csv"
    assert len(stored.file_sha256) == 64


@pytest.mark.usefixtures("parse_where")
def test_the_command_prints_json_and_exits_non_zero_on_a_rejected_file(tenant_a, tmp_path):
    good = write(tmp_path, ROWS)
    out = StringIO()
    call_command("import", str(good), "--shop", tenant_a.shop.slug, "--store", tenant_a.store.slug,
                 "--format", "taobao", "--json", stdout=out)
    result = json.loads(out.getvalue())
    assert result["status"] == "done" and result["counts"]["new_orders"] == 6
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CommandError, match="empty"):
        call_command("import", str(empty), "--shop", tenant_a.shop.slug, "--store", tenant_a.store.slug,
                     "--format", "taobao", stdout=StringIO())


def test_the_command_refuses_an_unknown_store_or_a_missing_file_before_recording_anything(tenant_a, tmp_path):
    with pytest.raises(CommandError, match="no store 'nope'"):
        call_command("import", str(write(tmp_path, ROWS)), "--shop", tenant_a.shop.slug, "--store", "nope",
                     "--format", "taobao", stdout=StringIO())
    with pytest.raises(CommandError, match="no such file"):
        call_command("import", str(tmp_path / "missing.csv"), "--shop", tenant_a.shop.slug, "--store",
                     tenant_a.store.slug, "--format", "taobao", stdout=StringIO())
    assert ImportRun.objects.count() == 0


def test_another_shops_store_cannot_be_imported_into(tenant_a, tenant_b, tmp_path):
    from huitouke.core.errors import NotFound

    with pytest.raises(NotFound):
        import_file(ImportRequest(shop=tenant_a.shop, store=tenant_b.store, path=write(tmp_path, ROWS), fmt="taobao"))
    assert Order.objects.count() == 0
