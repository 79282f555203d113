"""One person, one customer: merge two records of the same person, and undo a merge.

A merge moves every row that points at the absorbed customer (phones, identities, orders, and
whatever upper apps add later: points, coupons …) to the kept one, found through the model
relations, so a new app's rows follow without changes here. Rows that would break a unique key
(e.g. the same tag on both) stay where they are. The exact ids moved are recorded, so an undo puts
back those rows and nothing that arrived since, and the pair is kept apart from then on.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.apps import apps
from django.db import models, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from huitouke.core.bulk import update_rows
from huitouke.core.errors import Conflict, Invalid, NotFound
from huitouke.core.models import Shop, Staff
from huitouke.customers.extensions import customers_changed_by_merge
from huitouke.customers.models import Customer, CustomerMerge
from huitouke.customers.services import (
    PROFILE_FIELDS,
    _require_pii_role,
    refresh_completeness,
    refresh_completeness_of,
)

CHUNK = 500  # absorbed customers per read of their rows
# Facts the kept record takes from the absorbed one when it lacks them (given back on undo): the profile and
# who referred her (attnames, so no referrer is fetched).
FILLED_ON_MERGE = (*PROFILE_FIELDS, "referred_by_id", "referred_at")


@dataclass(frozen=True)
class MergeRequest:
    kept_id: int
    absorbed_id: int
    reason: str  # a CustomerMerge.Reason value
    evidence: str = ""  # masked: it is shown in lists and logs


@dataclass(frozen=True)
class _Relation:
    model: type[models.Model]
    field: models.ForeignKey
    # other columns of each unique key that includes the customer (or of a model's MERGE_DEDUPE_ON):
    # a row matching one of the kept customer's stays where it is
    unique_with: tuple[tuple[str, ...], ...]

    @property
    def label(self) -> str:
        return self.model._meta.label_lower


def _relations() -> list[_Relation]:
    """Every table pointing at a customer, except the merge history itself and Customer.merged_into (the
    customers she referred do follow her)."""
    found = []
    for rel in Customer._meta.related_objects:
        model = rel.related_model
        if model is CustomerMerge or not isinstance(rel.field, models.ForeignKey):
            continue
        if model is Customer and rel.field.name != "referred_by":
            continue
        found.append(_Relation(model=model, field=rel.field, unique_with=_unique_keys_with(model, rel.field)))
    return found


def _unique_keys_with(model: type[models.Model], field: models.Field) -> tuple[tuple[str, ...], ...]:
    keys: list[tuple[str, ...]] = []
    if field.unique:
        keys.append(())
    for constraint in model._meta.constraints:
        names = tuple(getattr(constraint, "fields", ()) or ())
        if isinstance(constraint, models.UniqueConstraint) and field.name in names:
            keys.append(tuple(model._meta.get_field(n).attname for n in names if n not in (field.name, "shop")))
    if dedupe := getattr(model, "MERGE_DEDUPE_ON", None):
        keys.append(tuple(model._meta.get_field(n).attname for n in dedupe))
    for together in model._meta.unique_together:
        if field.name in together:
            keys.append(tuple(model._meta.get_field(n).attname for n in together if n not in (field.name, "shop")))
    return tuple(keys)


@transaction.atomic
def merge_customers(
    *, shop: Shop, requests: Sequence[MergeRequest], source: str = "", staff: Staff | None = None,
    notify: bool = True,
) -> list[CustomerMerge]:
    """Fold each absorbed customer into its kept one; many pairs at once (imports find thousands)."""
    if not requests:
        return []
    kept_of = _checked_pairs(shop, requests)
    moved: dict[int, dict[str, list[int]]] = defaultdict(dict)
    for relation in _relations():
        for absorbed_id, ids in _move_rows(shop, relation, kept_of).items():
            moved[absorbed_id][relation.label] = ids
    filled = _fill_blank_profile_fields(shop, kept_of)
    _mark_absorbed(shop, kept_of)
    now = timezone.now()
    merges = CustomerMerge.objects.bulk_create([
        CustomerMerge(
            shop=shop, kept_id=r.kept_id, absorbed_id=r.absorbed_id, reason=r.reason, evidence=r.evidence[:100],
            source=source[:100], moved=moved.get(r.absorbed_id, {}), filled_fields=filled.get(r.absorbed_id, []),
            created_at=now, created_by=staff,
        )
        for r in requests
    ])
    refresh_completeness_of(list(Customer.objects.for_shop(shop).filter(pk__in=set(kept_of.values()))))
    if notify:
        customers_changed_by_merge(shop=shop, customer_ids=[*kept_of, *kept_of.values()])
    return merges


def _checked_pairs(shop: Shop, requests: Sequence[MergeRequest]) -> dict[int, int]:
    kept_of: dict[int, int] = {}
    for r in requests:
        if r.kept_id == r.absorbed_id:
            raise Invalid(_("a customer cannot be merged into itself"), field="customer")
        if r.absorbed_id in kept_of:
            raise Invalid(_("customer %(id)s is merged twice in one request"), field="customer",
                          params={"id": r.absorbed_id})
        if r.reason not in CustomerMerge.Reason.values:
            raise Invalid(_("unknown merge reason '%(reason)s'"), field="reason", params={"reason": r.reason})
        kept_of[r.absorbed_id] = r.kept_id
    if set(kept_of) & set(kept_of.values()):
        raise Invalid(_("a customer cannot be kept and merged away in the same request"), field="customer")
    wanted = set(kept_of) | set(kept_of.values())
    live = set(Customer.objects.for_shop(shop).filter(pk__in=wanted).values_list("pk", flat=True))
    if missing := sorted(wanted - live):
        raise NotFound(_("no customer %(id)s (or it was merged already)"), field="customer", params={"id": missing[0]})
    return kept_of


def _move_rows(shop: Shop, relation: _Relation, kept_of: dict[int, int]) -> dict[int, list[int]]:
    """Point the relation's rows of each absorbed customer at its kept one; returns the ids moved."""
    model, fk = relation.model, relation.field.attname
    base = model.objects.filter(shop=shop) if any(f.name == "shop" for f in model._meta.fields) else model.objects
    absorbed_ids = list(kept_of)
    blocked = _rows_that_would_clash(base, relation, kept_of)
    moved: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(absorbed_ids), CHUNK):
        chunk = absorbed_ids[start:start + CHUNK]
        rows = []
        for pk, owner in base.filter(**{f"{fk}__in": chunk}).values_list("pk", fk):
            if pk not in blocked:
                moved[owner].append(pk)
                rows.append((kept_of[owner], pk))
        # by primary key alone (the ids were just read shop-scoped): beside `shop_id = ?`, SQLite walks a (shop, …)
        # index of a table without a one-column shop index (orders): the whole shop, per chunk. One statement run
        # per row: a CASE over the chunk with an IN list of its rows was a new statement each time, ~10 MB apiece
        # in SQLite's statement cache when an import merges thousands.
        update_rows(model, [relation.field.name], rows)
    return {owner: ids for owner, ids in moved.items() if ids}


def _rows_that_would_clash(base: models.QuerySet, relation: _Relation, kept_of: dict[int, int]) -> set[int]:
    fk = relation.field.attname
    blocked: set[int] = set()
    if relation.model is Customer:  # the kept one referred by the absorbed one: she cannot refer herself
        blocked |= {pk for pk, owner in base.filter(**{f"{fk}__in": list(kept_of)}).values_list("pk", fk)
                    if kept_of[owner] == pk}
    for others in relation.unique_with:
        taken = set(base.filter(**{f"{fk}__in": set(kept_of.values())}).values_list(fk, *others))
        for pk, owner, *values in base.filter(**{f"{fk}__in": list(kept_of)}).values_list("pk", fk, *others):
            if (kept_of[owner], *values) in taken:
                blocked.add(pk)
    return blocked


def _fill_blank_profile_fields(shop: Shop, kept_of: dict[int, int]) -> dict[int, list[str]]:
    """Profile facts the kept record lacks are taken from the absorbed one (and given back on undo)."""
    people = Customer.objects.for_shop(shop).in_bulk([*kept_of, *kept_of.values()])
    filled: dict[int, list[str]] = {}
    changed: dict[int, Customer] = {}
    for absorbed_id, kept_id in kept_of.items():
        absorbed, kept = people[absorbed_id], people[kept_id]
        names = [n for n in FILLED_ON_MERGE if _blank(getattr(kept, n)) and not _blank(getattr(absorbed, n))]
        if absorbed.referred_by_id == kept_id:  # she would refer herself
            names = [n for n in names if n not in ("referred_by_id", "referred_at")]
        for name in names:
            setattr(kept, name, getattr(absorbed, name))
        if names:
            filled[absorbed_id] = names
            changed[kept_id] = kept
    if changed:
        Customer.objects.bulk_update(list(changed.values()), list(FILLED_ON_MERGE), batch_size=200)
    return filled


def _blank(value: object) -> bool:
    return value in (None, "", False)


def _mark_absorbed(shop: Shop, kept_of: dict[int, int]) -> None:
    # by primary key: _checked_pairs found every one of them live in this shop
    update_rows(Customer, ["merged_into"], [(kept, absorbed) for absorbed, kept in kept_of.items()])


@transaction.atomic
def undo_merge(*, shop: Shop, merge_id: int, staff: Staff | None = None) -> CustomerMerge:
    """Give the absorbed customer back the rows that moved, and keep the two apart from now on."""
    _require_pii_role(staff, _("undo a merge"), field="merge")
    merge = CustomerMerge.objects.for_shop(shop).select_for_update().filter(pk=merge_id).first()
    if merge is None:
        raise NotFound(_("no merge %(id)s"), field="merge", params={"id": merge_id})
    if merge.undone_at is not None:
        raise Conflict(_("this merge was undone already"), field="merge")
    relations = {r.label: r for r in _relations()}
    holders: set[int] = set()
    for label, ids in merge.moved.items():
        relation = relations.get(label) or _relation_of(label)
        rows = relation.model.objects.filter(pk__in=ids)
        holders.update(rows.values_list(relation.field.attname, flat=True).distinct())
        rows.update(**{relation.field.attname: merge.absorbed_id})
    _give_back_profile_fields(shop, merge)
    Customer.objects.including_merged(shop).filter(pk=merge.absorbed_id).update(merged_into=None)
    merge.undone_at, merge.undone_by = timezone.now(), staff
    merge.save(update_fields=["undone_at", "undone_by"])
    for customer in Customer.objects.for_shop(shop).filter(pk__in=holders | {merge.kept_id, merge.absorbed_id}):
        refresh_completeness(customer)
    customers_changed_by_merge(shop=shop, customer_ids=holders | {merge.kept_id, merge.absorbed_id})
    return merge


def _relation_of(label: str) -> _Relation:
    model = apps.get_model(label)
    field = next(f for f in model._meta.fields if isinstance(f, models.ForeignKey) and f.related_model is Customer)
    return _Relation(model=model, field=field, unique_with=())


def _give_back_profile_fields(shop: Shop, merge: CustomerMerge) -> None:
    """Clear the facts the merge copied onto the kept record, unless staff have changed them since."""
    people = Customer.objects.including_merged(shop).in_bulk([merge.kept_id, merge.absorbed_id])
    kept, absorbed = people[merge.kept_id], people[merge.absorbed_id]
    names = [n for n in merge.filled_fields if getattr(kept, n) == getattr(absorbed, n)]
    for name in names:
        setattr(kept, name, Customer._meta.get_field(name).get_default())
    if names:
        kept.save(update_fields=names)


def kept_apart(*, shop: Shop) -> set[frozenset[int]]:
    """Pairs whose merge was undone: a later import must not join them again."""
    pairs = CustomerMerge.objects.for_shop(shop).filter(undone_at__isnull=False).values_list("kept_id", "absorbed_id")
    return {frozenset(pair) for pair in pairs}


def merges_of(*, shop: Shop, customer_ids: Iterable[int]) -> list[CustomerMerge]:
    """Merge history touching these customers, newest first (the 360 page lists it with undo buttons)."""
    ids = list(customer_ids)
    return list(
        CustomerMerge.objects.for_shop(shop).filter(Q(kept_id__in=ids) | Q(absorbed_id__in=ids))
        .select_related("absorbed", "kept")
    )
