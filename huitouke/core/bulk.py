"""Bulk writes for the big tables (demo data, imports): column-wise `executemany`, ids reserved up front.

The ORM's bulk_create builds a model instance per row and cannot tell us the ids of rows on every
backend cheaply; for hundreds of thousands of rows that costs more than the database does. Callers
pass values already in database form (integer fen, adapted datetimes) — see `datetime_adapter`.
"""

from __future__ import annotations

import datetime as dt
import gc
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from functools import lru_cache
from itertools import chain
from typing import Any, TypeVar

import numpy as np
from django.db import connection, models
from django.db.models import Max

CHUNK = 20_000
FETCH = 200_000  # rows per fetchmany in read_columns
Progress = Callable[[int, int], None]  # (rows done, rows in total)
T = TypeVar("T")


def reserve_ids(model: type[models.Model], n: int) -> list[int]:
    """`n` fresh primary keys for `model`, inside the current transaction.

    PostgreSQL draws them from the table's sequence (safe with concurrent writers). SQLite hands
    out max(id)+1…: callers hold the write lock (our transactions BEGIN IMMEDIATE), and an
    AUTOINCREMENT table moves its counter past explicit ids by itself.
    """
    if n <= 0:
        return []
    table = model._meta.db_table
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                [table, model._meta.pk.column, n],
            )
            return [row[0] for row in cursor.fetchall()]
    first = (model.objects.aggregate(top=Max("pk"))["top"] or 0) + 1
    return list(range(first, first + n))


def _sqlite_datetime(value: dt.datetime | None) -> Any:
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError("naive datetime: pass an aware datetime")
    return str(value.astimezone(dt.UTC).replace(tzinfo=None))


def _sqlite_date(value: dt.date | None) -> Any:
    return None if value is None else value.isoformat()


def _as_is(value: Any) -> Any:
    return value


def datetime_adapter() -> Callable[[dt.datetime | None], Any]:
    """An aware datetime as this backend's driver takes it. SQLite keeps naive UTC text, exactly as Django's
    adapt_datetimefield_value writes it; that one costs ~10 µs a call through the connection proxy, which
    is too much for a million-row import, so callers fetch the adapter once and call it per row."""
    return _sqlite_datetime if connection.vendor == "sqlite" else _as_is


def date_adapter() -> Callable[[dt.date | None], Any]:
    return _sqlite_date if connection.vendor == "sqlite" else _as_is


def _sqlite_read_datetime(value: dt.datetime | str | None) -> dt.datetime | None:
    """Naive UTC: a datetime when the column's declared type reached Django's converters, else text."""
    if value is None:
        return None
    return (dt.datetime.fromisoformat(value) if isinstance(value, str) else value).replace(tzinfo=dt.UTC)


def datetime_reader() -> Callable[[Any], dt.datetime | None]:
    """The reverse of datetime_adapter: a raw column value (naive UTC on SQLite) as an aware datetime."""
    return _sqlite_read_datetime if connection.vendor == "sqlite" else _as_is


def lock_rows(*aliases: str) -> str:
    """The clause that row-locks a SELECT's rows of these table aliases until the transaction ends. Empty on
    SQLite: its writers take the whole database (BEGIN IMMEDIATE, core.dblock.write_turn) before reading."""
    return f" FOR UPDATE OF {', '.join(aliases)}" if connection.vendor == "postgresql" else ""


_ONLY_WHEN_ASKED = 2**31  # psycopg's prepare_threshold: no automatic preparing, only prepare=True


class _PreparingCursor:
    """psycopg's own cursor (parameters bound on the server), preparing every statement it runs."""

    def __init__(self, cursor: Any) -> None:
        self._cursor = cursor

    def execute(self, sql: str, params: Sequence[Any]) -> None:
        self._cursor.execute(sql, params, prepare=True)

    def __getattr__(self, name: str) -> Any:  # fetchone, fetchall, rowcount
        return getattr(self._cursor, name)


@contextmanager
def hot_cursor() -> Iterator[Any]:
    """A cursor for the few statements run thousands of times a second (the checkout commit).

    On PostgreSQL each statement is prepared once per connection and then only executed: parsing and
    planning them again was most of the server's work per commit. Django's own cursor binds parameters in
    the client and prepares nothing (for connection poolers' sake; a pooler in transaction mode must
    support protocol-level prepared statements, as PgBouncer ≥ 1.21 does). Elsewhere: Django's cursor.
    """
    if connection.vendor != "postgresql":
        with connection.cursor() as cursor:
            yield cursor
        return
    import psycopg

    connection.ensure_connection()
    raw = connection.connection
    if raw.prepare_threshold is None:  # Django turns preparing off; then psycopg ignores prepare=True too
        raw.prepare_threshold = _ONLY_WHEN_ASKED  # Django's cursors bind in the client and never prepare
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        yield _PreparingCursor(cursor)


@contextmanager
def pipelined() -> Iterator[None]:
    """On PostgreSQL, the statements run inside go out without waiting for each answer (psycopg's pipeline
    mode): one round trip for all of them, and their errors (an IntegrityError too) surface when the block
    ends. Only for writes whose results nobody reads inside: no fetch, no rowcount, no ORM. Elsewhere: as is."""
    if connection.vendor != "postgresql":
        yield
        return
    connection.ensure_connection()
    with connection.wrap_database_errors, connection.connection.pipeline():
        yield


@lru_cache(maxsize=256)
def _few_rows_sql(
    model: type[models.Model], field_names: tuple[str, ...], n: int, skip_conflicts: bool, returning: bool,
) -> str:
    quote = connection.ops.quote_name
    columns = ", ".join(quote(model._meta.get_field(name).column) for name in field_names)
    row = f"({', '.join(['%s'] * len(field_names))})"
    conflicts = " ON CONFLICT DO NOTHING" if skip_conflicts else ""
    ids = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    return f"INSERT INTO {quote(model._meta.db_table)} ({columns}) VALUES {', '.join([row] * n)}{conflicts}{ids}"


def insert_few(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]], *,
    skip_conflicts: bool = False, returning: bool = True,
) -> list[int]:
    """INSERT a few rows (values in database form) in one statement and return the ids written.

    For the hot single-record writes (a checkout commit): one round trip and no model instances, where
    the ORM's create() costs a statement compilation per row. `skip_conflicts` leaves out rows that would
    break a unique key (both databases: ON CONFLICT DO NOTHING) and returns only the ids of those written.
    `returning=False` asks for no ids (returns []): the insert can then run inside `pipelined()`.
    """
    if not rows:
        return []
    sql = _few_rows_sql(model, tuple(field_names), len(rows), skip_conflicts, returning)
    with hot_cursor() as cursor:
        cursor.execute(sql, [value for row in rows for value in row])
        return [row[0] for row in cursor.fetchall()] if returning else []


def insert_rows(
    model: type[models.Model], columns: Mapping[str, Sequence[Any]], n: int, *,
    progress: Progress | None = None, chunk: int = CHUNK,
) -> None:
    """INSERT `n` rows given column-wise by field name; fields not given get their default (NULL or "" when
    the field has none); a required field without one, or with a callable default, must be given."""
    if n == 0:
        return
    fields, values = [], []
    for f in model._meta.concrete_fields:
        if f.name in columns:
            fields.append(f)
            values.append(columns[f.name])
        elif f.primary_key:
            continue
        elif (f.has_default() and not callable(f.default)) or f.null or (f.empty_strings_allowed and not f.has_default()):
            fields.append(f)
            values.append([f.get_db_prep_save(f.get_default(), connection)] * n)
        else:
            raise ValueError(f"bulk insert: no value for {model.__name__}.{f.name}")
    _insert_tuples(model, fields, list(zip(*values, strict=True)), progress=progress, chunk=chunk)


def insert_tuples(
    model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]], *, chunk: int = CHUNK,
) -> None:
    """INSERT rows given row-wise, each in the order of `field_names` (values in database form): for callers
    that build every column of a row at once, which spares a list per column. Name every field without a
    default (unlike insert_rows, nothing is filled in)."""
    _insert_tuples(model, [model._meta.get_field(name) for name in field_names], rows, progress=None, chunk=chunk)


def _insert_tuples(
    model: type[models.Model], fields: Sequence[models.Field], rows: Sequence[Sequence[Any]], *,
    progress: Progress | None, chunk: int,
) -> None:
    n = len(rows)
    quote = connection.ops.quote_name
    table, names = quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)
    with connection.cursor() as cursor:
        for start in range(0, n, chunk):
            if connection.vendor == "postgresql":
                # COPY: one stream instead of a statement per row (Django's client-side cursor sends
                # executemany as one query each, 30x slower for a million rows)
                with cursor.cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for row in rows[start:start + chunk]:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(fields))})",
                                   rows[start:start + chunk])
            if progress is not None:
                progress(min(n, start + chunk), n)


PAIRS_CHUNK = 1_000_000  # keys per statement in insert_pairs (a JSON text of ~10 MB)


def insert_pairs(
    model: type[models.Model], *, fields: tuple[str, str], keys: np.ndarray, width: int, constant: Mapping[str, Any],
) -> None:
    """INSERT one row per key: fields[0] = key // width, fields[1] = key % width (keys ≥ 0), and the same
    `constant` values (by field name, database form) in every row: link rows such as a customer's tags.

    On SQLite the keys travel as one JSON array per chunk and json_each unpacks them inside SQLite: no Python
    tuple and no parameter binding per row, which were most of the cost (1.47M tag rows: 5.4 → 1.9 CPU s).
    Elsewhere: insert_rows (COPY on PostgreSQL).
    """
    first, second = keys // width, keys % width
    if connection.vendor != "sqlite":
        n = int(keys.size)
        insert_rows(model, {fields[0]: first.tolist(), fields[1]: second.tolist(),
                            **{name: [value] * n for name, value in constant.items()}}, n)
        return
    quote = connection.ops.quote_name
    column = lambda name: quote(model._meta.get_field(name).column)  # noqa: E731
    names = ", ".join(column(name) for name in (*constant, *fields))
    sql = (f"INSERT INTO {quote(model._meta.db_table)} ({names}) "
           f"SELECT {'%s, ' * len(constant)}value / %s, value %% %s FROM json_each(%s)")
    with connection.cursor() as cursor:
        for start in range(0, keys.size, PAIRS_CHUNK):
            text = "[" + ",".join(map(str, keys[start:start + PAIRS_CHUNK].tolist())) + "]"
            cursor.execute(sql, [*constant.values(), width, width, text])


def update_rows(model: type[models.Model], field_names: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """UPDATE by primary key: each row is (value for each field…, pk), values in database form."""
    if not rows:
        return
    quote = connection.ops.quote_name
    columns = [model._meta.get_field(name).column for name in field_names]
    sql = "UPDATE {} SET {} WHERE {} = %s".format(
        quote(model._meta.db_table), ", ".join(f"{quote(c)} = %s" for c in columns), quote(model._meta.pk.column)
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, list(rows))


def rows_where_in(
    model: type[models.Model], columns: Sequence[str], *, equal: Mapping[str, Any], field: str,
    values: Sequence[Any], chunk: int = 5_000,
) -> list[tuple[Any, ...]]:
    """SELECT columns WHERE each `equal` field = value AND `field` IN values, as raw database values.

    For the hot lookups of an import (thousands of keys per batch): the ORM prepares every IN value one
    by one, which costs more than the query. Values come back unconverted (fen, text dates on SQLite).

    On SQLite, texts or integers go in as one JSON array (`IN (SELECT value FROM json_each(%s))`), so the
    statement is the same whatever their number: with a placeholder per value, each batch's count made a new
    statement, compiled again and kept in the connection's statement cache (~50 MB for a large import).
    """
    if not values:
        return []
    quote = connection.ops.quote_name
    column = lambda name: quote(model._meta.get_field(name).column)  # noqa: E731
    where = " AND ".join(f"{column(name)} = %s" for name in equal)
    head = "SELECT {} FROM {} WHERE {}{}{} IN ".format(
        ", ".join(column(c) for c in columns), quote(model._meta.db_table), where, " AND " if where else "",
        column(field),
    )
    found: list[tuple[Any, ...]] = []
    with connection.cursor() as cursor:
        for start in range(0, len(values), chunk):
            part = list(values[start:start + chunk])
            if connection.vendor == "sqlite" and _json_scalars(part):
                cursor.execute(f"{head}(SELECT value FROM json_each(%s))",
                               [*equal.values(), json.dumps(part, ensure_ascii=False)])
            else:
                cursor.execute(f"{head}({', '.join(['%s'] * len(part))})", [*equal.values(), *part])
            found.extend(cursor.fetchall())
    return found


def _json_scalars(values: list[Any]) -> bool:
    """All texts, or all integers (not booleans): values JSON carries to SQLite unchanged."""
    kind = type(values[0])
    return kind in (str, int) and all(type(value) is kind for value in values)


def read_columns(sql: str, params: Sequence[Any], columns: int, dtype: type = np.int64) -> np.ndarray:
    """The rows of a raw query as a (columns, rows) numpy array, batch by batch through `np.fromiter`.

    For reads of millions of rows (the analytics refresh): no model instances and no per-row Python code of
    ours, about 10x faster than values_list. Every selected value must be a non-NULL number (COALESCE or
    CASE in the SQL); booleans come as 0/1.
    """
    chunks = []
    with connection.cursor() as cursor:
        cursor.execute(sql, list(params))
        while batch := cursor.fetchmany(FETCH):
            chunks.append(np.fromiter(chain.from_iterable(batch), dtype=dtype, count=len(batch) * columns))
    flat = np.concatenate(chunks) if chunks else np.zeros(0, dtype=dtype)
    return flat.reshape(-1, columns).T


def read_alongside(read: Callable[[], T]) -> Callable[[], T]:
    """Start `read` in a thread on a database connection of its own; returns the function that waits for
    (and returns) its result, re-raising its error.

    For a bulk job with two long independent reads (the analytics refresh reads 10M order lines while it
    reads and scores the purchases): the driver steps through rows without the GIL, so the other core does
    one read while this thread does the rest. Inside a transaction (a caller's atomic block, a test) the read
    runs at once on this connection: another connection would not see the transaction's rows.
    """
    if connection.in_atomic_block:
        result = read()
        return lambda: result
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="read-alongside")
    future = pool.submit(_on_own_connection, read)
    pool.shutdown(wait=False)
    return future.result


def _on_own_connection(read: Callable[[], T]) -> T:
    try:
        return read()
    finally:
        connection.close()  # this thread's connection: Django keeps one per thread


def drop_indexes(model: type[models.Model], names: Sequence[str]) -> list[str]:
    """SQLite: drop these secondary indexes of the model's table, inside the caller's transaction, and return
    the statements that build them again (as the schema has them). For a bulk load that will be most of the
    table: one sort per index afterwards costs less than a random B-tree write per row, once the indexes
    outgrow the page cache. A rollback (an invalid row, a dry run, a killed process) brings them back with
    everything else. SQLite readers keep their snapshot meanwhile (WAL); elsewhere this does nothing ([]),
    as PostgreSQL's DROP INDEX would lock readers out of the table until the commit."""
    if connection.vendor != "sqlite" or not names:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = %s "
            f"AND name IN ({', '.join(['%s'] * len(names))})", [model._meta.db_table, *names],
        )
        found = dict(cursor.fetchall())
        for name in found:
            cursor.execute(f"DROP INDEX {connection.ops.quote_name(name)}")
    return [found[name] for name in names if name in found]


def create_indexes(statements: Sequence[str]) -> None:
    """Build again the indexes `drop_indexes` dropped."""
    with connection.cursor() as cursor:
        for sql in statements:
            cursor.execute(sql)


@contextmanager
def temporary_files_on_disk() -> Iterator[None]:
    """SQLite: inside, temporary files go to disk, not memory (the settings' temp_store = MEMORY, right for the
    web app's small sorts). For a bulk load in one long transaction: its index builds spill their sorts there,
    and a savepoint (a nested atomic block) keeps there the original of every page it changes; merging
    thousands of customers at the end of a million-row import changes pages all over the orders table, and
    held in memory those were ~110 MB more. SQLite takes the setting only outside a transaction, so inside
    one (a test) this changes nothing; nor elsewhere than on SQLite."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA temp_store")
        (before,) = cursor.fetchone()
        cursor.execute("PRAGMA temp_store = FILE")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"PRAGMA temp_store = {int(before)}")


# (collections run after this many new container objects, then every 50th / 100th of those passes)
BULK_GC_THRESHOLDS = (100_000, 50, 100)


@contextmanager
def rare_gc_passes() -> Iterator[None]:
    """For a bulk job that makes millions of short-lived objects without reference cycles (rows, records):
    Python's cyclic collector, by default run every 700 new container objects, walks every young object each
    time, ~17% of a 200k-row import's CPU (22.2 s -> 18.4 s, bench/RESULTS.md). Reference counting frees
    those objects as before; the rare cycles are still collected, in fewer, larger passes. The thresholds
    are given back afterwards."""
    before = gc.get_threshold()
    gc.set_threshold(*BULK_GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)


@contextmanager
def fast_sqlite_load(connection: Any, *, cache_kib: int = 262_144) -> Iterator[None]:
    """For a bulk load that can be redone (the demo, a bench's scratch shop): no fsync per commit and a bigger
    page cache. SQLite only, and only outside a transaction (inside one, e.g. a test, it changes nothing)."""
    if connection.vendor != "sqlite" or connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA synchronous = OFF")
        cursor.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous = NORMAL")
            cursor.execute("PRAGMA cache_size = -64000")  # the settings' page cache again
