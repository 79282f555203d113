"""Our documented CSV (docs/import-formats.md) for tills, JD, Youzan and Pinduoduo after a column rename."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.phones import ParsedPhone
from huitouke.orders.importing.formats import open_reader
from huitouke.orders.importing.formats.generic import STATUSES
from huitouke.orders.importing.records import FileRejected, LineRecord, Parsed, Problem

EXAMPLE = Path(__file__).resolve().parents[4] / "docs" / "examples" / "generic-orders.csv"
HEADER = "order_id,ordered_at,status,paid_amount,item_title,quantity,unit_price,line_amount\n"


def read(path: Path, platform: str = "jd") -> list[Parsed]:
    with open_reader(path, "generic", platform=platform) as reader:
        return list(reader)


def d(text: str) -> Decimal:
    return Decimal(text)


def test_the_documented_example_is_read() -> None:
    steps = read(EXAMPLE, platform="offline")
    assert all(s.problems == () for s in steps)
    assert [(s.record.external_id, s.record.line, s.rows, s.record.status) for s in steps] == [
        ("POS-20240301-001", 2, 2, "completed"),
        ("POS-20240301-002", 4, 1, "completed"),
        ("JD-8812345001", 5, 1, "shipped"),
        ("JD-8812345002", 6, 1, "pending"),
        ("POS-20240305-007", 7, 1, "refunded"),
    ]
    till = steps[0].record
    assert till.ordered_at == dt.datetime(2024, 3, 1, 10, 15, tzinfo=SHANGHAI)
    assert (till.paid_amount, till.discount_amount, till.goods_amount) == (d("256.00"), d("20.00"), None)
    assert till.lines == (
        LineRecord("明前龙井 250g", "TEA-LJ-250", 1, d("198.00"), d("198.00")),
        LineRecord("玻璃茶杯", "CUP-GLS", 2, d("39.00"), d("78.00")),
    )
    assert till.note == "会员日"
    assert (till.buyer.platform, till.buyer.handle, till.buyer.name) == ("offline", "", "王芳")
    assert till.buyer.phone == ParsedPhone("+8613812345678", "138****5678", "5678")
    assert steps[1].record.buyer is None  # a walk-in sale
    jd = steps[2].record
    assert (jd.buyer.handle, jd.buyer.phone.e164, jd.buyer.address) == (
        "jd_liming",
        None,
        "浙江省杭州市西湖区文三路100号",
    )
    assert jd.lines == (
        LineRecord("茶礼盒", "GIFT-BOX", 1, d("129.00"), d("129.00")),
    )  # unit price from the amount
    unpaid = steps[3].record
    assert (unpaid.lines, unpaid.paid_at, unpaid.buyer.email) == ((), None, "zhaomin@example.com")
    returned = steps[4].record
    assert returned.lines == (LineRecord("茉莉花茶 50g", "TEA-MLH-50", 2, d("49.00"), d("98.00")),)
    assert returned.refunded_amount == d("98.00")
    assert returned.buyer.phone == till.buyer.phone  # 138 1234 5678 is the same person


def test_chinese_headers_and_statuses(tmp_path: Path) -> None:
    path = tmp_path / "有赞订单.csv"
    path.write_text(
        "订单号,下单时间,付款时间,状态,实付金额,运费,会员名,收货人,手机号,商品名称,货号,数量,小计\n"
        "YZ1,2024-05-01 12:00:00,2024-05-01 12:01:00,已发货,110.00,10.00,yz_fans,孙丽,'15900001111,香薰蜡烛,XL-01,2,100.00\n",
        encoding="gb18030",
    )
    (step,) = read(path, platform="youzan")
    order = step.record
    assert (order.external_id, order.status, order.shipping_amount) == ("YZ1", "shipped", d("10.00"))
    assert (order.buyer.platform, order.buyer.handle, order.buyer.name) == ("youzan", "yz_fans", "孙丽")
    assert order.lines == (LineRecord("香薰蜡烛", "XL-01", 2, d("50.00"), d("100.00")),)


@pytest.mark.parametrize(
    ("written", "status"),
    [
        ("Paid", "paid"),
        ("交易成功", "completed"),
        ("交易关闭", "closed"),
        ("已退款", "refunded"),
        ("待付款", "pending"),
    ],
)
def test_status_values(written: str, status: str) -> None:
    assert STATUSES[written.lower()] == status


def test_an_order_id_coming_back_later_is_a_second_state(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + "A,2024-03-01 10:00,paid,10.00,x,1,10.00,\n"
        + "B,2024-03-01 11:00,paid,20.00,y,1,20.00,\n"
        + "A,2024-03-01 10:00,completed,10.00,x,1,10.00,\n",
        encoding="utf-8",
    )
    steps = read(path)
    assert [(s.record.external_id, s.record.status, s.record.line) for s in steps] == [
        ("A", "paid", 2),
        ("B", "paid", 3),
        ("A", "completed", 4),
    ]


def test_bad_rows_name_line_column_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        HEADER
        + "A,2024-03-01 10:00,paid,10.00,x,1,10.00,\n"
        + "B,2024-03-01 10:00,paid,10.00,x,-2,5.00,\n"
        + "C,2024-03-01 10:00,lost,abc,x,1,,\n"
        + "D,03/01/2024,paid,10.00,x,1,,\n"
        + "D,,,,y,1.5,,\n"
        + ",2024-03-01 10:00,paid,10.00,x,1,,\n",
        encoding="utf-8",
    )
    steps = read(path)
    assert steps[0].record is not None
    assert [(s.record, s.rows) for s in steps[1:]] == [(None, 1), (None, 1), (None, 2), (None, 1)]
    assert [s.problems for s in steps[1:]] == [
        (Problem("orders.csv", 3, "quantity", "-2", "the quantity must be 1 or more"),),
        (
            Problem(
                "orders.csv",
                4,
                "status",
                "lost",
                "unknown status (expected pending, paid, shipped, completed, closed or refunded)",
            ),
            Problem("orders.csv", 4, "paid_amount", "abc", "not an amount (expected a number such as 99.00)"),
        ),
        (
            Problem(
                "orders.csv", 5, "ordered_at", "03/01/2024", "not a date (expected e.g. 2024-03-01 10:00:00)"
            ),
            Problem("orders.csv", 6, "quantity", "1.5", "the quantity is not a whole number"),
        ),
        (Problem("orders.csv", 7, "order_id", "", "the order number is missing"),),
    ]


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text("order_id,status\nA,paid\n", encoding="utf-8")
    with pytest.raises(FileRejected) as caught:
        read(path)
    assert caught.value.problem == Problem(
        "orders.csv", 1, "ordered_at", "", "missing required columns: ordered_at, paid_amount"
    )
