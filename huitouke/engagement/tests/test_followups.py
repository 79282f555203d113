"""Follow-up tasks: the ≥ 2000 yuan and top-spender rules, owners, closing, the associate figures, the
archive contest, and the tasks API (errors and tenancy)."""

from __future__ import annotations

import datetime as dt
import io
import json
from decimal import Decimal

import pytest
from django.core.management import call_command

from huitouke.core.models import Role
from huitouke.core.timeutil import SHANGHAI
from huitouke.customers.models import Customer
from huitouke.engagement import selectors
from huitouke.engagement.models import FollowUpTask, Message
from huitouke.engagement.services.followups import (
    close_task,
    create_task,
    record_spot_check,
    run_task_rules,
    spot_check_sample,
)
from huitouke.engagement.services.outbox import enqueue_message
from huitouke.engagement.services.setup import set_rule
from huitouke.engagement.tests.conftest import contactable
from huitouke.testing.api import JSON, assert_error, client_for
from huitouke.testing.factories import CustomerFactory, OrderFactory, StaffFactory


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(hour), tzinfo=SHANGHAI)


def with_completeness(customer, percent: int):
    """Completeness is derived on save; set it directly, as a filled-in profile would have it."""
    Customer.objects.filter(pk=customer.pk).update(completeness=percent)
    return customer


def test_big_purchase_creates_one_call_task_a_week_later_for_her_own_associate(shop):
    lin = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小林")
    wang = CustomerFactory(shop=shop, name="王芳", registered_by=lin)
    li = CustomerFactory(shop=shop, name="李雷")  # nobody registered him: unassigned
    big = OrderFactory(shop=shop, customer=wang, ordered_at=at(dt.date(2026, 5, 20)), paid_amount=Decimal("2000.00"))
    OrderFactory(shop=shop, customer=li, ordered_at=at(dt.date(2026, 5, 20)), paid_amount=Decimal("1999.99"))
    OrderFactory(shop=shop, customer=li, ordered_at=at(dt.date(2026, 5, 10)), paid_amount=Decimal("5000.00"))  # old

    for _ in range(2):  # idempotent per order
        planned = run_task_rules(shop=shop, day=dt.date(2026, 5, 21), now=at(dt.date(2026, 5, 21)))
    assert [(p.customer_id, p.rule, p.kind, p.due_on, p.owner, p.created) for p in planned] == [
        (wang.pk, "big_purchase", "call", "2026-05-27", "小林", False)]
    [task] = FollowUpTask.objects.all()
    assert (task.owner, task.source, task.source_key, task.title) == (
        lin, "rule", f"big_purchase:order:{big.pk}", "回访：05-20 单笔消费 ¥2000")
    assert run_task_rules(shop=shop, day=dt.date(2026, 5, 22))[0].created is False  # still in the window
    assert run_task_rules(shop=shop, day=dt.date(2026, 5, 23)) == []  # out of the 3-day window


def test_top_spender_of_last_year_gets_a_visit_on_the_set_day(shop):
    wang = CustomerFactory(shop=shop, name="王芳")
    li = CustomerFactory(shop=shop, name="李雷")
    OrderFactory(shop=shop, customer=wang, ordered_at=at(dt.date(2026, 3, 1)), paid_amount=Decimal("800.00"))
    OrderFactory(shop=shop, customer=wang, ordered_at=at(dt.date(2026, 9, 1)), paid_amount=Decimal("800.00"))
    OrderFactory(shop=shop, customer=li, ordered_at=at(dt.date(2026, 6, 1)), paid_amount=Decimal("1500.00"))
    OrderFactory(shop=shop, customer=li, ordered_at=at(dt.date(2027, 1, 1)), paid_amount=Decimal("900.00"))  # 2027
    set_rule(shop=shop, rule="big_purchase", enabled=False)
    assert run_task_rules(shop=shop, day=dt.date(2027, 1, 1)) == []
    [planned] = run_task_rules(shop=shop, day=dt.date(2027, 1, 2))
    assert (planned.customer_id, planned.kind, planned.due_on, planned.title) == (
        wang.pk, "visit", "2027-01-16", "2026 年度消费冠军：登门拜访（带花）")
    set_rule(shop=shop, rule="top_spender", enabled=False)
    assert run_task_rules(shop=shop, day=dt.date(2028, 1, 2)) == []


def test_care_plan_lists_tasks_without_creating_and_run_creates_once(shop):
    wang = contactable(shop)
    OrderFactory(shop=shop, customer=wang, ordered_at=at(dt.date(2026, 5, 20)), paid_amount=Decimal("2600.00"))
    out = io.StringIO()
    call_command("care", "plan", "--shop", "jiangnan", "--date", "2026-05-20", "--json", stdout=out)
    body = json.loads(out.getvalue())
    assert [(t["customer_id"], t["rule"], t["due_on"], t["created"]) for t in body["tasks"]] == [
        (wang.pk, "big_purchase", "2026-05-27", True)]
    assert FollowUpTask.objects.count() == 0
    for _ in range(2):
        out = io.StringIO()
        call_command("care", "run", "--shop", "jiangnan", "--date", "2026-05-20", stdout=out)
    assert FollowUpTask.objects.count() == 1
    assert out.getvalue().splitlines()[-1].endswith("; created 0 follow-up task(s)")


def test_closing_needs_an_outcome_and_happens_once(shop):
    owner = StaffFactory(shop=shop)
    task, created = create_task(shop=shop, customer=CustomerFactory(shop=shop), kind="call", title="回访",
                                due_on=dt.date(2026, 5, 27))
    assert created and task.owner is None
    with pytest.raises(Exception, match="note the outcome"):
        close_task(shop=shop, task_id=task.pk, by=owner, outcome="  ")
    done = close_task(shop=shop, task_id=task.pk, by=owner, outcome="很满意，下月再来", now=at(dt.date(2026, 5, 26)))
    assert (done.status, done.outcome, done.closed_by) == ("done", "很满意，下月再来", owner)
    with pytest.raises(Exception, match="already done"):
        close_task(shop=shop, task_id=task.pk, by=owner, outcome="again")


def test_associate_figures_count_the_month(shop):
    lin = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小林")
    zhou = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小周")
    may = at(dt.date(2026, 5, 3))
    a = with_completeness(contactable(shop, registered_by=lin, registered_at=may), 60)
    with_completeness(CustomerFactory(shop=shop, registered_by=lin, registered_at=at(dt.date(2026, 4, 3))), 90)
    for due, done in ((dt.date(2026, 5, 10), True), (dt.date(2026, 5, 12), False), (dt.date(2026, 6, 30), False)):
        task, _ = create_task(shop=shop, customer=a, kind="call", title="回访", due_on=due)
        if done:
            close_task(shop=shop, task_id=task.pk, by=lin, outcome="ok", now=at(dt.date(2026, 5, 11)))
    message = enqueue_message(shop=shop, customer=a, rule="birthday", kind="birthday", channel="sms", text="生日快乐",
                              day=dt.date(2026, 5, 4), now=at(dt.date(2026, 5, 4)), associate=lin)
    Message.objects.filter(pk=message.pk).update(status="sent", sent_at=at(dt.date(2026, 5, 4)))
    figures = {f.staff.display_name: f for f in selectors.associate_figures(
        shop=shop, month=dt.date(2026, 5, 1), today=dt.date(2026, 5, 20))}
    lin_row = figures["小林"]
    assert (lin_row.open_tasks, lin_row.overdue_tasks, lin_row.tasks_done, lin_row.contacts, lin_row.registered,
            lin_row.registered_total, lin_row.avg_completeness) == (2, 1, 1, 2, 1, 2, 75.0)
    zhou_row = figures["小周"]
    assert (zhou_row.open_tasks, zhou_row.contacts, zhou_row.registered_total, zhou_row.avg_completeness) == (
        0, 0, 0, None)
    assert zhou.pk == zhou_row.staff.pk


def test_archive_contest_rounds_and_spot_checks(shop):
    lin = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小林")
    zhou = StaffFactory(shop=shop, role=Role.ASSOCIATE, display_name="小周")
    for month in (1, 2, 3):
        with_completeness(CustomerFactory(shop=shop, registered_by=lin, registered_at=at(dt.date(2026, month, 5))), 50)
    with_completeness(CustomerFactory(shop=shop, registered_by=zhou, registered_at=at(dt.date(2026, 2, 5))), 85)
    with_completeness(CustomerFactory(shop=shop, registered_by=zhou, registered_at=at(dt.date(2026, 5, 5))), 95)
    with_completeness(CustomerFactory(shop=shop, registered_by=zhou, registered_at=at(dt.date(2026, 4, 1))), 40)
    sample = spot_check_sample(shop=shop, associate=lin, size=2, seed=7)
    assert len(sample) == 2 and {c.registered_by_id for c in sample} == {lin.pk}
    record_spot_check(shop=shop, customer=sample[0], checked_by=None, valid=True, on=dt.date(2026, 8, 1))
    record_spot_check(shop=shop, customer=sample[1], checked_by=None, valid=False, on=dt.date(2026, 8, 1))
    record_spot_check(shop=shop, customer=sample[1], checked_by=None, valid=True, on=dt.date(2026, 8, 1))  # corrected
    [zhou_customer] = spot_check_sample(shop=shop, associate=zhou, size=1, seed=1)
    record_spot_check(shop=shop, customer=zhou_customer, checked_by=None, valid=False, on=dt.date(2026, 9, 1))
    record_spot_check(shop=shop, customer=zhou_customer, checked_by=None, valid=True, on=dt.date(2026, 6, 1))  # Q2
    contest = selectors.archive_contest(shop=shop, year=2026)
    rows = {r.staff.display_name: (r.q1_registered, r.q2_complete, r.q3_checked, r.q3_valid, r.q3_validity)
            for r in contest["rows"]}
    assert rows["小林"] == (3, 0, 2, 2, 100.0)
    assert rows["小周"] == (1, 2, 1, 0, 0.0)
    assert (contest["winners"]["q1"], contest["winners"]["q2"], contest["winners"]["q3"]) == (lin, zhou, lin)


def test_tasks_api_create_list_done_errors_and_tenancy(tenant_a, tenant_b):
    shop = tenant_a.shop
    customer = CustomerFactory(shop=shop, registered_by=tenant_a.owner)
    api = client_for(tenant_a.token)
    response = api.post("/api/v1/engagement/tasks", {"customer_id": customer.pk, "kind": "call", "title": "回访",
                                                     "due_on": "2020-01-01"}, content_type=JSON)
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["owner_id"], body["status"], body["source"], body["overdue"]) == (
        tenant_a.owner.pk, "open", "manual", True)
    listed = api.get("/api/v1/engagement/tasks?overdue=true").json()
    assert [t["id"] for t in listed["items"]] == [body["id"]]
    assert_error(api.post("/api/v1/engagement/tasks", {"customer_id": customer.pk, "kind": "fax", "title": "x",
                                                       "due_on": "2020-01-01"}, content_type=JSON), 422, "invalid", "kind")
    assert_error(api.post(f"/api/v1/engagement/tasks/{body['id']}/done", {}, content_type=JSON), 422, "invalid",
                 "outcome")
    done = api.post(f"/api/v1/engagement/tasks/{body['id']}/done", {"outcome": "已回访"}, content_type=JSON)
    assert done.json()["status"] == "done" and done.json()["overdue"] is False
    assert_error(api.post(f"/api/v1/engagement/tasks/{body['id']}/cancel", {}, content_type=JSON), 409, "conflict",
                 "status")

    other = client_for(tenant_b.token)
    assert other.get("/api/v1/engagement/tasks").json()["count"] == 0
    assert_error(other.post(f"/api/v1/engagement/tasks/{body['id']}/done", {"outcome": "x"}, content_type=JSON),
                 404, "not_found")
    assert_error(other.post("/api/v1/engagement/tasks", {"customer_id": customer.pk, "kind": "call", "title": "x",
                                                         "due_on": "2020-01-01"}, content_type=JSON), 404, "not_found",
                 "customer")
    assert_error(api.post("/api/v1/engagement/tasks", {"customer_id": customer.pk, "kind": "call", "title": "x",
                                                       "due_on": "2020-01-01", "owner_id": tenant_b.owner.pk},
                          content_type=JSON), 404, "not_found", "owner_id")
    lin = StaffFactory(shop=shop, role=Role.ASSOCIATE)
    moved = api.post(f"/api/v1/engagement/tasks/{body['id']}/owner", {"owner_id": lin.pk}, content_type=JSON)
    assert moved.json()["owner_id"] == lin.pk
    assert_error(other.post(f"/api/v1/engagement/tasks/{body['id']}/owner", {"owner_id": tenant_b.owner.pk},
                            content_type=JSON), 404, "not_found")
    figures = {row["name"]: row for row in api.get("/api/v1/engagement/associates?month=2020-01-01").json()}
    assert figures[tenant_a.owner.display_name]["registered_total"] == 1
