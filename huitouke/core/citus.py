"""The move to Citus: distribute every shop-scoped table by ``shop_id``.

Citus wants the distribution column in every primary key, unique key and foreign key of a distributed
table. Django 5.2 cannot point a ForeignKey at a composite key, so the models keep their plain ``id``
(sequences keep it unique across shards) and this module rewrites the *database* once, at move time:

1. drop the single-column foreign keys between shop-scoped tables;
2. make each primary key ``(shop_id, id)`` and prefix every other unique key with ``shop_id``;
3. add the foreign keys back as ``(shop_id, x_id) → (shop_id, id)``;
4. on Citus only: drop the foreign keys from the few global tables into shop tables (Citus has none
   from a reference table to a distributed one), ``create_reference_table`` for those global tables, then
   ``create_distributed_table(…, 'shop_id')`` for the rest, referenced tables first.

Steps 1–3 also run on plain PostgreSQL, where the composite keys make the database itself refuse a row
that points into another shop. A later migration that alters a foreign-key column must then be written
for the composite key (Django looks for a single-column constraint): run the conversion after migrating.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.apps import apps
from django.db import connection, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

from huitouke.core.models import ShopScoped

# Global look-ups that cannot know the shop in advance: a login finds its staff record, a token its shop.
# They are small, so Citus copies them to every node (reference tables).
REFERENCE_MODELS = ("core.Shop", "core.Staff", "core.ApiToken")
SHOP_COLUMN = "shop_id"


class CitusConversionError(Exception):
    """The schema holds something the conversion cannot rewrite safely; nothing was changed."""


def reference_tables() -> list[str]:
    return [apps.get_model(label)._meta.db_table for label in REFERENCE_MODELS]


def distributed_tables() -> list[str]:
    """Every table of a shop-scoped model, auto-created many-to-many tables refused (they have no shop)."""
    tables = []
    for model in apps.get_models(include_auto_created=True):
        if not model.__module__.startswith("huitouke") and not _is_huitouke_m2m(model):
            continue
        label = model._meta.label
        if label in REFERENCE_MODELS or model._meta.proxy or not model._meta.managed:
            continue
        if not issubclass(model, ShopScoped):
            raise CitusConversionError(f"{model._meta.db_table} has no shop_id: make it a shop-scoped model")
        tables.append(model._meta.db_table)
    return sorted(set(tables))


def _is_huitouke_m2m(model) -> bool:
    return bool(model._meta.auto_created) and model._meta.app_config.name.startswith("huitouke")


@dataclass(frozen=True)
class ForeignKey:
    name: str
    table: str
    column: str
    target: str
    target_column: str


@dataclass(frozen=True)
class UniqueKey:
    name: str
    table: str
    columns: tuple[str, ...]


@dataclass
class Plan:
    """The statements of the conversion, in the order they must run."""

    drop_foreign_keys: list[str] = field(default_factory=list)
    primary_keys: list[str] = field(default_factory=list)
    unique_keys: list[str] = field(default_factory=list)
    add_foreign_keys: list[str] = field(default_factory=list)
    distribute: list[str] = field(default_factory=list)

    def statements(self, *, with_distribution: bool) -> list[str]:
        body = self.drop_foreign_keys + self.primary_keys + self.unique_keys + self.add_foreign_keys
        return body + (self.distribute if with_distribution else [])


def plan(conn: BaseDatabaseWrapper = connection) -> Plan:
    """Read the live schema and write the statements; an already converted schema gives an empty body."""
    if conn.vendor != "postgresql":
        raise CitusConversionError("Citus is PostgreSQL: set DATABASE_URL to the PostgreSQL database")
    distributed = distributed_tables()
    with conn.cursor() as cursor:
        foreign_keys = _single_column_foreign_keys(cursor, distributed + reference_tables())
        primary_keys, unique_keys = _keys(cursor, distributed)
        _refuse_unique_indexes_without_shop(cursor, distributed)
    return _write_plan(distributed, foreign_keys, primary_keys, unique_keys)


def _write_plan(distributed: list[str], foreign_keys: list[ForeignKey], primary_keys: dict[str, tuple[str, list[str]]],
                unique_keys: list[UniqueKey]) -> Plan:
    into_shops = [fk for fk in foreign_keys if fk.target in distributed]
    result = Plan()
    for fk in into_shops:
        result.drop_foreign_keys.append(f'ALTER TABLE "{fk.table}" DROP CONSTRAINT "{fk.name}"')
    for table, (name, columns) in sorted(primary_keys.items()):
        if columns[:1] == [SHOP_COLUMN]:
            continue  # converted already
        key = ", ".join(f'"{c}"' for c in [SHOP_COLUMN, *columns])
        result.primary_keys.append(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}", ADD PRIMARY KEY ({key})')
    for unique in unique_keys:
        key = ", ".join(f'"{c}"' for c in [SHOP_COLUMN, *unique.columns])
        result.unique_keys.append(
            f'ALTER TABLE "{unique.table}" DROP CONSTRAINT "{unique.name}", ADD CONSTRAINT "{unique.name}" UNIQUE ({key})'
        )
    for fk in into_shops:
        result.add_foreign_keys.append(
            f'ALTER TABLE "{fk.table}" ADD CONSTRAINT "{fk.name}" FOREIGN KEY ("{SHOP_COLUMN}", "{fk.column}") '
            f'REFERENCES "{fk.target}" ("{SHOP_COLUMN}", "{fk.target_column}") DEFERRABLE INITIALLY DEFERRED'
        )
    # Citus keeps no foreign key from a reference table into a distributed one (e.g. an associate's store):
    # there the application keeps it, as it does on SQLite.
    result.distribute = [
        f'ALTER TABLE "{fk.table}" DROP CONSTRAINT "{fk.name}"' for fk in into_shops if fk.table not in distributed
    ] + [f"SELECT create_reference_table('{t}')" for t in reference_tables()] + [
        f"SELECT create_distributed_table('{t}', '{SHOP_COLUMN}')"
        for t in _referenced_first(distributed, into_shops)
    ]
    return result


def _referenced_first(tables: Iterable[str], foreign_keys: list[ForeignKey]) -> list[str]:
    """Tables ordered so each comes after the tables it points at (self-references ignored)."""
    needs = {t: {fk.target for fk in foreign_keys if fk.table == t and fk.target != t} for t in tables}
    ordered: list[str] = []
    while needs:
        ready = sorted(t for t, targets in needs.items() if not targets - set(ordered))
        if not ready:
            raise CitusConversionError(f"foreign keys form a cycle among {sorted(needs)}")
        ordered.extend(ready)
        for t in ready:
            del needs[t]
    return ordered


_FOREIGN_KEYS = """
SELECT con.conname, rel.relname, att.attname, frel.relname, fatt.attname
FROM pg_constraint con
JOIN pg_class rel ON rel.oid = con.conrelid
JOIN pg_class frel ON frel.oid = con.confrelid
JOIN pg_attribute att ON att.attrelid = con.conrelid AND att.attnum = con.conkey[1]
JOIN pg_attribute fatt ON fatt.attrelid = con.confrelid AND fatt.attnum = con.confkey[1]
WHERE con.contype = 'f' AND cardinality(con.conkey) = 1 AND rel.relname = ANY(%s)
  AND rel.relnamespace = 'public'::regnamespace
ORDER BY rel.relname, con.conname
"""


def _single_column_foreign_keys(cursor, tables: list[str]) -> list[ForeignKey]:
    cursor.execute(_FOREIGN_KEYS, [tables])
    return [ForeignKey(*row) for row in cursor.fetchall()]


_KEYS = """
SELECT rel.relname, con.conname, con.contype,
       array(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(num, pos)
             JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.num ORDER BY k.pos)
FROM pg_constraint con JOIN pg_class rel ON rel.oid = con.conrelid
WHERE con.contype IN ('p', 'u') AND rel.relname = ANY(%s) AND rel.relnamespace = 'public'::regnamespace
ORDER BY rel.relname, con.conname
"""


def _keys(cursor, tables: list[str]) -> tuple[dict[str, tuple[str, list[str]]], list[UniqueKey]]:
    """Each table's primary key (name, columns), and the unique keys that leave shop_id out."""
    cursor.execute(_KEYS, [tables])
    primary: dict[str, tuple[str, list[str]]] = {}
    loose: list[UniqueKey] = []
    for table, name, kind, columns in cursor.fetchall():
        if kind == "p":
            primary[table] = (name, list(columns))
        elif SHOP_COLUMN not in columns:
            loose.append(UniqueKey(name, table, tuple(columns)))
    return primary, loose


_LOOSE_UNIQUE_INDEXES = """
SELECT rel.relname, idx.relname
FROM pg_index i JOIN pg_class idx ON idx.oid = i.indexrelid JOIN pg_class rel ON rel.oid = i.indrelid
WHERE i.indisunique AND NOT i.indisprimary AND rel.relname = ANY(%s)
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
  AND NOT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                  AND a.attname = %s)
"""


def _refuse_unique_indexes_without_shop(cursor, tables: list[str]) -> None:
    """Partial or expression unique indexes cannot be rewritten blindly: the model must include the shop."""
    cursor.execute(_LOOSE_UNIQUE_INDEXES, [tables, SHOP_COLUMN])
    loose = [f"{table}.{index}" for table, index in cursor.fetchall()]
    if loose:
        raise CitusConversionError(f"unique indexes without shop_id: {', '.join(loose)}")


def convert(*, with_distribution: bool, conn: BaseDatabaseWrapper = connection) -> list[str]:
    """Run the conversion in one transaction (all or nothing); returns the statements it ran."""
    if with_distribution:
        _require_citus(conn)
    statements = plan(conn).statements(with_distribution=with_distribution)
    with transaction.atomic(using=conn.alias), conn.cursor() as cursor:
        # Check the deferred foreign keys of rows written earlier in this transaction now: PostgreSQL
        # refuses to alter a table with such checks pending.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        for statement in statements:
            cursor.execute(statement)
    return statements


def _require_citus(conn: BaseDatabaseWrapper) -> None:
    with conn.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'citus'")
        if cursor.fetchone() is None:
            raise CitusConversionError(
                "the citus extension is not installed in this database (CREATE EXTENSION citus); "
                "run without --distribute to convert the keys only"
            )
