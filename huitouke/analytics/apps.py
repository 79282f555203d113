from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "huitouke.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self) -> None:
        from huitouke.analytics.reports import forget_reports
        from huitouke.orders.extensions import register_purchases_listener

        # Stored cohort and model-check tables describe the purchases: any change of them makes them stale.
        register_purchases_listener("analytics", forget_reports)
        one_blas_thread()


def one_blas_thread() -> None:
    """Run numpy's OpenBLAS on one thread in this process.

    The fits' likelihoods are dot products over up to 100,000 customers, which OpenBLAS splits over threads
    that spin-wait for each other: with the other core busy (a second worker, the web server, other
    sessions on this 2-core machine) the Pareto/NBD fit of the 1M-customer bench took 7 CPU seconds instead
    of 1.6. threadpoolctl only sees the libraries loaded so far, hence the import. (scipy's own OpenBLAS
    serves scipy.linalg, which the models do not use; importing it here would cost every process 0.4 s.)
    """
    import numpy  # noqa: F401
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
