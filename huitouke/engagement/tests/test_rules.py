"""Care rules on days computed by the calendar libraries, the plan/run commands, and rule switches."""

from __future__ import annotations

import datetime as dt
import io
import json

import pytest
from django.core.management import call_command

from huitouke.core.timeutil import SHANGHAI
from huitouke.engagement.models import Message
from huitouke.engagement.rules import overdue_reason, rule_settings
from huitouke.engagement.services.care import run_rules
from huitouke.engagement.services.setup import set_rule
from huitouke.engagement.tests.conftest import contactable
from huitouke.testing.factories import CustomerScoreFactory, OrderFactory, StaffFactory


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def buyer(shop, *purchase_days: dt.date, **fields):
    customer = contactable(shop, **fields)
    for day in purchase_days:
        OrderFactory(shop=shop, customer=customer, ordered_at=at(day))
    customer.refresh_from_db()
    return customer


def planned(shop, day):
    return [(p.customer_id, p.rule, p.status, p.reason) for p in run_rules(shop=shop, day=day, now=at(day), dry_run=True)]


def test_solar_birthday_on_the_day_and_n_days_before(shop):
    customer = contactable(shop, birth_month=5, birth_day=20)
    assert planned(shop, dt.date(2026, 5, 20)) == [(customer.pk, "birthday", "queued", "")]
    assert planned(shop, dt.date(2026, 5, 19)) == []
    set_rule(shop=shop, rule="birthday", enabled=True, params={"days_before": 3})
    assert planned(shop, dt.date(2026, 5, 17)) == [(customer.pk, "birthday", "queued", "")]


@pytest.mark.parametrize("day", [dt.date(2026, 9, 13), dt.date(2027, 9, 3)])
def test_lunar_birthday_in_two_years(shop, day):
    # 八月初三: 2026-09-13 and 2027-09-03 by lunar-python
    customer = contactable(shop, birthday_calendar="lunar", birth_month=8, birth_day=3)
    assert planned(shop, day) == [(customer.pk, "birthday", "queued", "")]
    assert planned(shop, day - dt.timedelta(days=1)) == []


def test_spring_festival_2027_wishes_go_to_buyers_with_the_festival_name(shop):
    wang = buyer(shop, dt.date(2027, 1, 20))
    contactable(shop, name="未购买")  # never bought: no holiday wishes
    [p] = run_rules(shop=shop, day=dt.date(2027, 2, 6), now=at(dt.date(2027, 2, 6)), dry_run=True)
    assert (p.customer_id, p.rule, p.kind, p.status) == (wang.pk, "holiday:spring_festival", "holiday", "queued")
    assert "春节" in p.text and p.text.startswith("【江南小店】王女士，")
    assert planned(shop, dt.date(2027, 2, 5)) == []


def test_start_of_winter_brings_season_care(shop):
    customer = buyer(shop, dt.date(2026, 10, 20))
    [p] = run_rules(shop=shop, day=dt.date(2026, 11, 7), now=at(dt.date(2026, 11, 7)), dry_run=True)
    assert (p.customer_id, p.rule) == (customer.pk, "season:立冬") and "立冬" in p.text


def test_birthday_wins_over_a_festival_on_the_same_day(shop):
    # Mid-Autumn 2027 is 15 September
    customer = buyer(shop, dt.date(2027, 8, 1), birth_month=9, birth_day=15)
    assert planned(shop, dt.date(2027, 9, 15)) == [
        (customer.pk, "birthday", "queued", ""), (customer.pk, "holiday:mid_autumn", "suppressed", "daily_cap")]


def test_miss_you_from_the_model_score(shop):
    day = dt.date(2026, 11, 23)
    late = buyer(shop, dt.date(2026, 3, 1), dt.date(2026, 6, 1))
    on_time = buyer(shop, dt.date(2026, 3, 1), dt.date(2026, 6, 1))
    sure_to_return = buyer(shop, dt.date(2026, 3, 1), dt.date(2026, 6, 1))
    CustomerScoreFactory(shop=shop, customer=late, days_overdue=20.0, p_alive=0.4)
    CustomerScoreFactory(shop=shop, customer=on_time, days_overdue=5.0, p_alive=0.4)
    CustomerScoreFactory(shop=shop, customer=sure_to_return, days_overdue=30.0, p_alive=0.95)
    assert planned(shop, day) == [(late.pk, "miss_you", "queued", "")]


def test_miss_you_without_a_score_uses_her_own_average_gap(shop):
    params = rule_settings(shop=shop)["miss_you"][1]
    customer = buyer(shop, dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 3))  # 61 days / 2 gaps
    # a 30.5-day gap + 14 days overdue: due from 44.5 days after 3 March
    assert overdue_reason(customer=customer, day=dt.date(2026, 4, 16), score=None, params=params) is None
    assert overdue_reason(customer=customer, day=dt.date(2026, 4, 17), score=None, params=params) == (
        "45 days since her last purchase, usually every 30.5")
    once = buyer(shop, dt.date(2026, 1, 1))
    assert overdue_reason(customer=once, day=dt.date(2026, 3, 1), score=None, params=params) is None
    assert overdue_reason(customer=once, day=dt.date(2026, 3, 2), score=None, params=params) == "one purchase, 60 days ago"
    assert overdue_reason(customer=once, day=dt.date(2027, 1, 2), score=None, params=params) is None  # lost


def test_miss_you_is_sent_in_her_associates_name_and_not_repeated_within_90_days(shop):
    lin = StaffFactory(shop=shop, display_name="小林", user__username="lin")
    customer = buyer(shop, dt.date(2026, 1, 1), registered_by=lin)
    day = dt.date(2026, 3, 10)
    [p] = run_rules(shop=shop, day=day, now=at(day))
    message = Message.objects.get(customer=customer)
    assert (p.rule, message.associate_id) == ("miss_you", lin.pk)
    assert "小林" in message.text or "江南小店" in message.text
    assert planned(shop, day + dt.timedelta(days=89)) == []
    assert planned(shop, day + dt.timedelta(days=90))[0][1] == "miss_you"


def test_a_rule_switched_off_sends_nothing(shop):
    contactable(shop, birth_month=5, birth_day=20)
    set_rule(shop=shop, rule="birthday", enabled=False)
    assert planned(shop, dt.date(2026, 5, 20)) == []


def test_care_plan_json_lists_without_saving_and_run_enqueues_once(shop):
    customer = contactable(shop, birth_month=5, birth_day=20)
    refused = contactable(shop, birth_month=5, birth_day=20, channels=())
    out = io.StringIO()
    call_command("care", "plan", "--shop", "jiangnan", "--date", "2026-05-20", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert (body["date"], body["dry_run"]) == ("2026-05-20", True)
    assert [(m["customer_id"], m["rule"], m["channel"], m["status"], m["reason"]) for m in body["messages"]] == [
        (customer.pk, "birthday", "sms", "queued", ""), (refused.pk, "birthday", "sms", "suppressed", "no_consent")]
    assert body["messages"][0]["text"].startswith("【江南小店】王女士，")
    assert Message.objects.count() == 0
    for _ in range(2):
        out = io.StringIO()
        call_command("care", "run", "--shop", "jiangnan", "--date", "2026-05-20", stdout=out)
    assert Message.objects.count() == 2
    assert out.getvalue().splitlines()[-1] == "jiangnan 2026-05-20: queued 1, suppressed 1; created 0 follow-up task(s)"


def test_care_channel_command_configures_without_secrets_and_deliver_sends(shop, smtp_server):
    out = io.StringIO()
    call_command("care", "channel", "--shop", "jiangnan", "--channel", "email", "--provider", "smtp",
                 "--set", "host=127.0.0.1", "--set", f"port={smtp_server.port}", "--set", "use_tls=false",
                 "--secret-name", "jn-mail", stdout=out)
    assert out.getvalue().strip() == (
        f'jiangnan: email → smtp {{"host": "127.0.0.1", "port": {smtp_server.port}, "use_tls": "false"}} '
        "(secrets: jn-mail)")
    customer = contactable(shop, channels=("email",), birth_month=5, birth_day=20, preferred_channel="email")
    run_rules(shop=shop, day=dt.date(2026, 5, 20), now=at(dt.date(2026, 5, 20)))
    Message.objects.filter(customer=customer).update(next_attempt_at=at(dt.date(2026, 5, 20)))
    out = io.StringIO()
    call_command("care", "deliver", "--shop", "jiangnan", stdout=out)
    assert out.getvalue().strip() == "sent 1, retrying 0, failed 0, held 0, recovered 0"
    assert smtp_server.envelopes[0].rcpt_tos == [f"c{customer.pk}@example.com"]


def test_a_secret_in_channel_settings_is_refused(shop):
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="keep auth_token out of the database"):
        call_command("care", "channel", "--shop", "jiangnan", "--channel", "sms", "--provider", "twilio",
                     "--set", "auth_token=abc")


def test_spend_milestone_is_thanked_once_for_the_highest_one_passed(shop):
    from decimal import Decimal

    set_rule(shop=shop, rule="feedback", enabled=False)  # the purchases would also ask for feedback
    customer = contactable(shop)
    OrderFactory(shop=shop, customer=customer, ordered_at=at(dt.date(2026, 3, 1)), paid_amount=Decimal("800.00"))
    assert [p for p in planned(shop, dt.date(2026, 3, 1)) if p[1].startswith("thanks")] == []
    OrderFactory(shop=shop, customer=customer, ordered_at=at(dt.date(2026, 3, 10)), paid_amount=Decimal("2500.00"))
    # 3,300 yuan: past 1,000 and 3,000; thanked for 3,000 only, on the day or up to 3 days later
    assert planned(shop, dt.date(2026, 3, 10)) == [(customer.pk, "thanks_milestone:3000", "queued", "")]
    assert planned(shop, dt.date(2026, 3, 14)) == []
    run_rules(shop=shop, day=dt.date(2026, 3, 11), now=at(dt.date(2026, 3, 11)))
    assert planned(shop, dt.date(2026, 3, 12)) == []  # thanked already
    assert Message.objects.get(customer=customer).kind == "thanks_milestone"
