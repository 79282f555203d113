"""What a file reader hands to the import engine: normalised orders, or problems with their place in the file.

Readers (huitouke.orders.importing.formats) turn a shop export into `OrderRecord`s; they know encodings, column
aliases and each platform's quirks. The engine (huitouke.orders.importing.engine) knows nothing of files: it
resolves buyers to customers and writes orders. A reader never touches the database.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from huitouke.customers.phones import ParsedPhone


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input, in words a shop owner understands."""

    file: str  # file name as given (no directory), e.g. "订单报表.csv"
    line: int  # 1-based physical line in the file (the header is line 1); 0 = the file as a whole
    column: str  # header as written in the file ("" when the problem is not about one column)
    value: str  # the offending value as written ("" when none); readers cut it to 100 characters
    reason: str  # plain language, e.g. "not a date (expected 2024-03-01 10:00:00)"

    def as_row(self) -> dict[str, str | int]:
        return {"file": self.file, "line": self.line, "column": self.column, "value": self.value, "reason": self.reason}


class FileRejected(Exception):
    """The file as a whole cannot be read (empty, binary, unknown encoding, missing required column).

    Raised before the first record is produced, so nothing has been written.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.reason)
        self.problem = problem

    def __reduce__(self) -> tuple[type, tuple[Problem]]:
        return FileRejected, (self.problem,)  # so it crosses from the parse process whole (parse_process)


@dataclass(frozen=True)
class BuyerRecord:
    platform: str  # a huitouke.core.models.Platform value; identities are (platform, handle)
    handle: str  # 买家会员名 / platform customer id / Shopify customer e-mail; "" when the row has none
    name: str  # 收货人姓名 / Billing Name; "" when unknown
    phone: ParsedPhone | None  # masked phones have e164=None and never join customers
    email: str  # lower-cased; "" when none
    recipient: str = ""
    region: str = ""  # province / city / district when the export gives them apart, else ""
    address: str = ""  # the rest of the address ("" when none)


@dataclass(frozen=True)
class LineRecord:
    title: str
    sku: str
    quantity: int  # > 0 (readers report 0 or negative as a problem)
    unit_price: Decimal
    line_amount: Decimal


@dataclass(frozen=True)
class OrderRecord:
    line: int  # file line where the order starts (Shopify: its first row)
    external_id: str  # 订单编号 / Shopify Name (e.g. "#1001"), Excel wrappers removed
    status: str  # a huitouke.orders.models.OrderStatus value
    ordered_at: dt.datetime  # aware, Asia/Shanghai unless the file says otherwise
    paid_at: dt.datetime | None
    paid_amount: Decimal  # what the buyer actually paid (买家实际支付金额 / Total)
    refunded_amount: Decimal
    goods_amount: Decimal | None = None  # None: the engine sums the lines
    shipping_amount: Decimal = Decimal("0.00")
    discount_amount: Decimal = Decimal("0.00")
    buyer: BuyerRecord | None = None  # None: a walk-in sale with nobody to attach it to
    lines: tuple[LineRecord, ...] = field(default_factory=tuple)
    note: str = ""
    # The platform's refund reason as written (退款原因, e.g. "质量问题"); "" when the export gives none.
    # The engine hands it to the refund-reason listeners (orders.extensions), which map it to a reason code.
    refund_reason: str = ""
    # A fingerprint of the file row as read (its cells, before any parsing), stored with the order so that a
    # re-import of the same row can skip parsing it (see UnchangedRow); 0 when the reader gives none (an
    # order spanning several rows, or one completed from an item or refund report).
    source_digest: int = 0
    # The order's database columns when worked out ahead, in the process that parsed the file (engine.with_columns,
    # parse_process); None: the engine works them out as it writes. Derived from the fields above, so not compared.
    columns: tuple[Any, ...] | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class StoredOrder:
    """What the engine tells a reader of an order stored by an earlier import from a row with a given source
    digest: its id and the rank of its state (how far along its life it is, see engine._rank)."""

    id: int
    rank: tuple[int, int]


@dataclass(frozen=True)
class UnchangedRow:
    """A file row whose cells are exactly those an import already stored for this order (same source digest).

    It was valid then, and the same cells parse to the same order, so the reader hands this on instead of
    parsing the row again: the engine counts it and writes nothing (it still takes part in "the latest
    state wins" among the rows of a batch, by the stored state's rank).
    """

    line: int
    external_id: str
    stored: StoredOrder


# (order number, source digest) of a chunk of rows -> the orders stored from rows with exactly these digests
KnownRows = Callable[[list[tuple[str, int]]], dict[tuple[str, int], StoredOrder]]


@dataclass(frozen=True)
class Parsed:
    """One step of a reader: an order (or None when the row was invalid), its problems, and progress."""

    record: OrderRecord | UnchangedRow | None
    problems: tuple[Problem, ...]
    bytes_read: int  # position in the file, for progress bars (compare with the file size)
    rows: int = 1  # physical data rows this step consumed (Shopify orders span several)
