"""Parsing an export in a forked child (parse_process): the same steps as in-process, errors raised here."""

from __future__ import annotations

import functools
import os
import threading
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from huitouke.orders.importing import parse_process
from huitouke.orders.importing import services as services_module
from huitouke.orders.importing.engine import with_columns
from huitouke.orders.importing.formats import open_reader
from huitouke.orders.importing.parse_process import ChildReader, can_fork
from huitouke.orders.importing.records import FileRejected, OrderRecord, Parsed
from huitouke.orders.importing.services import import_file
from huitouke.orders.importing.tests.test_import_files import ROWS, request, write
from huitouke.orders.models import ImportRun

BAD_ROW = ROWS[0].replace("3012345678901234", "3012345678901299").replace("2025-01-05 10:00:00", "昨天")


def opener(path: Path) -> functools.partial:
    return functools.partial(open_reader, path, "taobao", platform="taobao")


def many_rows(tmp_path: Path, n: int) -> Path:
    return write(tmp_path, [ROWS[0].replace("3012345678901234", f"30{i:014d}") for i in range(n)], "many.csv")


def test_the_child_hands_on_the_same_steps_in_file_order(tmp_path):
    path = write(tmp_path, [*ROWS, BAD_ROW])
    with opener(path)() as reader:
        here = list(reader)
    with ChildReader(opener(path)) as child:
        there = list(child)
        assert child.size == path.stat().st_size
    assert there == here  # records, problems (file, line, column, reason) and progress positions alike
    assert [step.record is None for step in there] == [False] * len(ROWS) + [True]
    assert there[-1].problems[0].line == len(ROWS) + 2 and "订单创建时间" in there[-1].problems[0].column


def test_the_child_can_work_out_the_order_columns_too(tmp_path):
    with ChildReader(opener(write(tmp_path, ROWS)), prepare=with_columns) as child:
        records = [step.record for step in child]
    assert all(isinstance(r, OrderRecord) and r.columns is not None for r in records)
    assert records[0].columns[0] == "3012345678901234"  # external_id first, as the engine writes it


def test_a_rejected_file_is_raised_on_entering_as_open_reader_would(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(FileRejected) as here:
        opener(empty)()
    with pytest.raises(FileRejected) as there, ChildReader(opener(empty)):
        pass
    assert there.value.problem == here.value.problem


def _die_at_second(step: Parsed) -> Parsed:
    if step.record is not None and step.record.external_id.endswith("235"):
        os._exit(3)
    return step


def test_a_child_that_dies_is_an_error_not_the_end_of_the_file(tmp_path):
    with ChildReader(opener(write(tmp_path, ROWS)), prepare=_die_at_second) as child, \
            pytest.raises(RuntimeError, match=r"stopped unexpectedly \(exit code 3\)"):
        list(child)


class _Unpicklable(Exception):
    def __init__(self) -> None:
        super().__init__("the parser met something odd")
        self.lock = threading.Lock()  # cannot be pickled


def _raise_unpicklable(step: Parsed) -> Parsed:
    raise _Unpicklable


def test_an_error_that_cannot_cross_arrives_as_its_traceback(tmp_path):
    with ChildReader(opener(write(tmp_path, ROWS)), prepare=_raise_unpicklable) as child, \
            pytest.raises(RuntimeError, match="the parser met something odd"):
        list(child)


def test_leaving_early_stops_the_child(tmp_path, monkeypatch):
    monkeypatch.setattr(parse_process, "QUEUED", 1)  # the child soon waits for room
    monkeypatch.setattr(parse_process, "CHUNK", 10)
    reader = ChildReader(opener(many_rows(tmp_path, 2_000)))
    with reader:
        first = next(iter(reader))
        process = reader._child
        assert process.is_alive()
    assert first.record is not None and not process.is_alive()
    assert reader._child is None and reader._receiver is None


def test_no_fork_beside_another_thread():
    assert can_fork() is (threading.active_count() == 1)  # other tests may have left a server thread running
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not can_fork()  # a lock another thread holds at the fork would stay held in the child
    finally:
        stop.set()
        other.join()


@pytest.mark.django_db
def test_only_a_large_file_into_a_store_without_orders_is_parsed_aside(tenant_a, tmp_path, settings, monkeypatch):
    monkeypatch.setattr(services_module, "can_fork", lambda: True)  # as in the command line (one thread)
    path = write(tmp_path, ROWS)
    settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES = None
    assert not services_module._parse_aside(request(tenant_a, path))  # turned off
    settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES = path.stat().st_size + 1
    assert not services_module._parse_aside(request(tenant_a, path))  # small
    settings.HUITOUKE_IMPORT_PARSE_PROCESS_BYTES = path.stat().st_size
    assert services_module._parse_aside(request(tenant_a, path))
    assert import_file(request(tenant_a, path)).status == ImportRun.Status.DONE
    assert not services_module._parse_aside(request(tenant_a, path))  # a re-import skips known rows as it reads


@pytest.mark.django_db
def test_the_import_command_with_its_progress_bar_starts_no_thread(tenant_a, tmp_path, monkeypatch):
    seen = []
    real = services_module.import_file

    def counting(*args, **kwargs):
        seen.append(threading.active_count())
        return real(*args, **kwargs)

    monkeypatch.setattr("huitouke.orders.management.commands.import.import_file", counting)
    before = threading.active_count()
    call_command("import", str(write(tmp_path, ROWS)), "--shop", tenant_a.shop.slug, "--store", tenant_a.store.slug,
                 "--format", "taobao", stdout=StringIO())
    assert seen == [before]  # a bar refreshing itself in a thread would keep the import from forking its parser
