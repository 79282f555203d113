"""Taobao / Tmall seller-centre exports: the 订单报表 (a row per order) and, optionally, the 宝贝报表 (a row per item)
and the 退款报表 (a row per refund).

Without an item report each order gets one line made from 宝贝标题 and 宝贝总数量. With one, the item rows are
staged in a temporary SQLite file (the report can be as large as the orders) and joined by 订单编号 a batch of
orders at a time, so memory stays bounded. A refund report is small (refunds are a few per cent of orders): it is
read into memory, and each order of the order report takes the 退款原因 of its largest refund that was not closed.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
from collections.abc import Iterator
from decimal import Decimal
from itertools import islice
from pathlib import Path

from django.utils.translation import gettext_noop

from huitouke.core.money import ZERO
from huitouke.orders.importing.formats import common
from huitouke.orders.importing.formats.common import (
    CellError,
    Column,
    Reader,
    Table,
    amount,
    buyer_platform,
    check_cells,
    clean,
    email,
    new_buyer,
    new_line,
    new_order,
    new_parsed,
    open_table,
    optional_datetime,
    order_number,
    phone,
    problem,
    quantity,
    reader_seed,
    refund_reason,
    required_amount,
    required_datetime,
    row_digest,
    unit_price,
    with_lines,
    with_refund_reason,
)
from huitouke.orders.importing.records import (
    KnownRows,
    LineRecord,
    OrderRecord,
    Parsed,
    Problem,
    UnchangedRow,
)

# The order of these columns is the order of the cells `_order` unpacks.
COLUMNS = (
    Column("order_no", ("订单编号", "主订单编号", "订单号"), required=True),
    Column("buyer", ("买家会员名", "买家昵称"), required=True),
    Column("alipay", ("买家支付宝账号",)),
    Column("goods", ("买家应付货款",)),
    Column("shipping", ("买家应付邮费",)),
    Column("paid", ("买家实际支付金额",), required=True),
    Column("status", ("订单状态",), required=True),
    Column("message", ("买家留言",)),
    Column("name", ("收货人姓名",)),
    Column("address", ("收货地址",)),
    Column("tel", ("联系电话",)),
    Column("mobile", ("联系手机",)),
    Column("created", ("订单创建时间",), required=True),
    Column("paid_at", ("订单付款时间",)),
    Column("title", ("宝贝标题",)),
    Column("quantity", ("宝贝总数量",)),
    Column("remark", ("订单备注",)),
    Column("sku", ("商家编码",)),
    Column("refund", ("退款金额",)),
    Column("refund_reason", ("退款原因", "售后原因")),
    Column("refund_status", ("退款状态", "售后状态")),
)
ITEM_COLUMNS = (
    Column("order_no", ("订单编号", "主订单编号"), required=True),
    Column("title", ("标题", "宝贝标题")),
    Column("price", ("价格", "单价"), required=True),
    Column("quantity", ("购买数量", "数量"), required=True),
    Column("outer_id", ("外部系统编号",)),
    Column("sku", ("商家编码",)),
)
REFUND_COLUMNS = (
    Column("order_no", ("订单编号", "主订单编号", "订单号"), required=True),
    Column("reason", ("退款原因", "售后原因"), required=True),
    Column("amount", ("退款金额", "买家退款金额", "买家实际退款金额")),
    Column("status", ("退款状态", "售后状态")),
)
_POSITION = {column.key: index for index, column in enumerate(COLUMNS)}
_ITEM_POSITION = {column.key: index for index, column in enumerate(ITEM_COLUMNS)}

_STATUSES = {
    "交易成功": "completed",
    "交易关闭": "closed",
    "交易自动关闭": "closed",
    "付款以前,卖家或买家主动关闭交易": "closed",
    "等待买家付款": "pending",
    "买家已付款,等待卖家发货": "paid",
    "等待卖家发货": "paid",
    "卖家已发货,等待买家确认": "shipped",
    "等待买家确认收货": "shipped",
    "卖家已发货": "shipped",
    "部分发货": "shipped",
    "卖家部分发货": "shipped",
}
_STATUS_MAP = _STATUSES | {text.replace(",", "，"): value for text, value in _STATUSES.items()}
_STATUS_NOISE = str.maketrans({"，": ",", " ": None, "\u3000": None, "（": "(", "）": ")"})


def status(text: str) -> str:
    """订单状态 → OrderStatus value; any 交易关闭 variant is closed, any 部分发货 is shipped."""
    found = _STATUS_MAP.get(text)
    if found is not None:
        return found
    text = clean(text).translate(_STATUS_NOISE)
    found = _STATUS_MAP.get(text)
    if found is not None:
        return found
    if not text:
        raise CellError(gettext_noop("the order status is missing"))
    if text.startswith("交易关闭") or "关闭交易" in text:
        return "closed"
    if "部分发货" in text:
        return "shipped"
    raise CellError(gettext_noop("unknown order status (expected e.g. 交易成功, 交易关闭, 等待买家付款, 卖家已发货，等待买家确认)"))


def split_address(text: str) -> tuple[str, str]:
    """'浙江省 杭州市 西湖区 文三路 100号(310000)' → ('浙江省 杭州市 西湖区', '文三路 100号')."""
    text = clean(text)
    if len(text) > 8 and text[-8] in "(（" and text[-1] in ")）" and text[-7:-1].isdigit():
        text = text[:-8].rstrip()  # the postcode
    parts = text.split(None, 3)
    if len(parts) < 2:
        return "", text
    if len(parts) == 4:
        return f"{parts[0]} {parts[1]} {parts[2]}", parts[3]
    return " ".join(parts), ""


# Cells checked one by one when a row fails, so every problem of the row is reported at once.
CHECKS = (
    (_POSITION["order_no"], order_number),
    (_POSITION["status"], status),
    (_POSITION["created"], required_datetime),
    (_POSITION["paid_at"], optional_datetime),
    (_POSITION["paid"], required_amount),
    (_POSITION["goods"], amount),
    (_POSITION["shipping"], amount),
    (_POSITION["refund"], amount),
    (_POSITION["quantity"], quantity),
)
ITEM_CHECKS = (
    (_ITEM_POSITION["order_no"], order_number),
    (_ITEM_POSITION["price"], required_amount),
    (_ITEM_POSITION["quantity"], quantity),
)
BATCH = 500
KNOWN_CHUNK = 5_000  # rows per question to the engine about rows already on file (one query each)


class TaobaoReader(Reader):
    def __init__(
        self, path: Path, *, platform: str, items_path: Path | None = None, refunds_path: Path | None = None,
    ) -> None:
        super().__init__(open_table(path, COLUMNS, fmt="taobao"))
        self._platform = buyer_platform(platform)
        self._has_goods = "goods" in self._table.written
        # Rows are fingerprinted (source_digest) only when a row alone makes its order: not when an item or
        # refund report completes it.
        self._seed: bytes | None = None
        if items_path is None and refunds_path is None:
            self._seed = reader_seed("taobao", self._platform, ",".join(sorted(self._table.written)),
                                     modules=(__name__, common.__name__, "huitouke.customers.phones"))
        self._known: KnownRows | None = None
        self._items: ItemStore | None = None
        self._refund_reasons: dict[str, str] = {}
        self._refund_problems: tuple[Problem, ...] = ()
        if refunds_path is not None:
            try:
                self._refund_reasons, self._refund_problems = read_refund_report(refunds_path)
            except BaseException:
                self._table.close()
                raise
        if items_path is not None:
            try:
                self._items = ItemStore(items_path, order_file=self.name)
            except BaseException:
                self._table.close()
                raise
            self.size += self._items.size

    def close(self) -> None:
        super().close()
        if self._items is not None:
            self._items.close()

    def _parse(self) -> Iterator[Parsed]:
        steps = self._steps() if self._items is None else self._with_items(self._items, self._steps())
        if self._refund_problems:
            yield new_parsed(None, self._refund_problems, 0, 0)
        if not self._refund_reasons:
            yield from steps
            return
        reasons = self._refund_reasons
        for step in steps:
            record = step.record
            found = None if record is None else reasons.get(record.external_id)
            if found:
                step = new_parsed(with_refund_reason(record, found), step.problems, step.bytes_read, step.rows)
            yield step

    def _with_items(self, store: ItemStore, steps: Iterator[Parsed]) -> Iterator[Parsed]:
        """Give each batch of orders its lines (and item-row problems) from the staged item report."""
        base = store.size
        while batch := list(islice(steps, BATCH)):
            wanted = [step.record.external_id for step in batch if step.record is not None]
            lines, problems = store.lookup(wanted)
            for step in batch:
                record = step.record
                extra = () if record is None else tuple(problems.pop(record.external_id, ()))
                found = None if record is None else lines.get(record.external_id)
                if found:
                    record = with_lines(record, found)
                yield new_parsed(record, step.problems + extra, base + step.bytes_read, step.rows)
        yield from store.leftovers(self.size)

    def skip_known_rows(self, known: KnownRows) -> None:
        self._known = known

    def _steps(self) -> Iterator[Parsed]:
        rows, seed, step = self._table.rows(), self._seed, self._step
        if seed is None:
            for line, values, position in rows:
                yield step(line, values, position, 0)
        elif self._known is None:
            for line, values, position in rows:
                yield step(line, values, position, row_digest(seed, values))
        else:
            yield from self._steps_skipping_known(rows, seed, self._known)

    def _steps_skipping_known(
        self, rows: Iterator[tuple[int, tuple[str, ...], int]], seed: bytes, known: KnownRows,
    ) -> Iterator[Parsed]:
        """A chunk of rows at a time: a row stored exactly so by an earlier import (same order number, same
        digest) becomes an UnchangedRow, unless it carries a refund reason (the engine hands those on to the
        refund-reason listeners again, as for any row of a refunded order)."""
        number_at, reason_at, step = _POSITION["order_no"], _POSITION["refund_reason"], self._step
        while chunk := list(islice(rows, KNOWN_CHUNK)):
            keys = [(clean(values[number_at]), row_digest(seed, values)) for _, values, _ in chunk]
            stored = known([key for key, (_, values, _) in zip(keys, chunk, strict=True)
                            if key[0] and not values[reason_at].strip()])
            for (line, values, position), key in zip(chunk, keys, strict=True):
                found = stored.get(key)
                if found is None:
                    yield step(line, values, position, key[1])
                else:
                    yield new_parsed(UnchangedRow(line=line, external_id=key[0], stored=found), (), position)

    def _step(self, line: int, values: tuple[str, ...], position: int, digest: int) -> Parsed:
        try:
            record = self._order(line, values, digest)
        except CellError:
            return new_parsed(None, tuple(check_cells(self._table, line, values, CHECKS)), position)
        return new_parsed(record, (), position)

    def _order(self, line: int, values: tuple[str, ...], digest: int = 0) -> OrderRecord:
        (
            order_no,
            buyer,
            alipay,
            goods,
            shipping,
            paid,
            state,
            message,
            name,
            address,
            tel,
            mobile,
            created,
            paid_at,
            title,
            count,
            remark,
            sku,
            refund,
            why_refunded,
            refund_state,
        ) = values
        external_id = order_number(order_no)
        state = status(state)
        paid_amount = required_amount(paid)
        refunded = amount(refund)
        goods_amount = amount(goods) if self._has_goods else None
        if refunded and refunded >= paid_amount and state in ("closed", "completed"):
            state = "refunded"  # a paid order closed by a full refund
        ordered_at = optional_datetime(created)
        if ordered_at is None:
            raise CellError(gettext_noop("the date is missing"))
        paid_moment = optional_datetime(paid_at)
        shipping_amount = amount(shipping)
        number = quantity(count)
        line_amount = goods_amount if goods_amount is not None else paid_amount
        handle = clean(buyer)
        person = name.strip()
        region, street = split_address(address)
        buyer_phone = phone(mobile) or phone(tel)
        mail = email(alipay)
        if handle or person or buyer_phone or mail:
            record_buyer = new_buyer(
                platform=self._platform,
                handle=handle,
                name=person,
                phone=buyer_phone,
                email=mail,
                recipient=person,
                region=region,
                address=street,
            )
        else:
            record_buyer = None
        message = message.strip()
        remark = remark.strip()
        summary = new_line(
            title=title.strip(),
            sku=clean(sku),
            quantity=number,
            unit_price=unit_price(line_amount, number),
            line_amount=line_amount,
        )
        return new_order(
            line=line,
            external_id=external_id,
            status=state,
            ordered_at=ordered_at,
            paid_at=paid_moment,
            paid_amount=paid_amount,
            refunded_amount=refunded,
            goods_amount=goods_amount,
            shipping_amount=shipping_amount,
            discount_amount=ZERO,
            buyer=record_buyer,
            lines=(summary,),
            note=f"{message} / {remark}" if message and remark else message or remark,
            refund_reason=refund_reason(why_refunded, refund_state),
            source_digest=digest,
        )


def read_refund_report(path: Path) -> tuple[dict[str, str], tuple[Problem, ...]]:
    """order number → 退款原因 of its largest refund that was not closed/refused (module doc), and the problems
    of rows that cannot be read."""
    table = open_table(path, REFUND_COLUMNS, fmt="taobao refund report (退款报表)")
    largest: dict[str, tuple[Decimal, str]] = {}
    problems: list[Problem] = []
    checks = ((0, order_number), (2, amount))
    try:
        for line, (order_no, reason, refunded, state), _ in table.rows():
            try:
                external_id, money = order_number(order_no), amount(refunded)
            except CellError:
                problems.extend(check_cells(table, line, (order_no, reason, refunded, state), checks))
                continue
            text = refund_reason(reason, state)
            if text and (external_id not in largest or money > largest[external_id][0]):
                largest[external_id] = (money, text)
    finally:
        table.close()
    return {number: text for number, (_, text) in largest.items()}, tuple(problems)


class ItemStore:
    """The 宝贝报表 staged in a temporary SQLite file, looked up by order number; removed on close."""

    def __init__(self, path: Path, *, order_file: str) -> None:
        self._order_file = order_file
        table = open_table(path, ITEM_COLUMNS, fmt="taobao item report (宝贝报表)")
        self.name = table.name
        self.size = table.size
        self._order_label = table.label("order_no")
        handle, self._path = tempfile.mkstemp(prefix="huitouke-items-", suffix=".sqlite3")
        os.close(handle)
        try:
            self._db = sqlite3.connect(self._path)
            self._db.executescript(
                """
                PRAGMA journal_mode = OFF;
                PRAGMA synchronous = OFF;
                CREATE TABLE items (
                    order_no TEXT NOT NULL, line INTEGER NOT NULL, title TEXT NOT NULL, sku TEXT NOT NULL,
                    quantity INTEGER NOT NULL, unit_price TEXT NOT NULL, line_amount TEXT NOT NULL
                );
                CREATE TABLE item_problems (
                    order_no TEXT NOT NULL, line INTEGER NOT NULL, col TEXT NOT NULL, value TEXT NOT NULL,
                    reason TEXT NOT NULL
                );
                CREATE TABLE seen (order_no TEXT PRIMARY KEY) WITHOUT ROWID;
                """
            )
            self._stage(table)
        except BaseException:
            table.close()
            self.close()
            raise
        table.close()

    def _stage(self, table: Table) -> None:
        items: list[tuple[str, int, str, str, int, str, str]] = []
        bad: list[tuple[str, int, str, str, str]] = []
        db = self._db
        for line, values, _ in table.rows():
            order_no, title, price, count, outer_id, sku = values
            try:
                external_id = order_number(order_no)
                number = quantity(count)
                each = required_amount(price)
            except CellError:
                key = clean(order_no)
                for found in check_cells(table, line, values, ITEM_CHECKS):
                    bad.append((key, found.line, found.column, found.value, found.reason))
                continue
            total: Decimal = each * number
            items.append(
                (
                    external_id,
                    line,
                    clean(title),
                    clean(sku) or clean(outer_id),
                    number,
                    str(each),
                    str(total),
                )
            )
            if len(items) >= 5000:
                db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", items)
                items.clear()
        db.executemany("INSERT INTO items VALUES (?, ?, ?, ?, ?, ?, ?)", items)
        db.executemany("INSERT INTO item_problems VALUES (?, ?, ?, ?, ?)", bad)
        db.execute("CREATE INDEX items_order ON items (order_no, line)")
        db.execute("CREATE INDEX item_problems_order ON item_problems (order_no, line)")
        db.commit()

    def lookup(
        self, order_nos: list[str]
    ) -> tuple[dict[str, tuple[LineRecord, ...]], dict[str, list[Problem]]]:
        """Item lines and item-row problems of these orders (problems are handed out once, then forgotten)."""
        wanted = list(dict.fromkeys(order_nos))
        lines: dict[str, list[LineRecord]] = {}
        problems: dict[str, list[Problem]] = {}
        if not wanted:
            return {}, {}
        marks = ", ".join("?" * len(wanted))
        db = self._db
        for order_no, title, sku, number, each, total in db.execute(
            f"SELECT order_no, title, sku, quantity, unit_price, line_amount FROM items "  # noqa: S608
            f"WHERE order_no IN ({marks}) ORDER BY order_no, line",
            wanted,
        ):
            lines.setdefault(order_no, []).append(
                new_line(
                    title=title,
                    sku=sku,
                    quantity=number,
                    unit_price=amount(each),
                    line_amount=amount(total),
                )
            )
        for order_no, line, column, value, reason in db.execute(
            f"SELECT order_no, line, col, value, reason FROM item_problems "  # noqa: S608
            f"WHERE order_no IN ({marks}) ORDER BY line",
            wanted,
        ):
            problems.setdefault(order_no, []).append(problem(self.name, line, column, value, reason))
        if problems:
            db.execute(f"DELETE FROM item_problems WHERE order_no IN ({marks})", wanted)  # noqa: S608
        db.executemany("INSERT OR IGNORE INTO seen VALUES (?)", ((order_no,) for order_no in wanted))
        return {order_no: tuple(found) for order_no, found in lines.items()}, problems

    def leftovers(self, size: int) -> Iterator[Parsed]:
        """Item rows that matched no order: bad rows one by one, good rows as one summary problem."""
        db = self._db
        for line, column, value, reason in db.execute(
            "SELECT line, col, value, reason FROM item_problems ORDER BY line"
        ):
            yield Parsed(None, (problem(self.name, line, column, value, reason),), size, 0)
        count, first_line = db.execute(
            "SELECT COUNT(*), MIN(line) FROM items WHERE order_no NOT IN (SELECT order_no FROM seen)"
        ).fetchone()
        if count:
            (first_order,) = db.execute("SELECT order_no FROM items WHERE line = ?", (first_line,)).fetchone()
            many = count > 1
            reason = (
                f"{count} item row{'s' if many else ''} (the first on this line) "
                f"{'belong' if many else 'belongs'} to no order in {self._order_file} "
                f"and {'were' if many else 'was'} skipped"
            )
            found = problem(self.name, first_line, self._order_label, first_order, reason)
            yield Parsed(None, (found,), size, 0)

    def close(self) -> None:
        db = getattr(self, "_db", None)
        if db is not None:
            db.close()
            self._db = None
        if os.path.exists(self._path):
            os.unlink(self._path)
