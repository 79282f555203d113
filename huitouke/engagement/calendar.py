"""The Chinese care calendar: festivals, the 24 solar terms and birthdays, from lunar-python. Pure: no ORM.

Lunar dates are converted with lunar-python (the same tables as the Hong Kong Observatory's calendar), so a
festival or a lunar birthday lands on the right solar day for any year the library covers (1900–2100).
"""

from __future__ import annotations

import calendar as _gregorian
import datetime as dt
from dataclasses import dataclass

from lunar_python import Lunar, LunarMonth, LunarYear, Solar


@dataclass(frozen=True)
class Festival:
    key: str  # stable English identifier, used in rule keys and idempotency keys
    name: str  # the Chinese name shown to staff and used in messages
    day: dt.date
    lunar: bool


# key, Chinese name, lunar month, lunar day
LUNAR_FESTIVALS: tuple[tuple[str, str, int, int], ...] = (
    ("spring_festival", "春节", 1, 1),
    ("lantern", "元宵节", 1, 15),
    ("dragon_boat", "端午节", 5, 5),
    ("qixi", "七夕", 7, 7),
    ("mid_autumn", "中秋节", 8, 15),
    ("double_ninth", "重阳节", 9, 9),
)
# key, Chinese name, month, day
SOLAR_FESTIVALS: tuple[tuple[str, str, int, int], ...] = (
    ("new_year", "元旦", 1, 1),
    ("womens_day", "妇女节", 3, 8),
    ("national_day", "国庆节", 10, 1),
)
# The four "beginnings" mark the change of season, the moment for weather care.
SEASON_TERMS: tuple[str, ...] = ("立春", "立夏", "立秋", "立冬")
SOLAR_TERM_NAMES: tuple[str, ...] = (
    "小寒", "大寒", "立春", "雨水", "惊蛰", "春分", "清明", "谷雨", "立夏", "小满", "芒种", "夏至",
    "小暑", "大暑", "立秋", "处暑", "白露", "秋分", "寒露", "霜降", "立冬", "小雪", "大雪", "冬至",
)
# lunar-python names the terms of the neighbouring years in its table by pinyin keys.
_PINYIN_TERMS = {
    "DONG_ZHI": "冬至", "XIAO_HAN": "小寒", "DA_HAN": "大寒", "LI_CHUN": "立春", "YU_SHUI": "雨水",
    "JING_ZHE": "惊蛰", "DA_XUE": "大雪",
}


def _date(solar: Solar) -> dt.date:
    return dt.date(solar.getYear(), solar.getMonth(), solar.getDay())


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th given weekday (Monday = 0) of a month, e.g. Mother's Day = nth_weekday(y, 5, 6, 2)."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def lunar_to_solar(year: int, month: int, day: int, *, leap: bool = False) -> dt.date:
    """Solar date of a lunar date in lunar year `year`.

    Fallbacks, so that every lunar date has a day every year: a leap month that this year does not have
    becomes the ordinary month of that number; day 30 in a 29-day ("small") month becomes day 29.
    """
    if leap and LunarYear.fromYear(year).getLeapMonth() != month:
        leap = False
    lunar_month = -month if leap else month
    day = min(day, LunarMonth.fromYm(year, lunar_month).getDayCount())
    return _date(Lunar.fromYmd(year, lunar_month, day).getSolar())


def festivals(year: int) -> list[Festival]:
    """The year's care festivals (solar year), sorted by date."""
    found = [Festival(key, name, lunar_to_solar(year, m, d), True) for key, name, m, d in LUNAR_FESTIVALS]
    found += [Festival(key, name, dt.date(year, m, d), False) for key, name, m, d in SOLAR_FESTIVALS]
    found.append(Festival("mothers_day", "母亲节", nth_weekday(year, 5, 6, 2), False))
    found.append(Festival("fathers_day", "父亲节", nth_weekday(year, 6, 6, 3), False))
    return sorted(found, key=lambda f: f.day)


def festivals_on(day: dt.date) -> list[Festival]:
    return [f for f in festivals(day.year) if f.day == day]


def solar_terms(year: int) -> dict[str, dt.date]:
    """The 24 solar terms whose day falls in the solar year, by Chinese name, in date order."""
    found: dict[str, dt.date] = {}
    for probe in (Solar.fromYmd(year, 1, 1), Solar.fromYmd(year, 7, 1)):
        for name, solar in probe.getLunar().getJieQiTable().items():
            day = _date(solar)
            if day.year == year:
                found[_PINYIN_TERMS.get(name, name)] = day
    return dict(sorted(found.items(), key=lambda item: item[1]))


def season_change_on(day: dt.date) -> str | None:
    """立春/立夏/立秋/立冬 when `day` is one of them, else None."""
    for name, term_day in solar_terms(day.year).items():
        if term_day == day and name in SEASON_TERMS:
            return name
    return None


def solar_birthday(year: int, month: int, day: int) -> dt.date:
    """29 February is kept on 28 February in common years."""
    if month == 2 and day == 29 and not _gregorian.isleap(year):
        return dt.date(year, 2, 28)
    return dt.date(year, month, day)


def birthday_in_year(*, calendar: str, month: int, day: int, leap_month: bool = False, year: int) -> dt.date:
    """The solar day of the birthday in `year`: the solar year for a solar birthday, the lunar year for a
    lunar one (so a birthday late in the 12th lunar month falls in January/February of `year` + 1)."""
    if calendar == "lunar":
        return lunar_to_solar(year, month, day, leap=leap_month)
    return solar_birthday(year, month, day)


def next_birthday(*, calendar: str, month: int, day: int, leap_month: bool = False, on_or_after: dt.date) -> dt.date:
    """The first birthday on or after a day (looks at the lunar year before too: its 12th month spills over)."""
    candidates = [
        birthday_in_year(calendar=calendar, month=month, day=day, leap_month=leap_month, year=year)
        for year in (on_or_after.year - 1, on_or_after.year, on_or_after.year + 1)
    ]
    return min(c for c in candidates if c >= on_or_after)
