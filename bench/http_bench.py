"""HTTP latency of the main pages on the 100k demo: `python bench/http_bench.py [options]`.

Same as `huitouke bench http`; see bench/RESULTS.md for figures and how they were taken.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from huitouke.cli import main  # noqa: E402

if __name__ == "__main__":
    main(["bench", "http", *sys.argv[1:]])
