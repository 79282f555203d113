"""The import engine: normalised order records in, one customer per person and idempotent orders out.

Works in batches inside the caller's transaction, so memory is bounded by the batch, not the file,
and an interrupted import leaves nothing behind. Per batch:
1. keep the last state of each order number (overlapping exports are normal);
2. find the buyers' identities, full phones and e-mails already on file, give each new identity (or a
   bare phone / e-mail) a new customer, and plan merges where a shared phone or e-mail shows that two
   customers are one person (never when staff undid that merge before);
3. insert new orders, update those whose state changed, skip unchanged ones.
At the end (`finish`) the planned merges are made (through customers.merges, so each is recorded and can be
undone) and the purchase figures of every touched customer are recomputed once.
"""

from __future__ import annotations

import functools
import hashlib
from array import array
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection
from django.utils import timezone

from huitouke.core.bulk import (
    create_indexes,
    date_adapter,
    datetime_adapter,
    drop_indexes,
    insert_rows,
    insert_tuples,
    reserve_ids,
    rows_where_in,
    update_rows,
)
from huitouke.core.models import Shop, Store
from huitouke.core.pii import mask_email, mask_phone
from huitouke.customers.completeness import score
from huitouke.customers.merges import MergeRequest, kept_apart, merge_customers
from huitouke.customers.models import (
    Address,
    Customer,
    CustomerEmail,
    CustomerMerge,
    CustomerPhone,
    PlatformIdentity,
)
from huitouke.orders.extensions import ImportedRefundReason, refund_reasons_imported
from huitouke.orders.importing.formats.common import set_columns
from huitouke.orders.importing.records import OrderRecord, Parsed, StoredOrder, UnchangedRow
from huitouke.orders.models import Order, OrderLine, Product, derived_figures
from huitouke.orders.services import refresh_customer_stats

BATCH = 5_000
# A bulk load builds some indexes after its rows instead of row by row (ImportEngine.prepare_bulk_load): the first
# import into a store, of a file with at least this many rows and at least as many as the orders table (every
# shop's) already holds.
BULK_LOAD_ROWS = 50_000
# The indexes it leaves out meanwhile: none that a query of the batches reads. Each is built again in `finish`
# just before the first step that reads it: the merges find the absorbed customers' orders through
# order_customer_time, the figures refresh reads order_purchases_by_customer, and the rest come last (the refresh
# rewrites is_repeat and the customers' last purchase, which those indexes hold).
_DEFERRED_INDEXES: dict[str, dict[type, tuple[str, ...]]] = {
    "merges": {Order: ("order_customer_time",)},
    "figures": {Order: ("order_purchases_by_customer",)},
    "after": {
        Order: ("order_purchases_by_day", "order_recent"),
        Customer: ("customer_name", "customer_recent", "customer_registered"),
        CustomerPhone: ("phone_tail",),
    },
}
_FILLED_BY_IMPORTS = (Order, OrderLine, Customer, PlatformIdentity, CustomerPhone, CustomerEmail, Address)
Key = tuple[str, ...]  # ("i", platform, handle) | ("p", e164) | ("e", email)


@dataclass
class ImportCounts:
    rows: int = 0  # data rows read (a Shopify order spans several)
    orders_in_file: int = 0  # valid order records, repeats included
    invalid_rows: int = 0
    duplicate_orders: int = 0  # an order seen again later in the file: its latest state wins
    older_states: int = 0  # rows with an earlier state of an order already on file: nothing to change
    new_customers: int = 0  # new people: accounts joined to another customer at once are not counted
    new_orders: int = 0
    updated_orders: int = 0
    unchanged_orders: int = 0
    merges: int = 0

    def as_dict(self) -> dict[str, int]:
        return asdict(self)


def _fen(amount: Decimal) -> int:
    return int(amount * 100)  # amounts arrive quantised to 0.01, so this is exact


@dataclass
class _Plan:
    """Who owns each record of a batch, and what has to be created for that."""

    owner_of_group: dict[Key, int] = field(default_factory=dict)
    new_groups: list[Key] = field(default_factory=list)
    merges: list[MergeRequest] = field(default_factory=list)


class ImportEngine:
    def __init__(self, *, shop: Shop, store: Store, source: str) -> None:
        self.shop, self.store, self.source = shop, store, source
        self.counts = ImportCounts()
        self.touched: set[int] = set()
        self.kept_apart = kept_apart(shop=shop)
        self.first_new_order_id: int | None = None  # orders at or above it were created by this import
        self.first_new_customer_id: int | None = None  # the same for customers
        # Merges are planned batch by batch and made in `finish`, all at once (a merge statement per related table,
        # not per batch); meanwhile an absorbed customer's keys stand for the customer that will keep them.
        self._merges: list[MergeRequest] = []
        self._kept_of: dict[int, int] = {}
        self.on_db = _adapters()
        self.first_days = _FirstPurchaseDays()
        self._deferred_indexes: dict[str, list[str]] = {}  # stage of `finish` -> CREATE INDEX statements

    def prepare_bulk_load(self, *, expected_rows: int) -> None:
        """Call once, before the first batch, with an estimate of the file's rows: a load that will be most of
        the orders table leaves some of its indexes to be built at the end (core.bulk.drop_indexes; SQLite)."""
        if connection.vendor != "sqlite" or expected_rows < BULK_LOAD_ROWS or self.has_orders_on_file():
            return  # small, or much of it may be on file already (a re-import)
        if expected_rows < Order.objects.count():
            return  # small beside the table: building its indexes again would cost more than it saves
        self._deferred_indexes = {
            stage: [sql for model, names in indexes.items() for sql in drop_indexes(model, names)]
            for stage, indexes in _DEFERRED_INDEXES.items()
        }

    # --- batches
    def write_batch(self, rows: Sequence[OrderRecord | UnchangedRow]) -> None:
        latest = self._latest_state(rows)
        records = [r for r in latest if not isinstance(r, UnchangedRow)]
        self._count_unchanged_rows([r for r in latest if isinstance(r, UnchangedRow)])
        owners = self._resolve_customers(records)
        self._write_orders(records, owners)

    def has_orders_on_file(self) -> bool:
        """Whether the store has orders before this import (else no row of the file can be on file already)."""
        return store_has_orders(self.shop, self.store)

    def known_rows(self, pairs: list[tuple[str, int]]) -> dict[tuple[str, int], StoredOrder]:
        """Of these (order number, source digest) pairs, the orders stored from a row with that very digest
        (records.KnownRows). Only orders with a customer: one whose customer was deleted is read again, so
        that its buyer finds a customer anew."""
        wanted = set(pairs)
        rows = rows_where_in(Order, ("id", "external_id", "source_digest", "customer", "status", "refunded_amount"),
                             equal={"shop": self.shop.pk, "store": self.store.pk}, field="external_id",
                             values=list({number for number, _ in wanted}))
        return {
            (number, digest): StoredOrder(id=pk, rank=_rank(status, refunded))
            for pk, number, digest, owner, status, refunded in rows
            if owner is not None and (number, digest) in wanted
        }

    def _count_unchanged_rows(self, rows: list[UnchangedRow]) -> None:
        """Rows exactly as stored (the latest state of their order in this batch): nothing to write."""
        ours = sum(self._is_ours(row.stored.id) for row in rows)
        self.counts.orders_in_file += len(rows)
        self.counts.duplicate_orders += ours  # stored by an earlier row of this file: the same order again
        self.counts.unchanged_orders += len(rows) - ours

    def finish(self) -> None:
        """Make the planned merges and recompute the purchase figures of every customer this import touched (and
        build the indexes a bulk load left out)."""
        indexes, self._deferred_indexes = self._deferred_indexes, {}
        create_indexes(indexes.get("merges", []))
        for requests in _merge_rounds(self._merges):
            merge_customers(shop=self.shop, requests=requests, source=self.source, notify=False)
        self._merges, self._kept_of = [], {}
        create_indexes(indexes.get("figures", []))
        if self.touched:
            # Always by id chunks, even when most customers were touched: one UPDATE over every order
            # makes SQLite collect all their rowids in memory first (+190 MB for a million orders).
            refresh_customer_stats(shop=self.shop, customer_ids=self.touched)
        create_indexes(indexes.get("after", []))
        self._refresh_planner_statistics()

    def _refresh_planner_statistics(self) -> None:
        """PostgreSQL, after a large import: ANALYZE the tables it filled, inside its transaction (ANALYZE counts
        the transaction's own new rows). Until autovacuum gets to them the planner knows nothing of the new rows,
        and a re-import right after a 1M-row first import took 93 s instead of 18 s (bench/RESULTS.md). SQLite
        has no statistics here: its plans are chosen by rule, and the indexes are made for that."""
        if connection.vendor != "postgresql" or self.counts.new_orders < BULK_LOAD_ROWS:
            return
        tables = ", ".join(connection.ops.quote_name(model._meta.db_table) for model in _FILLED_BY_IMPORTS)
        with connection.cursor() as cursor:
            cursor.execute(f"ANALYZE {tables}")

    def _latest_state(self, rows: Sequence[OrderRecord | UnchangedRow]) -> list[OrderRecord | UnchangedRow]:
        """One row per order number: the furthest along its life (a tie goes to the later row)."""
        by_number: dict[str, OrderRecord | UnchangedRow] = {}
        for row in rows:
            seen = by_number.get(row.external_id)
            if seen is None or _rank_of(row) >= _rank_of(seen):
                by_number[row.external_id] = row
        self.counts.duplicate_orders += len(rows) - len(by_number)
        return list(by_number.values())

    # --- customers
    def _resolve_customers(self, records: list[OrderRecord]) -> list[int | None]:
        keys = [_keys_of(r) for r in records]
        known = self._known_owners({k for ks in keys for k in ks})
        owners = _owners_if_all_known(keys, known)
        if owners is not None:  # the usual case of a re-import: nothing to create, attach or merge
            return owners
        plan = self._plan(keys, known)
        self._create_customers(records, keys, plan)
        self._attach_keys(records, keys, known, plan)
        self._plan_merges(plan.merges)
        return [plan.owner_of_group[ks[0]] if ks else None for ks in keys]

    def _plan_merges(self, requests: list[MergeRequest]) -> None:
        self._merges.extend(requests)
        self._kept_of.update((m.absorbed_id, m.kept_id) for m in requests)
        self.counts.merges += len(requests)
        # an account created by this import and merged at once is a new identity, not a new person
        self.counts.new_customers -= sum(self._is_new_customer(m.absorbed_id) for m in requests)
        self.touched.update(i for m in requests for i in (m.kept_id, m.absorbed_id))

    def _keeper(self, customer_id: int) -> int:
        """The customer that will keep this one's rows once the planned merges are made (itself if none)."""
        while (kept := self._kept_of.get(customer_id)) is not None:
            customer_id = kept
        return customer_id

    def _known_owners(self, keys: set[Key]) -> dict[Key, int]:
        owners: dict[Key, int] = {}
        shop = self.shop.pk
        handles = defaultdict(list)
        for key in keys:
            if key[0] == "i":
                handles[key[1]].append(key[2])
        for platform, names in handles.items():
            rows = rows_where_in(PlatformIdentity, ("handle", "customer"), equal={"shop": shop, "platform": platform},
                                 field="handle", values=names)
            owners.update({("i", platform, h): self._keeper(c) for h, c in rows})
        for kind, model, name in (("p", CustomerPhone, "e164"), ("e", CustomerEmail, "email")):
            wanted = [k[1] for k in keys if k[0] == kind]
            rows = rows_where_in(model, (name, "customer"), equal={"shop": shop}, field=name, values=wanted)
            owners.update({(kind, value): self._keeper(c) for value, c in rows})
        return owners

    def _plan(self, keys: list[tuple[Key, ...]], known: dict[Key, int]) -> _Plan:
        """Group records by their first key; join groups sharing a phone/e-mail; decide owners and merges."""
        plan = _Plan()
        links = _UnionFind()
        for record_keys in keys:
            if not record_keys:
                continue
            group = record_keys[0]
            if group in known:
                plan.owner_of_group[group] = known[group]
            elif group not in plan.owner_of_group:
                plan.owner_of_group[group] = 0  # placeholder until ids are reserved below
                plan.new_groups.append(group)
            for key in record_keys:
                links.union(group, key)
        new_ids = reserve_ids(Customer, len(plan.new_groups))
        if new_ids and self.first_new_customer_id is None:
            self.first_new_customer_id = new_ids[0]
            self.first_days.start_at(new_ids[0])
        plan.owner_of_group.update(zip(plan.new_groups, new_ids, strict=True))
        members: dict[Key, set[int]] = defaultdict(set)
        for group, owner in plan.owner_of_group.items():
            members[links.find(group)].add(owner)
        for key, owner in known.items():
            members[links.find(key)].add(owner)
        people = [customers for customers in members.values() if len(customers) > 1]
        if people:
            shared = self._shared_keys(keys, known, plan)
            for customers in people:
                plan.merges.extend(self._merges_within(customers, shared))
        return plan

    def _merges_within(self, customers: set[int], shared: dict[int, Key]) -> list[MergeRequest]:
        survivor = min(customers)  # the oldest record (new ids come after every existing one)
        return [
            MergeRequest(kept_id=survivor, absorbed_id=c, reason=_reason(shared[c]), evidence=_evidence(shared[c]))
            for c in sorted(customers - {survivor})
            if frozenset((survivor, c)) not in self.kept_apart and c in shared
        ]

    @staticmethod
    def _shared_keys(keys: list[tuple[Key, ...]], known: dict[Key, int], plan: _Plan) -> dict[int, Key]:
        """For each customer, a phone/e-mail key it shares with another customer (of the same person: a
        shared key links its users into one group). Once per batch, not per group: groups are many."""
        users: dict[Key, set[int]] = defaultdict(set)
        for record_keys in keys:
            if record_keys and (owner := plan.owner_of_group.get(record_keys[0])) is not None:
                for key in record_keys:
                    if key[0] != "i":  # identities belong to one customer; phones and e-mails can be shared
                        users[key].add(owner)
        for key, owner in known.items():
            if key[0] != "i":
                users[key].add(owner)
        shared: dict[int, Key] = {}
        for key in sorted(key for key, owners in users.items() if len(owners) > 1):
            for owner in users[key]:
                shared.setdefault(owner, key)
        return shared

    def _create_customers(self, records: list[OrderRecord], keys: list[tuple[Key, ...]], plan: _Plan) -> None:
        if not plan.new_groups:
            return
        first: dict[Key, OrderRecord] = {}
        for record, record_keys in zip(records, keys, strict=True):
            if record_keys and record_keys[0] in plan.owner_of_group:
                seen = first.get(record_keys[0])
                if seen is None or record.ordered_at < seen.ordered_at:
                    first[record_keys[0]] = record
        groups = plan.new_groups
        buyers = [first[g].buyer for g in groups]
        insert_rows(Customer, {
            "id": [plan.owner_of_group[g] for g in groups],
            "shop": [self.shop.pk] * len(groups),
            "name": [_display_name(b) for b in buyers],
            "registered_store": [self.store.pk] * len(groups),
            "registered_at": [self.on_db.datetime(first[g].ordered_at) for g in groups],
            "completeness": [_imported_completeness(b) for b in buyers],
            "net_spend": [0] * len(groups),
        }, len(groups))
        self.counts.new_customers += len(groups)
        self.touched.update(plan.owner_of_group[g] for g in groups)

    def _attach_keys(
        self, records: list[OrderRecord], keys: list[tuple[Key, ...]], known: dict[Key, int], plan: _Plan,
    ) -> None:
        """New identities, full phones and e-mails go to their record's customer; new customers also keep
        a masked phone (for phone-tail search) and their first address."""
        new_owner = {plan.owner_of_group[g] for g in plan.new_groups}
        taken: set[Key] = set(known)
        rows: dict[type, list[dict[str, Any]]] = defaultdict(list)
        has_phone: set[int] = set()
        has_address: set[int] = set()
        for record, record_keys in zip(records, keys, strict=True):
            if not record_keys:
                continue
            owner = plan.owner_of_group[record_keys[0]]
            buyer = record.buyer
            for key in record_keys:
                if key in taken:
                    continue
                taken.add(key)
                rows[_MODEL_OF[key[0]]].append(_key_row(key, owner, buyer, primary=owner not in has_phone))
                if key[0] == "p":
                    has_phone.add(owner)
            if owner in new_owner and buyer.phone and buyer.phone.e164 is None and owner not in has_phone:
                has_phone.add(owner)
                rows[CustomerPhone].append({"customer": owner, "e164": None, "masked": buyer.phone.masked,
                                            "tail4": buyer.phone.tail4, "is_primary": True})
            if owner in new_owner and buyer.address and owner not in has_address:
                has_address.add(owner)
                rows[Address].append({"customer": owner, "recipient": buyer.recipient[:100],
                                      "region": buyer.region[:100], "detail": buyer.address[:300], "is_default": True})
        now = self.on_db.datetime(timezone.now())
        for model, items in rows.items():
            if sort_key := _UNIQUE_KEY_OF.get(model):
                items.sort(key=sort_key)  # the unique index is written leaf after leaf (see _insert_orders)
            columns = {name: [item[name] for item in items] for name in items[0]}
            columns.update(shop=[self.shop.pk] * len(items), created_at=[now] * len(items))
            insert_rows(model, columns, len(items))

    # --- orders
    def _write_orders(self, records: list[OrderRecord], owners: list[int | None]) -> None:
        existing = self._existing_orders([r.external_id for r in records])
        products = self._product_ids({line.sku for r in records for line in r.lines if line.sku})
        fresh, changed = [], []
        for record, owner in zip(records, owners, strict=True):
            self.counts.orders_in_file += 1
            before = existing.get(record.external_id)
            if before is None:
                fresh.append((record, owner))
            elif _rank(record.status, _fen(record.refunded_amount)) < before["rank"]:
                # an older state of an order already on file (an earlier export, or an earlier row of this
                # one): the order never goes back, so the row changes nothing
                self.counts.older_states += 1
            elif self._is_ours(before["id"]):
                self.counts.duplicate_orders += 1
                changed.append((record, before))
            elif _digest(record) != before["digest"] and self._really_changed(record, before):
                self.counts.updated_orders += 1
                changed.append((record, before))
            else:
                self.counts.unchanged_orders += 1
                if before["customer_id"] is None and owner is not None:
                    changed.append((record, {**before, "customer_id": owner}))
        fresh_ids = self._insert_orders(fresh, products)
        self._update_orders(changed, products)
        self._hand_over_refund_reasons(records, existing, fresh_ids)

    def _hand_over_refund_reasons(self, records: list[OrderRecord], existing: dict[str, dict[str, Any]],
                                  fresh_ids: dict[str, int]) -> None:
        """Give the refund-reason listeners each refunded order's platform reason text. An older state of an
        order already on file is left out (its reason, if any, came with the later state)."""
        reasons = []
        for record in records:
            if not record.refund_reason or record.refunded_amount <= 0:
                continue
            before = existing.get(record.external_id)
            if before is not None and _rank(record.status, _fen(record.refunded_amount)) < before["rank"]:
                continue
            order_id = before["id"] if before is not None else fresh_ids[record.external_id]
            reasons.append(ImportedRefundReason(order_id=order_id, text=record.refund_reason,
                                                refunded_amount=record.refunded_amount))
        refund_reasons_imported(shop=self.shop, reasons=reasons)

    def _is_new_customer(self, customer_id: int) -> bool:
        return self.first_new_customer_id is not None and customer_id >= self.first_new_customer_id

    def _is_ours(self, order_id: int) -> bool:
        return self.first_new_order_id is not None and order_id >= self.first_new_order_id

    def _existing_orders(self, numbers: list[str]) -> dict[str, dict[str, Any]]:
        rows = rows_where_in(Order, ("id", "external_id", "customer", "state_digest", "status", "refunded_amount"),
                             equal={"shop": self.shop.pk, "store": self.store.pk}, field="external_id", values=numbers)
        return {
            number: {"id": pk, "customer_id": owner, "digest": digest, "rank": _rank(status, refunded)}
            for pk, number, owner, digest, status, refunded in rows
        }

    def _really_changed(self, record: OrderRecord, before: dict[str, Any]) -> bool:
        """The digest differs: compare the stored facts themselves (orders entered by hand or through the
        API have no digest, and an equal state written differently must not count as an update)."""
        stored = Order.objects.filter(pk=before["id"]).values_list(*_STATE_FIELDS).get()
        return _state(record) != stored

    def _product_ids(self, skus: set[str]) -> dict[str, int]:
        if not skus:
            return {}
        return dict(Product.objects.for_shop(self.shop).filter(sku__in=skus).values_list("sku", "id"))

    def _insert_orders(self, fresh: list[tuple[OrderRecord, int | None]], products: dict[str, int]) -> dict[str, int]:
        """Insert the new orders and their lines; their ids by external order number (rows go in sorted)."""
        if not fresh:
            return {}
        # In customer order (ids follow it): the two per-customer order indexes are then written leaf after
        # leaf instead of one random leaf per row, which is a page read and a later write once the tables
        # outgrow SQLite's page cache. The by-day and by-number indexes stay local: a batch spans little time.
        fresh = sorted(fresh, key=_owner_or_zero)
        ids = reserve_ids(Order, len(fresh))
        if self.first_new_order_id is None:
            self.first_new_order_id = ids[0]
        shop, store, on_db, is_repeat = self.shop.pk, self.store.pk, self.on_db, self.first_days.is_repeat
        rows = []
        for order_id, (record, owner) in zip(ids, fresh, strict=True):
            columns = _columns_of(record, on_db)
            rows.append((order_id, shop, store, owner, *columns[:-1], is_repeat(owner, columns[-1])))
        insert_tuples(Order, ("id", "shop", "store", "customer", *_ORDER_FIELDS), rows)
        n = len(fresh)
        self._insert_lines(list(zip(ids, (r for r, _ in fresh), strict=True)), products)
        self.counts.new_orders += n
        self.touched.update(owner for _, owner in fresh if owner is not None)
        return {record.external_id: order_id for order_id, (record, _) in zip(ids, fresh, strict=True)}

    def _insert_lines(self, orders: list[tuple[int, OrderRecord]], products: dict[str, int]) -> None:
        shop = self.shop.pk
        insert_tuples(OrderLine, ("shop", "order", "product", "sku", "title", "quantity", "unit_price", "line_amount"), [
            (shop, order_id, products.get(line.sku), line.sku[:64], line.title[:200], line.quantity,
             _fen(line.unit_price), _fen(line.line_amount))
            for order_id, record in orders for line in record.lines
        ])

    def _update_orders(self, changed: list[tuple[OrderRecord, dict[str, Any]]], products: dict[str, int]) -> None:
        if not changed:
            return
        update_rows(Order, [*_ORDER_FIELDS, "customer"], [
            # the repeat flag as a guess of "no": `finish` sets it right for every customer touched
            (*_columns_of(record, self.on_db)[:-1], False, before["customer_id"], before["id"])
            for record, before in changed
        ])
        OrderLine.objects.filter(shop=self.shop, order_id__in=[b["id"] for _, b in changed]).delete()
        self._insert_lines([(before["id"], record) for record, before in changed], products)
        self.touched.update(b["customer_id"] for _, b in changed if b["customer_id"] is not None)


def store_has_orders(shop: Shop, store: Store) -> bool:
    return Order.objects.filter(shop=shop, store=store).exists()


# --- pure helpers
_STATE_FIELDS = (
    "status", "ordered_at", "paid_at", "paid_amount", "refunded_amount", "goods_amount", "shipping_amount",
    "discount_amount", "items_count", "note",
)
_MODEL_OF = {"i": PlatformIdentity, "p": CustomerPhone, "e": CustomerEmail}
_UNIQUE_KEY_OF: dict[type, Callable[[dict[str, Any]], Any]] = {
    PlatformIdentity: lambda row: (row["platform"], row["handle"]),
    CustomerPhone: lambda row: row["e164"] or "",
    CustomerEmail: lambda row: row["email"],
}


def _keys_of(record: OrderRecord) -> tuple[Key, ...]:
    """The record's identifying keys, strongest first: platform identity, full phone, e-mail."""
    buyer = record.buyer
    if buyer is None:
        return ()
    keys: list[Key] = []
    if buyer.handle:
        keys.append(("i", buyer.platform, buyer.handle[:100]))
    if buyer.phone is not None and buyer.phone.e164:
        keys.append(("p", buyer.phone.e164))
    if buyer.email:
        keys.append(("e", buyer.email[:254]))
    return tuple(keys)


def _owner_or_zero(item: tuple[OrderRecord, int | None]) -> int:
    return item[1] or 0


def _owners_if_all_known(keys: list[tuple[Key, ...]], known: dict[Key, int]) -> list[int | None] | None:
    """Each record's owner when every key of every record is on file and points at one customer (then
    no record links two customers, so there is nothing to merge); None when the full plan is needed."""
    owners: list[int | None] = []
    for record_keys in keys:
        if not record_keys:
            owners.append(None)
            continue
        owner = known.get(record_keys[0])
        if owner is None or any(known.get(key) != owner for key in record_keys[1:]):
            return None
        owners.append(owner)
    return owners


def _key_row(key: Key, owner: int, buyer: Any, *, primary: bool) -> dict[str, Any]:
    if key[0] == "i":
        return {"customer": owner, "platform": key[1], "handle": key[2]}
    if key[0] == "p":
        phone = buyer.phone
        return {"customer": owner, "e164": key[1], "masked": phone.masked, "tail4": phone.tail4, "is_primary": primary}
    return {"customer": owner, "email": key[1]}


def _goods(record: OrderRecord) -> Decimal:
    if record.goods_amount is not None:
        return record.goods_amount
    return sum((line.line_amount for line in record.lines), Decimal("0.00"))


def _state(record: OrderRecord) -> tuple[Any, ...]:
    """The record in the shape of `_STATE_FIELDS` as the ORM reads them back, to spot real changes."""
    return (
        record.status, record.ordered_at, record.paid_at, record.paid_amount, record.refunded_amount,
        _goods(record), record.shipping_amount, record.discount_amount,
        sum(line.quantity for line in record.lines), record.note[:300],
    )


@dataclass(frozen=True)
class _Adapters:
    """This database's value adapters, looked up once per import instead of once per value."""

    datetime: Any = field(default_factory=datetime_adapter)
    date: Any = field(default_factory=date_adapter)


@functools.cache
def _adapters() -> _Adapters:
    return _Adapters()  # the vendor never changes within a process


# An order moves forward only: unpaid → paid → shipped → completed → closed / refunded, and within a
# status its refund can only grow. The furthest state seen is "the latest" (exports carry no change time).
_STATUS_RANK = {"pending": 0, "paid": 1, "shipped": 2, "completed": 3, "closed": 4, "refunded": 5}


def _rank(status: str, refunded_fen: int) -> tuple[int, int]:
    return _STATUS_RANK.get(status, 0), refunded_fen or 0


def _rank_of(row: OrderRecord | UnchangedRow) -> tuple[int, int]:
    if isinstance(row, UnchangedRow):
        return row.stored.rank  # its cells are those of the stored state, so its rank is the stored one
    return _rank(row.status, _fen(row.refunded_amount))


def _amounts_in_fen(record: OrderRecord) -> tuple[int, int, int, int, int]:
    """(paid, refunded, goods, shipping, discount) in fen: worked out once per record, used twice."""
    return (_fen(record.paid_amount), _fen(record.refunded_amount), _fen(_goods(record)),
            _fen(record.shipping_amount), _fen(record.discount_amount))


def _digest(record: OrderRecord, fen: tuple[int, int, int, int, int] | None = None) -> int:
    """A fingerprint of the order's state and lines, so an unchanged order is recognised without reading
    it back: 8 bytes of BLAKE2b over a canonical text (times as epoch seconds, money as fen)."""
    moment = record.paid_at.timestamp() if record.paid_at else None
    canonical = repr((
        record.status, record.ordered_at.timestamp(), moment, *(fen or _amounts_in_fen(record)), record.note[:300],
        [(line.sku, line.title, line.quantity, _fen(line.line_amount)) for line in record.lines],
    ))
    return int.from_bytes(hashlib.blake2b(canonical.encode(), digest_size=8).digest(), "big", signed=True)


# is_repeat last: it is the one column that depends on what came before (see _FirstPurchaseDays), so the rest can
# be worked out ahead (`with_columns`) and the flag appended at writing.
_ORDER_FIELDS = (
    "external_id", "status", "ordered_at", "paid_at", "goods_amount", "shipping_amount", "discount_amount",
    "paid_amount", "refunded_amount", "net_amount", "is_purchase", "purchase_day", "items_count", "note",
    "state_digest", "source_digest", "is_repeat",
)


def with_columns(parsed: Parsed) -> Parsed:
    """The step with its order's columns worked out (OrderRecord.columns): what the parse process does to each
    step (parse_process), so that this work too runs beside the writing."""
    if isinstance(parsed.record, OrderRecord):
        set_columns(parsed.record, _order_columns(parsed.record, _adapters()))
    return parsed


def _columns_of(record: OrderRecord, on_db: _Adapters) -> tuple[Any, ...]:
    return record.columns or _order_columns(record, on_db)


def _order_columns(record: OrderRecord, on_db: _Adapters) -> tuple[Any, ...]:
    """The order's columns in database form, in the order of `_ORDER_FIELDS` but for is_repeat, then the ordinal of
    its purchase day (0: not a purchase) for the repeat guess. A tuple: a million orders make a dict per row count."""
    _, is_purchase, day = derived_figures(
        status=record.status, paid_amount=record.paid_amount, refunded_amount=record.refunded_amount,
        paid_at=record.paid_at, ordered_at=record.ordered_at,
    )
    fen = _amounts_in_fen(record)
    paid, refunded, goods, shipping, discount = fen
    return (
        record.external_id[:64], record.status, on_db.datetime(record.ordered_at), on_db.datetime(record.paid_at),
        goods, shipping, discount, paid, refunded, paid - refunded, is_purchase, on_db.date(day),
        sum(line.quantity for line in record.lines), record.note[:300], _digest(record, fen),
        record.source_digest or None, day.toordinal() if day else 0,
    )


class _FirstPurchaseDays:
    """The earliest purchase day seen so far of each customer this import created, so that their orders go
    in with the repeat flag already right when the file lists a buyer's orders oldest first (as exports in
    time order do). Flipping flags afterwards rewrites the row and two indexes per order: ~700k orders in
    a first import of 1M. A wrong guess (a buyer's earlier order further down the file, a merge) is
    corrected by `finish`, which rewrites only wrong flags. Days are kept as ordinals in an array indexed
    by id (new customers' ids are consecutive): 4 bytes per customer instead of a dict entry."""

    def __init__(self) -> None:
        self.first_id: int | None = None
        self.days = array("i")  # 0: no purchase seen yet

    def start_at(self, first_id: int) -> None:
        self.first_id = first_id

    def is_repeat(self, customer_id: int | None, this: int) -> bool:
        """Whether a purchase on day `this` (an ordinal; 0: not a purchase) is a repeat of the customer's."""
        if not this or customer_id is None or self.first_id is None or customer_id < self.first_id:
            return False  # not a purchase, no buyer, or a customer from before this import: no guess
        index = customer_id - self.first_id
        if index >= len(self.days):
            self.days.extend([0] * (index + 1 - len(self.days)))
        first = self.days[index]
        if first and first < this:
            return True
        self.days[index] = this
        return False


def _merge_rounds(requests: list[MergeRequest]) -> list[list[MergeRequest]]:
    """The planned merges in order, cut into rounds that merge_customers takes in one call: a customer kept in one
    merge and absorbed by a later one (a chain, as a later batch linked her to an older customer) starts a new
    round, so each merge is made as planned and recorded, with the rows it moves, as a merge per batch would."""
    rounds: list[list[MergeRequest]] = []
    kept: set[int] = set()
    absorbed: set[int] = set()
    for request in requests:
        if not rounds or request.absorbed_id in kept or request.kept_id in absorbed:
            rounds.append([])
            kept, absorbed = set(), set()
        rounds[-1].append(request)
        kept.add(request.kept_id)
        absorbed.add(request.absorbed_id)
    return rounds


def _display_name(buyer: Any) -> str:
    if buyer.name:
        return buyer.name[:100]
    if buyer.handle:
        return buyer.handle[:100]
    return buyer.phone.masked if buyer.phone else (buyer.email or "?")[:100]


def _imported_completeness(buyer: Any) -> int:
    return _completeness_of_facts(bool(buyer.name or buyer.handle), bool(buyer.phone), bool(buyer.email),
                                  bool(buyer.address))


@functools.cache
def _completeness_of_facts(name: bool, phone: bool, email: bool, address: bool) -> int:
    known = {"name": name, "phone": phone, "email": email, "address": address}
    return score({fact for fact, present in known.items() if present}).score


def _reason(key: Key) -> str:
    return CustomerMerge.Reason.SAME_EMAIL if key[0] == "e" else CustomerMerge.Reason.SAME_PHONE


def _evidence(key: Key) -> str:
    return mask_email(key[1]) if key[0] == "e" else mask_phone(key[1])


class _UnionFind:
    def __init__(self) -> None:
        self.parent: dict[Key, Key] = {}

    def find(self, key: Key) -> Key:
        root = key
        while (up := self.parent.get(root, root)) != root:
            root = up
        while key != root:  # path compression keeps later finds short
            self.parent[key], key = root, self.parent.get(key, key)
        return root

    def union(self, a: Key, b: Key) -> None:
        root_a, root_b = self.find(a), self.find(b)
        if root_a != root_b:
            self.parent[root_b] = root_a
