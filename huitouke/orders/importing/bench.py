"""`huitouke bench import`: a synthetic Taobao export of N rows imported twice into a fresh shop.

Reported, never asserted: wall time, rows/s, CPU time, peak memory, and the ratio to a plain `csv.reader` pass
over the same file, measured in the same run so the machine's current speed cancels out. The file and the
scratch database live in var/bench/.

Memory: a large first import parses in a second process (orders.importing.parse_process), so the peak is that
of the import's processes together: their proportional set sizes (PSS: a page two processes share counts half
in each) summed, sampled every 0.1 s. The largest RSS of one process (rusage) is reported beside it.
"""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from huitouke.demo.bench import BENCH_DIR, REPO, bench_env

TARGETS = {"import_s": 90.0, "reimport_s": 30.0, "peak_mb": 400.0}  # issue 5, SQLite, 1M rows


@dataclass(frozen=True)
class Timed:
    label: str
    seconds: float
    cpu_seconds: float  # the child's user + system time, its own parse process's included: on a shared machine,
    # less distorted than wall
    peak_mb: float  # the import's processes together (PSS summed, sampled)
    peak_rss_mb: float  # the largest of one process (rusage)
    output: dict[str, Any]


class TreeMemory:
    """Samples, in a thread, the summed PSS of a process and its descendants; `peak_mb` is the largest sum seen."""

    def __init__(self, pid: int, *, every: float = 0.1) -> None:
        self.pid, self.every, self.peak_mb = pid, every, 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreeMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def sample(self) -> float:
        """One reading now (MB), taken into the peak."""
        now = sum(_pss_kib(pid) for pid in _tree(self.pid)) / 1024
        self.peak_mb = max(self.peak_mb, now)
        return now

    def _sample(self) -> None:
        while not self._stop.wait(self.every):
            self.sample()


def _tree(pid: int) -> list[int]:
    found, todo = [], [pid]
    while todo:
        current = todo.pop()
        found.append(current)
        try:
            for task in Path(f"/proc/{current}/task").iterdir():
                todo.extend(int(child) for child in (task / "children").read_text().split())
        except OSError:
            continue  # it has just ended
    return found


def _pss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1])
    except OSError:
        pass  # it has just ended
    return 0


def bench_file(rows: int, customers: int) -> Path:
    """The synthetic export, written once per size (GB18030, as Taobao serves it)."""
    from huitouke.orders.importing.synth import write_taobao_export

    path = BENCH_DIR / f"taobao-{rows}-{customers}.csv"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        scratch = path.with_suffix(".partial")
        write_taobao_export(scratch, orders=rows, customers=customers, seed=1)
        scratch.replace(path)
    return path


def csv_reader_pass(path: Path) -> tuple[float, float]:
    """The reference: decode and split every row with the standard library, nothing else.
    Returns (wall seconds, CPU seconds of this process)."""
    start, cpu = time.perf_counter(), time.process_time()
    with path.open(encoding="gb18030", newline="") as handle:
        for _ in csv.reader(handle):
            pass
    return time.perf_counter() - start, time.process_time() - cpu


def _timed(label: str, args: list[str], env: dict[str, str]) -> Timed:
    """Run `huitouke …` as a child; its CPU time and largest RSS from wait4 (not the bench's), its processes'
    memory together sampled meanwhile."""
    start = time.perf_counter()
    child = subprocess.Popen([sys.executable, "-m", "huitouke", *args], env=env, cwd=REPO,
                             stdout=subprocess.PIPE, text=True)
    with TreeMemory(child.pid) as memory:
        stdout = child.stdout.read() if child.stdout else ""
        _, status, usage = os.wait4(child.pid, 0)
    seconds = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    lines = stdout.strip().splitlines()
    output = json.loads(lines[-1]) if lines and lines[-1].startswith("{") else {"stdout": stdout[-2000:]}
    if child.returncode not in (0, 1):
        raise RuntimeError(f"{label} failed with exit code {child.returncode}: {stdout[-2000:]}")
    return Timed(label=label, seconds=seconds, cpu_seconds=usage.ru_utime + usage.ru_stime,
                 peak_mb=memory.peak_mb, peak_rss_mb=usage.ru_maxrss / 1024, output=output)


def import_bench(
    *, rows: int = 1_000_000, customers: int = 300_000, database_url: str | None = None,
    console: Console | None = None,
) -> dict[str, Any]:
    console = console or Console()
    path = bench_file(rows, customers)
    console.print(f"file: {path.name} ({path.stat().st_size / 1e6:.0f} MB)")
    scratch = BENCH_DIR / "import-bench.sqlite3"
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    env = bench_env(database_url or f"sqlite:///{scratch}")
    env["HUITOUKE_VAR_DIR"] = str(BENCH_DIR / "import-bench")
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v0"], env=env, cwd=REPO, check=True)
    slug = f"bench-{int(time.time())}"  # a new shop each run: a shared database is never emptied
    for args in (["shop", "create", slug, "--name", "Bench"], ["store", "create", "tb", "--shop", slug,
                                                                 "--platform", "taobao", "--name", "Bench Taobao"]):
        subprocess.run([sys.executable, "-m", "huitouke", *args], env=env, cwd=REPO, check=True,
                       stdout=subprocess.DEVNULL)
    reference, reference_cpu = csv_reader_pass(path)
    command = ["import", str(path), "--shop", slug, "--store", "tb", "--format", "taobao", "--json"]
    first = _timed("import", command, env)
    again = _timed("re-import (same file)", command, env)
    report = _report(rows, (reference, reference_cpu), [first, again], database_url)
    console.print(_table(rows, (reference, reference_cpu), [first, again]))
    console.print(f"first import counts: {first.output.get('counts')}")
    console.print(f"re-import counts: {again.output.get('counts')}")
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return report


def _report(rows: int, reference: tuple[float, float], runs: list[Timed], database_url: str | None) -> dict[str, Any]:
    wall, cpu = reference
    return {
        "rows": rows, "database": "postgresql" if database_url else "sqlite", "csv_reader_s": round(wall, 2),
        "csv_reader_cpu_s": round(cpu, 2), "load_average": [round(x, 2) for x in os.getloadavg()],
        "runs": [
            {"label": r.label, "seconds": round(r.seconds, 1), "rows_per_s": round(rows / r.seconds),
             "ratio_to_csv_reader": round(r.seconds / wall, 1), "cpu_seconds": round(r.cpu_seconds, 1),
             "cpu_ratio_to_csv_reader": round(r.cpu_seconds / cpu, 1), "peak_mb": round(r.peak_mb),
             "peak_rss_one_process_mb": round(r.peak_rss_mb),
             "status": r.output.get("status"), "counts": r.output.get("counts")}
            for r in runs
        ],
    }


def _table(rows: int, reference: tuple[float, float], runs: list[Timed]) -> Table:
    wall, cpu = reference
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    table = Table(title=f"import of {rows:,} Taobao order rows (load average now {load})")
    for column in ("step", "seconds", "rows/s", "× csv.reader", "CPU s", "CPU × csv.reader", "peak MB (PSS)",
                   "largest RSS", "status"):
        table.add_column(column, justify="left" if column in ("step", "status") else "right")
    table.add_row("csv.reader pass (reference)", f"{wall:.1f}", f"{rows / wall:,.0f}", "1.0", f"{cpu:.1f}", "1.0",
                  "", "", "")
    for r in runs:
        table.add_row(r.label, f"{r.seconds:.1f}", f"{rows / r.seconds:,.0f}", f"{r.seconds / wall:.1f}",
                      f"{r.cpu_seconds:.1f}", f"{r.cpu_seconds / cpu:.1f}", f"{r.peak_mb:.0f}",
                      f"{r.peak_rss_mb:.0f}", str(r.output.get("status")))
    return table
