"""API pieces every app shares (paging, money and id types, the caller) and GET /me."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from django.db.models import QuerySet
from django.http import HttpRequest
from ninja import Router, Schema
from pydantic import BeforeValidator, ConfigDict, Field, PlainSerializer, WithJsonSchema, model_validator

from huitouke.core.models import Staff
from huitouke.core.money import MoneyError, fmt, money

MAX_ID = 2**63 - 1  # larger ids cannot exist; without a bound the database driver would overflow
MAX_PAGE_SIZE = 200
DEFAULT_PAGE_SIZE = 50

router = Router(tags=["me"])

Id = Annotated[int, Field(ge=1, le=MAX_ID)]


MAX_AMOUNT = Decimal("100000000")  # ¥100 million: far above any order, far below integer-fen overflow


def _parse_money(value: Any) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("an amount must be a string or a number, e.g. \"129.00\"")
    try:
        amount = money(value)
    except (MoneyError, ArithmeticError) as exc:  # ArithmeticError: e.g. "1e99" cannot be quantised
        raise ValueError(f"not an amount: {value!r}") from exc
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"amounts must be below {MAX_AMOUNT}")
    return amount


def _reject_nul(value: Any) -> Any:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValueError("text must not contain NUL characters")
    elif isinstance(value, dict):
        for item in value.values():
            _reject_nul(item)
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item)
    return value


class StrictSchema(Schema):
    """Input schema: unknown fields are errors (not silently dropped); NUL characters are refused
    (PostgreSQL cannot store them)."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _no_nul(cls, data: Any) -> Any:
        return _reject_nul(data)


MoneyIn = Annotated[
    Decimal,
    BeforeValidator(_parse_money),
    WithJsonSchema({"anyOf": [{"type": "string"}, {"type": "number"}], "examples": ["129.00"]}),
]
"""An amount as a string ("1,299.00", "¥88") or a number; negative ones are refused by the services."""

MoneyOut = Annotated[
    Decimal,
    PlainSerializer(fmt, return_type=str),
    WithJsonSchema({"type": "string", "examples": ["129.00"]}),
]
"""Money as the API prints it: a string with exactly two decimals."""


class PageQuery(Schema):
    page: int = Field(1, ge=1, le=1_000_000, description="1-based page number")
    page_size: int = Field(DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)


SearchText = Annotated[str, Field(max_length=100, pattern=r"^[^\x00]*$")]


class PageInfo(Schema):
    count: int
    page: int
    page_size: int
    next_page: int | None
    previous_page: int | None


def paginate(queryset: QuerySet, page: PageQuery) -> tuple[list[Any], dict[str, Any]]:
    """One page of an explicitly ordered queryset, plus count and neighbour page numbers."""
    count = queryset.count()
    start = (page.page - 1) * page.page_size
    items = list(queryset[start:start + page.page_size])
    info = {
        "count": count,
        "page": page.page,
        "page_size": page.page_size,
        "next_page": page.page + 1 if start + page.page_size < count else None,
        "previous_page": page.page - 1 if page.page > 1 else None,
    }
    return items, info


def caller(request: HttpRequest) -> Staff:
    """The staff member whose token authenticated this request."""
    return request.staff


def actor(request: HttpRequest) -> str:
    """How access-log rows name an API caller: username and token prefix."""
    return f"{request.staff.user.username} (api {request.api_token.prefix})"[:100]


class ShopOut(Schema):
    slug: str
    name: str


class StaffOut(Schema):
    username: str
    display_name: str
    role: str
    can_view_pii: bool


class TokenOut(Schema):
    prefix: str
    name: str


class MeOut(Schema):
    shop: ShopOut
    staff: StaffOut
    token: TokenOut


@router.get("/me", response=MeOut, summary="Who this token belongs to")
def me(request: HttpRequest) -> dict[str, Any]:
    staff = caller(request)
    return {
        "shop": {"slug": request.shop.slug, "name": request.shop.name},
        "staff": {
            "username": staff.user.username, "display_name": staff.display_name, "role": staff.role,
            "can_view_pii": staff.can_view_pii,
        },
        "token": {"prefix": request.api_token.prefix, "name": request.api_token.name},
    }
