"""The message library: kinds, built-in Chinese care texts, rendering, the care-tone check and SMS rules.

Pure: no ORM. Care (holiday, birthday, season, miss-you, thanks, feedback) must never sell; commercial
messages (new arrivals, promotions) are a separate kind, counted under a stricter cap and always carry the
opt-out line. See DOMAIN.md §4.
"""

from __future__ import annotations

import math
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.db import models
from django.utils.functional import lazy
from django.utils.translation import gettext, gettext_noop
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Invalid


class Kind(models.TextChoices):
    HOLIDAY = "holiday", _("Holiday wishes")
    BIRTHDAY = "birthday", _("Birthday")
    SEASON = "season", _("Season change")
    MISS_YOU = "miss_you", _("Miss you")
    THANKS_MILESTONE = "thanks_milestone", _("Thank-you: spend milestone")
    THANKS_REFERRAL = "thanks_referral", _("Thank-you: referral")
    FEEDBACK = "feedback", _("Post-delivery feedback")
    COMMERCIAL = "commercial", _("Commercial: new arrivals, promotions")


CARE_KINDS = frozenset(Kind.values) - {Kind.COMMERCIAL}
# A service notice (a purchase was recorded, points moved) is triggered by the customer's own act, not
# composed by the shop: it is no care kind and no campaign kind, so it stays out of `Kind` (the kinds a
# person may write), but the outbox stores it beside them.
NOTICE = "notice"
MESSAGE_KINDS = [*Kind.choices, (NOTICE, _("Service notice: purchase and points"))]
PLACEHOLDERS = ("称呼", "店名", "导购", "节日", "节气")

# Written for the shop, warm and short; each fits in one SMS with a 10-character signature.
LIBRARY: dict[str, tuple[str, ...]] = {
    Kind.HOLIDAY: (
        "{称呼}，{节日}快乐！愿您和家人平安喜乐，日子温暖又明亮。{店名}{导购}敬上",
        "{称呼}，{节日}到了，{导购}在这里祝您阖家团圆、万事顺心。",
        "{称呼}，又逢{节日}，谢谢您一直以来的陪伴，愿您笑口常开，事事如意。{店名}",
    ),
    Kind.BIRTHDAY: (
        "{称呼}，今天是您的生日，{导购}祝您生日快乐！愿新的一岁健康美丽、心想事成。",
        "{称呼}，生日快乐！愿今天的您被温柔以待，新的一年好事常伴。{店名}{导购}",
        "{称呼}，记得今天是您的好日子，{店名}的我们祝您生日快乐、平安顺遂！",
    ),
    Kind.SEASON: (
        "{称呼}，今日{节气}，换季时节早晚温差大，记得适时添衣、多喝温水，照顾好自己。{导购}",
        "{称呼}，{节气}到了，天气渐变，出门记得留意冷暖，愿您健康舒心每一天。{店名}",
        "{称呼}，{节气}时节，{导购}提醒您注意休息、按时吃饭，保重身体。",
    ),
    Kind.MISS_YOU: (
        "{称呼}，好久不见，{导购}挺想您的。最近一切都好吗？天气多变，照顾好自己。",
        "{称呼}，有些日子没见到您了，{店名}的大家都很惦记您，祝您生活顺心、笑容常在。",
        "{称呼}，想起您上次来店里聊得很开心，{导购}在这里问候一声，愿您一切安好。",
    ),
    Kind.THANKS_MILESTONE: (
        "{称呼}，一路走来感谢您对{店名}的信任与支持，能陪伴您是我们的荣幸。{导购}",
        "{称呼}，谢谢您这么久以来的喜爱，{店名}会继续用心，不辜负您的每一次信任。",
    ),
    Kind.THANKS_REFERRAL: (
        "{称呼}，谢谢您把{店名}介绍给朋友，这份信任我们记在心里。{导购}",
        "{称呼}，感谢您的推荐，有您这样的朋友是{店名}的福气，祝您一切顺利！",
    ),
    Kind.FEEDBACK: (
        "{称呼}，您的宝贝应该已经收到了，穿着用着还合心意吗？有任何想法都可以告诉{导购}。",
        "{称呼}，东西收到后还满意吗？您的感受对{店名}很重要，期待听到您的声音。{导购}",
    ),
    Kind.COMMERCIAL: (
        "{称呼}，{店名}秋冬新品已到店，{导购}给您留意了几款适合您的，欢迎有空来看看。",
        "{称呼}，{店名}会员专享优惠本周开始，{导购}提前告诉您，欢迎来店选购。",
    ),
}

# The other side of a referral: the new customer, welcomed and thanked for coming on a friend's word.
REFERRED_WELCOME: tuple[str, ...] = (
    "{称呼}，欢迎您经朋友介绍来到{店名}，谢谢您的信任，有什么需要随时找{导购}。",
    "{称呼}，很高兴因为朋友的介绍认识您，{店名}会用心对待这份缘分，祝您一切顺心。",
)


def referred_welcome(customer: Any) -> str:
    """The welcome text for a referred customer; which one is fixed per customer, as for the library texts."""
    return REFERRED_WELCOME[customer.pk % len(REFERRED_WELCOME)]


_COMPOUND_SURNAMES = (
    "欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "慕容", "司徒", "令狐", "尉迟", "公孙", "夏侯", "长孙", "宇文",
)
_CJK = re.compile(r"^[\u4e00-\u9fff]+$")


def salutation(name: str, gender: str) -> str:
    """王芳 + female → 王女士; 欧阳明 + male → 欧阳先生; unknown gender or a non-Chinese name → the name."""
    name = (name or "").strip()
    if not name:
        return "您好"
    if not _CJK.match(name) or gender not in ("female", "male") or len(name) < 2:
        return name
    surname = name[:2] if name[:2] in _COMPOUND_SURNAMES and len(name) > 2 else name[0]
    return surname + ("女士" if gender == "female" else "先生")


def placeholders_in(template: str) -> list[str]:
    return [field for _, field, _, _ in string.Formatter().parse(template) if field is not None]


def render(template: str, values: Mapping[str, str]) -> str:
    """Fill {称呼}, {店名}, {导购} …; an unknown or missing placeholder is refused rather than sent raw."""
    try:
        fields = placeholders_in(template)
    except ValueError as exc:
        raise Invalid(_("the text has an unmatched brace: %(exc)s"), field="text",
                      params={"exc": exc}) from exc
    unknown = [f for f in fields if f not in PLACEHOLDERS]
    if unknown:
        raise Invalid(_("unknown placeholder {%(unknown)s}; use %(choices)s"), field="text",
                      params={"unknown": unknown[0], "choices": ", ".join(PLACEHOLDERS)})
    missing = [f for f in fields if not values.get(f)]
    if missing:
        raise Invalid(_("no value for {%(missing)s}"), field="text", params={"missing": missing[0]})
    return template.format(**{f: values[f] for f in fields})


@dataclass(frozen=True)
class Span:
    """An offending stretch of text: [start, end) in the text, for a UI to highlight."""

    start: int
    end: int
    text: str
    reason: str


_COMMERCIAL = [
    (r"新品|上新|新款|新货|到货|上架", gettext_noop("new arrivals")),
    (r"[0-9一二三四五六七八九]\s*折|折扣|打折|优惠|让利|减价|降价|满减|包邮|赠品|买[一二1]送", gettext_noop("discount")),
    (r"优惠券|代金券|红包|券", gettext_noop("coupon")),
    (r"促销|特价|秒杀|清仓|甩卖|抢购|限时|大促|店庆|会员日|活动价", gettext_noop("sale")),
    (r"https?://\S*|www\.\S*|\b\S+\.(?:com|cn|net)\b|链接|点击|戳", gettext_noop("link")),
    (r"[¥￥]\s*\d+(?:\.\d+)?|\d+(?:\.\d+)?\s*(?:元|块)", gettext_noop("price")),
    (r"下单|购买|选购|抢购|拍下|欢迎(?:来店|到店|进店)?(?:选购|光临|来看看)", gettext_noop("call to buy")),
]
_MISS_YOU = [
    (r"是不是[^，。！？!?,.]{0,12}(?:不满意|不喜欢|不好|生气|失望|问题)", gettext_noop("did something happen")),
    (r"出了什么(?:问题|事)|发生了什么|怎么了", gettext_noop("did something happen")),
    (r"为什么(?:一直)?(?:不|没)(?:来|光顾|回来|买)|怎么(?:一直)?(?:不|没)(?:来|光顾|回来)", gettext_noop("why haven't you come")),
    (r"哪里做得不好|有什么不满|对我们不满", gettext_noop("did something happen")),
]
_COMMERCIAL_RE = [(re.compile(p, re.IGNORECASE), reason) for p, reason in _COMMERCIAL]
_MISS_YOU_RE = [(re.compile(p), reason) for p, reason in _MISS_YOU]


def tone_problems(text: str, *, kind: str) -> list[Span]:
    """Why a care message is not care: commercial words, and for miss-you, "did something happen?".

    Commercial messages are not checked (selling is their job); an empty list means the text may go out.
    Overlapping findings are merged so each character is highlighted once, by the first reason found.
    """
    if kind == Kind.COMMERCIAL:
        return []
    patterns = _COMMERCIAL_RE + (_MISS_YOU_RE if kind == Kind.MISS_YOU else [])
    found = sorted(
        (Span(m.start(), m.end(), m.group(0), reason) for regex, reason in patterns for m in regex.finditer(text)),
        key=lambda s: (s.start, -s.end),
    )
    merged: list[Span] = []
    for span in found:
        if merged and span.start < merged[-1].end:
            last = merged[-1]
            if span.end > last.end:
                merged[-1] = Span(last.start, span.end, text[last.start:span.end], last.reason)
            continue
        merged.append(span)
    return merged


def check_tone(text: str, *, kind: str) -> None:
    """Refuse a care text that sells or asks "did something happen?"; the message names the words."""
    problems = tone_problems(text, kind=kind)
    if problems:
        # each reason in the language the message is read in: English in `.message`, the page's in `.localized()`
        words = lazy(lambda: "、".join(f"「{p.text}」({gettext(p.reason)})" for p in problems), str)()
        raise Invalid(_("a %(kind)s message must be care only; remove %(words)s"), field="text",
                      params={"kind": kind, "words": words})


def with_survey_link(text: str, link: str) -> str:
    """A feedback text with the shop's own signed survey link after it. The link is added after the care-tone
    check (which refuses links in care texts: a shop's sales link is not care, our survey link is)."""
    if not link:
        return text
    stop = "" if text.rstrip().endswith(("。", "！", "？", "!", "?", ".")) else "。"
    return f"{text.rstrip()}{stop}给这次购物打个分：{link}"


SMS_SINGLE = 70
SMS_PART = 67
OPT_OUT = "回T退订"


def sms_text(text: str, *, shop_name: str, commercial: bool) -> str:
    """The SMS as the phone shows it: 【店名】 signature first, and 回T退订 on every commercial SMS."""
    signed = text if text.startswith(f"【{shop_name}】") else f"【{shop_name}】{text}"
    if commercial and not signed.rstrip().endswith(OPT_OUT):
        signed = f"{signed.rstrip()} {OPT_OUT}"
    return signed


def sms_length(text: str) -> int:
    """Characters as carriers count them: every character (Chinese, Latin, punctuation, space) is one."""
    return len(text)


def sms_segments(text: str) -> int:
    """Up to 70 characters go in one SMS; a longer text is split into parts of 67 (the rest is the header)."""
    length = sms_length(text)
    if length == 0:
        return 0
    return 1 if length <= SMS_SINGLE else math.ceil(length / SMS_PART)
