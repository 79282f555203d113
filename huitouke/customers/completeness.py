"""Profile completeness: hard profile weighs 20%, soft profile 80% (DOMAIN §1)."""

from __future__ import annotations

from dataclasses import dataclass

HARD_WEIGHT = 20
SOFT_WEIGHT = 80

HARD_FIELDS = ("name", "gender", "birthday", "age", "ethnicity", "phone", "email", "address", "clothing_size")
SOFT_FIELDS = (
    "occupation", "family", "personality", "shopping_habits", "style_preferences",
    "hobbies", "lifestyle", "preferred_channel", "values", "promotion_consent",
)


@dataclass(frozen=True)
class Completeness:
    score: int  # 0..100
    hard_filled: tuple[str, ...]
    soft_filled: tuple[str, ...]

    @property
    def hard_missing(self) -> tuple[str, ...]:
        return tuple(f for f in HARD_FIELDS if f not in self.hard_filled)

    @property
    def soft_missing(self) -> tuple[str, ...]:
        return tuple(f for f in SOFT_FIELDS if f not in self.soft_filled)


def score(filled: set[str]) -> Completeness:
    """Weighted share of known facts; `filled` names the facts that are known."""
    hard = tuple(f for f in HARD_FIELDS if f in filled)
    soft = tuple(f for f in SOFT_FIELDS if f in filled)
    value = HARD_WEIGHT * len(hard) / len(HARD_FIELDS) + SOFT_WEIGHT * len(soft) / len(SOFT_FIELDS)
    return Completeness(score=round(value), hard_filled=hard, soft_filled=soft)


def known_facts(customer, *, has_phone: bool, has_email: bool, has_address: bool, has_consent: bool) -> set[str]:
    """Which profile facts are known for this customer (related rows passed in as flags)."""
    facts = {
        "name": bool(customer.name),
        "gender": bool(customer.gender),
        "birthday": bool(customer.birth_month and customer.birth_day),
        "age": bool(customer.approx_age or customer.birth_year),
        "ethnicity": bool(customer.ethnicity),
        "phone": has_phone,
        "email": has_email,
        "address": has_address,
        "clothing_size": bool(customer.clothing_size),
        "promotion_consent": has_consent,
    }
    for field in SOFT_FIELDS:
        if field != "promotion_consent":
            facts[field] = bool(getattr(customer, field))
    return {name for name, known in facts.items() if known}
