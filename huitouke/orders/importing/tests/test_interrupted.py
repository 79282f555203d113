"""A killed import leaves the database as it was before the import started (never half an order).

Runs the real command in a child process on its own SQLite file, kills it with SIGKILL once it
has written several batches (seen through its progress file, not a timer), and looks at the file.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from huitouke.orders.importing.tests.test_import_files import HEADER

REPO = Path(__file__).resolve().parents[4]
ROWS = 60_000


def _export(path: Path) -> None:
    with path.open("w", encoding="gb18030") as out:
        out.write(HEADER + "\n")
        for i in range(ROWS):
            buyer = i % 20_000
            out.write(
                f'="30{i:014d}",买家{buyer},¥{50 + i % 200}.00,0.00,¥{50 + i % 200}.00,交易成功,顾客{buyer},'
                f'浙江省 杭州市 西湖区 文三路 {buyer}号,138{buyer:08d},2025-0{1 + i % 9}-1{i % 10} 10:00:00,'
                f'2025-0{1 + i % 9}-1{i % 10} 10:05:00,连衣裙,1,0.00,衣见倾心\n'
            )


def _huitouke(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "huitouke", *args], env=env, cwd=REPO, check=True,
                          capture_output=True, text=True)


def _count(db: Path, sql: str) -> tuple:
    with sqlite3.connect(db) as connection:
        return connection.execute(sql).fetchone()


def _indexes(db: Path) -> set[str]:
    with sqlite3.connect(db) as connection:
        return {name for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'index'")}


def test_a_killed_import_writes_nothing_and_the_next_one_marks_it_interrupted(tmp_path):
    db = tmp_path / "db.sqlite3"
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}", "HUITOUKE_VAR_DIR": str(tmp_path / "var")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    _huitouke(env, "migrate", "-v0")
    _huitouke(env, "shop", "create", "s", "--name", "S")
    _huitouke(env, "store", "create", "tb", "--shop", "s", "--platform", "taobao", "--name", "TB")
    export = tmp_path / "orders.csv"
    _export(export)
    indexes_before = _indexes(db)
    assert {"order_purchases_by_day", "customer_name", "phone_tail"} <= indexes_before
    command = [sys.executable, "-m", "huitouke", "import", str(export), "--shop", "s", "--store", "tb",
               "--format", "taobao", "--no-progress"]
    child = subprocess.Popen(command, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    progress = tmp_path / "var" / "imports" / "run-1.progress.json"
    deadline = time.monotonic() + 300  # a safety net for a broken build, not a measurement
    rows = 0
    while rows < 20_000 and child.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
        try:
            rows = json.loads(progress.read_text())["rows"]
        except (OSError, ValueError, KeyError):
            continue
    assert child.poll() is None, "the import finished before it could be interrupted; make the file bigger"
    assert rows >= 20_000, "no progress seen within the deadline"
    os.kill(child.pid, signal.SIGKILL)
    child.wait()

    assert _count(db, "SELECT count(*) FROM orders_order") == (0,)
    assert _count(db, "SELECT count(*) FROM orders_orderline") == (0,)
    assert _count(db, "SELECT count(*) FROM customers_customer") == (0,)
    assert _count(db, "SELECT status FROM orders_importrun WHERE id = 1") == ("running",)
    # a first import of this many rows builds some indexes at the end (engine.prepare_bulk_load): killed before
    # it, the indexes it had dropped are all there again
    assert _indexes(db) == indexes_before

    _huitouke(env, "import", str(export), "--shop", "s", "--store", "tb", "--format", "taobao", "--no-progress")
    assert _count(db, "SELECT status FROM orders_importrun WHERE id = 1") == ("interrupted",)
    assert _count(db, "SELECT status FROM orders_importrun WHERE id = 2") == ("done",)
    assert _count(db, "SELECT count(*), count(DISTINCT external_id) FROM orders_order") == (ROWS, ROWS)
    assert _count(db, "SELECT count(*) FROM customers_customer") == (20_000,)
    assert _indexes(db) == indexes_before
