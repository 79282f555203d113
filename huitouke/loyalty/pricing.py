"""Pricing a checkout: member discount, coupon, points, free shipping and the margin guard.

Pure arithmetic on integer fen (no database), so every rule here is tested directly and the quote and
the commit can never disagree. The rules, in the order they apply:

1. Profit (利润) products take no discount of any kind, unless a coupon template's owner override says
   so for that coupon alone.
2. The member discount (tier percent, plus the tier's birthday extra in the birthday month) applies to
   every other line.
3. A coupon applies to the lines of its product roles. Its minimum spend is measured on those lines'
   full price. A coupon that does not stack with the member discount replaces it when it is worth more
   and is dropped (with a warning) when it is not.
4. Points pay for what is left on the discountable lines, at the shop's rate.
5. The tier's free shipping waives the shipping fee.
6. Margin guard: everything given away (1–5) may not pass the shop's limit, as a share of the full
   price of goods plus shipping. A quote that breaks it is refused, naming the rule and the excess.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.utils.translation import gettext_noop

PROFIT = "profit"


class PricingError(ValueError):
    """The order cannot be priced as asked; `rule` names the rule, `field` the input to change.

    `text` is the English template (``%(name)s`` placeholders filled from `params`), kept apart so the
    service can hand it on as a translatable domain error; `message` is the filled English text.
    """

    def __init__(
        self, text: str, *, rule: str, field: str | None = None, params: Mapping[str, object] | None = None,
    ) -> None:
        self.text = text
        self.params = dict(params or {})
        self.message = text % self.params if self.params else text
        super().__init__(self.message)
        self.rule = rule
        self.field = field


@dataclass(frozen=True)
class LineIn:
    sku: str
    title: str
    role: str
    quantity: int
    unit_price_fen: int


@dataclass(frozen=True)
class MemberTerms:
    tier_name: str
    discount_percent: Decimal = Decimal(0)
    birthday_extra_percent: Decimal = Decimal(0)  # 0 outside the birthday month
    free_shipping: bool = False
    points_multiplier: Decimal = Decimal(1)


@dataclass(frozen=True)
class CouponTerms:
    code: str
    name: str
    kind: str  # "amount_off" | "percent_off"
    value: Decimal  # yuan off, or percent off
    min_spend_fen: int
    roles: frozenset[str]
    allow_profit: bool
    stackable: bool


@dataclass(frozen=True)
class ShopRules:
    max_discount_percent: Decimal
    points_per_yuan: int
    points_per_yuan_redeemed: int


@dataclass
class Discount:
    kind: str  # member | birthday | coupon | points | free_shipping
    reason: str
    fen: int


@dataclass
class PricedLine:
    line: LineIn
    discounts: list[Discount] = field(default_factory=list)

    @property
    def gross_fen(self) -> int:
        return self.line.unit_price_fen * self.line.quantity

    @property
    def net_fen(self) -> int:
        return self.gross_fen - sum(d.fen for d in self.discounts)


@dataclass
class Quote:
    lines: list[PricedLine]
    shipping_fen: int
    discounts: list[Discount]
    points_redeemed: int
    points_earned: int
    warnings: list[str]

    @property
    def goods_fen(self) -> int:
        return sum(p.gross_fen for p in self.lines)

    @property
    def discount_fen(self) -> int:
        return sum(d.fen for d in self.discounts)

    @property
    def total_fen(self) -> int:
        return self.goods_fen + self.shipping_fen - self.discount_fen


def pct(value: Decimal) -> str:
    """12.5, 30 (not 30.00): percentages as people write them."""
    return format(Decimal(value).normalize(), "f")


def yuan(fen: int) -> str:
    return f"¥{Decimal(fen) / 100:.2f}"


def percent_of(fen: int, percent: Decimal) -> int:
    return int((Decimal(fen) * percent / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def allocate(total: int, weights: Sequence[int]) -> list[int]:
    """Split `total` fen over lines in proportion to `weights`, exactly (largest remainder)."""
    whole = sum(weights)
    if whole <= 0 or total <= 0:
        return [0] * len(weights)
    shares = [total * w // whole for w in weights]
    leftovers = sorted(range(len(weights)), key=lambda i: (-(total * weights[i] % whole), i))
    for i in leftovers[: total - sum(shares)]:
        shares[i] += 1
    return shares


def price(
    lines: Sequence[LineIn], *, member: MemberTerms, rules: ShopRules, shipping_fen: int = 0,
    coupon: CouponTerms | None = None, points: int = 0,
) -> Quote:
    priced = [PricedLine(line) for line in lines]
    warnings: list[str] = []
    member_discounts = _member_discounts(priced, member)
    coupon_discounts = _coupon_discounts(priced, coupon) if coupon else []
    if coupon and not coupon.stackable and any(member_discounts):
        member_discounts, coupon_discounts = _better_of(member_discounts, coupon_discounts, coupon, warnings)
    for line, found in zip(priced, member_discounts, strict=True):
        line.discounts.extend(found)
    for line, found in zip(priced, coupon_discounts or [[] for _ in priced], strict=True):
        line.discounts.extend(found)
    points_used = _apply_points(priced, points, rules)
    shipping_waived = shipping_fen if member.free_shipping and shipping_fen else 0
    order_discounts = _totals_by_kind(priced)
    if shipping_waived:
        order_discounts.append(Discount("free_shipping", f"{member.tier_name}: free shipping", shipping_waived))
    profit_lines = sum(1 for p in priced if p.line.role == PROFIT)
    if profit_lines and (member.discount_percent or coupon):
        warnings.append(f"{profit_lines} profit product line(s) take no discount")
    quote = Quote(priced, shipping_fen, order_discounts, points_used, 0, warnings)
    _guard_margin(quote, rules)
    quote.points_earned = _points_earned(quote, member, rules)
    return quote


def _member_discounts(priced: list[PricedLine], member: MemberTerms) -> list[list[Discount]]:
    result: list[list[Discount]] = []
    for line in priced:
        found = []
        if line.line.role != PROFIT:
            if member.discount_percent:
                found.append(Discount(
                    "member", f"{member.tier_name}: {pct(member.discount_percent)}% off",
                    percent_of(line.gross_fen, member.discount_percent),
                ))
            if member.birthday_extra_percent:
                found.append(Discount(
                    "birthday", f"birthday month: {pct(member.birthday_extra_percent)}% off",
                    percent_of(line.gross_fen, member.birthday_extra_percent),
                ))
        result.append([d for d in found if d.fen])
    return result


def _coupon_applies(line: LineIn, coupon: CouponTerms) -> bool:
    return line.role in coupon.roles and (line.role != PROFIT or coupon.allow_profit)


def _coupon_discounts(priced: list[PricedLine], coupon: CouponTerms) -> list[list[Discount]]:
    eligible = [p.gross_fen if _coupon_applies(p.line, coupon) else 0 for p in priced]
    spend = sum(eligible)
    if spend == 0:
        raise PricingError(
            gettext_noop("coupon %(coupon)s applies to none of these products (profit products are never "
                         "discounted)"),
            rule="coupon_products", field="coupon_code", params={"coupon": coupon.code},
        )
    if spend < coupon.min_spend_fen:
        raise PricingError(
            gettext_noop("coupon %(coupon)s needs %(min_spend)s spent on eligible products; "
                         "this order has %(spend)s"),
            rule="coupon_min_spend", field="coupon_code",
            params={"coupon": coupon.code, "min_spend": yuan(coupon.min_spend_fen), "spend": yuan(spend)},
        )
    if coupon.kind == "amount_off":
        amounts = allocate(min(int(coupon.value * 100), spend), eligible)
        label = f"coupon {coupon.name}: {yuan(int(coupon.value * 100))} off"
    else:
        amounts = [percent_of(w, coupon.value) for w in eligible]
        label = f"coupon {coupon.name}: {pct(coupon.value)}% off"
    return [[Discount("coupon", label, fen)] if fen else [] for fen in amounts]


def _better_of(
    member: list[list[Discount]], coupon: list[list[Discount]], terms: CouponTerms, warnings: list[str]
) -> tuple[list[list[Discount]], list[list[Discount]]]:
    member_fen = sum(d.fen for found in member for d in found)
    coupon_fen = sum(d.fen for found in coupon for d in found)
    nothing = [[] for _ in member]
    if coupon_fen > member_fen:
        warnings.append(
            f"coupon {terms.code} does not stack with the member discount: the coupon ({yuan(coupon_fen)}) "
            f"replaces the member discount ({yuan(member_fen)})"
        )
        return nothing, coupon
    raise PricingError(
        gettext_noop("coupon %(coupon)s does not stack with the member discount, which is worth more "
                     "(%(member)s against %(coupon_value)s); keep the coupon for another order"),
        rule="coupon_not_stackable", field="coupon_code",
        params={"coupon": terms.code, "member": yuan(member_fen), "coupon_value": yuan(coupon_fen)},
    )


def _apply_points(priced: list[PricedLine], points: int, rules: ShopRules) -> int:
    if points <= 0:
        return 0
    rate = rules.points_per_yuan_redeemed
    if rate == 0:
        raise PricingError(gettext_noop("this shop exchanges points for gifts only, not at checkout"),
                           rule="points", field="points")
    if points * 100 % rate:
        step = rate // _gcd(rate, 100)
        raise PricingError(gettext_noop("points are used in steps of %(step)s (%(rate)s points = ¥1)"),
                           rule="points", field="points", params={"step": step, "rate": rate})
    value = points * 100 // rate
    payable = [p.net_fen if p.line.role != PROFIT else 0 for p in priced]
    if value > sum(payable):
        most = sum(payable) * rate // 100
        raise PricingError(
            gettext_noop("%(points)s points are worth %(value)s, more than the %(payable)s left on products "
                         "points can pay for; use at most %(most)s points"),
            rule="points", field="points",
            params={"points": points, "value": yuan(value), "payable": yuan(sum(payable)), "most": most},
        )
    for line, fen in zip(priced, allocate(value, payable), strict=True):
        if fen:
            line.discounts.append(Discount("points", f"{points} points", fen))
    return points


def _gcd(a: int, b: int) -> int:
    while b:
        a, b = b, a % b
    return a


def _totals_by_kind(priced: list[PricedLine]) -> list[Discount]:
    totals: dict[tuple[str, str], int] = {}
    for line in priced:
        for d in line.discounts:
            totals[(d.kind, d.reason)] = totals.get((d.kind, d.reason), 0) + d.fen
    return [Discount(kind, reason, fen) for (kind, reason), fen in totals.items()]


def _guard_margin(quote: Quote, rules: ShopRules) -> None:
    base = quote.goods_fen + quote.shipping_fen
    if base == 0:
        return
    allowed = percent_of(base, rules.max_discount_percent)
    given = quote.discount_fen
    if given > allowed:
        share = Decimal(given * 100) / base
        raise PricingError(
            gettext_noop("margin guard: discounts come to %(share)s%% of the order (%(given)s of %(base)s); "
                         "the shop allows at most %(most)s%% (%(allowed)s), %(excess)s too much. "
                         "Use fewer points or another coupon."),
            rule="margin_guard", params={
                "share": f"{share:.1f}", "given": yuan(given), "base": yuan(base),
                "most": pct(rules.max_discount_percent), "allowed": yuan(allowed), "excess": yuan(given - allowed),
            },
        )


def _points_earned(quote: Quote, member: MemberTerms, rules: ShopRules) -> int:
    """Points on the cash paid for goods (not shipping, not the part paid with points)."""
    cash_fen = sum(p.net_fen for p in quote.lines)
    earned = Decimal(cash_fen) * rules.points_per_yuan * member.points_multiplier / 100
    return int(earned)  # whole points, rounded down
