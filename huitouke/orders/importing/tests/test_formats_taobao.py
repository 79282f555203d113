"""The Taobao/Tmall 订单报表 reader, with and without the 宝贝报表 item report."""

from __future__ import annotations

import csv
import datetime as dt
import tempfile
from collections import Counter
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.phones import ParsedPhone
from huitouke.orders.importing.formats import open_reader
from huitouke.orders.importing.records import BuyerRecord, FileRejected, LineRecord, Parsed, Problem
from huitouke.orders.importing.synth import write_taobao_export

FIXTURES = Path(__file__).parent / "fixtures"
ORDERS = FIXTURES / "taobao_orders_gbk.csv"
ITEMS = FIXTURES / "taobao_items_gbk.csv"
TMALL = FIXTURES / "tmall_orders_utf8_bom.csv"
HEADER = "订单编号,买家会员名,买家应付货款,买家实际支付金额,订单状态,订单创建时间,宝贝总数量,联系手机\n"


def read(path: Path, *, platform: str = "taobao", items: Path | None = None) -> list[Parsed]:
    with open_reader(path, "taobao", platform=platform, items_path=items) as reader:
        return list(reader)


def at(hour: str) -> dt.datetime:
    return dt.datetime.fromisoformat(hour).replace(tzinfo=SHANGHAI)


def d(text: str) -> Decimal:
    return Decimal(text)


XIAOYU = BuyerRecord(
    platform="taobao",
    handle="小鱼儿2019",
    name="张小芳",
    phone=ParsedPhone("+8613812345678", "138****5678", "5678"),
    email="xiaoyu2019@163.com",
    recipient="张小芳",
    region="浙江省 杭州市 西湖区",
    address="文三路 100号",
)


def test_gbk_order_report_is_read_with_wrappers_yuan_signs_and_full_width_digits() -> None:
    steps = read(ORDERS)
    assert all(step.problems == () for step in steps)
    orders = [step.record for step in steps]
    assert [(o.line, o.external_id, o.status) for o in orders] == [
        (2, "3012345678901234", "completed"),
        (3, "3012345678905678", "shipped"),
        (4, "3012345678909012", "closed"),
        (5, "3012345678903456", "refunded"),
        (6, "3012345678907890", "paid"),
        (7, "3012345678901111", "pending"),
    ]
    first = orders[0]
    assert first.ordered_at == at("2024-03-01 10:00:00")
    assert first.paid_at == at("2024-03-01 10:05:12")
    assert (first.paid_amount, first.goods_amount, first.shipping_amount, first.refunded_amount) == (
        d("257.00"),
        d("257.00"),
        d("0.00"),
        d("0.00"),
    )
    assert first.buyer == XIAOYU
    assert first.lines == (LineRecord("夏季新款碎花连衣裙，纯棉短袖T恤", "", 3, d("85.67"), d("257.00")),)
    assert first.note == ""
    # ￥1,280.00 and a full-width １２８０．００; the ASCII-comma 买家已付款,等待卖家发货 is paid.
    assert (orders[4].goods_amount, orders[4].paid_amount) == (d("1280.00"), d("1280.00"))
    assert orders[4].buyer.phone == ParsedPhone("+8613900002222", "139****2222", "2222")
    assert (orders[4].buyer.region, orders[4].buyer.address) == ("广东省 深圳市 南山区", "科技园 南区 8栋")


def test_the_same_buyer_comes_back_with_a_masked_phone() -> None:
    orders = [step.record for step in read(ORDERS)]
    mine = [o for o in orders if o.buyer.handle == "小鱼儿2019"]
    assert [o.external_id for o in mine] == ["3012345678901234", "3012345678905678", "3012345678901111"]
    masked = mine[1].buyer
    assert masked.phone == ParsedPhone(None, "138****5678", "5678")
    assert masked.email == ""  # a masked Alipay account is no e-mail
    assert (mine[1].shipping_amount, mine[1].goods_amount, mine[1].paid_amount) == (
        d("10.00"),
        d("89.00"),
        d("99.00"),
    )
    assert mine[1].note == "请发顺丰 / 老客户 送小样"


def test_closed_and_refunded_orders() -> None:
    orders = {step.record.external_id: step.record for step in read(ORDERS)}
    closed = orders["3012345678909012"]
    assert (closed.status, closed.paid_amount, closed.paid_at) == ("closed", d("0.00"), None)
    assert closed.buyer.phone == ParsedPhone(
        "+861085801234", "********1234", "1234"
    )  # 联系电话 when no 联系手机
    assert (closed.buyer.region, closed.buyer.address) == ("北京 北京市 朝阳区", "建国路 88号 SOHO现代城")
    refunded = orders["3012345678903456"]
    assert (refunded.status, refunded.paid_amount, refunded.refunded_amount) == (
        "refunded",
        d("299.00"),
        d("299.00"),
    )
    pending = orders["3012345678901111"]
    assert (pending.status, pending.paid_at) == ("pending", None)


def test_item_report_gives_the_lines_and_its_size_counts_in_progress() -> None:
    with open_reader(ORDERS, "taobao", platform="taobao", items_path=ITEMS) as reader:
        steps = list(reader)
        size = reader.size
    assert size == ORDERS.stat().st_size + ITEMS.stat().st_size
    assert steps[-1].bytes_read == size
    assert all(step.problems == () for step in steps)
    orders = {step.record.external_id: step.record for step in steps}
    assert orders["3012345678901234"].lines == (
        LineRecord("夏季新款碎花连衣裙", "QD-1001", 1, d("199.00"), d("199.00")),
        LineRecord("纯棉短袖T恤", "TX-2002", 2, d("29.00"), d("58.00")),
    )
    assert orders["3012345678907890"].lines == (
        LineRecord("羊绒大衣 驼色 M", "DY-5005", 1, d("1280.00"), d("1280.00")),
    )
    assert sum(len(o.lines) for o in orders.values()) == 7


def test_item_report_problems_name_the_item_file_and_keep_the_order(tmp_path: Path) -> None:
    items = tmp_path / "宝贝报表.csv"
    items.write_text(
        "订单编号,标题,价格,购买数量,商家编码\n"
        '="3012345678901234",夏季新款碎花连衣裙,199.00,1,QD-1001\n'
        '="3012345678901234",纯棉短袖T恤,29.00,-2,TX-2002\n'
        ",无主商品,10.00,1,X\n"
        '="9999",别的订单,10.00,1,Y\n'
        '="9998",别的订单,10.00,1,Y\n',
        encoding="gb18030",
    )
    steps = read(ORDERS, items=items)
    first = steps[0]
    assert first.record.lines == (LineRecord("夏季新款碎花连衣裙", "QD-1001", 1, d("199.00"), d("199.00")),)
    assert first.problems == (Problem("宝贝报表.csv", 3, "购买数量", "-2", "the quantity must be 1 or more"),)
    # An order missing from the item report keeps the line made from the order report.
    assert steps[1].record.lines == (LineRecord("纯棉短袖T恤", "", 1, d("89.00"), d("89.00")),)
    leftovers = steps[6:]
    assert [(s.record, s.rows) for s in leftovers] == [(None, 0), (None, 0)]
    assert leftovers[0].problems == (
        Problem("宝贝报表.csv", 4, "订单编号", "", "the order number is missing"),
    )
    assert leftovers[1].problems == (
        Problem(
            "宝贝报表.csv",
            5,
            "订单编号",
            "9999",
            "2 item rows (the first on this line) belong to no order in taobao_orders_gbk.csv and were skipped",
        ),
    )


def test_the_staged_item_report_is_removed_on_close(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    with open_reader(ORDERS, "taobao", platform="taobao", items_path=ITEMS) as reader:
        assert [p.suffix for p in scratch.iterdir()] == [".sqlite3"]
        next(iter(reader))
    assert list(scratch.iterdir()) == []


def test_item_report_without_its_columns_is_rejected_by_its_own_name(tmp_path: Path) -> None:
    items = tmp_path / "宝贝报表.csv"
    items.write_text("订单编号,标题\n1,x\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        open_reader(ORDERS, "taobao", platform="taobao", items_path=items)
    assert caught.value.problem == Problem(
        "宝贝报表.csv", 1, "价格", "", "missing required columns: 价格, 购买数量"
    )


def test_utf8_bom_tmall_export_with_slash_dates_partial_shipment_and_partial_refund() -> None:
    orders = [step.record for step in read(TMALL, platform="tmall")]
    assert [o.status for o in orders] == ["completed", "shipped", "completed"]
    assert {o.buyer.platform for o in orders} == {"taobao"}
    first, second, third = orders
    assert first.ordered_at == at("2024-03-01 10:00:00")
    assert first.lines == (LineRecord("保温杯 500ml", "BW-500", 1, d("59.90"), d("59.90")),)
    assert second.ordered_at == at("2024-03-02 00:00:00")
    assert second.paid_at == at("2024-03-02 09:00:00")
    assert second.lines == (LineRecord("面膜 10片装", "MM-10", 2, d("60.00"), d("120.00")),)
    assert second.buyer.phone == ParsedPhone("+8613711112222", "137****2222", "2222")  # 86-… in 联系电话
    assert (second.buyer.region, second.buyer.address) == ("四川省 成都市 武侯区", "人民南路四段 9号")
    assert third.ordered_at == dt.datetime(2024, 3, 5, 0, 0, tzinfo=dt.UTC)
    assert (third.refunded_amount, third.status, third.note) == (d("10.00"), "completed", "送礼 包装")


def test_xlsx_export_reads_like_the_csv_with_spreadsheet_row_numbers(tmp_path: Path) -> None:
    with ORDERS.open(encoding="gb18030", newline="") as handle:
        rows = list(csv.reader(handle))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append([])  # a blank first row: the header is on spreadsheet row 2
    sheet.append(rows[0])
    for row in rows[1:]:
        cells: list[object] = [cell.removeprefix('="').removesuffix('"') for cell in row]
        cells[8] = float(cells[8].replace("￥", "")) if cells[8].startswith("￥") else cells[8]
        cells[17] = dt.datetime.fromisoformat(cells[17])
        cells[24] = int(cells[24])
        sheet.append(cells)
    path = tmp_path / "订单报表.xlsx"
    book.save(path)
    from_csv = [step.record for step in read(ORDERS)]
    steps = read(path)
    assert all(step.problems == () for step in steps)
    from_xlsx = [step.record for step in steps]
    assert [o.line for o in from_xlsx] == [3, 4, 5, 6, 7, 8]
    assert [o.external_id for o in from_xlsx] == [o.external_id for o in from_csv]
    assert [(o.paid_amount, o.ordered_at, o.status, o.buyer) for o in from_xlsx] == [
        (o.paid_amount, o.ordered_at, o.status, o.buyer) for o in from_csv
    ]
    assert steps[-1].bytes_read == path.stat().st_size


def test_bad_rows_are_reported_with_line_column_value_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "订单报表.csv"
    path.write_text(
        HEADER
        + '="1001",甲,10.00,10.00,交易成功,2024-03-01 10:00:00,1,13812345678\n'
        + '="1002",乙,10.00,10.00,交易成功,2024-02-30 10:00:00,1,\n'
        + '="1003",丙,10.00,十元,交易成功,2024-03-01 10:00:00,1,\n'
        + '="1004",丁,10.00,10.00,已签收吧,2024-03-01 10:00:00,1,\n'
        + '="",戊,10.00,10.00,交易成功,2024-03-01 10:00:00,1,\n'
        + '="1006",己,-10.00,10.00,交易成功,2024-03-01 10:00:00,-1,\n'
        + '="1007",庚,10.00,10.00,交易成功,2024-03-01 10:00:00,2,12345\n',
        encoding="gb18030",
    )
    steps = read(path)
    assert [step.record is not None for step in steps] == [True, False, False, False, False, False, True]
    assert [step.problems for step in steps[1:6]] == [
        (
            Problem(
                "订单报表.csv",
                3,
                "订单创建时间",
                "2024-02-30 10:00:00",
                "not a date (expected e.g. 2024-03-01 10:00:00): day is out of range for month",
            ),
        ),
        (
            Problem(
                "订单报表.csv",
                4,
                "买家实际支付金额",
                "十元",
                "not an amount (expected a number such as 99.00)",
            ),
        ),
        (
            Problem(
                "订单报表.csv",
                5,
                "订单状态",
                "已签收吧",
                "unknown order status (expected e.g. 交易成功, 交易关闭, 等待买家付款, 卖家已发货，等待买家确认)",
            ),
        ),
        (Problem("订单报表.csv", 6, "订单编号", '=""', "the order number is missing"),),
        (
            Problem("订单报表.csv", 7, "买家应付货款", "-10.00", "an amount cannot be negative"),
            Problem("订单报表.csv", 7, "宝贝总数量", "-1", "the quantity must be 1 or more"),
        ),
    ]
    junk_phone = steps[6]
    assert junk_phone.problems == ()
    assert junk_phone.record.buyer.phone is None  # junk phones are dropped, not reported
    assert junk_phone.record.lines == (LineRecord("", "", 2, d("5.00"), d("10.00")),)


def test_missing_required_column_is_named(tmp_path: Path) -> None:
    path = tmp_path / "订单报表.csv"
    path.write_text(
        "订单编号,买家会员名,订单状态,订单创建时间\n1,a,交易成功,2024-03-01\n", encoding="gb18030"
    )
    with pytest.raises(FileRejected) as caught:
        read(path)
    assert caught.value.problem == Problem(
        "订单报表.csv", 1, "买家实际支付金额", "", "missing required column: 买家实际支付金额"
    )


def test_synthetic_export_is_deterministic_realistic_and_reads_without_problems(tmp_path: Path) -> None:
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    counts = write_taobao_export(first, orders=3000, customers=1000, seed=7)
    assert counts == write_taobao_export(second, orders=3000, customers=1000, seed=7)
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes()[:8] == "订单编号".encode("gb18030")
    assert counts["orders"] == 3000
    assert counts["rows"] == 3000 + counts["duplicates"]
    assert 60 <= counts["duplicates"] <= 200
    steps = read(first)
    assert all(step.problems == () for step in steps)
    orders = [step.record for step in steps]
    assert len(orders) == counts["rows"]
    masked = sum(o.buyer.phone.e164 is None for o in orders)
    assert 0.25 < masked / len(orders) < 0.35
    assert {o.status for o in orders} >= {"completed", "closed", "refunded", "shipped"}
    # Repeated orders come later with a later state.
    states: dict[str, list[str]] = {}
    for o in orders:
        states.setdefault(o.external_id, []).append(o.status)
    repeated = [s for s in states.values() if len(s) > 1]
    assert len(repeated) == counts["duplicates"]
    assert all(s[0] != s[1] or s[0] == "completed" for s in repeated)
    # Some people have two accounts: one phone, two nicknames.
    handles: dict[str, set[str]] = {}
    for o in orders:
        if o.buyer.phone.e164:
            handles.setdefault(o.buyer.phone.e164, set()).add(o.buyer.handle)
    assert sum(len(h) > 1 for h in handles.values()) > 0
    assert Counter(o.buyer.handle for o in orders).most_common(1)[0][1] > 5  # repeat buyers exist


def test_synthetic_item_report_matches_the_goods_amount(tmp_path: Path) -> None:
    orders, items = tmp_path / "orders.csv", tmp_path / "items.csv"
    counts = write_taobao_export(orders, orders=500, customers=200, items_path=items)
    steps = read(orders, items=items)
    assert all(step.problems == () for step in steps)
    assert sum(len(step.record.lines) for step in steps) >= counts["items"]
    for step in steps:
        assert sum(line.line_amount for line in step.record.lines) == step.record.goods_amount
        assert all(line.sku.startswith("SKU-") for line in step.record.lines)


@pytest.mark.parametrize("encoding", ["gbk", "utf-8-sig"])
def test_synthetic_export_in_other_encodings(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "orders.csv"
    counts = write_taobao_export(path, orders=200, customers=80, encoding=encoding)
    steps = read(path)
    assert len(steps) == counts["rows"]
    assert all(step.problems == () for step in steps)
