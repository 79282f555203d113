"""Message library: every built-in care text is care, fits one SMS, and the checks name what they refuse."""

from __future__ import annotations

import pytest
from django.utils import translation

from huitouke.core.errors import Invalid
from huitouke.engagement import library as lib

VALUES = {"称呼": "欧阳女士", "店名": "江南布衣小店", "导购": "小林", "节日": "中秋节", "节气": "立冬"}


@pytest.mark.parametrize("kind", lib.Kind.values)
def test_every_kind_has_several_texts_that_pass_their_own_check_and_fit_one_sms(kind):
    texts = lib.LIBRARY[kind]
    assert len(texts) >= 2
    for template in texts:
        text = lib.render(template, VALUES)
        assert lib.tone_problems(text, kind=kind) == []
        sms = lib.sms_text(text, shop_name=VALUES["店名"], commercial=kind == lib.Kind.COMMERCIAL)
        assert lib.sms_segments(sms) == 1, sms


def test_commercial_library_texts_would_fail_as_care():
    for template in lib.LIBRARY[lib.Kind.COMMERCIAL]:
        assert lib.tone_problems(lib.render(template, VALUES), kind=lib.Kind.HOLIDAY)


@pytest.mark.parametrize(
    ("name", "gender", "expected"),
    [("王芳", "female", "王女士"), ("李建国", "male", "李先生"), ("欧阳娜娜", "female", "欧阳女士"),
     ("张伟", "", "张伟"), ("Alice Wu", "female", "Alice Wu"), ("", "female", "您好")],
)
def test_salutation_from_name_and_gender(name, gender, expected):
    assert lib.salutation(name, gender) == expected


def test_render_refuses_unknown_or_missing_placeholders():
    assert lib.render("{称呼}，生日快乐！{导购}", {"称呼": "王女士", "导购": "小林"}) == "王女士，生日快乐！小林"
    with pytest.raises(Invalid, match="unknown placeholder"):
        lib.render("{姓名}好", VALUES)
    with pytest.raises(Invalid, match="no value for"):
        lib.render("{称呼}好，我是{导购}", {"称呼": "王女士"})


def test_care_tone_check_highlights_every_commercial_span():
    text = "王女士，中秋快乐！全场8折，优惠券已发放，详情见 https://x.cn/a ，¥199起，快来下单"
    spans = lib.tone_problems(text, kind=lib.Kind.HOLIDAY)
    assert [(s.text, s.reason) for s in spans] == [
        ("8折", "discount"), ("优惠券", "coupon"), ("https://x.cn/a", "link"), ("¥199", "price"),
        ("下单", "call to buy"),
    ]
    assert all(text[s.start:s.end] == s.text for s in spans)
    with pytest.raises(Invalid, match="「8折」") as refused:
        lib.check_tone(text, kind=lib.Kind.HOLIDAY)
    assert "「8折」(discount)、「优惠券」(coupon)" in refused.value.message  # the API's English
    with translation.override("zh-hans"):
        assert "「8折」(优惠)、「优惠券」(优惠券)" in refused.value.localized()
        assert "「下单」(催促购买)" in refused.value.localized()


def test_season_care_never_mentions_new_arrivals():
    spans = lib.tone_problems("李女士，立冬了，注意保暖，冬季新款已上架", kind=lib.Kind.SEASON)
    assert [(s.text, s.reason) for s in spans] == [("新款", "new arrivals"), ("上架", "new arrivals")]


def test_miss_you_refuses_did_something_happen():
    text = "王女士，好久不见，是不是对我们的服务不满意？为什么不来了？是出了什么问题吗"
    spans = lib.tone_problems(text, kind=lib.Kind.MISS_YOU)
    assert [(s.text, s.reason) for s in spans] == [
        ("是不是对我们的服务不满意", "did something happen"),
        ("为什么不来", "why haven't you come"),
        ("出了什么问题", "did something happen"),
    ]
    # the same words in a birthday message are odd but not the miss-you rule's business
    assert lib.tone_problems(text, kind=lib.Kind.BIRTHDAY) == []


def test_commercial_messages_are_not_tone_checked():
    assert lib.tone_problems("新品8折，¥199起，点击链接下单", kind=lib.Kind.COMMERCIAL) == []


def test_sms_segments_70_single_67_per_part():
    assert lib.sms_segments("") == 0
    assert lib.sms_segments("好" * 70) == 1
    assert lib.sms_segments("好" * 71) == 2
    assert lib.sms_segments("好" * 134) == 2
    assert lib.sms_segments("好" * 135) == 3
    assert lib.sms_length("【小店】Hi 王女士") == 10


def test_sms_signature_and_opt_out_only_on_commercial():
    assert lib.sms_text("生日快乐", shop_name="小店", commercial=False) == "【小店】生日快乐"
    assert lib.sms_text("新品到店", shop_name="小店", commercial=True) == "【小店】新品到店 回T退订"
    # idempotent: a signed text is not signed twice, the opt-out not added twice
    once = lib.sms_text("新品到店", shop_name="小店", commercial=True)
    assert lib.sms_text(once, shop_name="小店", commercial=True) == once
