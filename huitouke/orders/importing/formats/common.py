"""What every reader shares: opening a CSV or Excel export, finding its columns, turning cells into values.

A `Table` streams the data rows of one file as tuples of raw cell texts in the order of the reader's `Column`s
(headers are matched by name and alias, never by position). The cell parsers below raise `CellError` with a
reason a shop owner understands; a reader turns that into a `Problem` with the file, line and column.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import re
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, fields
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import lru_cache
from hashlib import blake2b
from operator import itemgetter
from pathlib import Path
from typing import Any

from django.utils.translation import gettext_noop
from python_calamine import CalamineWorkbook

from huitouke.core.errors import Invalid
from huitouke.core.money import CENT, ZERO
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.phones import ParsedPhone, parse_phone
from huitouke.orders.importing.records import (
    BuyerRecord,
    FileRejected,
    KnownRows,
    LineRecord,
    OrderRecord,
    Parsed,
    Problem,
)

EXCEL_SUFFIXES = frozenset({".xlsx", ".xlsm", ".xls"})
SNIFF_BYTES = 64 * 1024
VALUE_LIMIT = 100
HELP_SAVE_AS = "save it from Excel as 'CSV UTF-8' or upload the .xlsx file itself"

# Platforms whose buyers are accounts of another platform: a Tmall store's buyers are Taobao members.
_BUYER_PLATFORM = {"tmall": "taobao"}


def buyer_platform(platform: str) -> str:
    """The platform a store's buyer accounts belong to (Tmall buyers are Taobao accounts)."""
    return _BUYER_PLATFORM.get(platform, platform)


class CellError(ValueError):
    """One cell cannot be used; the message is the reason, in plain words."""


def problem(file: str, line: int, column: str, value: Any, reason: str) -> Problem:
    return Problem(file=file, line=line, column=column, value=str(value)[:VALUE_LIMIT], reason=reason)


def rejected(file: str, reason: str, *, line: int = 0, column: str = "", value: str = "") -> FileRejected:
    return FileRejected(problem(file, line, column, value, reason))


# --- Columns and tables -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Column:
    """A column a reader uses: its key in the code and the headers it is known by (the first is documented)."""

    key: str
    names: tuple[str, ...]
    required: bool = False


_HEADER_NOISE = re.compile(r"[\s_\-\u3000]+")


def header_key(text: str) -> str:
    """Headers compare without case, spaces, underscores, BOM, quotes or an Excel ="…" wrapper."""
    text = clean(str(text).replace("\ufeff", "")).strip("\"'“”")
    return _HEADER_NOISE.sub("", text).lower()


class Table:
    """The data rows of one export, header checked, as (line, cells in column order, bytes read so far)."""

    name: str
    size: int
    header_line: int
    columns: tuple[Column, ...]
    written: dict[str, str]  # column key -> header as written in the file (only for columns present)

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], int]]:
        raise NotImplementedError

    def position(self) -> tuple[int, int]:
        """The line being read and the bytes read so far (to report a file that breaks half-way)."""
        return 0, self.size

    def close(self) -> None:
        raise NotImplementedError

    def label(self, key: str) -> str:
        """The header as the file writes it, for problems (the documented name when the column is absent)."""
        written = self.written.get(key)
        if written is not None:
            return written
        return next(column.names[0] for column in self.columns if column.key == key)

    def _match(self, header: list[str], *, fmt: str) -> tuple[int, ...]:
        """Map our columns to positions in the file; reject a file without the required ones."""
        positions: dict[str, int] = {}
        for position, text in enumerate(header):
            positions.setdefault(header_key(text), position)
        width = len(header)
        indexes: list[int] = []
        self.written = {}
        missing: list[str] = []
        for column in self.columns:
            found = next((positions[k] for k in map(header_key, column.names) if k in positions), None)
            if found is None:
                indexes.append(width)  # rows are padded with one empty cell at this position
                if column.required:
                    missing.append(column.names[0])
            else:
                indexes.append(found)
                self.written[column.key] = clean(str(header[found]).replace("\ufeff", "")).strip("\"'“”")
        if not self.written:
            expected = ", ".join(c.names[0] for c in self.columns if c.required)
            raise rejected(
                self.name,
                f"no known column headers found; expected e.g. {expected}; is this a {fmt} export "
                f"saved as CSV in UTF-8 or GBK (or as .xlsx)?",
                line=self.header_line,
            )
        if missing:
            raise rejected(
                self.name,
                f"{_missing_columns_head(missing)}: {', '.join(missing)}",
                line=self.header_line,
                column=missing[0],
            )
        self._width = width
        return tuple(indexes)


def _missing_columns_head(missing: list[str]) -> str:
    return gettext_noop("missing required columns") if len(missing) > 1 else gettext_noop("missing required column")


def _pick(indexes: tuple[int, ...]) -> Callable[[list[str]], tuple[str, ...]]:
    getter = itemgetter(*indexes)
    if len(indexes) == 1:
        return lambda row: (getter(row),)
    return getter


def sniff_encoding(prefix: bytes, *, name: str, complete: bool) -> str:
    """Pick the codec of a text export from its first bytes, or reject what is not a text CSV at all."""
    if not prefix.strip(b" \t\r\n\xef\xbb\xbf"):
        raise rejected(name, gettext_noop("the file is empty"))
    if prefix.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or _looks_utf16(prefix):
        raise rejected(
            name, f"the file is saved as UTF-16 ('Unicode text'), which is not supported; {HELP_SAVE_AS}"
        )
    if prefix.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")) or b"\x00" in prefix:
        raise rejected(
            name, f"this is not a text CSV file (it looks like an Excel/binary file); {HELP_SAVE_AS}"
        )
    try:
        codecs.getincrementaldecoder("utf-8")().decode(prefix, final=complete)
    except UnicodeDecodeError:
        return "gb18030"
    return "utf-8-sig"


def _looks_utf16(prefix: bytes) -> bool:
    """UTF-16 without a BOM: most ASCII characters come with a zero byte beside them."""
    sample = prefix[:4096]
    if len(sample) < 8:
        return False
    zeros_even = sample[0::2].count(0)
    zeros_odd = sample[1::2].count(0)
    half = len(sample) // 2
    return max(zeros_even, zeros_odd) > half * 0.4 and min(zeros_even, zeros_odd) < half * 0.05


class CsvTable(Table):
    """A CSV (or tab-separated .txt) export in UTF-8 (with or without BOM) or GBK/GB18030, streamed."""

    def __init__(self, path: Path, columns: tuple[Column, ...], *, fmt: str) -> None:
        self.name = path.name
        self.columns = columns
        self.header_line = 0
        self._raw = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self.size = path.stat().st_size
            prefix = self._raw.read(SNIFF_BYTES)
            encoding = sniff_encoding(prefix, name=self.name, complete=len(prefix) < SNIFF_BYTES)
            self.encoding = encoding
            first_line = prefix.split(b"\n", 1)[0]
            delimiter = max(",\t;", key=lambda d: first_line.count(d.encode()))
            self._raw.seek(0)
            self._text = io.TextIOWrapper(self._raw, encoding=encoding, errors="replace", newline="")
            self._reader = csv.reader(self._text, delimiter=delimiter)
            self._last_line = 0
            header = self._next_row()
            if header is None:
                raise rejected(self.name, gettext_noop("the file is empty"))
            self.header_line = header[0]
            self._pick = _pick(self._match(header[1], fmt=fmt))
            self._first = self._next_row()
            if self._first is None:
                raise rejected(self.name, gettext_noop("the file has a header but no data rows"), line=self.header_line)
        except BaseException:
            self.close()
            raise

    def _next_row(self) -> tuple[int, list[str]] | None:
        """The next non-blank record and the physical line it starts on."""
        reader = self._reader
        try:
            for row in reader:
                start = self._last_line + 1
                self._last_line = reader.line_num
                if row and any(row):
                    return start, row
        except csv.Error as exc:
            raise rejected(
                self.name, f"{gettext_noop('this is not a readable CSV file')} ({exc})", line=self._last_line + 1
            ) from exc
        return None

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], int]]:
        first = self._first
        if first is None:
            return
        self._first = None
        reader = self._reader
        pick = self._pick
        tell = self._raw.tell
        width = self._width
        line, row = first
        row.extend([""] * (width + 1 - len(row)))
        yield line, pick(row), tell()
        for row in reader:
            line = self._last_line + 1
            self._last_line = reader.line_num
            if not row or not any(row):
                continue
            n = len(row)
            if n == width:
                row.append("")
            elif n < width:
                row.extend([""] * (width + 1 - n))
            yield line, pick(row), tell()

    def position(self) -> tuple[int, int]:
        return self._last_line + 1, self._raw.tell() if not self._raw.closed else self.size

    def close(self) -> None:
        text = getattr(self, "_text", None)
        if text is not None:
            text.close()
        self._raw.close()


def cell_text(value: Any) -> str:
    """An Excel cell as the text a CSV would hold: 12.0 → "12", dates in ISO form."""
    if value.__class__ is str:
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    return str(value)


class SheetTable(Table):
    """The first sheet of an Excel workbook; line numbers are the spreadsheet's row numbers."""

    def __init__(self, path: Path, columns: tuple[Column, ...], *, fmt: str) -> None:
        self.name = path.name
        self.columns = columns
        self.header_line = 0
        self.size = path.stat().st_size
        if self.size == 0:
            raise rejected(self.name, gettext_noop("the file is empty"))
        try:
            self._book = CalamineWorkbook.from_path(str(path))
            sheet = self._book.get_sheet_by_index(0)
            end = sheet.end
            self._rows = iter(sheet.iter_rows())
        except Exception as exc:  # calamine raises several unrelated types for damaged files
            raise rejected(self.name, f"{gettext_noop('this is not a readable Excel workbook')} ({exc})") from exc
        try:
            self._total = end[0] + 1 if end else 0
            self._line = 0
            header = self._next_row()
            if header is None:
                raise rejected(self.name, gettext_noop("the first sheet of the workbook is empty"))
            self.header_line = header[0]
            texts = [cell_text(value) for value in header[1]]
            self._pick = _pick(self._match(texts, fmt=fmt))
            self._first = self._next_row()
            if self._first is None:
                raise rejected(self.name, gettext_noop("the sheet has a header but no data rows"), line=self.header_line)
        except BaseException:
            self.close()
            raise

    def _next_row(self) -> tuple[int, list[Any]] | None:
        for row in self._rows:
            self._line += 1  # calamine yields every row from the sheet's first, blank ones included
            if any(value != "" and value is not None for value in row):
                return self._line, row
        return None

    def rows(self) -> Iterator[tuple[int, tuple[str, ...], int]]:
        pick = self._pick
        width = self._width
        size = self.size
        total = max(self._total, 1)
        while self._first is not None:
            line, row = self._first
            row = list(row)
            if len(row) <= width:
                row.extend([""] * (width + 1 - len(row)))
            yield line, tuple(map(cell_text, pick(row))), min(size, size * line // total)
            self._first = self._next_row()

    def close(self) -> None:
        book = getattr(self, "_book", None)
        if book is not None:
            book.close()


def open_table(path: Path, columns: tuple[Column, ...], *, fmt: str) -> Table:
    """Open a CSV/.txt or Excel export and check its header; raise FileRejected for a file we cannot read."""
    if not path.is_file():
        raise rejected(path.name, gettext_noop("the file does not exist"))
    if path.suffix.lower() in EXCEL_SUFFIXES:
        return SheetTable(path, columns, fmt=fmt)
    return CsvTable(path, columns, fmt=fmt)


class Reader:
    """The steps of one import file (see `Parsed`); use it as a context manager so files are released."""

    size: int

    def __init__(self, table: Table) -> None:
        self._table = table
        self.name = table.name
        self.size = table.size
        self._iterated = False

    def __iter__(self) -> Iterator[Parsed]:
        if self._iterated:
            raise RuntimeError("a reader can be iterated only once")
        self._iterated = True
        return self._guarded()

    def _guarded(self) -> Iterator[Parsed]:
        try:
            yield from self._parse()
        except csv.Error as exc:
            line, position = self._table.position()
            reason = f"the rest of the file cannot be read ({exc}); look for an unclosed quote near this line"
            yield Parsed(
                record=None, problems=(problem(self.name, line, "", "", reason),), bytes_read=position, rows=0
            )

    def _parse(self) -> Iterator[Parsed]:
        raise NotImplementedError

    def skip_known_rows(self, known: KnownRows) -> None:
        """Before iterating: ask `known` about each chunk of rows and hand on an `UnchangedRow` for a row an
        earlier import stored exactly so, instead of parsing it. Readers that cannot fingerprint a row
        (orders spanning several rows) parse every row, as without it."""

    def close(self) -> None:
        self._table.close()

    def __enter__(self) -> Reader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


Row = tuple[int, tuple[str, ...], int]


class GroupedReader(Reader):
    """Exports with one row per order line, the order's rows next to each other (Shopify, generic).

    Subclasses set the column that numbers the order, the checks that explain a bad order (run on its
    first row) and a bad line (run on every row), and build the record from a group in `_order`.
    """

    order_column: int
    order_checks: tuple
    line_checks: tuple

    def _parse(self) -> Iterator[Parsed]:
        for group in consecutive(self._table.rows(), self.order_column):
            try:
                record = self._order(group)
            except CellError:
                yield Parsed(None, self._problems(group), group[-1][2], len(group))
                continue
            yield Parsed(record, (), group[-1][2], len(group))

    def _problems(self, group: list[Row]) -> tuple[Problem, ...]:
        line, values, _ = group[0]
        found = check_cells(self._table, line, values, self.order_checks)
        for line, values, _ in group:
            found += check_cells(self._table, line, values, self.line_checks)
        return tuple(found)

    def _order(self, group: list[Row]) -> OrderRecord:
        raise NotImplementedError


def consecutive(rows: Iterator[Row], index: int) -> Iterator[list[Row]]:
    """Group consecutive rows sharing the (cleaned) cell at `index`; a row where it is empty stands alone."""
    group: list[Row] = []
    key = ""
    for row in rows:
        current = clean(row[1][index])
        if group and (current != key or not current):
            yield group
            group = []
        group.append(row)
        key = current
    if group:
        yield group


def check_cells(
    table: Table, line: int, values: tuple[str, ...], checks: tuple[tuple[int, Callable[[str], Any]], ...]
) -> list[Problem]:
    """Run each cell's parser on its own and collect every problem of the row (slow path after a failure)."""
    problems = []
    for index, parse in checks:
        try:
            parse(values[index])
        except CellError as exc:
            key = table.columns[index].key
            problems.append(problem(table.name, line, table.label(key), values[index].strip(), str(exc)))
    return problems


def row_digest(seed: bytes, cells: tuple[str, ...]) -> int:
    """A file row's fingerprint (OrderRecord.source_digest): 8 bytes of BLAKE2b over its cells as read, keyed
    with `seed` (what else decides how the row reads: see `reader_seed`). Never 0 (0 means "none")."""
    text = "\x1f".join(cells)  # the unit separator: not a character of exported text
    return int.from_bytes(blake2b(text.encode(), digest_size=8, key=seed).digest(), "big", signed=True) or 1


def reader_seed(*parts: str, modules: tuple[str, ...]) -> bytes:
    """The key of `row_digest` for one file: the source code of the modules that parse rows, and `parts`
    (platform, the columns present…). When any of them changes, so does every digest: rows are then parsed
    (and validated) again rather than trusted by an earlier version's verdict."""
    digest = blake2b("\x1f".join(map(str, parts)).encode(), digest_size=32)  # str: a choices enum is its value
    for name in modules:
        source = sys.modules[name].__file__
        digest.update(Path(source).read_bytes() if source else name.encode())
    return digest.digest()


# --- Cells --------------------------------------------------------------------------------------------------


def clean(text: str) -> str:
    """Strip surrounding whitespace and Excel's text wrappers (="0123…" and a leading apostrophe)."""
    text = text.strip()
    if text and text[0] in "='":
        if text[0] == "'":
            return text[1:].strip()
        if len(text) >= 3 and text[1] == '"' and text[-1] == '"':
            return text[2:-1].strip()
    return text


# 退款状态 wordings of a refund that did not happen: its reason says nothing about the goods.
_NO_REFUND = ("关闭", "拒绝", "撤销", "取消", "没有申请", "无退款", "closed", "rejected", "cancel")


def refund_reason(text: str, refund_status: str = "") -> str:
    """The platform's refund reason as written (cut to 200 characters), or "" when the refund's status
    says it was closed, refused or withdrawn."""
    state = clean(refund_status).lower()
    if state and any(word in state for word in _NO_REFUND):
        return ""
    return clean(text)[:200]


def required_text(text: str) -> str:
    text = clean(text)
    if not text:
        raise CellError(gettext_noop("this value is missing"))
    return text


def order_number(text: str) -> str:
    text = clean(text)
    if not text:
        raise CellError(gettext_noop("the order number is missing"))
    return text


_AMOUNT_CHARS = str.maketrans(
    {
        **{chr(0xFF10 + n): str(n) for n in range(10)},
        "．": ".",
        "－": "-",
        "−": "-",
        "＋": "+",
        "¥": None,
        "￥": None,
        ",": None,
        "，": None,
        " ": None,
        "\u3000": None,
        "\u00a0": None,
        "元": None,
    }
)
_CURRENCY = re.compile(r"(?i)cny|rmb")
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")


def _amount(text: str) -> Decimal:
    plain = _CURRENCY.sub("", text.translate(_AMOUNT_CHARS))
    if not _NUMBER.fullmatch(plain):
        raise CellError(gettext_noop("not an amount (expected a number such as 99.00)"))
    try:
        value = Decimal(plain).quantize(CENT, rounding=ROUND_HALF_UP)
    except InvalidOperation as exc:
        raise CellError(gettext_noop("not an amount (expected a number such as 99.00)")) from exc
    if value < 0:
        raise CellError(gettext_noop("an amount cannot be negative"))
    return value


# The parsers below that take a raw cell are cached on it: exports repeat the same prices, quantities, phones
# and addresses over and over, and a cache hit costs a tenth of a parse.


@lru_cache(maxsize=16384)
def amount(text: str) -> Decimal:
    """An optional amount ≥ 0: ¥1,299.00, full-width digits, CNY …; empty means 0."""
    text = clean(text)
    return _amount(text) if text else ZERO


def required_amount(text: str) -> Decimal:
    value = amount(text)
    if not value and not clean(text):
        raise CellError(gettext_noop("the amount is missing"))
    return value


def optional_amount(text: str) -> Decimal | None:
    value = amount(text)
    if not value and not clean(text):
        return None
    return value


_DIGITS = str.maketrans({chr(0xFF10 + n): str(n) for n in range(10)} | {"．": ".", "－": "-"})


@lru_cache(maxsize=1024)
def quantity(text: str) -> int:
    """A whole number of items ≥ 1; empty means 1."""
    text = clean(text)
    if not text:
        return 1
    if text.isascii() and text.isdigit():
        number = int(text)
    else:
        try:
            value = Decimal(text.translate(_DIGITS).replace(",", ""))
        except InvalidOperation as exc:
            raise CellError(gettext_noop("the quantity is not a whole number")) from exc
        if not value.is_finite() or value != value.to_integral_value():
            raise CellError(gettext_noop("the quantity is not a whole number"))
        number = int(value)
    if number <= 0:
        raise CellError(gettext_noop("the quantity must be 1 or more"))
    return number


def unit_price(line_amount: Decimal, count: int) -> Decimal:
    if count == 1:
        return line_amount
    return (line_amount / count).quantize(CENT, rounding=ROUND_HALF_UP)


_DATE = re.compile(
    r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:[T\s]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
_combine = dt.datetime.combine
_OFFSETS: dict[str, dt.tzinfo] = {"Z": dt.UTC, "UTC": dt.UTC, "GMT": dt.UTC}
DATE_HINT = gettext_noop("not a date (expected e.g. 2024-03-01 10:00:00)")


def _offset(text: str) -> dt.tzinfo:
    zone = _OFFSETS.get(text)
    if zone is None:
        digits = text[1:].replace(":", "")
        delta = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        zone = dt.timezone(-delta if text[0] == "-" else delta)
        _OFFSETS[text] = zone
    return zone


def _slow_datetime(text: str) -> dt.datetime:
    match = _DATE.fullmatch(text)
    if match is None:
        raise CellError(DATE_HINT)
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    try:
        value = dt.datetime(
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((fraction or "0").ljust(6, "0")),
            tzinfo=_offset(zone) if zone else SHANGHAI,
        )
    except ValueError as exc:
        raise CellError(f"{DATE_HINT}: {exc}") from exc
    return value


def optional_datetime(text: str) -> dt.datetime | None:
    """A moment as exports write it; naive times are Shanghai time; empty means None."""
    text = clean(text)
    if not text:
        return None
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return _slow_datetime(text)
    if value.tzinfo is not None:
        return value
    return _combine(value.date(), value.time(), SHANGHAI)  # 4x faster than value.replace(tzinfo=…)


def required_datetime(text: str) -> dt.datetime:
    value = optional_datetime(text)
    if value is None:
        raise CellError(gettext_noop("the date is missing"))
    return value


_CN_MOBILE = re.compile(r"(?:\+?86[\s-]?)?(1[3-9]\d{9})")
_CN_MASKED = re.compile(r"(?:\+?86[\s-]?)?(1\d{2}\*{4}(\d{4}))")


def phone(text: str) -> ParsedPhone | None:
    """A phone as written in an export; junk gives None (never a problem: exports are full of it).

    Plain Chinese mobiles (13812345678) and Taobao's masked ones (138****5678) take a fast path; anything else
    goes through `parse_phone` (cached, as a few landlines and junk values tend to repeat).
    """
    text = clean(text)
    if len(text) == 11 and text.isascii():
        if text.isdigit():
            if text[0] == "1" and text[1] in "3456789":
                tail = text[7:]
                return new_phone("+86" + text, f"{text[:3]}****{tail}", tail)
        elif text[3:7] == "****" and text[0] == "1" and text[:3].isdigit() and text[7:].isdigit():
            return new_phone(None, text, text[7:])
    if not text:
        return None
    return _other_phone(text)


@lru_cache(maxsize=4096)
def _other_phone(text: str) -> ParsedPhone | None:
    match = _CN_MOBILE.fullmatch(text)
    if match is not None:
        digits = match.group(1)
        return new_phone("+86" + digits, f"{digits[:3]}****{digits[7:]}", digits[7:])
    match = _CN_MASKED.fullmatch(text)
    if match is not None:
        return new_phone(None, match.group(1), match.group(2))
    try:
        return parse_phone(text)
    except Invalid:
        return None


def email(text: str) -> str:
    text = clean(text).lower()
    return text if "@" in text and "*" not in text else ""


# --- Records, built fast ------------------------------------------------------------------------------------
# A frozen dataclass's generated __init__ sets each field through object.__setattr__: on Python 3.11 that is
# 1–2 µs per record, a third of the time of a whole Taobao row. These build the very same objects (equal,
# same class, same fields) by giving them their __dict__ in one step. They are only valid while the records
# stay plain frozen dataclasses with exactly these fields, which `_plain` checks when this module loads.

_new = object.__new__
_set = object.__setattr__


def _plain(cls: type, names: str) -> None:
    if tuple(f.name for f in fields(cls)) != tuple(names.split()) or "__post_init__" in vars(cls):
        raise RuntimeError(f"{cls.__name__} changed: update the fast constructors in {__name__}")
    if "__slots__" in vars(cls):
        raise RuntimeError(f"{cls.__name__} uses slots: the fast constructors in {__name__} cannot build it")


_plain(ParsedPhone, "e164 masked tail4")
_plain(BuyerRecord, "platform handle name phone email recipient region address")
_plain(LineRecord, "title sku quantity unit_price line_amount")
_plain(
    OrderRecord,
    "line external_id status ordered_at paid_at paid_amount refunded_amount goods_amount shipping_amount "
    "discount_amount buyer lines note refund_reason source_digest columns",
)
_plain(Parsed, "record problems bytes_read rows")


def new_phone(e164: str | None, masked: str, tail4: str) -> ParsedPhone:
    obj = _new(ParsedPhone)
    _set(obj, "__dict__", {"e164": e164, "masked": masked, "tail4": tail4})
    return obj


def new_buyer(
    *,
    platform: str,
    handle: str,
    name: str,
    phone: ParsedPhone | None,
    email: str,
    recipient: str,
    region: str,
    address: str,
) -> BuyerRecord:
    obj = _new(BuyerRecord)
    _set(
        obj,
        "__dict__",
        {
            "platform": platform,
            "handle": handle,
            "name": name,
            "phone": phone,
            "email": email,
            "recipient": recipient,
            "region": region,
            "address": address,
        },
    )
    return obj


def new_line(*, title: str, sku: str, quantity: int, unit_price: Decimal, line_amount: Decimal) -> LineRecord:
    obj = _new(LineRecord)
    _set(
        obj,
        "__dict__",
        {
            "title": title,
            "sku": sku,
            "quantity": quantity,
            "unit_price": unit_price,
            "line_amount": line_amount,
        },
    )
    return obj


def new_order(
    *,
    line: int,
    external_id: str,
    status: str,
    ordered_at: dt.datetime,
    paid_at: dt.datetime | None,
    paid_amount: Decimal,
    refunded_amount: Decimal,
    goods_amount: Decimal | None,
    shipping_amount: Decimal,
    discount_amount: Decimal,
    buyer: BuyerRecord | None,
    lines: tuple[LineRecord, ...],
    note: str,
    refund_reason: str = "",
    source_digest: int = 0,
) -> OrderRecord:
    obj = _new(OrderRecord)
    _set(
        obj,
        "__dict__",
        {
            "line": line,
            "external_id": external_id,
            "status": status,
            "ordered_at": ordered_at,
            "paid_at": paid_at,
            "paid_amount": paid_amount,
            "refunded_amount": refunded_amount,
            "goods_amount": goods_amount,
            "shipping_amount": shipping_amount,
            "discount_amount": discount_amount,
            "buyer": buyer,
            "lines": lines,
            "note": note,
            "refund_reason": refund_reason,
            "source_digest": source_digest,
            "columns": None,
        },
    )
    return obj


def with_refund_reason(record: OrderRecord, text: str) -> OrderRecord:
    """The same order with the refund reason of a separate refund report (no longer its row alone: no digest)."""
    obj = _new(OrderRecord)
    _set(obj, "__dict__", {**record.__dict__, "refund_reason": text, "source_digest": 0, "columns": None})
    return obj


def with_lines(record: OrderRecord, lines: tuple[LineRecord, ...]) -> OrderRecord:
    """The same order with other lines (dataclasses.replace, without its __init__); no longer its row alone."""
    obj = _new(OrderRecord)
    _set(obj, "__dict__", {**record.__dict__, "lines": lines, "source_digest": 0, "columns": None})
    return obj


def set_columns(record: OrderRecord, columns: tuple[Any, ...]) -> None:
    """Give a record its database columns (OrderRecord.columns). Only for a record nobody else holds yet (just
    parsed, before it is handed on): records are frozen, and a copy would cost as much as the columns save."""
    _set(record, "columns", columns)


def new_parsed(
    record: OrderRecord | None, problems: tuple[Problem, ...], bytes_read: int, rows: int = 1
) -> Parsed:
    obj = _new(Parsed)
    _set(obj, "__dict__", {"record": record, "problems": problems, "bytes_read": bytes_read, "rows": rows})
    return obj
