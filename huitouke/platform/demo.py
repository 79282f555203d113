"""The demo's platform operator: merchants, members and three months at the tills, made through the platform's
own services (signing, group-buys, verification, recording, statements, top-ups, suspension), so every
balance, statement and SMS is what the real flow makes of them.

It is a shop of its own (an operator is a tenant), built by `huitouke demo` beside the demo boutique, with an
owner login and one merchant login.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from django.utils import timezone

from huitouke.core.models import Role, Shop
from huitouke.core.services import create_shop, create_staff, purge_shop
from huitouke.core.timeutil import SHANGHAI
from huitouke.platform.models import Agreement, GroupBuy, Member, Merchant, Prize
from huitouke.platform.services import actors, balance, consumption, prizes, statements, verification

OPERATOR = {"slug": "demo-platform", "name": "回头客联盟"}
OWNER_LOGIN = "demo-platform"
MERCHANT_LOGIN = "demo-laowang"  # the till login of the first merchant, 老王火锅
MONTHS = 3  # full months of till records before the current one


@dataclass(frozen=True)
class DemoMerchant:
    name: str
    stores: tuple[str, ...]
    discount: str
    commission: str  # flat rate
    spend: int  # typical bill after discount, yuan
    visits_per_month: float  # per member with a group-buy here
    tiers: tuple[tuple[str, str], ...] = ()
    days_after_group_buy: int | None = None
    tops_up: bool = True  # the last one lets its balance run low: alerted, then suspended


MERCHANTS = (
    DemoMerchant("老王火锅", ("朝阳店", "海淀店"), "0.88", "0.06", 260, 0.9),
    DemoMerchant("一点点奶茶", ("望京店",), "0.90", "0.08", 32, 2.5),
    DemoMerchant("小美美甲", ("三里屯店",), "0.85", "0.10", 180, 0.7, days_after_group_buy=90),
    DemoMerchant("乐动健身", ("国贸店",), "0.80", "0.05", 400, 0.6, tiers=(("0", "0.05"), ("20000", "0.04"))),
    DemoMerchant("麦香面包", ("双井店",), "0.90", "0.05", 45, 1.8),
    DemoMerchant("亮车洗车", ("亦庄店",), "0.85", "0.25", 120, 2.0, tops_up=False),
)
PRIZES = (("定制保温杯", 3000, 50), ("电影票两张", 6000, 30), ("火锅双人套餐", 20000, 10), ("品牌充电宝", 12000, 20))


def demo_platform_shop() -> Shop | None:
    return Shop.objects.filter(slug=OPERATOR["slug"]).first()


def delete_demo_platform() -> bool:
    shop = demo_platform_shop()
    if shop is None:
        return False
    purge_shop(shop=shop)
    return True


def _at(day: dt.date, hour: float) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=SHANGHAI) + dt.timedelta(hours=hour)


def _first_of(day: dt.date) -> dt.date:
    return day.replace(day=1)


def _months_back(day: dt.date, months: int) -> dt.date:
    first = _first_of(day)
    for _ in range(months):
        first = _first_of(first - dt.timedelta(days=1))
    return first


def _terms(spec: DemoMerchant, start: dt.date) -> actors.Terms:
    validity = {"validity": Agreement.Validity.FIXED, "valid_from": start, "valid_until": start.replace(
        year=start.year + 2)}
    if spec.days_after_group_buy:
        validity = {"validity": Agreement.Validity.AFTER_GROUP_BUY, "valid_days": spec.days_after_group_buy}
    tiers = tuple((Decimal(low), Decimal(rate)) for low, rate in spec.tiers)
    return actors.Terms(
        discount_rate=Decimal(spec.discount), commission_rate=Decimal(spec.commission), commission_tiers=tiers,
        commission=Agreement.Commission.TIERED if tiers else Agreement.Commission.FLAT, **validity)


def seed_demo_platform(*, end_date: dt.date, seed: int, password: str, members: int = 400) -> Shop:
    """Build the operator (the slug must be free) and play three months and this month up to `end_date`."""
    rng = np.random.default_rng(seed)
    start = _months_back(end_date, MONTHS)
    shop = create_shop(slug=OPERATOR["slug"], name=OPERATOR["name"])
    create_staff(shop=shop, username=OWNER_LOGIN, password=password, role=Role.OWNER, display_name="平台运营")
    merchants = [balance.sign_merchant(shop=shop, name=spec.name, terms=_terms(spec, start), stores=spec.stores,
                                       now=_at(start, 10)) for spec in MERCHANTS]
    till = create_staff(shop=shop, username=MERCHANT_LOGIN, password=password, display_name="老王火锅收银")
    actors.link_login(shop=shop, merchant=merchants[0], staff=till)
    for name, cost, stock in PRIZES:
        prizes.add_prize(shop=shop, name=name, points_cost=cost, stock=stock)
    phones = [f"+86{prefix}{number:08d}" for prefix, number in zip(
        rng.choice([135, 136, 138, 139, 150, 186, 188], members), rng.choice(10**8, members, replace=False),
        strict=True)]
    _group_buys(shop, merchants, phones, start, end_date, rng)
    _play_days(shop, merchants, start, end_date, rng)
    _redeem_some(shop, end_date, rng)
    return shop


def _group_buys(shop: Shop, merchants: list[Merchant], phones: list[str], start: dt.date, end: dt.date,
                rng: np.random.Generator) -> None:
    """Each member joined one or two merchants' group-buys, spread over the period."""
    span = max(1, (end - start).days - 7)
    for phone in phones:
        for index in rng.choice(len(merchants), size=1 + int(rng.random() < 0.3), replace=False):
            day = start + dt.timedelta(days=int(rng.integers(0, span)))
            actors.record_group_buy(shop=shop, merchant=merchants[index], phone=phone, day=day,
                                    reference=f"TG{day:%y%m%d}{int(rng.integers(1000, 9999))}")


def _play_days(shop: Shop, merchants: list[Merchant], start: dt.date, end: dt.date,
               rng: np.random.Generator) -> None:
    """Day by day: the tills verify and record; on the 1st the month's statements go out, and merchants that
    fell low top up a few days later (all but the last, which runs into suspension)."""
    specs = dict(zip((m.pk for m in merchants), MERCHANTS, strict=True))
    stores = {m.pk: list(m.stores.order_by("id")) for m in merchants}
    bought = list(GroupBuy.objects.filter(shop=shop).values_list("merchant_id", "member__phone_e164", "day"))
    topups_due: dict[int, dt.date] = {}
    now = timezone.now()  # the last day is played up to this moment, not into the future
    day = start
    while day <= end:
        if day.day == 1 and day > start:
            statements.issue_statements(shop=shop, month=statements.previous_month(day), now=_at(day, 9))
            for merchant in Merchant.objects.for_shop(shop).filter(balance__lt=Decimal("1500")):
                if specs[merchant.pk].tops_up:
                    topups_due[merchant.pk] = day + dt.timedelta(days=3)
        for merchant_id, due in list(topups_due.items()):
            if due == day:
                balance.top_up(shop=shop, merchant=merchant_id, amount=Decimal("10000"),
                               idempotency_key=f"bank-{merchant_id}-{day:%Y%m%d}", now=_at(day, 15))
                del topups_due[merchant_id]
        balance.enforce_deadlines(shop=shop, now=min(_at(day, 8), now))
        visits = sorted((float(rng.uniform(10, 21)), merchant_id, phone) for merchant_id, phone, joined in bought
                        if joined <= day and rng.random() < specs[merchant_id].visits_per_month / 30)
        for hour, merchant_id, phone in visits:  # in time order, as the tills see them
            if _at(day, hour) + dt.timedelta(hours=1) <= now:  # the recording follows within the hour
                _visit(shop, merchant_id, phone, stores[merchant_id], specs[merchant_id], _at(day, hour), rng)
        day += dt.timedelta(days=1)


def _visit(shop: Shop, merchant_id: int, phone: str, stores: list, spec: DemoMerchant, at: dt.datetime,
           rng: np.random.Generator) -> None:
    store = stores[int(rng.integers(0, len(stores)))]
    checked = verification.verify(shop=shop, merchant=merchant_id, phone=phone, store=store, now=at)
    if not checked.eligible:  # expired, suspended …: she pays full price, nothing to record
        return
    amount = Decimal(max(5, round(rng.gamma(4.0, spec.spend / 4.0)))).quantize(Decimal("0.01"))
    consumption.record_consumption(
        shop=shop, merchant=merchant_id, phone=phone, amount=amount, store=store,
        idempotency_key=f"demo-{checked.verification.pk}", verification=checked.verification,
        now=at + dt.timedelta(minutes=int(rng.integers(2, 40))))


def _redeem_some(shop: Shop, end: dt.date, rng: np.random.Generator) -> None:
    """Members rich in points exchanged some for prizes."""
    catalogue = list(Prize.objects.filter(shop=shop).order_by("points_cost"))
    for member in Member.objects.for_shop(shop).filter(points_balance__gte=catalogue[0].points_cost).order_by("id"):
        affordable = [p for p in catalogue if p.points_cost <= member.points_balance and p.stock > 0]
        if affordable and rng.random() < 0.3:
            prize = affordable[int(rng.integers(0, len(affordable)))]
            prize.stock -= 1
            prizes.redeem_prize(shop=shop, member=member, prize=prize, idempotency_key=f"demo-redeem-{member.pk}",
                                now=_at(end, 12))
