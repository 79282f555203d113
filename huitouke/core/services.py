"""Writes for tenancy: shops, stores, staff and API tokens."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from huitouke.core.dblock import write_turn
from huitouke.core.errors import Conflict, Forbidden, Invalid, NotFound
from huitouke.core.models import MANAGER_ROLES, ApiToken, Platform, Role, Shop, ShopScoped, Staff, Store
from huitouke.core.prepared import Prepared

SettingsModel = TypeVar("SettingsModel", bound=ShopScoped)

TOKEN_PREFIX = "htk_"


def _check_slug(slug: str) -> str:
    clean = slugify(slug)
    if not clean or clean != slug:
        raise Invalid(_("'%(slug)s' is not a valid slug: use lowercase letters, digits and dashes"), field="slug",
                      params={"slug": slug})
    return clean


@transaction.atomic
def purge_shop(*, shop: Shop, progress: Callable[[int, int], None] | None = None) -> None:
    """Delete a shop with every row of it, in every app, and its staff's logins (the demo's reset).

    One DELETE per table, children before the tables they point at: the ORM's cascade would load every row,
    and ledgers protect theirs from it. SQLite checks a deleted row's foreign keys against the tables that
    point at it, so deleting a parent first would scan its children once per row."""
    tables = _children_first([m for m in apps.get_models() if _shop_field(m) is not None])
    user_ids = list(Staff.objects.for_shop(shop).values_list("user_id", flat=True))
    with transaction.atomic(), connection.cursor() as cursor:
        for step, model in enumerate(tables):
            if progress is not None:
                progress(step, len(tables))
            cursor.execute(f"DELETE FROM {connection.ops.quote_name(model._meta.db_table)} WHERE "
                           f"{connection.ops.quote_name(_shop_field(model).column)} = %s", [shop.pk])
        Shop.objects.filter(pk=shop.pk).delete()
        get_user_model().objects.filter(pk__in=user_ids).delete()
    if progress is not None:
        progress(len(tables), len(tables))


def _shop_field(model: type[models.Model]) -> models.Field | None:
    if model._meta.proxy or model is Shop:
        return None
    return next((f for f in model._meta.concrete_fields if f.is_relation and f.related_model is Shop), None)


def _children_first(tables: list[type[models.Model]]) -> list[type[models.Model]]:
    """The tables ordered so that each comes before every table it points at (a depth-first post-order over
    "is pointed at by"; a reference cycle, if any, is broken anywhere, which the deferred keys allow)."""
    children: dict[type[models.Model], list[type[models.Model]]] = {model: [] for model in tables}
    for model in tables:
        for field in model._meta.concrete_fields:
            if field.is_relation and field.related_model in children and field.related_model is not model:
                children[field.related_model].append(model)
    ordered: list[type[models.Model]] = []
    seen: set[type[models.Model]] = set()

    def visit(model: type[models.Model]) -> None:
        if model not in seen:
            seen.add(model)
            for child in children[model]:
                visit(child)
            ordered.append(model)

    for model in tables:
        visit(model)
    return ordered


def create_shop(*, slug: str, name: str) -> Shop:
    _check_slug(slug)
    if Shop.objects.filter(slug=slug).exists():
        raise Conflict(_("a shop with slug '%(slug)s' already exists"), field="slug", params={"slug": slug})
    return Shop.objects.create(slug=slug, name=name or slug)


@transaction.atomic
def create_store(*, shop: Shop, slug: str, platform: str, name: str = "") -> Store:
    _check_slug(slug)
    if platform not in Platform.values:
        raise Invalid(_("unknown platform '%(platform)s'; use one of %(choices)s"), field="platform",
                      params={"platform": platform, "choices": ", ".join(Platform.values)})
    if Store.objects.for_shop(shop).filter(slug=slug).exists():
        raise Conflict(_("shop '%(shop)s' already has a store '%(store)s'"), field="slug",
                       params={"shop": shop.slug, "store": slug})
    return Store.objects.create(shop=shop, slug=slug, platform=platform, name=name or slug)


@transaction.atomic
def create_staff(
    *, shop: Shop, username: str, password: str | None, role: str = Role.ASSOCIATE,
    display_name: str = "", store: Store | None = None,
) -> Staff:
    if role not in Role.values:
        raise Invalid(_("unknown role '%(role)s'; use one of %(choices)s"), field="role",
                      params={"role": role, "choices": ", ".join(Role.values)})
    user_model = get_user_model()
    if user_model.objects.filter(username=username).exists():
        raise Conflict(_("the username '%(username)s' is taken"), field="username", params={"username": username})
    user = user_model.objects.create_user(username=username, password=password)
    if password is None:
        user.set_unusable_password()
        user.save(update_fields=["password"])
    return Staff.objects.create(shop=shop, user=user, role=role, display_name=display_name or username, store=store)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@transaction.atomic
def create_token(*, staff: Staff, name: str = "api") -> tuple[ApiToken, str]:
    """Return the stored token row and the plain token, which is never stored and shown only now."""
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    try:
        row = ApiToken.objects.create(
            shop=staff.shop, staff=staff, name=name, prefix=plain[:10], token_hash=_hash(plain)
        )
    except IntegrityError as exc:  # a 256-bit collision: report rather than hide it
        raise Conflict("token collision, try again") from exc
    return row, plain


# Every API call reads it: compiled once (core.prepared).
_ACTIVE_TOKEN = Prepared(lambda token_hash: ApiToken.objects.select_related("staff", "staff__user", "shop").filter(
    token_hash=token_hash, revoked_at__isnull=True, staff__user__is_active=True).order_by()[:1])
LAST_USED_STEP = dt.timedelta(minutes=1)  # "last used" is kept to the minute: a till calls many times a second


def authenticate_token(plain: str) -> ApiToken | None:
    """The active token for this secret, with its staff and shop; None when unknown or revoked."""
    if not plain or not plain.startswith(TOKEN_PREFIX):
        return None
    token = _ACTIVE_TOKEN.first(token_hash=_hash(plain))
    now = timezone.now()
    if token is not None and (token.last_used_at is None or now - token.last_used_at >= LAST_USED_STEP):
        # At most one write a minute per token: on SQLite every write waits for the one writer's turn.
        with write_turn():
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return token


@transaction.atomic
def revoke_token(*, shop: Shop, token_id: int) -> ApiToken:
    token = ApiToken.objects.for_shop(shop).filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("no token %(id)s"), params={"id": token_id})
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
    return token


def require_manager(*, shop: Shop, staff: Staff, action: str) -> None:
    """The shop's policy (programme, thresholds, corrections) is for its owner and managers: Forbidden names
    the action ("… can adjust points") otherwise, also for another shop's staff."""
    if staff.shop_id != shop.pk or staff.role not in MANAGER_ROLES:
        raise Forbidden(_("only the shop's owner or a manager can %(action)s"), params={"action": action})


@transaction.atomic
def update_shop_settings(
    model: type[SettingsModel], *, shop: Shop, staff: Staff, allowed: Sequence[str], action: str,
    changes: Mapping[str, Any],
) -> SettingsModel:
    """Change some fields of a one-row-per-shop settings model (thresholds, quality settings …): owner or
    manager only; an unknown field or a value the model's validators refuse changes nothing (Invalid names it)."""
    require_manager(shop=shop, staff=staff, action=action)
    if unknown := set(changes) - set(allowed):
        raise Invalid(_("unknown setting(s): %(fields)s"), field=sorted(unknown)[0],
                      params={"fields": ", ".join(sorted(unknown))})
    row = model.objects.select_for_update().filter(shop=shop).first() or model(shop=shop)
    for name, value in changes.items():
        setattr(row, name, value)
    try:
        row.full_clean(exclude=["shop"])
    except ValidationError as exc:
        name, problems = next(iter(exc.message_dict.items()))
        raise Invalid(_("%(field)s: %(reason)s"), field=name, params={"field": name, "reason": " ".join(problems)}) from exc
    row.save()
    return row


def enqueue_for_every_shop(task: Any) -> list[int]:
    """Queue a per-shop background job (`task(shop_id)`) for every shop; the ids queued, in id order."""
    shop_ids = list(Shop.objects.order_by("id").values_list("id", flat=True))
    for shop_id in shop_ids:
        task.enqueue(shop_id)
    return shop_ids
