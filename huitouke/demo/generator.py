"""Simulate a demo women's-wear shop in pure numpy: catalogue, customers and two years of orders.

Nothing here touches the database. `simulate()` returns column arrays whose foreign keys are
0-based indices into the other tables; `huitouke.demo.services` maps them to ids and inserts them.
Purchases follow a BG/NBD-style process (heterogeneous Poisson rates, drop-out after each purchase)
running on a seasonal clock (618, Double 11, Double 12, Women's Day, the Spring Festival lull).
Same seed, size and end date give the same data.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from types import SimpleNamespace
from typing import Any

import numpy as np
import phonenumbers
from lunar_python import Lunar

from huitouke.customers import completeness

DAY = 86_400
SHANGHAI_OFFSET = 8 * 3600  # no daylight saving since 1991
WINDOW_DAYS = 730

# Order statuses and product roles as stored (the values of orders.models' choices).
PENDING, PAID, SHIPPED, COMPLETED, CLOSED, REFUNDED = "pending", "paid", "shipped", "completed", "closed", "refunded"
STATUS_CODES = (PENDING, PAID, SHIPPED, COMPLETED, CLOSED, REFUNDED)
PURCHASE_CODES = (1, 2, 3)
ROLES = ("traffic", "profit", "edge", "potential")
ONLINE, BOUTIQUE = 0, 1  # store index

SHOP = {"slug": "demo", "name": "「衣见倾心」女装"}
STORES = (
    {"slug": "taobao", "name": "衣见倾心 淘宝店", "platform": "taobao"},
    {"slug": "hubin", "name": "衣见倾心 湖滨体验店", "platform": "offline"},
)
# username, display name, role, home store index, first working day (days after the window starts), weight
STAFF = (
    ("demo", "林晓", "owner", None, 0, 0.0),
    ("demo-manager", "王芳", "manager", BOUTIQUE, 0, 0.6),
    ("demo-xiaomei", "小美", "associate", BOUTIQUE, 0, 1.6),
    ("demo-amin", "阿敏", "associate", BOUTIQUE, 0, 1.1),
    ("demo-tingting", "婷婷", "associate", BOUTIQUE, 240, 1.3),
    ("demo-jiajia", "佳佳", "associate", BOUTIQUE, 480, 1.0),
    ("demo-xiaoyu", "小雨", "associate", ONLINE, 0, 0.0),
)

# --- catalogue -------------------------------------------------------------------------------

# category, code, count, price range (yuan), style words
_CATEGORIES = (
    ("连衣裙", "DR", 30, (199, 699), ("法式碎花", "赫本风小黑", "真丝印花", "针织修身", "收腰衬衫式", "V领雪纺",
                                        "复古格纹", "方领泡泡袖", "醋酸缎面", "棉麻宽松", "一字肩", "茶歇")),
    ("衬衫", "SH", 20, (129, 399), ("通勤真丝", "法式宫廷", "条纹宽松", "白色基础", "雪纺飘带", "牛津纺",
                                      "小立领", "泡泡袖")),
    ("半身裙", "SK", 18, (99, 359), ("高腰A字", "百褶", "包臀", "牛仔", "鱼尾", "缎面垂感", "格纹", "开衩")),
    ("外套", "CT", 18, (399, 1599), ("双面羊绒大衣", "小香风", "短款西装", "风衣", "羽绒服", "牛仔夹克",
                                      "针织开衫", "皮衣")),
    ("针织衫", "KN", 18, (159, 499), ("羊毛圆领", "马海毛", "V领开衫", "麻花", "短款", "冰丝", "高领打底",
                                       "镂空")),
    ("裤装", "PT", 18, (139, 399), ("高腰阔腿", "直筒西装", "九分烟管", "牛仔喇叭", "休闲工装", "针织",
                                     "垂感", "短裤")),
    ("T恤", "TS", 12, (59, 149), ("纯棉圆领", "印花", "修身短袖", "长袖打底", "宽松落肩", "POLO")),
    ("配饰", "AC", 16, (29, 199), ("真丝小方巾", "珍珠耳环", "羊毛围巾", "皮质腰带", "贝雷帽", "发夹",
                                    "帆布包", "丝袜")),
)
_COLOURS = ("米白", "燕麦", "雾霾蓝", "黑色", "藏青", "酒红", "奶咖", "豆绿", "香芋紫", "焦糖")
# cost as a share of price, by role
_COST_SHARE = {"traffic": (0.70, 0.85), "profit": (0.28, 0.40), "edge": (0.45, 0.60), "potential": (0.38, 0.50)}
_ROLE_PRICE = {"traffic": 0.6, "profit": 1.25, "edge": 0.9, "potential": 1.0}
_ROLE_POPULARITY = {"traffic": 3.0, "profit": 1.2, "edge": 1.0, "potential": 1.4}

# --- people ----------------------------------------------------------------------------------

# The most common surnames with their approximate share of the population (per cent).
_SURNAMES = (
    ("王", 7.1), ("李", 7.0), ("张", 6.7), ("刘", 5.4), ("陈", 4.5), ("杨", 3.1), ("黄", 2.2), ("赵", 2.0),
    ("吴", 2.0), ("周", 1.9), ("徐", 1.5), ("孙", 1.5), ("马", 1.3), ("朱", 1.3), ("胡", 1.2), ("郭", 1.2),
    ("何", 1.2), ("高", 1.1), ("林", 1.1), ("罗", 1.0), ("郑", 1.0), ("梁", 0.9), ("谢", 0.8), ("宋", 0.8),
    ("唐", 0.8), ("许", 0.7), ("韩", 0.7), ("冯", 0.7), ("邓", 0.7), ("曹", 0.6), ("彭", 0.6), ("曾", 0.6),
    ("肖", 0.6), ("田", 0.6), ("董", 0.5), ("袁", 0.5), ("潘", 0.5), ("于", 0.5), ("蒋", 0.5), ("蔡", 0.5),
    ("余", 0.5), ("杜", 0.5), ("叶", 0.5), ("程", 0.5), ("苏", 0.4), ("魏", 0.4), ("吕", 0.4), ("丁", 0.4),
    ("任", 0.4), ("沈", 0.4), ("姚", 0.4), ("卢", 0.4), ("姜", 0.4), ("崔", 0.3), ("钟", 0.3), ("谭", 0.3),
    ("陆", 0.3), ("汪", 0.3), ("范", 0.3), ("金", 0.3), ("石", 0.3), ("廖", 0.3), ("贾", 0.3), ("夏", 0.3),
    ("韦", 0.3), ("方", 0.3), ("白", 0.2), ("邹", 0.2), ("孟", 0.2), ("熊", 0.2), ("秦", 0.2), ("邱", 0.2),
    ("江", 0.2), ("尹", 0.2), ("薛", 0.2), ("闫", 0.2), ("段", 0.2), ("雷", 0.2), ("侯", 0.2), ("龙", 0.2),
    ("史", 0.2), ("陶", 0.2), ("黎", 0.2), ("贺", 0.2), ("顾", 0.2), ("毛", 0.2), ("郝", 0.2), ("龚", 0.2),
    ("欧阳", 0.05), ("上官", 0.01), ("司马", 0.01),
)
_FEMALE_CHARS = tuple("静丽敏燕艳娟霞芳娜婷雪慧颖琳晶洁玲萍红梅莉倩欣怡悦佳蕾璐瑶琪涵萱雯婕妍思梦雨晓月诗紫可馨嘉"
                      "欢露薇菲茜岚晴宁蓉筱楠彤琦媛瑾")
_MALE_CHARS = tuple("伟强磊军勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆")
_NICK_WORDS = ("小鱼儿", "爱吃草莓的猫", "糖糖", "阿狸", "晴天", "小确幸", "萌萌哒", "橘子汽水", "柠檬不酸",
               "一只小笼包", "时光旅人", "兔子不吃胡萝卜", "木子", "半夏", "安之若素", "暖暖", "桃子味", "芒果布丁",
               "小太阳", "森林鹿", "奶茶三分糖", "雨天的猫", "向日葵", "七月", "栗子", "喵小姐", "苏打绿",
               "云朵朵", "小仙女", "追风少女")
_NICK_LATIN = ("lily", "coco", "momo", "cherry", "sunny", "amy", "vivian", "echo", "yoyo", "kiki", "luna", "mia",
               "grace", "zoe", "nana", "candy", "yuki", "xiaoxiao", "tingting", "jingjing")
_ETHNICITIES = (("汉族", 0.9), ("回族", 0.025), ("满族", 0.025), ("壮族", 0.02), ("土家族", 0.015), ("苗族", 0.015))
_SIZES = (("S", 0.2), ("M", 0.35), ("L", 0.25), ("XL", 0.12), ("XXL", 0.05), ("XS", 0.03))
_SOFT = {
    "occupation": ("教师", "护士", "会计", "设计师", "公务员", "外企白领", "律师", "医生", "自由职业", "个体店主",
                   "大学生", "银行职员", "HR", "产品经理", "全职妈妈", "退休"),
    "family": ("已婚，一个女儿", "已婚，一个儿子", "单身", "已婚，两个孩子", "刚结婚", "和父母同住", "孩子在上大学"),
    "personality": ("开朗健谈", "安静细致", "有主见", "爱开玩笑", "慢热", "爽快", "挑剔但忠诚", "温和"),
    "shopping_habits": ("换季集中购买", "只在大促下单", "看到新款就来", "喜欢试穿后再买", "常带朋友来店",
                        "晚上刷淘宝下单", "先加购再等优惠", "一次买一整套"),
    "style_preferences": ("法式优雅", "简约通勤", "甜美", "知性", "休闲", "复古", "轻熟", "极简黑白灰"),
    "hobbies": ("瑜伽", "烘焙", "旅行", "摄影", "读书", "跑步", "插花", "追剧", "看展", "露营"),
    "lifestyle": ("朝九晚五", "经常出差", "周末带娃", "夜猫子", "注重健康", "常参加聚会"),
    "preferred_channel": ("sms", "wechat", "phone", "email"),
    "values": ("品质第一", "性价比", "环保", "看重服务", "喜欢被记住"),
    "notes": ("不喜欢电话打扰", "生日在春节前后", "老公常来代买", "对羊毛过敏", "喜欢小美接待", "VIP活动必到"),
}
_SOFT_LIKELIHOOD = {  # how readily each soft fact is learned
    "occupation": 0.9, "family": 0.7, "personality": 0.6, "shopping_habits": 0.8, "style_preferences": 0.95,
    "hobbies": 0.6, "lifestyle": 0.5, "preferred_channel": 0.85, "values": 0.4, "notes": 0.5,
}
TAGS = ("爱连衣裙", "职场通勤", "大码", "价格敏感", "送礼", "学生党", "宝妈", "VIP活动常客", "已加微信", "只收短信",
        "喜欢新款", "需回访")
AUTO_TAGS = ("高价值",)
_REGIONS = (
    ("浙江省 杭州市 西湖区", "310000"), ("浙江省 杭州市 上城区", "310000"), ("浙江省 杭州市 滨江区", "310051"),
    ("浙江省 宁波市 鄞州区", "315100"), ("上海市 浦东新区", "200120"), ("上海市 徐汇区", "200030"),
    ("江苏省 南京市 鼓楼区", "210008"), ("江苏省 苏州市 姑苏区", "215000"), ("北京市 朝阳区", "100020"),
    ("广东省 广州市 天河区", "510630"), ("广东省 深圳市 南山区", "518052"), ("四川省 成都市 武侯区", "610041"),
    ("湖北省 武汉市 洪山区", "430070"), ("福建省 厦门市 思明区", "361001"), ("山东省 青岛市 市南区", "266001"),
)
_STREETS = ("文三路", "南山路", "延安路", "解放路", "中山北路", "人民路", "建国路", "学院路", "长江路", "天目山路")
_MAIL_DOMAINS = ("qq.com", "163.com", "126.com", "foxmail.com", "gmail.com", "outlook.com", "sina.com")
# Mobile prefixes that libphonenumber accepts in full (checked again number by number).
_MOBILE_PREFIXES = (
    "130", "131", "132", "133", "134", "135", "136", "137", "138", "139", "150", "151", "152", "153", "155",
    "156", "157", "158", "159", "166", "176", "177", "178", "180", "181", "182", "183", "184", "185", "186",
    "187", "188", "189", "191", "198", "199",
)

# --- purchase process --------------------------------------------------------------------------

LAMBDA_SHAPE, LAMBDA_MEAN_PER_YEAR, LAMBDA_CAP = 0.35, 22.0, 30.0
DROPOUT_A, DROPOUT_B = 0.5, 1.1
ACQUISITION_GROWTH = 2.5  # the shop wins 2.5x as many new buyers a day at the end as at the start
NON_BUYER_SHARE = 0.04
BOUTIQUE_SHARE = 0.22


@dataclass
class Demo:
    """The simulated shop as columns; FK columns hold 0-based row indices (-1 for none)."""

    seed: int
    end_date: dt.date
    start: int  # epoch seconds of the first moment of the window
    end: int  # epoch seconds of the end of the window (the start of end_date, Shanghai)
    products: dict[str, Any] = field(default_factory=dict)
    customers: dict[str, Any] = field(default_factory=dict)
    phones: dict[str, Any] = field(default_factory=dict)
    identities: dict[str, Any] = field(default_factory=dict)
    emails: dict[str, Any] = field(default_factory=dict)
    addresses: dict[str, Any] = field(default_factory=dict)
    consents: dict[str, Any] = field(default_factory=dict)
    customer_tags: dict[str, Any] = field(default_factory=dict)
    orders: dict[str, Any] = field(default_factory=dict)
    lines: dict[str, Any] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        return {name: len(next(iter(getattr(self, name).values()))) for name in (
            "products", "customers", "phones", "identities", "emails", "addresses", "consents",
            "customer_tags", "orders", "lines",
        )}


def shanghai_midnight(day: dt.date) -> int:
    return int(dt.datetime.combine(day, dt.time.min, tzinfo=dt.UTC).timestamp()) - SHANGHAI_OFFSET


def local_days(seconds: np.ndarray) -> np.ndarray:
    """Shanghai calendar day of each epoch second, as days since 1970-01-01."""
    return (seconds + SHANGHAI_OFFSET) // DAY


def spring_festival(year: int) -> dt.date:
    solar = Lunar.fromYmd(year, 1, 1).getSolar()
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def seasonal_weights(days: list[dt.date]) -> np.ndarray:
    """Relative shopping intensity per calendar day (mean 1 over the window)."""
    festivals = {year: spring_festival(year) for year in {d.year for d in days} | {days[-1].year + 1}}
    w = np.ones(len(days))
    for i, d in enumerate(days):
        m, md = d.month, (d.month, d.day)
        w[i] *= {3: 1.1, 4: 1.1, 7: 0.85, 8: 0.85, 9: 1.1, 10: 1.05}.get(m, 1.0)
        if d.weekday() >= 5:
            w[i] *= 1.15
        if (6, 1) <= md <= (6, 15):
            w[i] *= 1.4
        elif (6, 16) <= md <= (6, 18):
            w[i] *= 2.4 if md != (6, 18) else 3.2
        elif (10, 20) <= md <= (10, 31):
            w[i] *= 1.25
        elif (11, 1) <= md <= (11, 3):
            w[i] *= 2.4
        elif (11, 4) <= md <= (11, 10):
            w[i] *= 1.3
        elif md == (11, 11):
            w[i] *= 5.5
        elif (11, 12) <= md <= (11, 13):
            w[i] *= 1.6
        elif md == (12, 12):
            w[i] *= 1.9
        elif (3, 6) <= md <= (3, 8):
            w[i] *= 1.8
        for new_year in (festivals[d.year], festivals[d.year + 1]):
            offset = (d - new_year).days
            if -25 <= offset <= -11:
                w[i] *= 1.3  # new clothes for the new year
            elif -10 <= offset <= 7:
                w[i] *= 0.3  # couriers stop, people travel home
    return w / w.mean()


def _festival_discount(days: list[dt.date]) -> np.ndarray:
    """Promotion depth on traffic and edge products per day (profit products are never discounted)."""
    out = np.zeros(len(days))
    for i, d in enumerate(days):
        md = (d.month, d.day)
        if (6, 1) <= md <= (6, 18) or (11, 1) <= md <= (11, 11) or md == (12, 12) or (3, 6) <= md <= (3, 8):
            out[i] = 0.15
    return out


def _pick(rng: np.random.Generator, options: tuple, weights: tuple | None, size: int) -> np.ndarray:
    p = None if weights is None else np.asarray(weights, float) / np.sum(weights)
    return rng.choice(len(options), size=size, p=p)


def _catalogue(rng: np.random.Generator, n_days: int) -> dict[str, Any]:
    titles, skus, categories, prices, costs, roles, launch = [], [], [], [], [], [], []
    for category, code, count, (low, high), styles in _CATEGORIES:
        used: set[str] = set()
        for k in range(count):
            if category == "配饰":
                role = "edge" if k % 4 else "traffic"
            elif category == "T恤":
                role = "traffic" if k % 3 else "edge"
            else:
                role = ("profit", "traffic", "profit", "edge", "potential", "profit", "edge", "potential")[k % 8]
            style = styles[k % len(styles)]
            title = f"{style}{category if category not in ('配饰',) else ''}"
            if title in used:
                title = f"{title}（{_COLOURS[int(rng.integers(len(_COLOURS)))]}）"
            while title in used:
                title = f"{title}·{int(rng.integers(2, 9))}"
            used.add(title)
            price = rng.uniform(low, high) * _ROLE_PRICE[role]
            price = max(19, int(round(price / 10.0)) * 10 - 1)  # 299, 459 …
            share = rng.uniform(*_COST_SHARE[role])
            cost = None if rng.random() < 0.05 else int(round(price * share * 100))
            start_day = int(rng.integers(n_days - 200, n_days - 20)) if role == "potential" else 0
            titles.append(title)
            skus.append(f"YJ{code}{len(skus) + 1:04d}")
            categories.append(category)
            prices.append(price * 100)
            costs.append(cost)
            roles.append(role)
            launch.append(start_day)
    n = len(titles)
    popularity = rng.pareto(1.6, n) + 0.3
    popularity *= np.array([_ROLE_POPULARITY[r] for r in roles])
    active = np.ones(n, bool)
    active[rng.choice(n, size=n // 12, replace=False)] = False
    for i in range(n):
        if roles[i] == "potential":
            active[i] = True
    return {
        "sku": skus, "title": titles, "category": categories, "price": np.array(prices, np.int64), "cost": costs,
        "role": roles, "is_active": active.tolist(), "launch_day": np.array(launch), "popularity": popularity,
    }


def _names(rng: np.random.Generator, female: np.ndarray) -> list[str]:
    n = len(female)
    surnames = [s for s, _ in _SURNAMES]
    s_idx = _pick(rng, tuple(surnames), tuple(w for _, w in _SURNAMES), n)
    two = rng.random(n) < 0.75
    f1, f2 = rng.integers(len(_FEMALE_CHARS), size=n), rng.integers(len(_FEMALE_CHARS), size=n)
    m1, m2 = rng.integers(len(_MALE_CHARS), size=n), rng.integers(len(_MALE_CHARS), size=n)
    out = []
    for i in range(n):
        chars = _FEMALE_CHARS if female[i] else _MALE_CHARS
        a, b = (f1[i], f2[i]) if female[i] else (m1[i], m2[i])
        given = chars[a] + (chars[b] if two[i] else "")
        out.append(surnames[s_idx[i]] + given)
    return out


def _phones(rng: np.random.Generator, n: int) -> list[str]:
    """n unique CN mobiles in E.164, each accepted by phonenumbers.is_valid_number."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        want = int((n - len(out)) * 1.05) + 16
        prefix = rng.integers(len(_MOBILE_PREFIXES), size=want)
        rest = rng.integers(0, 100_000_000, size=want)
        for p, r in zip(prefix.tolist(), rest.tolist(), strict=True):
            e164 = f"+86{_MOBILE_PREFIXES[p]}{r:08d}"
            if e164 in seen or not phonenumbers.is_valid_number(phonenumbers.parse(e164)):
                continue
            seen.add(e164)
            out.append(e164)
            if len(out) == n:
                break
    return out


def _nicknames(rng: np.random.Generator, n: int) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    kind = rng.random(n)
    word = rng.integers(len(_NICK_WORDS), size=n)
    latin = rng.integers(len(_NICK_LATIN), size=n)
    digits = rng.integers(0, 10_000, size=n)
    years = rng.integers(1985, 2006, size=n)
    long_digits = rng.integers(10**8, 10**10, size=n)
    for i in range(n):
        if kind[i] < 0.3:
            nick = f"tb{long_digits[i]}"
        elif kind[i] < 0.6:
            nick = f"{_NICK_WORDS[word[i]]}{years[i] if kind[i] < 0.45 else ''}"
        elif kind[i] < 0.85:
            nick = f"{_NICK_LATIN[latin[i]]}_{digits[i]}"
        else:
            nick = f"{_NICK_LATIN[latin[i]]}{_NICK_WORDS[word[i]]}"
        base, k = nick, 1
        while nick in seen:
            k += 1
            nick = f"{base}{k}"
        seen.add(nick)
        out.append(nick)
    return out


def _repeat_events(
    rng: np.random.Generator, t0: np.ndarray, cum: np.ndarray, grid: np.ndarray, lam: np.ndarray, p: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Repeat purchases after each first purchase at t0 (days): Poisson(λ) on the seasonal clock,
    drop-out with probability p after every purchase, the first included (as in MBG/NBD).
    Returns (customer index, time in days)."""
    u_end = cum[-1]
    u = np.interp(t0, grid, cum)
    active = np.flatnonzero(rng.random(len(t0)) >= p)
    who, when = [], []
    for _ in range(400):
        if active.size == 0:
            break
        u_next = u[active] + rng.exponential(1.0 / lam[active])
        inside = u_next < u_end
        active, u_next = active[inside], u_next[inside]
        who.append(active)
        when.append(np.interp(u_next, cum, grid))
        u[active] = u_next
        stay = rng.random(active.size) >= p[active]
        active = active[stay]
    if not who:
        return np.zeros(0, np.int64), np.zeros(0)
    return np.concatenate(who), np.concatenate(when)


def _time_of_day(rng: np.random.Generator, store: np.ndarray, double11: np.ndarray) -> np.ndarray:
    online_hours = np.array([3, 1.5, .8, .4, .3, .3, .5, 1, 2, 3.5, 4.5, 4.5, 4, 4, 4, 4, 4, 4, 4.5, 5.5, 7, 8, 7.5, 5])
    boutique_hours = np.zeros(24)
    boutique_hours[10:22] = [3, 4, 5, 5, 5.5, 6, 6.5, 7, 6.5, 6, 5, 3]
    d11_hours = online_hours.copy()
    d11_hours[0:2] = [30, 12]
    n = len(store)
    hours = np.empty(n, np.int64)
    for mask, weights in (
        ((store == ONLINE) & ~double11, online_hours), ((store == ONLINE) & double11, d11_hours),
        (store == BOUTIQUE, boutique_hours),
    ):
        k = int(mask.sum())
        hours[mask] = rng.choice(24, size=k, p=weights / weights.sum())
    return hours * 3600 + rng.integers(0, 3600, size=n)


def simulate(*, customers: int = 5000, seed: int = 20240618, end_date: dt.date) -> Demo:
    """The whole demo shop as arrays; deterministic in (customers, seed, end_date)."""
    rng = np.random.default_rng([seed, customers, end_date.toordinal()])
    first_day = end_date - dt.timedelta(days=WINDOW_DAYS)
    days = [first_day + dt.timedelta(days=i) for i in range(WINDOW_DAYS)]
    demo = Demo(seed=seed, end_date=end_date, start=shanghai_midnight(first_day), end=shanghai_midnight(end_date))
    season = seasonal_weights(days)
    discount_by_day = _festival_discount(days)
    epoch_day0 = (demo.start + SHANGHAI_OFFSET) // DAY
    d11 = np.array([(d.month, d.day) in ((11, 11), (11, 1)) for d in days])

    products = _catalogue(rng, WINDOW_DAYS)
    demo.products = products
    n = customers

    # --- who, where and when they first bought
    boutique_home = rng.random(n) < BOUTIQUE_SHARE
    buyer = rng.random(n) >= NON_BUYER_SHARE
    grid = np.arange(WINDOW_DAYS + 1, dtype=float)
    growth = np.exp(np.log(ACQUISITION_GROWTH) * np.arange(WINDOW_DAYS) / WINDOW_DAYS)
    acquisition = growth * season**1.3
    acq_day = rng.choice(WINDOW_DAYS, size=n, p=acquisition / acquisition.sum())
    first_store = np.where(boutique_home, BOUTIQUE, ONLINE)
    t0_seconds = (
        demo.start + acq_day * DAY
        + _time_of_day(rng, first_store, d11[acq_day])
    )

    # --- repeat purchases (BG/NBD-style)
    lam = np.minimum(rng.gamma(LAMBDA_SHAPE, LAMBDA_MEAN_PER_YEAR / LAMBDA_SHAPE, size=n), LAMBDA_CAP) / 365.0
    drop = rng.beta(DROPOUT_A, DROPOUT_B, size=n)
    cum = np.concatenate([[0.0], np.cumsum(season)])
    buyers = np.flatnonzero(buyer)
    t0_days = (t0_seconds[buyers] - demo.start) / DAY
    who, when = _repeat_events(rng, t0_days, cum, grid, lam[buyers], drop[buyers])
    who = buyers[who]
    repeat_day = np.minimum(when.astype(np.int64), WINDOW_DAYS - 1)

    # orders: first purchases, repeats, same-day extra baskets, anonymous walk-ins
    o_cust = np.concatenate([buyers, who])
    o_day = np.concatenate([acq_day[buyers], repeat_day])
    o_first = np.concatenate([np.ones(buyers.size, bool), np.zeros(who.size, bool)])
    home = boutique_home[o_cust]
    switch = rng.random(o_cust.size) < np.where(home, 0.2, 0.03)
    o_store = np.where(home ^ switch, BOUTIQUE, ONLINE)
    o_store[: buyers.size] = first_store[buyers]
    tod = _time_of_day(rng, o_store, d11[o_day])
    o_time = demo.start + o_day * DAY + tod
    o_time[: buyers.size] = t0_seconds[buyers]
    extra = np.flatnonzero((o_store == ONLINE) & (rng.random(o_cust.size) < 0.05))
    extra_time = o_time[extra] + rng.integers(120, 3600, size=extra.size)
    keep = local_days(extra_time) == local_days(o_time[extra])
    extra, extra_time = extra[keep], extra_time[keep]
    n_walk_in = int(round(0.03 * np.sum(o_store == BOUTIQUE))) + 1
    walk_day = rng.choice(WINDOW_DAYS, size=n_walk_in, p=season / season.sum())
    walk_store = np.full(n_walk_in, BOUTIQUE)
    o_cust = np.concatenate([o_cust, o_cust[extra], np.full(n_walk_in, -1)])
    o_store = np.concatenate([o_store, o_store[extra], walk_store])
    o_first = np.concatenate([o_first, np.zeros(extra.size + n_walk_in, bool)])
    o_time = np.concatenate([
        o_time, extra_time, demo.start + walk_day * DAY + _time_of_day(rng, walk_store, d11[walk_day]),
    ])
    in_window = o_time < demo.end
    o_cust, o_store, o_first, o_time = o_cust[in_window], o_store[in_window], o_first[in_window], o_time[in_window]
    order = np.lexsort((o_cust, o_time))
    o_cust, o_store, o_first, o_time = o_cust[order], o_store[order], o_first[order], o_time[order]
    demo.orders, demo.lines = _orders(rng, demo, products, o_cust, o_store, o_first, o_time, discount_by_day,
                                      epoch_day0)

    _people(rng, demo, n, boutique_home, buyer, t0_seconds, epoch_day0)
    return demo


def _orders(
    rng: np.random.Generator, demo: Demo, products: dict[str, Any], o_cust: np.ndarray, o_store: np.ndarray,
    o_first: np.ndarray, o_time: np.ndarray, discount_by_day: np.ndarray, epoch_day0: int,
) -> tuple[dict[str, Any], dict[str, Any]]:
    n_orders = o_cust.size
    window_day = np.clip(local_days(o_time) - epoch_day0, 0, WINDOW_DAYS - 1)
    # basket: 1-3 lines; repeat and in-store baskets hold more (DOMAIN: 80%+ of repeat visits buy several)
    multi = np.where(o_first, 0.4, 0.65) + np.where(o_store == BOUTIQUE, 0.1, 0.0)
    n_lines = 1 + (rng.random(n_orders) < multi) + (rng.random(n_orders) < multi * 0.35)
    l_order = np.repeat(np.arange(n_orders), n_lines)
    n_l = l_order.size
    weights = products["popularity"] / products["popularity"].sum()
    l_product = rng.choice(weights.size, size=n_l, p=weights)
    too_early = products["launch_day"][l_product] > window_day[l_order]
    classics = np.flatnonzero(products["launch_day"] == 0)
    l_product[too_early] = rng.choice(classics, size=int(too_early.sum()))
    l_qty = 1 + (rng.random(n_l) < 0.08)
    l_price = products["price"][l_product]
    l_amount = l_price * l_qty
    goods = np.bincount(l_order, weights=l_amount, minlength=n_orders).astype(np.int64)
    roles = np.array(products["role"])
    promotable = np.isin(roles[l_product], ("traffic", "edge"))
    eligible = np.bincount(l_order, weights=l_amount * promotable, minlength=n_orders)
    discount = (np.round(eligible * discount_by_day[window_day] / 100.0) * 100).astype(np.int64)
    coupon = (discount == 0) & (eligible >= 9900) & (rng.random(n_orders) < 0.12) & (o_store == ONLINE)
    discount[coupon] = np.where(eligible[coupon] >= 29900, 2000, 1000)
    shipping = np.where((o_store == ONLINE) & (goods < 9900), 800, 0).astype(np.int64)
    paid_amount = goods + shipping - discount

    age = demo.end - o_time
    online = o_store == ONLINE
    unpaid = online & (rng.random(n_orders) < 0.07)
    status = np.full(n_orders, 3, np.int64)  # completed
    status[online & (age < 10 * DAY)] = 2  # shipped until the buyer confirms (auto after 10 days)
    status[online & (age < 18 * 3600)] = 1  # paid, not yet shipped
    settled = age > 3 * DAY
    roll = rng.random(n_orders)
    full_refund = settled & ~unpaid & (roll < np.where(online, 0.05, 0.015))
    partial = settled & ~unpaid & ~full_refund & (roll < np.where(online, 0.09, 0.025))
    status[full_refund] = 5
    status[unpaid] = np.where(age[unpaid] < DAY, 0, 4)  # pending, else closed by timeout
    paid_amount[unpaid] = 0
    paid_at = np.where(online, o_time + rng.integers(20, 900, size=n_orders), o_time)
    has_paid_at = ~unpaid
    refunded = np.zeros(n_orders, np.int64)
    refunded[full_refund] = paid_amount[full_refund]
    first_line = np.concatenate([[0], np.cumsum(n_lines)[:-1]])
    cheapest = np.minimum.reduceat(l_amount, first_line)
    part = np.where(n_lines > 1, cheapest, np.round(paid_amount * 0.3 / 100) * 100).astype(np.int64)
    refunded[partial] = np.clip(part[partial], 100, np.maximum(paid_amount[partial] - 100, 100))

    # derive() in numpy: net amount, purchase flag, Shanghai purchase day
    net = paid_amount - refunded
    is_purchase = np.isin(status, PURCHASE_CODES) & (net > 0)
    moment = np.where(has_paid_at, paid_at, o_time)
    purchase_day = np.where(is_purchase, local_days(moment), -1)
    is_repeat = _repeat_flags(o_cust, is_purchase, purchase_day, n_customers=int(o_cust.max(initial=-1)) + 1)
    items = np.bincount(l_order, weights=l_qty, minlength=n_orders).astype(np.int64)

    ext = np.empty(n_orders, object)
    day_str = np.datetime_as_string((o_time + SHANGHAI_OFFSET).astype("datetime64[s]"), unit="D")
    seq_online = np.cumsum(online)
    seq_boutique = np.cumsum(~online)
    tail = rng.integers(0, 100, size=n_orders)
    for i in range(n_orders):
        if online[i]:
            ext[i] = f"{2_000_000_000_000_000_000 + seq_online[i] * 100 + tail[i]}"
        else:
            ext[i] = f"HB{day_str[i].replace('-', '')}{seq_boutique[i]:06d}"
    notes = np.where(partial & (n_lines > 1), "部分退款：退一件", np.where(partial, "价保/质量补偿", ""))
    orders = {
        "customer": o_cust, "store": o_store, "external_id": ext.tolist(), "status": status,
        "ordered_at": o_time, "paid_at": np.where(has_paid_at, paid_at, -1), "goods_amount": goods,
        "shipping_amount": shipping, "discount_amount": discount, "paid_amount": paid_amount,
        "refunded_amount": refunded, "net_amount": net, "is_purchase": is_purchase, "purchase_day": purchase_day,
        "is_repeat": is_repeat, "items_count": items, "note": notes.tolist(),
    }
    lines = {"order": l_order, "product": l_product, "quantity": l_qty, "unit_price": l_price, "line_amount": l_amount}
    return orders, lines


def _repeat_flags(customer: np.ndarray, is_purchase: np.ndarray, day: np.ndarray, *, n_customers: int) -> np.ndarray:
    """Purchases after the customer's first purchase day, as orders.services.mark_repeat_purchases flags them."""
    known = is_purchase & (customer >= 0)
    first = np.full(max(n_customers, 1), np.iinfo(np.int64).max)
    np.minimum.at(first, customer[known], day[known])
    flags = np.zeros(customer.size, dtype=bool)
    flags[known] = day[known] > first[customer[known]]
    return flags


def purchase_stats(demo: Demo, n_customers: int) -> dict[str, np.ndarray]:
    """Customer purchase figures exactly as orders.services.purchase_stats defines them."""
    o = demo.orders
    mask = o["is_purchase"] & (o["customer"] >= 0)
    cust = o["customer"][mask]
    moment = np.where(o["paid_at"][mask] >= 0, o["paid_at"][mask], o["ordered_at"][mask])
    orders_count = np.bincount(cust, minlength=n_customers)
    items = np.bincount(cust, weights=o["items_count"][mask], minlength=n_customers).astype(np.int64)
    net = np.bincount(cust, weights=o["net_amount"][mask], minlength=n_customers).astype(np.int64)
    pairs = np.unique(cust * 1_000_000 + o["purchase_day"][mask])
    days = np.bincount(pairs // 1_000_000, minlength=n_customers)
    first = np.full(n_customers, np.iinfo(np.int64).max)
    last = np.full(n_customers, -1, np.int64)
    np.minimum.at(first, cust, moment)
    np.maximum.at(last, cust, moment)
    first[orders_count == 0] = -1
    return {"orders_count": orders_count, "items_count": items, "purchase_days": days, "net_spend": net,
            "first_purchase_at": first, "last_purchase_at": last}


def _people(
    rng: np.random.Generator, demo: Demo, n: int, boutique_home: np.ndarray, buyer: np.ndarray,
    t0_seconds: np.ndarray, epoch_day0: int,
) -> None:
    stats = purchase_stats(demo, n)
    orders_count = stats["orders_count"]
    female = rng.random(n) < 0.93
    names = _names(rng, female)
    registered_at = np.where(buyer, t0_seconds - rng.integers(0, 600, size=n),
                             demo.start + rng.integers(0, WINDOW_DAYS * DAY, size=n))
    registered_at = np.minimum(registered_at, demo.end - 1)
    # how much the shop has learned: more in the boutique, more with every purchase
    knows = np.clip(
        rng.beta(1.3, 3.2, size=n) + np.where(boutique_home, 0.25, 0.0) + 0.04 * np.minimum(orders_count, 10),
        0.0, 0.97,
    )
    gender_known = rng.random(n) < np.where(boutique_home, 0.95, 0.35 + 0.5 * knows)
    age = np.clip(np.round(rng.normal(34, 8.5, size=n)), 18, 68).astype(int)
    has_birthday = rng.random(n) < 0.15 + 0.7 * knows
    lunar = has_birthday & (rng.random(n) < 0.18)
    birth_year_known = has_birthday & (rng.random(n) < 0.6)
    approx_known = ~birth_year_known & (rng.random(n) < 0.25 + 0.4 * knows)
    birth_month = rng.integers(1, 13, size=n)
    birth_day_raw = rng.integers(1, 32, size=n)
    end_year = demo.end_date.year
    ethnicity = _pick(rng, tuple(e for e, _ in _ETHNICITIES), tuple(w for _, w in _ETHNICITIES), n)
    ethnicity_known = rng.random(n) < 0.1 + 0.4 * knows
    size = _pick(rng, tuple(s for s, _ in _SIZES), tuple(w for _, w in _SIZES), n)
    size_known = rng.random(n) < np.where(boutique_home, 0.85, 0.25 + 0.5 * knows)
    soft_rolls = {name: rng.random(n) for name in _SOFT}
    soft_pick = {name: rng.integers(len(values), size=n) for name, values in _SOFT.items()}
    has_email = rng.random(n) < 0.03 + 0.12 * knows
    has_address = rng.random(n) < np.where(boutique_home, 0.08, 0.12) + 0.3 * knows
    has_taobao = ~boutique_home | np.isin(np.arange(n), demo.orders["customer"][demo.orders["store"] == ONLINE])
    do_not_contact = rng.random(n) < 0.015

    staff_weights = np.array([w for *_, w in STAFF])
    staff_start = np.array([s for *_, s, _w in STAFF])
    registrar = rng.choice(len(STAFF), size=n, p=staff_weights / staff_weights.sum())
    reg_day = (local_days(registered_at) - epoch_day0)
    not_yet = staff_start[registrar] > reg_day
    founders = np.flatnonzero((staff_weights > 0) & (staff_start == 0))
    registrar[not_yet] = rng.choice(founders, size=int(not_yet.sum()),
                                     p=staff_weights[founders] / staff_weights[founders].sum())
    registrar = np.where(boutique_home, registrar, -1)

    cols: dict[str, list] = {name: [] for name in (
        "name", "gender", "birthday_calendar", "birth_year", "birth_month", "birth_day", "approx_age", "ethnicity",
        "clothing_size", *_SOFT, "completeness",
    )}
    for i in range(n):
        row: dict[str, Any] = {
            "name": names[i], "gender": ("female" if female[i] else "male") if gender_known[i] else "",
            "birthday_calendar": "lunar" if lunar[i] else "solar",
            "birth_year": int(end_year - age[i]) if birth_year_known[i] else None,
            "birth_month": int(birth_month[i]) if has_birthday[i] else None,
            "birth_day": None, "approx_age": int(age[i]) if approx_known[i] else None,
            "ethnicity": _ETHNICITIES[ethnicity[i]][0] if ethnicity_known[i] else "",
            "clothing_size": _SIZES[size[i]][0] if size_known[i] else "",
        }
        if has_birthday[i]:
            last = 30 if lunar[i] else (dt.date(2000, row["birth_month"] % 12 + 1, 1) - dt.timedelta(days=1)).day
            row["birth_day"] = int(1 + (birth_day_raw[i] - 1) % last)
        for name, values in _SOFT.items():
            known = soft_rolls[name][i] < knows[i] * _SOFT_LIKELIHOOD[name]
            row[name] = values[soft_pick[name][i]] if known else ""
        facts = completeness.known_facts(
            SimpleNamespace(**row), has_phone=True, has_email=bool(has_email[i]),
            has_address=bool(has_address[i]), has_consent=True,
        )
        row["completeness"] = completeness.score(facts).score
        for key, value in row.items():
            cols[key].append(value)
    demo.customers = {
        **cols, "registered_by": registrar, "registered_store": np.where(boutique_home, BOUTIQUE, ONLINE),
        "registered_at": registered_at, "do_not_contact": do_not_contact, **stats,
    }
    # completeness above assumed a consent row for everyone; _consents() guarantees at least one.
    phones = _phones(rng, n)
    demo.phones = {"customer": np.arange(n), "e164": phones, "created_at": registered_at}
    tb = np.flatnonzero(has_taobao)
    demo.identities = {"customer": tb, "handle": _nicknames(rng, tb.size), "created_at": registered_at[tb]}
    em = np.flatnonzero(has_email)
    local = rng.integers(10**7, 10**10, size=em.size)
    latin = rng.integers(len(_NICK_LATIN), size=em.size)
    domain = rng.integers(len(_MAIL_DOMAINS), size=em.size)
    emails, seen = [], set()
    for k in range(em.size):
        d = _MAIL_DOMAINS[domain[k]]
        address = f"{local[k]}@{d}" if d == "qq.com" else f"{_NICK_LATIN[latin[k]]}{local[k] % 100000}@{d}"
        while address in seen:
            address = "x" + address
        seen.add(address)
        emails.append(address)
    demo.emails = {"customer": em, "email": emails, "created_at": registered_at[em]}
    ad = np.flatnonzero(has_address)
    region = np.where(boutique_home[ad], rng.integers(0, 3, size=ad.size), rng.integers(0, len(_REGIONS), size=ad.size))
    street = rng.integers(len(_STREETS), size=ad.size)
    number = rng.integers(1, 400, size=ad.size)
    room = rng.integers(1, 30, size=ad.size) * 100 + rng.integers(1, 6, size=ad.size)
    demo.addresses = {
        "customer": ad, "recipient": [names[i] for i in ad], "region": [_REGIONS[r][0] for r in region],
        "detail": [f"{_STREETS[s]}{k}号 {r}室" for s, k, r in zip(street, number, room, strict=True)],
        "postcode": [_REGIONS[r][1] for r in region], "created_at": registered_at[ad],
    }
    _consents(rng, demo, n, boutique_home, has_email, registrar, registered_at, do_not_contact)
    _tags(rng, demo, n, knows, stats)


def _consents(
    rng: np.random.Generator, demo: Demo, n: int, boutique_home: np.ndarray, has_email: np.ndarray,
    registrar: np.ndarray, registered_at: np.ndarray, do_not_contact: np.ndarray,
) -> None:
    cust, channel, granted, at, source, recorder = [], [], [], [], [], []

    def add(mask: np.ndarray, ch: str, yes: np.ndarray, when: np.ndarray, src: np.ndarray, by: np.ndarray) -> None:
        idx = np.flatnonzero(mask)
        cust.append(idx)
        channel.append(np.full(idx.size, ch, object))
        granted.append(yes[idx])
        at.append(when[idx])
        source.append(src[idx])
        recorder.append(by[idx])

    none = np.full(n, -1)
    src_sms = np.where(boutique_home, "门店登记表", "淘宝下单页勾选短信通知")
    sms_yes = (rng.random(n) < 0.74) & ~do_not_contact
    add(np.ones(n, bool), "sms", sms_yes, registered_at, src_sms, registrar)
    withdraw = sms_yes & (rng.random(n) < 0.08)
    later = np.minimum(registered_at + rng.integers(DAY, 300 * DAY, size=n), demo.end - 1)
    add(withdraw, "sms", np.zeros(n, bool), later, np.full(n, "短信回复TD退订", object), none)
    add(do_not_contact & ~sms_yes, "sms", np.zeros(n, bool), later, np.full(n, "电话中明确拒绝", object), none)
    wechat = boutique_home & (rng.random(n) < 0.6)
    add(wechat, "wechat", rng.random(n) < 0.85, registered_at, np.full(n, "门店扫码加导购微信", object), registrar)
    add(has_email, "email", rng.random(n) < 0.6, registered_at, np.full(n, "会员资料表", object), none)
    order = np.lexsort((np.concatenate(at), np.concatenate(cust)))
    demo.consents = {
        "customer": np.concatenate(cust)[order], "channel": np.concatenate(channel)[order].tolist(),
        "granted": np.concatenate(granted)[order], "at": np.concatenate(at)[order],
        "source": np.concatenate(source)[order].tolist(), "recorded_by": np.concatenate(recorder)[order],
    }


def _tags(rng: np.random.Generator, demo: Demo, n: int, knows: np.ndarray, stats: dict[str, np.ndarray]) -> None:
    tagged = rng.random(n) < 0.15 + 0.5 * knows
    how_many = rng.integers(1, 4, size=n)
    cust, tag, source, created = [], [], [], []
    picks = rng.random((n, len(TAGS))).argsort(axis=1)[:, :3]
    reg = demo.customers["registered_at"]
    for i in np.flatnonzero(tagged):
        for k in range(how_many[i]):
            cust.append(i)
            tag.append(int(picks[i, k]))
            source.append("manual")
            created.append(reg[i] + 3600 * (k + 1))
    top = np.argsort(-stats["net_spend"], kind="stable")[: max(1, n // 50)]
    for i in sorted(top.tolist()):
        cust.append(i)
        tag.append(len(TAGS))
        source.append("auto")
        created.append(demo.end - DAY)
    order = np.lexsort((np.array(tag), np.array(cust)))
    demo.customer_tags = {
        "customer": np.array(cust)[order], "tag": np.array(tag)[order],
        "source": np.array(source, object)[order].tolist(),
        "created_at": np.minimum(np.array(created)[order], demo.end - 1),
    }
