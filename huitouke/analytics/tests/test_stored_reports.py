"""Cohort and model-check tables are stored per shop and never outlive a change of the purchases."""

from __future__ import annotations

import datetime as dt

from huitouke.analytics import arrays, reports
from huitouke.analytics.models.reports import StoredReport
from huitouke.analytics.selectors import cohort_report
from huitouke.analytics.services import _store_reports, load_purchases, model_check, refresh_scores
from huitouke.analytics.tests.test_refresh import buy, draw_bgnbd_shop
from huitouke.testing.factories import CustomerFactory

AS_OF = dt.date(2025, 6, 30)


def _stored_kinds(shop) -> set[str]:
    return set(StoredReport.objects.filter(shop=shop).exclude(kind=StoredReport.GENERATION).values_list("kind", flat=True))


def test_a_cohort_report_is_stored_and_a_new_purchase_makes_it_stale(tenant_a):
    customer = CustomerFactory(shop=tenant_a.shop)
    buy(tenant_a, customer, dt.date(2025, 6, 1), "100.00")
    first = cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF)
    assert _stored_kinds(tenant_a.shop) == {"cohorts"}
    assert cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF) == first  # read back from the table
    buy(tenant_a, customer, dt.date(2025, 6, 20), "40.00")  # an order written: the stored table is stale
    again = cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF)
    assert again.cohorts[1].repeat_customers[0] == 1
    assert again.monthly[1].revenue == first.monthly[1].revenue + 40


def test_a_refresh_stores_the_default_tables_equal_to_what_a_view_computes(tenant_a, tenant_b):
    draw_bgnbd_shop(tenant_a)
    refresh_scores(shop=tenant_a.shop, as_of=AS_OF)
    assert _stored_kinds(tenant_a.shop) == {"cohorts", "model_check"}
    assert _stored_kinds(tenant_b.shop) == set()
    stored_cohorts = cohort_report(shop=tenant_a.shop, as_of=AS_OF)
    stored_check = model_check(shop=tenant_a.shop, as_of=AS_OF)
    reports.forget_reports(shop=tenant_a.shop)
    assert _stored_kinds(tenant_a.shop) == set()
    assert cohort_report(shop=tenant_a.shop, as_of=AS_OF) == stored_cohorts
    assert model_check(shop=tenant_a.shop, as_of=AS_OF) == stored_check


def test_a_table_computed_while_the_purchases_change_is_never_shown(tenant_a):
    computed = []

    def compute_during_an_import() -> dict:
        computed.append(1)
        reports.forget_reports(shop=tenant_a.shop)  # the import finishes while we compute
        return {"n": len(computed)}

    def ask() -> dict:
        return reports.stored(shop=tenant_a.shop, kind="cohorts", key="k", compute=compute_during_an_import,
                              encode=dict, decode=dict)

    assert ask() == {"n": 1}
    assert ask() == {"n": 2}  # the first table belonged to the old generation: computed again


def test_another_shops_purchases_leave_the_tables_alone(tenant_a, tenant_b):
    buy(tenant_a, CustomerFactory(shop=tenant_a.shop), dt.date(2025, 6, 1), "100.00")
    cohort_report(shop=tenant_a.shop, months=2, as_of=AS_OF)
    buy(tenant_b, CustomerFactory(shop=tenant_b.shop), dt.date(2025, 6, 1), "100.00")
    assert _stored_kinds(tenant_a.shop) == {"cohorts"}


def test_tables_from_purchases_read_before_an_import_are_not_stored(tenant_a):
    draw_bgnbd_shop(tenant_a, customers=20)
    generation = reports.current_generation(tenant_a.shop)  # what a refresh notes before it reads
    bought = arrays.purchases(shop=tenant_a.shop, as_of=AS_OF)
    buy(tenant_a, CustomerFactory(shop=tenant_a.shop), dt.date(2025, 6, 29), "10.00")  # an import lands meanwhile
    _store_reports(tenant_a.shop, AS_OF, bought, load_purchases(shop=tenant_a.shop, as_of=AS_OF),
                   generation=generation)
    assert _stored_kinds(tenant_a.shop) == set()
    fresh = arrays.purchases(shop=tenant_a.shop, as_of=AS_OF)
    assert cohort_report(shop=tenant_a.shop, as_of=AS_OF).monthly[-1].buyers == len(
        set(fresh.customer[fresh.day >= dt.date(2025, 6, 1).toordinal()]))
