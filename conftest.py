"""Project-wide pytest set-up: test settings, and "a skipped test fails CI"."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["huitouke.testing.fixtures"]


def _on_postgresql() -> bool:
    from django.db import connection

    return connection.vendor == "postgresql"


def pytest_collection_modifyitems(config, items) -> None:
    """Tests marked `postgresql` run in the PostgreSQL leg only; on SQLite they are deselected, and said so."""
    if _on_postgresql():
        return
    kept = [item for item in items if item.get_closest_marker("postgresql") is None]
    if len(kept) != len(items):
        config.hook.pytest_deselected(items=[item for item in items if item not in kept])
        items[:] = kept


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    """HUITOUKE_CITUS_KEYS=1: run the suite on the Citus-ready keys ((shop_id, id) primary and foreign keys)."""
    from django.conf import settings

    if settings.CITUS_KEYS and _on_postgresql():
        from huitouke.core import citus

        with django_db_blocker.unblock():
            citus.convert(with_distribution=False)


def pytest_sessionfinish(session, exitstatus) -> None:
    """In CI nothing may silently not run: any skipped test turns the run red."""
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; skipped tests are failures in CI", red=True)
        session.exitstatus = 1
