"""Wall time of `huitouke demo --customers 100000` on a fresh database: `python bench/demo_bench.py`.

Same as `huitouke bench demo`; see bench/RESULTS.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from huitouke.cli import main  # noqa: E402

if __name__ == "__main__":
    main(["bench", "demo", *sys.argv[1:]])
