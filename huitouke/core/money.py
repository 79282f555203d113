"""Money is Decimal CNY with 2 places; the database keeps it as integer fen (分).

Integer storage keeps sums exact on SQLite too, where DECIMAL columns are floats underneath.
"""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.db import models

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
_FULLWIDTH = str.maketrans("０１２３４５６７８９．，－", "0123456789.,-")
_NOISE = re.compile(r"[¥￥,\s元RMBCNY]")


class MoneyError(ValueError):
    pass


def money(value: Any) -> Decimal:
    """Parse a price as shops write it (¥1,299.00, full-width digits, int, Decimal) into Decimal(0.01)."""
    if isinstance(value, Decimal):
        amount = value
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, float):
        amount = Decimal(repr(value))
    elif isinstance(value, str):
        text = _NOISE.sub("", value.translate(_FULLWIDTH))
        if not text:
            raise MoneyError(f"not an amount: {value!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyError(f"not an amount: {value!r}") from exc
    else:
        raise MoneyError(f"not an amount: {value!r}")
    if not amount.is_finite():
        raise MoneyError(f"not an amount: {value!r}")
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_fen(amount: Decimal) -> int:
    return int(money(amount) * 100)


def from_fen(fen: int | None) -> Decimal:
    return ZERO if fen is None else (Decimal(int(fen)) / 100).quantize(CENT)


def fmt(amount: Decimal | None) -> str:
    """Money as the API and reports print it: a string with exactly two decimals."""
    return f"{(amount or ZERO).quantize(CENT)}"


class MoneyField(models.BigIntegerField):
    """A Decimal(0.01) in Python, an integer number of fen in the database."""

    description = "Money (CNY) stored as integer fen"

    def from_db_value(self, value: Any, expression: Any, connection: Any) -> Decimal | None:
        return None if value is None else from_fen(value)

    def to_python(self, value: Any) -> Decimal | None:
        if value is None or isinstance(value, Decimal):
            return value
        try:
            return money(value)
        except MoneyError as exc:
            from django.core.exceptions import ValidationError

            raise ValidationError(str(exc)) from exc

    def get_prep_value(self, value: Any) -> int | None:
        if value is None:
            return None
        if hasattr(value, "resolve_expression"):
            return value
        return to_fen(money(value))

    def formfield(self, **kwargs: Any) -> Any:
        from django import forms

        return forms.DecimalField(max_digits=14, decimal_places=2, **kwargs)
