"""Benchmarks: HTTP latency of the main pages on the 100k demo, and the demo build time.

Both run the app in subprocesses against their own database and var directory (var/bench/), so
the developer's database, demo password and static files are never touched. Loopback only,
bounded request counts and time. Timing is reported, never asserted (tests must not depend on it).
"""

from __future__ import annotations

import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
from rich.console import Console
from rich.table import Table

REPO = Path(__file__).resolve().parents[2]
BENCH_DIR = REPO / "var" / "bench"
STATIC_REFERENCE = "/static/vendor/htmx.min.js"
# issue targets for p95 on SQLite (ms)
TARGETS = {"list": 150.0, "search": 150.0, "360": 150.0, "dashboard": 300.0}
_CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken"\s+value="([^"]+)"')


def bench_env(database_url: str | None) -> dict[str, str]:
    """Environment for the app subprocesses: the bench database and var/bench as var dir."""
    BENCH_DIR.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ)
    env["DATABASE_URL"] = database_url or f"sqlite:///{BENCH_DIR / 'bench.sqlite3'}"
    env["HUITOUKE_VAR_DIR"] = str(BENCH_DIR)
    env.pop("HUITOUKE_DEBUG", None)
    env.pop("HUITOUKE_TESTING", None)
    return env


def run_on_scratch(name: str, database_url: str | None, *args: str) -> dict[str, Any]:
    """Migrate a scratch database (var/bench/NAME.sqlite3, recreated, unless `database_url` names one), run
    `huitouke ARGS` against it in a child process and return the JSON of its last output line."""
    scratch = BENCH_DIR / f"{name}.sqlite3"
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            scratch.with_name(scratch.name + suffix).unlink(missing_ok=True)
    env = bench_env(database_url or f"sqlite:///{scratch}")
    subprocess.run([sys.executable, "-m", "huitouke", "migrate", "-v", "0"], env=env, cwd=REPO, check=True)
    done = subprocess.run([sys.executable, "-m", "huitouke", *args], env=env, cwd=REPO, check=True, text=True,
                          stdout=subprocess.PIPE)
    return json.loads(done.stdout.strip().splitlines()[-1])


def _huitouke(*args: str, env: dict[str, str], capture: bool = False) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "huitouke", *args], env=env, cwd=REPO, check=True, text=True,
        stdout=subprocess.PIPE if capture else None,
    )


def probe(env: dict[str, str]) -> dict[str, Any]:
    """What the bench database holds: the demo's size and sample ids and search terms."""
    done = _huitouke("bench", "probe", env=env, capture=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def probe_data() -> dict[str, Any]:
    """Run inside Django (`huitouke bench probe`): sample customers of the demo shop."""
    from django.contrib.staticfiles import finders

    from huitouke.customers.models import Customer
    from huitouke.demo.services import demo_shop

    static_found = finders.find(STATIC_REFERENCE.removeprefix("/static/")) is not None
    shop = demo_shop()
    if shop is None:
        return {"customers": 0, "static_found": static_found}
    customers = Customer.objects.for_shop(shop)
    buyers = list(customers.filter(orders_count__gt=0).order_by("id").values_list("id", flat=True))
    step = max(1, len(buyers) // 200)
    ids = buyers[::step][:200]
    heavy = list(customers.order_by("-orders_count", "id").values_list("id", flat=True)[:20])
    sample = list(customers.filter(pk__in=ids[:100]).prefetch_related("phones"))
    return {
        "static_found": static_found,
        "customers": customers.count(),
        "ids": ids + heavy,
        "names": [c.name for c in sample],
        "surnames": ["王", "李", "张", "陈", "林"],
        "tails": [c.phones.all()[0].tail4 for c in sample if c.phones.all()],
    }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _server_command(port: int) -> list[str]:
    serve = REPO / "huitouke" / "core" / "management" / "commands" / "serve.py"
    if serve.exists():
        return [sys.executable, "-m", "huitouke", "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2"]
    return [sys.executable, "-m", "gunicorn", "huitouke.wsgi", "-b", f"127.0.0.1:{port}", "-w", "2"]


class Server:
    """The production server in its own process group, stopped (only it) on exit."""

    def __init__(self, env: dict[str, str], port: int, log: Path) -> None:
        self.env, self.port, self.log_path = env, port, log
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> Server:
        self.log = self.log_path.open("w")
        self.proc = subprocess.Popen(
            _server_command(self.port), env=self.env, cwd=REPO, stdout=self.log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log_path}")
            try:
                httpx.get(f"http://127.0.0.1:{self.port}/static/", timeout=1.0)
                return self
            except httpx.TransportError:
                time.sleep(0.3)
        raise RuntimeError(f"server did not start within 90 s; see {self.log_path}")

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait()
        self.log.close()


def login(client: httpx.Client, password: str) -> str:
    """Log in through the login form (CSRF cookie + token); returns '' or why it failed."""
    page = client.get("/login/")
    if page.status_code == 404:
        return "no /login/ page yet"
    match = _CSRF_INPUT.search(page.text)
    token = match.group(1) if match else client.cookies.get("csrftoken", "")
    done = client.post(
        "/login/", data={"username": "demo", "password": password, "csrfmiddlewaretoken": token},
        headers={"Referer": f"{client.base_url}login/"},
    )
    if done.status_code not in (302, 303) or "/login" in done.headers.get("location", ""):
        return f"login failed (HTTP {done.status_code})"
    return ""


@dataclass
class Result:
    name: str
    path: str
    requests: int = 0
    status: dict[str, int] = field(default_factory=dict)
    p50_ms: float | None = None
    p95_ms: float | None = None
    max_ms: float | None = None
    ratio_to_static: float | None = None
    target_p95_ms: float | None = None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.status.get("200", 0) == self.requests and self.requests > 0


def measure(
    client: httpx.Client, name: str, paths: Callable[[int], str], *, n: int, max_seconds: float,
    target: float | None = None,
) -> Result:
    """n sequential GETs (after 2 warm-ups), stopping early after max_seconds."""
    result = Result(name=name, path=paths(0), target_p95_ms=target)
    for i in range(2):
        client.get(paths(i))
    times: list[float] = []
    started = time.monotonic()
    for i in range(n):
        t = time.perf_counter()
        response = client.get(paths(i))
        times.append((time.perf_counter() - t) * 1000)
        code = str(response.status_code)
        result.status[code] = result.status.get(code, 0) + 1
        if time.monotonic() - started > max_seconds:
            result.note = f"stopped after {max_seconds:.0f} s"
            break
    result.requests = len(times)
    if result.ok:  # timings of redirects or errors would mislead
        result.p50_ms = round(float(np.percentile(times, 50)), 1)
        result.p95_ms = round(float(np.percentile(times, 95)), 1)
        result.max_ms = round(max(times), 1)
    if not result.ok:
        codes = ", ".join(f"{k}×{v}" for k, v in sorted(result.status.items()))
        missing = "page missing" if "404" in result.status else "not all 200"
        result.note = "; ".join(filter(None, [f"{missing}: HTTP {codes}", result.note]))
    return result


def _quiet_http_logs() -> None:
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)


def http_bench(
    *, database_url: str | None = None, customers: int = 100_000, requests: int = 60, max_seconds: float = 30.0,
    json_path: Path | None = None, console: Console | None = None,
) -> list[Result]:
    console = console or Console()
    _quiet_http_logs()
    env = bench_env(database_url)
    console.print(f"Bench database: {env['DATABASE_URL']}")
    _huitouke("migrate", "-v0", env=env)
    info = probe(env)
    if info["customers"] < customers:
        console.print(f"Building the {customers:,}-customer demo (once; kept in var/bench/) …")
        t = time.perf_counter()
        _huitouke("demo", f"--customers={customers}", "--reset", "--no-progress", env=env)
        console.print(f"demo built in {time.perf_counter() - t:.1f} s")
        info = probe(env)
    if not info["static_found"]:
        raise SystemExit("the settings do not collect huitouke/static (STATICFILES_DIRS): pages cannot render")
    password = (BENCH_DIR / "demo_password").read_text().strip()
    port = free_port()
    results: list[Result] = []
    with Server(env, port, BENCH_DIR / "server.log"), httpx.Client(
        base_url=f"http://127.0.0.1:{port}/", timeout=30.0, follow_redirects=False
    ) as client:
        problem = login(client, password)
        if problem:
            console.print(f"[yellow]{problem}: the pages below will show as redirects or missing[/]")
        ids, names, tails, surnames = info["ids"], info["names"], info["tails"], info["surnames"]
        plan: list[tuple[str, Callable[[int], str], float | None]] = [
            ("static file", lambda i: STATIC_REFERENCE, None),
            ("dashboard", lambda i: "/", TARGETS["dashboard"]),
            ("customer list", lambda i: "/customers/", TARGETS["list"]),
            ("list, page 50", lambda i: "/customers/?page=50", TARGETS["list"]),
            ("search name", lambda i: f"/customers/?q={names[i % len(names)]}", TARGETS["search"]),
            ("search surname", lambda i: f"/customers/?q={surnames[i % len(surnames)]}", TARGETS["search"]),
            ("search phone tail", lambda i: f"/customers/?q={tails[i % len(tails)]}", TARGETS["search"]),
            ("customer 360", lambda i: f"/customers/{ids[i % len(ids)]}/", TARGETS["360"]),
        ]
        for name, paths, target in plan:
            results.append(measure(client, name, paths, n=requests, max_seconds=max_seconds, target=target))
    static_p50 = results[0].p50_ms
    for r in results:
        if r.p50_ms is not None and static_p50:
            r.ratio_to_static = round(r.p50_ms / static_p50, 1)
    console.print(_table(results, info["customers"]))
    if json_path:
        json_path.parent.mkdir(parents=True, exist_ok=True)
        json_path.write_text(json.dumps({
            "database": env["DATABASE_URL"].split("@")[-1], "customers": info["customers"], "cpus": os.cpu_count(),
            "results": [asdict(r) for r in results],
        }, ensure_ascii=False, indent=2))
    return results


def _table(results: list[Result], customers: int) -> Table:
    table = Table(title=f"HTTP latency, {customers:,} demo customers (sequential, loopback)")
    for column in ("page", "n", "p50 ms", "p95 ms", "max ms", "× static p50", "target p95", "note"):
        table.add_column(column, justify="left" if column in ("page", "note") else "right")
    for r in results:
        verdict = ""
        if r.target_p95_ms and r.p95_ms is not None:
            verdict = "[green]ok[/]" if r.p95_ms <= r.target_p95_ms else "[red]over[/]"
        table.add_row(
            r.name, str(r.requests), _ms(r.p50_ms), _ms(r.p95_ms), _ms(r.max_ms),
            "" if r.ratio_to_static is None else f"{r.ratio_to_static:g}",
            f"{r.target_p95_ms:g} {verdict}" if r.target_p95_ms else "", r.note,
        )
    return table


def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}"


def demo_bench(
    *, customers: int = 100_000, runs: int = 1, database_url: str | None = None, console: Console | None = None,
) -> list[float]:
    """Wall time of `huitouke demo --customers N` on a fresh, migrated database (migration not timed)."""
    console = console or Console()
    scratch = BENCH_DIR / "demo-bench.sqlite3"
    env = bench_env(database_url or f"sqlite:///{scratch}")
    env["HUITOUKE_VAR_DIR"] = str(BENCH_DIR / "demo-bench")
    times = []
    for run in range(runs):
        if database_url is None:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{scratch}{suffix}").unlink(missing_ok=True)
        _huitouke("migrate", "-v0", env=env)
        t = time.perf_counter()
        _huitouke("demo", f"--customers={customers}", "--reset", "--no-progress", env=env, capture=True)
        times.append(round(time.perf_counter() - t, 1))
        console.print(f"run {run + 1}: huitouke demo --customers {customers} took {times[-1]:.1f} s")
    if database_url is None:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{scratch}{suffix}").unlink(missing_ok=True)
    return times
