"""The care calendar: dates come from lunar-python; these are the days a Chinese calendar prints."""

from __future__ import annotations

import datetime as dt

from lunar_python import Lunar

from huitouke.engagement import calendar as cal

D = dt.date


def test_spring_festival_2027_falls_on_6_february():
    assert {f.key: f.day for f in cal.festivals(2027)}["spring_festival"] == D(2027, 2, 6)


def test_festivals_2027_lunar_and_solar():
    days = {f.name: f.day for f in cal.festivals(2027)}
    assert days == {
        "元旦": D(2027, 1, 1), "春节": D(2027, 2, 6), "元宵节": D(2027, 2, 20), "妇女节": D(2027, 3, 8),
        "母亲节": D(2027, 5, 9), "端午节": D(2027, 6, 9), "父亲节": D(2027, 6, 20), "七夕": D(2027, 8, 8),
        "中秋节": D(2027, 9, 15), "国庆节": D(2027, 10, 1), "重阳节": D(2027, 10, 8),
    }
    assert [f.key for f in cal.festivals_on(D(2027, 9, 15))] == ["mid_autumn"]


def test_mothers_and_fathers_day_are_second_and_third_sundays():
    assert cal.nth_weekday(2026, 5, 6, 2) == D(2026, 5, 10)
    assert cal.nth_weekday(2026, 6, 6, 3) == D(2026, 6, 21)


def test_start_of_winter_2026_is_the_librarys_day():
    terms = cal.solar_terms(2026)
    assert terms["立冬"] == D(2026, 11, 7)
    assert len(terms) == 24 and list(terms)[0] == "小寒" and list(terms)[-1] == "冬至"
    assert set(terms) == set(cal.SOLAR_TERM_NAMES)
    assert cal.season_change_on(D(2026, 11, 7)) == "立冬"
    assert cal.season_change_on(D(2026, 11, 22)) is None  # 小雪 is a term but not a change of season


def test_lunar_birthday_lands_on_different_solar_days():
    # 八月初三 (8th lunar month, 3rd day)
    assert cal.birthday_in_year(calendar="lunar", month=8, day=3, year=2026) == D(2026, 9, 13)
    assert cal.birthday_in_year(calendar="lunar", month=8, day=3, year=2027) == D(2027, 9, 3)
    assert Lunar.fromYmd(2027, 8, 3).getSolar().toYmd() == "2027-09-03"


def test_solar_birthday_and_29_february():
    assert cal.birthday_in_year(calendar="solar", month=5, day=20, year=2026) == D(2026, 5, 20)
    assert cal.next_birthday(calendar="solar", month=2, day=29, on_or_after=D(2026, 1, 1)) == D(2026, 2, 28)
    assert cal.next_birthday(calendar="solar", month=2, day=29, on_or_after=D(2028, 1, 1)) == D(2028, 2, 29)


def test_leap_month_birthday_falls_back_to_the_ordinary_month():
    # 2025 has a leap 6th month: 闰六月初一 = 2025-07-25; 2026 has none, so the ordinary 六月初一.
    assert cal.lunar_to_solar(2025, 6, 1, leap=True) == D(2025, 7, 25)
    assert cal.lunar_to_solar(2025, 6, 1) == D(2025, 6, 25)
    assert cal.lunar_to_solar(2026, 6, 1, leap=True) == cal.lunar_to_solar(2026, 6, 1) == D(2026, 7, 14)


def test_day_30_in_a_short_lunar_month_falls_back_to_day_29():
    # the 2nd lunar month of 2026 has 29 days
    assert cal.lunar_to_solar(2026, 2, 30) == cal.lunar_to_solar(2026, 2, 29)


def test_next_lunar_birthday_late_in_the_12th_month_spills_into_january():
    # 腊月二十 of lunar year 2026 is in January 2027
    assert cal.next_birthday(calendar="lunar", month=12, day=20, on_or_after=D(2027, 1, 1)) == D(2027, 1, 27)
