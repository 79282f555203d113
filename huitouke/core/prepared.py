"""Read queries compiled once per process and run again with new values: for hot paths only.

Building a queryset's SQL costs Django ~300 µs a read (filters, joins, select list, ordering), ten times
what SQLite then needs to answer it by key. At a till that runs ~15 reads per customer, the compiling
was most of the CPU. A `Prepared` query keeps the ORM form (shop-scoped, readable, the same SQL on
SQLite and PostgreSQL): it builds the queryset once with stand-in values, remembers where each stand-in
landed among the SQL parameters, and afterwards only binds the real values, runs the SQL and turns the
rows into model instances (or value tuples) with Django's own converters and populators.

What it refuses, at the first call, with a `TypeError`: a value a lookup transforms (`__icontains`,
`__in` lists) or that the query does not use, values of types other than int, str, date and datetime, and
integers compared with fields narrower than 64 bits (its stand-ins are out of their range).
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet, FullResultSet
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

M = TypeVar("M", bound=Model)
_standins = itertools.count(1)


def _stand_in(value: Any) -> Any:
    """A value of the same type that no real call will pass, unique in this process."""
    n = next(_standins)
    if isinstance(value, bool):
        raise TypeError("booleans cannot be told apart from constants: write them into the query")
    if isinstance(value, int):
        return -(10**15) - n
    if isinstance(value, str):
        return f"\x1fprepared-{n}\x1f"
    if isinstance(value, dt.datetime):
        return dt.datetime(1901, 1, 1, tzinfo=dt.UTC) + dt.timedelta(microseconds=n)
    if isinstance(value, dt.date):
        return dt.date(1000, 1, 1) + dt.timedelta(days=n)
    raise TypeError(f"a prepared query takes int, str, date or datetime values, not {type(value).__name__}")


def _as_param(connection, value: Any) -> Any:
    """The value as the backend's SQL parameter (what the compiler put there for a model field)."""
    if isinstance(value, dt.datetime):
        return connection.ops.adapt_datetimefield_value(value)
    if isinstance(value, dt.date):
        return connection.ops.adapt_datefield_value(value)
    return value


@dataclass
class _Compiled:
    sql: str
    constants: list[Any]
    slots: list[tuple[int, str]]  # (parameter position, value name)
    compiler: Any
    converters: dict
    instances: Callable[[list[Sequence[Any]]], list] | None  # None: the query selects values


class Prepared(Generic[M]):
    """`build(**values)` returns the queryset; call `.all(**values)`, `.first(**values)` or `.rows(**values)`.

    A queryset with `.values_list()` gives tuples (`rows`), any other gives model instances."""

    def __init__(self, build: Callable[..., QuerySet]):
        self.build = build
        self._local = threading.local()  # a compiler belongs to its thread's connection

    def _compiled(self, values: dict[str, Any]) -> _Compiled:
        cache: dict[tuple[str, ...], _Compiled] = self._local.__dict__.setdefault("cache", {})
        key = tuple(sorted(values))
        compiled = cache.get(key)
        if compiled is not None and compiled.compiler.connection is connections[compiled.compiler.using]:
            return compiled
        stand_ins = {name: _stand_in(value) for name, value in values.items()}
        probe = self.build(**stand_ins)
        connection = connections[probe.db]
        compiler = probe.query.get_compiler(using=probe.db)
        try:
            sql, params = compiler.as_sql()
        except (EmptyResultSet, FullResultSet) as exc:  # Django folds out-of-range integers into a constant
            raise TypeError("a prepared query's integer values must be on 64-bit fields (ids, foreign keys): the "
                            "stand-in values are out of a smaller field's range") from exc
        wanted = {_as_param(connection, stand_in): name for name, stand_in in stand_ins.items()}
        slots = [(position, wanted[param]) for position, param in enumerate(params)
                 if _hashable(param) and param in wanted]
        missing = set(values) - {name for _, name in slots}
        if missing:
            raise TypeError(f"the query does not use {', '.join(sorted(missing))} as given (transformed?)")
        fields = [column[0] for column in compiler.select[0:compiler.col_count]]
        compiled = _Compiled(sql=sql, constants=list(params), slots=slots, compiler=compiler,
                             converters=compiler.get_converters(fields),
                             instances=_instance_maker(compiler) if probe._iterable_class is ModelIterable else None)
        cache[key] = compiled
        return compiled

    def _fetch(self, values: dict[str, Any]) -> tuple[_Compiled, list[Sequence[Any]]]:
        compiled = self._compiled(values)
        connection = compiled.compiler.connection
        params = list(compiled.constants)
        for position, name in compiled.slots:
            params[position] = _as_param(connection, values[name])
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        compiler = compiled.compiler
        if compiler.has_extra_select:
            rows = [row[:compiler.col_count] for row in rows]
        if compiled.converters:
            rows = list(compiler.apply_converters(rows, compiled.converters))
        return compiled, rows

    def rows(self, **values: Any) -> list[tuple]:
        """The rows as tuples (a `.values_list()` queryset)."""
        _, rows = self._fetch(values)
        return [tuple(row) for row in rows]

    def all(self, **values: Any) -> list[M]:
        compiled, rows = self._fetch(values)
        if compiled.instances is None:
            raise TypeError("this prepared query selects values: use rows()")
        return compiled.instances(rows)

    def first(self, **values: Any) -> M | None:
        found = self.all(**values)
        return found[0] if found else None


def _hashable(value: Any) -> bool:
    try:
        hash(value)
    except TypeError:
        return False
    return True


def _instance_maker(compiler) -> Callable[[list[Sequence[Any]]], list]:
    """What turns converted rows into model instances, as Django's ModelIterable does (select_related
    included); its column layout is worked out once, with the SQL."""
    select, klass_info, annotations = compiler.select, compiler.klass_info, compiler.annotation_col_map or {}
    db = compiler.using
    model_cls = klass_info["model"]
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    init_list = [column[0].target.attname for column in select[start:end]]
    populators = get_related_populators(klass_info, select, db)

    def instances(rows: list[Sequence[Any]]) -> list:
        found = []
        for row in rows:
            instance = model_cls.from_db(db, init_list, row[start:end])
            for populator in populators:
                populator.populate(row, instance)
            for name, position in annotations.items():
                setattr(instance, name, row[position])
            found.append(instance)
        return found

    return instances
