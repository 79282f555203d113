"""The Shopify orders export: one row per line item, grouped into orders by Name."""

from __future__ import annotations

import csv
import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from huitouke.customers.phones import ParsedPhone
from huitouke.orders.importing.formats import open_reader
from huitouke.orders.importing.records import BuyerRecord, FileRejected, LineRecord, Parsed, Problem

EXPORT = Path(__file__).parent / "fixtures" / "shopify_orders.csv"
CST = dt.timezone(dt.timedelta(hours=8))


def read(path: Path) -> list[Parsed]:
    with open_reader(path, "shopify", platform="shopify") as reader:
        return list(reader)


def d(text: str) -> Decimal:
    return Decimal(text)


def edited(tmp_path: Path, changes: dict[tuple[int, str], str]) -> Path:
    """The fixture export with some cells changed: {(data row index, header): value}."""
    with EXPORT.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    header = rows[0]
    for (index, column), value in changes.items():
        rows[index + 1][header.index(column)] = value
    path = tmp_path / "orders_export.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows(rows)
    return path


def test_multi_line_order_is_one_record_from_consecutive_rows() -> None:
    steps = read(EXPORT)
    assert [(s.record.external_id, s.record.line, s.rows) for s in steps] == [
        ("#1001", 2, 2),
        ("#1002", 4, 1),
        ("#1003", 5, 1),
        ("#1004", 6, 1),
        ("#1005", 7, 1),
    ]
    assert all(s.problems == () for s in steps)
    assert steps[-1].bytes_read == EXPORT.stat().st_size
    order = steps[0].record
    assert order.status == "completed"  # paid and fulfilled
    assert order.ordered_at == dt.datetime(2024, 3, 1, 10, 0, tzinfo=CST)
    assert order.paid_at == dt.datetime(2024, 3, 1, 10, 2, 11, tzinfo=CST)
    assert (order.paid_amount, order.goods_amount, order.discount_amount, order.shipping_amount) == (
        d("378.00"),
        d("398.00"),
        d("20.00"),
        d("0.00"),
    )
    assert order.refunded_amount == d("0.00")
    assert order.lines == (
        LineRecord("Silk Scarf - Blue", "SCARF-BL", 2, d("99.00"), d("198.00")),
        LineRecord("Cashmere Beanie", "BEANIE-01", 1, d("200.00"), d("200.00")),
    )
    assert order.buyer == BuyerRecord(
        platform="shopify",
        handle="alice.wang@example.com",
        name="Alice Wang",
        phone=ParsedPhone("+8613812345678", "138****5678", "5678"),
        email="alice.wang@example.com",
        recipient="Alice Wang",
        region="Zhejiang Hangzhou",
        address="1 Wensan Road Room 502",
    )


def test_refunded_and_partially_refunded_orders() -> None:
    orders = {s.record.external_id: s.record for s in read(EXPORT)}
    refunded = orders["#1002"]
    assert (refunded.status, refunded.paid_amount, refunded.refunded_amount) == (
        "refunded",
        d("59.00"),
        d("59.00"),
    )
    assert refunded.ordered_at == dt.datetime(2024, 3, 5, 22, 30, tzinfo=dt.UTC)  # written with -0800
    assert refunded.buyer.phone.e164 == "+14155550123"  # Shipping Phone when there is no other
    assert (refunded.buyer.name, refunded.buyer.region) == ("Bob Smith", "California San Francisco")
    assert refunded.note == "Gift, please no invoice"
    partly = orders["#1003"]
    assert (partly.status, partly.paid_amount, partly.refunded_amount) == (
        "completed",
        d("150.00"),
        d("15.00"),
    )
    assert partly.buyer.phone.e164 == "+8613911112222"  # the order's Phone column
    assert partly.lines == (LineRecord("Hand Cream 50ml", "HC-50", 3, d("50.00"), d("150.00")),)


def test_guest_pending_and_cancelled_orders() -> None:
    orders = {s.record.external_id: s.record for s in read(EXPORT)}
    guest = orders["#1004"]
    assert (guest.status, guest.paid_at) == ("pending", None)
    assert (guest.buyer.handle, guest.buyer.email, guest.buyer.name) == ("", "", "陈静")
    assert guest.buyer.phone == ParsedPhone(None, "159****3333", "3333")
    cancelled = orders["#1005"]
    assert cancelled.status == "closed"  # voided, with Cancelled at
    assert cancelled.buyer.handle == "dave@example.com"


@pytest.mark.parametrize(
    ("financial", "fulfillment", "cancelled", "status"),
    [
        ("paid", "", "", "paid"),
        ("paid", "partial", "", "shipped"),
        ("partially_refunded", "", "", "paid"),
        ("authorized", "", "", "pending"),
        ("Partially refunded", "fulfilled", "", "completed"),
        ("paid", "fulfilled", "2024-03-02 10:00:00 +0800", "closed"),
    ],
)
def test_status_from_financial_fulfillment_and_cancellation(
    tmp_path: Path, financial: str, fulfillment: str, cancelled: str, status: str
) -> None:
    path = edited(
        tmp_path,
        {
            (0, "Financial Status"): financial,
            (0, "Fulfillment Status"): fulfillment,
            (0, "Cancelled at"): cancelled,
        },
    )
    assert read(path)[0].record.status == status


def test_a_bad_line_item_invalidates_its_whole_order(tmp_path: Path) -> None:
    path = edited(tmp_path, {(1, "Lineitem quantity"): "-1", (3, "Total"): "free"})
    steps = read(path)
    assert (steps[0].record, steps[0].rows) == (None, 2)
    assert steps[0].problems == (
        Problem("orders_export.csv", 3, "Lineitem quantity", "-1", "the quantity must be 1 or more"),
    )
    assert steps[1].record.external_id == "#1002"
    assert steps[2].record is None
    assert steps[2].problems == (
        Problem("orders_export.csv", 5, "Total", "free", "not an amount (expected a number such as 99.00)"),
    )


def test_unknown_financial_status_and_bad_date(tmp_path: Path) -> None:
    path = edited(tmp_path, {(2, "Financial Status"): "gift", (2, "Created at"): "March 5th"})
    (problems,) = [s.problems for s in read(path) if s.problems]
    assert problems == (
        Problem(
            "orders_export.csv",
            4,
            "Financial Status",
            "gift",
            "unknown financial status (expected e.g. paid, pending, refunded, partially_refunded, voided)",
        ),
        Problem(
            "orders_export.csv",
            4,
            "Created at",
            "March 5th",
            "not a date (expected e.g. 2024-03-01 10:00:00)",
        ),
    )


def test_export_without_financial_status_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "orders_export.csv"
    path.write_text(
        "Name,Email,Created at,Total,Lineitem quantity,Lineitem name,Lineitem price\n#1,a@b.c,2024-03-01,1,1,x,1\n"
    )
    with pytest.raises(FileRejected) as caught:
        read(path)
    assert caught.value.problem == Problem(
        "orders_export.csv", 1, "Financial Status", "", "missing required column: Financial Status"
    )


def test_a_taobao_file_given_as_shopify_is_refused_with_the_expected_headers() -> None:
    path = Path(__file__).parent / "fixtures" / "taobao_orders_gbk.csv"
    with pytest.raises(FileRejected) as caught:
        read(path)
    assert caught.value.problem.reason.startswith(
        "no known column headers found; expected e.g. Name, Financial Status, Created at, Total"
    )
