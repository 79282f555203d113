"""The `huitouke` console script: Django's management entry point with our settings."""

from __future__ import annotations

import os
import sys


def main(argv: list[str] | None = None) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "huitouke.settings")
    # One BLAS thread: scipy's optimisers call threaded LAPACK, which stalls a busy 2-core server
    # (fits ran 20x slower); our arrays are too small to gain from threads. Must precede numpy's import.
    os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["huitouke", *(sys.argv[1:] if argv is None else argv)])
