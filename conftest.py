"""Project-wide pytest set-up: test settings, and "a skipped test fails CI"."""

from __future__ import annotations

import os

pytest_plugins = ["huitouke.testing.fixtures"]



def pytest_sessionfinish(session, exitstatus) -> None:
    """In CI nothing may silently not run: any skipped test turns the run red."""
    if os.environ.get("CI", "").lower() not in {"1", "true", "yes"}:
        return
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter else []
    if skipped:
        reporter.write_line(f"CI: {len(skipped)} test(s) skipped; skipped tests are failures in CI", red=True)
        session.exitstatus = 1
