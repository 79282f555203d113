"""Domain errors speak English to the API, CLI and logs, and the user's language in the web UI."""

from __future__ import annotations

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from huitouke.core.errors import Conflict, Invalid


def test_a_translated_error_keeps_an_english_message_and_localizes_on_request():
    error = Conflict(_("a customer with phone %(phone)s already exists"), field="phone",
                     params={"phone": "138****5678"})
    with translation.override("zh-hans"):
        assert error.message == "a customer with phone 138****5678 already exists"
        assert error.localized() == "手机号 138****5678 的顾客已存在"
        assert str(error) == error.message
    with translation.override("en"):
        assert error.localized() == error.message


def test_lazily_translated_params_follow_the_language_too():
    error = Invalid(_("only owners and managers may %(what)s"), params={"what": _("undo a merge")})
    assert error.message == "only owners and managers may undo a merge"
    with translation.override("zh-hans"):
        assert error.localized() == "只有店主和店长可以撤销合并"


def test_a_plain_text_error_is_the_same_in_every_language():
    error = Invalid("not yet translated", field="x")
    with translation.override("zh-hans"):
        assert error.localized() == error.message == "not yet translated"
    assert error.as_dict() == {"code": "invalid", "message": "not yet translated", "field": "x"}


def test_a_stored_english_text_is_shown_whole_or_by_its_marked_head():
    from huitouke.core.i18n import localized_text

    with translation.override("zh-hans"):
        assert localized_text("the file is empty") == "文件是空的"
        assert localized_text("the repeat-customer discount has expired: 2026-03-03") == "回头客折扣已过期: 2026-03-03"
        assert localized_text("too many failed look-ups: verification is locked for a while (until 10:30 UTC)") == (
            "查询失败次数过多：验证已暂时锁定 (until 10:30 UTC)"
        )
        assert localized_text("nothing marked here") == "nothing marked here"
