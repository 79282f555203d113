"""The import bench's memory reading: the PSS of a process and its descendants, summed."""

from __future__ import annotations

import subprocess
import sys

from huitouke.orders.importing.bench import TreeMemory, _pss_kib, _tree


def test_a_process_tree_is_read_whole_and_its_memory_summed():
    # a child that starts a grandchild holding 64 MB, then waits for its stdin to close
    script = (
        "import subprocess, sys\n"
        "grandchild = subprocess.Popen([sys.executable, '-c', "
        "'import sys; block = bytearray(64 << 20); print(\"ready\", flush=True); sys.stdin.read()'], "
        "stdin=sys.stdin, stdout=sys.stdout)\n"
        "grandchild.wait()\n"
    )
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "ready"
        tree = _tree(child.pid)
        assert len(tree) == 2 and tree[0] == child.pid
        grandchild = tree[1]
        assert _pss_kib(grandchild) > 60 * 1024  # the 64 MB block, written (zeroed) so resident
        memory = TreeMemory(child.pid)
        reading = memory.sample()
        assert reading * 1024 >= _pss_kib(grandchild) + _pss_kib(child.pid) * 0.9
        assert memory.peak_mb == reading
    finally:
        child.stdin.close()
        child.wait()
    assert _pss_kib(child.pid) == 0 and _tree(child.pid) == [child.pid]  # gone: read as nothing, not an error
