"""Rules every reader shares: which files are refused, how headers are found, how cells become values."""

from __future__ import annotations

import datetime as dt
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest

from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.phones import ParsedPhone
from huitouke.orders.importing.formats import FORMATS, common, open_reader
from huitouke.orders.importing.formats.common import CellError
from huitouke.orders.importing.records import (
    BuyerRecord,
    FileRejected,
    LineRecord,
    OrderRecord,
    Parsed,
    Problem,
)
from huitouke.orders.importing.synth import write_taobao_export

TAOBAO_HEADER = "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间\n"
TAOBAO_ROW = '="3012345678901234",小鱼儿2019,99.00,交易成功,2024-03-01 10:00:00\n'


def rejection(path: Path, fmt: str = "taobao") -> Problem:
    with pytest.raises(FileRejected) as caught:
        open_reader(path, fmt, platform="taobao")
    return caught.value.problem


def test_formats_lists_the_three_readers() -> None:
    assert FORMATS == ("taobao", "shopify", "generic")
    with pytest.raises(ValueError, match="unknown import format 'jd'"):
        open_reader(Path("x.csv"), "jd", platform="jd")


def test_empty_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "订单报表.csv"
    path.write_bytes(b"")
    assert rejection(path) == Problem("订单报表.csv", 0, "", "", "the file is empty")
    path.write_bytes(b"\xef\xbb\xbf\r\n  \r\n")
    assert rejection(path).reason == "the file is empty"


def test_header_only_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(TAOBAO_HEADER + "\n,,,,\n", encoding="utf-8")
    assert rejection(path) == Problem("orders.csv", 1, "", "", "the file has a header but no data rows")


@pytest.mark.parametrize(
    "payload",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x10",
        b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 64,  # an old .xls (OLE)
    ],
    ids=["png", "xls"],
)
def test_binary_file_named_csv_is_rejected(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(payload)
    problem = rejection(path)
    assert problem.line == 0
    assert problem.reason.startswith("this is not a text CSV file (it looks like an Excel/binary file)")


def test_xlsx_renamed_to_csv_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
    assert rejection(path).reason.startswith(
        "this is not a text CSV file (it looks like an Excel/binary file)"
    )


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le"], ids=["with-bom", "without-bom"])
def test_utf16_file_is_rejected_with_how_to_fix_it(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(TAOBAO_HEADER + TAOBAO_ROW, encoding=encoding)
    problem = rejection(path)
    assert problem.line == 0
    assert problem.reason == (
        "the file is saved as UTF-16 ('Unicode text'), which is not supported; "
        "save it from Excel as 'CSV UTF-8' or upload the .xlsx file itself"
    )


def test_file_in_an_unknown_encoding_hints_at_the_encoding(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes((TAOBAO_HEADER + TAOBAO_ROW).replace("订单编号", "訂單編號").encode("big5", "replace"))
    problem = rejection(path)
    assert problem.line == 1
    assert problem.reason == (
        "no known column headers found; expected e.g. 订单编号, 买家会员名, 买家实际支付金额, 订单状态, 订单创建时间; "
        "is this a taobao export saved as CSV in UTF-8 or GBK (or as .xlsx)?"
    )


def test_missing_required_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单编号,买家会员名,买家实际支付金额,订单创建时间\n1,a,1.00,2024-03-01\n", encoding="utf-8"
    )
    assert rejection(path) == Problem("orders.csv", 1, "订单状态", "", "missing required column: 订单状态")
    path.write_text("订单编号,买家会员名,买家实际支付金额\n1,a,1.00\n", encoding="utf-8")
    assert rejection(path).reason == "missing required columns: 订单状态, 订单创建时间"


def test_headers_match_by_name_whatever_the_case_spacing_quotes_or_order(tmp_path: Path) -> None:
    path = tmp_path / "pos.csv"
    path.write_text(
        '\ufeff"  Status ",extra,PAID AMOUNT,"Order_ID",ordered at\npaid,x,12.50,A-1,2024-03-01 09:00\n',
        encoding="utf-8",
    )
    with open_reader(path, "generic", platform="offline") as reader:
        (step,) = list(reader)
    assert step.problems == ()
    assert (step.record.external_id, step.record.status, step.record.paid_amount) == (
        "A-1",
        "paid",
        Decimal("12.50"),
    )


def test_tab_separated_txt_is_read(tmp_path: Path) -> None:
    path = tmp_path / "orders.txt"
    path.write_text(TAOBAO_HEADER.replace(",", "\t") + TAOBAO_ROW.replace(",", "\t"), encoding="gb18030")
    with open_reader(path, "taobao", platform="taobao") as reader:
        (step,) = list(reader)
    assert step.record.external_id == "3012345678901234"
    assert step.record.buyer.handle == "小鱼儿2019"


def test_problem_lines_are_physical_lines_even_after_a_multiline_cell_and_blank_lines(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(
        "订单编号,买家会员名,买家实际支付金额,订单状态,订单创建时间,买家留言\n"
        '1,a,1.00,交易成功,2024-03-01,"请发顺丰\n谢谢"\n'
        "\n"
        "2,b,1.00,交易成功,yesterday,\n",
        encoding="utf-8",
    )
    with open_reader(path, "taobao", platform="taobao") as reader:
        steps = list(reader)
    assert steps[0].record.note == "请发顺丰\n谢谢"
    assert steps[1].problems == (
        Problem(
            "orders.csv", 5, "订单创建时间", "yesterday", "not a date (expected e.g. 2024-03-01 10:00:00)"
        ),
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("99", "99.00"),
        ("¥1,299.00", "1299.00"),
        ("￥ 12.5", "12.50"),
        ("１２８．００", "128.00"),
        ("CNY 99.9", "99.90"),
        ("12.345", "12.35"),
        ('="45.00"', "45.00"),
        ("", "0.00"),
    ],
)
def test_amounts_as_shops_write_them(text: str, expected: str) -> None:
    assert common.amount(text) == Decimal(expected)
    assert str(common.amount(text)) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("abc", "not an amount (expected a number such as 99.00)"),
        ("12..5", "not an amount (expected a number such as 99.00)"),
        ("1e5", "not an amount (expected a number such as 99.00)"),
        ("-5.00", "an amount cannot be negative"),
    ],
)
def test_bad_amounts_say_why(text: str, reason: str) -> None:
    with pytest.raises(CellError) as caught:
        common.amount(text)
    assert str(caught.value) == reason


def test_required_amount_must_be_given() -> None:
    with pytest.raises(CellError, match="the amount is missing"):
        common.required_amount(" ")
    assert common.required_amount("0") == Decimal("0.00")
    assert common.optional_amount("") is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-03-01 10:00:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)),
        ("2024-03-01 10:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)),
        ("2024/3/1 10:00:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)),
        ("2024/3/1", dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)),
        ("2024-03-01T10:00:00+08:00", dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-01 10:00:00 +0800", dt.datetime(2024, 3, 1, 2, 0, tzinfo=dt.UTC)),
        ("2024-03-01 10:00:00 -0500", dt.datetime(2024, 3, 1, 15, 0, tzinfo=dt.UTC)),
        ("2024年3月1日 10:00", dt.datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)),
        ("\t2024-03-01 10:00:00\t", dt.datetime(2024, 3, 1, 10, 0, tzinfo=SHANGHAI)),
    ],
)
def test_dates_as_exports_write_them(text: str, expected: dt.datetime) -> None:
    value = common.required_datetime(text)
    assert value == expected
    assert value.utcoffset() == expected.utcoffset() or value.tzinfo is not None


def test_naive_times_are_shanghai_time() -> None:
    value = common.required_datetime("2024-03-01 10:00:00")
    assert value.tzinfo is SHANGHAI
    assert value.utcoffset() == dt.timedelta(hours=8)


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01 10:00:00", "2024/2/30", "01/03/2024"])
def test_bad_dates_say_what_is_expected(text: str) -> None:
    with pytest.raises(CellError, match=r"not a date \(expected e.g. 2024-03-01 10:00:00\)"):
        common.required_datetime(text)


def test_empty_dates() -> None:
    assert common.optional_datetime("") is None
    with pytest.raises(CellError, match="the date is missing"):
        common.required_datetime("")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("13812345678", ParsedPhone("+8613812345678", "138****5678", "5678")),
        ("'13812345678", ParsedPhone("+8613812345678", "138****5678", "5678")),
        ('="13812345678"', ParsedPhone("+8613812345678", "138****5678", "5678")),
        ("+8613812345678", ParsedPhone("+8613812345678", "138****5678", "5678")),
        ("86-13812345678", ParsedPhone("+8613812345678", "138****5678", "5678")),
        ("+86 138 1234 5678", ParsedPhone("+8613812345678", "138****5678", "5678")),
        ("138****5678", ParsedPhone(None, "138****5678", "5678")),
        ("010-85801234", ParsedPhone("+861085801234", "********1234", "1234")),
        ("12345", None),
        ("无", None),
        ("", None),
    ],
)
def test_phones_fast_path_agrees_with_parse_phone_and_junk_is_none(
    text: str, expected: ParsedPhone | None
) -> None:
    assert common.phone(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [("2", 2), ("２", 2), ("2.0", 2), ("", 1), (" 3\t", 3)],
)
def test_quantities(text: str, expected: int) -> None:
    assert common.quantity(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("0", "the quantity must be 1 or more"),
        ("-1", "the quantity must be 1 or more"),
        ("1.5", "the quantity is not a whole number"),
        ("two", "the quantity is not a whole number"),
    ],
)
def test_bad_quantities(text: str, reason: str) -> None:
    with pytest.raises(CellError) as caught:
        common.quantity(text)
    assert str(caught.value) == reason


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('="3012345678901234"', "3012345678901234"),
        ("'0123", "0123"),
        ("\t 小鱼儿 \t", "小鱼儿"),
        ('="SF1400223344556\t"', "SF1400223344556"),
        ("=SUM(A1)", "=SUM(A1)"),
    ],
)
def test_excel_text_wrappers_are_removed(text: str, expected: str) -> None:
    assert common.clean(text) == expected


def test_tmall_buyers_are_taobao_accounts() -> None:
    assert common.buyer_platform("tmall") == "taobao"
    assert common.buyer_platform("jd") == "jd"


def test_fast_record_constructors_build_equal_records() -> None:
    moment = dt.datetime(2024, 3, 1, tzinfo=SHANGHAI)
    phone = common.new_phone("+8613812345678", "138****5678", "5678")
    buyer = common.new_buyer(
        platform="taobao", handle="h", name="n", phone=phone, email="", recipient="n", region="r", address="a"
    )
    line = common.new_line(
        title="t", sku="s", quantity=2, unit_price=Decimal("1.00"), line_amount=Decimal("2.00")
    )
    order = common.new_order(
        line=2,
        external_id="x",
        status="paid",
        ordered_at=moment,
        paid_at=None,
        paid_amount=Decimal("2.00"),
        refunded_amount=Decimal("0.00"),
        goods_amount=None,
        shipping_amount=Decimal("0.00"),
        discount_amount=Decimal("0.00"),
        buyer=buyer,
        lines=(line,),
        note="",
    )
    assert phone == ParsedPhone("+8613812345678", "138****5678", "5678")
    assert buyer == BuyerRecord(
        "taobao", "h", "n", ParsedPhone("+8613812345678", "138****5678", "5678"), "", "n", "r", "a"
    )
    assert line == LineRecord("t", "s", 2, Decimal("1.00"), Decimal("2.00"))
    expected = OrderRecord(
        2, "x", "paid", moment, None, Decimal("2.00"), Decimal("0.00"), None, buyer=buyer, lines=(line,)
    )
    assert order == expected
    assert hash(order.lines[0]) == hash(line)
    assert common.new_parsed(order, (), 10) == Parsed(order, (), 10)
    with pytest.raises(AttributeError):
        order.status = "closed"  # still frozen


def test_reading_streams_rather_than_loading_the_file(tmp_path: Path) -> None:
    path = tmp_path / "big.csv"
    write_taobao_export(path, orders=6000, customers=2000)
    with open_reader(path, "taobao", platform="taobao") as reader:
        steps = iter(reader)
        first = next(steps)
        assert first.bytes_read < reader.size / 4
        positions = [first.bytes_read] + [step.bytes_read for step in steps]
    assert positions == sorted(positions)
    assert positions[-1] == path.stat().st_size == reader.size


def test_a_reader_is_iterated_once_and_closes_its_file(tmp_path: Path) -> None:
    path = tmp_path / "orders.csv"
    path.write_text(TAOBAO_HEADER + TAOBAO_ROW, encoding="utf-8")
    with open_reader(path, "taobao", platform="taobao") as reader:
        assert len(list(reader)) == 1
        with pytest.raises(RuntimeError, match="only once"):
            iter(reader)
    assert reader._table._raw.closed


def test_missing_file_is_rejected(tmp_path: Path) -> None:
    assert rejection(tmp_path / "nope.csv") == Problem("nope.csv", 0, "", "", "the file does not exist")


def test_broken_excel_file_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_text(TAOBAO_HEADER, encoding="utf-8")
    assert rejection(path).reason.startswith("this is not a readable Excel workbook")
