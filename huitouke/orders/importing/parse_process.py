"""Reading a large export in a second process, so that parsing it and writing it to the database overlap.

A first import of a big file spends about a quarter of its CPU turning rows into `OrderRecord`s. Those rows
do not depend on the database, so a forked child reads and parses the file while this process resolves
customers and writes orders; on a 2-core machine the two run side by side. The child sends the `Parsed`
steps in pickled chunks through a pipe (unpickling a row costs a third of parsing it).

This process writes in bursts (a batch of 5,000 orders at a time), and a pipe buffers only 64 KB, less than
one chunk: read only when rows are wanted, the child would wait through every burst and the two would take
turns instead of overlapping. So a thread here drains the pipe as chunks arrive, into a queue of at most
`QUEUED` chunks (a few MB), which also bounds the memory: when this process falls behind, the child waits.

The child only reads files: it never touches the database connection it inherits, and it leaves with
`os._exit` (multiprocessing's fork children do), so nothing of this process's is closed or flushed twice.
A reader that must ask the database as it goes (`skip_known_rows`, a re-import) is read in this process.
"""

from __future__ import annotations

import contextlib
import gc
import multiprocessing
import pickle
import queue
import threading
import traceback
from collections.abc import Callable, Iterator
from itertools import islice
from multiprocessing.connection import Connection
from typing import Any

from huitouke.core.bulk import BULK_GC_THRESHOLDS
from huitouke.orders.importing.formats.common import Reader
from huitouke.orders.importing.records import KnownRows, Parsed

CHUNK = 500  # steps per message: ~200 KB pickled
QUEUED = 40  # chunks received and not yet taken: 20,000 rows, ~8 MB, four batches of the engine

Opener = Callable[[], Reader]
Prepare = Callable[[Parsed], Parsed]  # more work on a step that can be done in the child too
_END = None  # what the receiving thread queues when the child has closed its end


def _as_parsed(parsed: Parsed) -> Parsed:
    return parsed


def can_fork() -> bool:
    """Whether a child can be forked safely here: a platform with fork, and no other thread in this process
    (one could hold a lock the child would then wait for forever; the web server never imports in-process,
    the worker and the command line have one thread)."""
    return "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1


class ChildReader:
    """A reader (see formats.common.Reader) whose file is opened and parsed in a forked child.

    Use it as a context manager, like a reader: entering forks the child and waits for the file to open,
    so a rejected file (`FileRejected`) is raised here, as `open_reader` would; leaving stops the child.
    """

    size: int

    def __init__(self, opener: Opener, *, prepare: Prepare = _as_parsed) -> None:
        self._opener, self._prepare = opener, prepare
        self._child: Any = None
        self._received: queue.Queue[bytes | None] = queue.Queue(maxsize=QUEUED)
        self._receiver: threading.Thread | None = None
        self.size = 0

    def __enter__(self) -> ChildReader:
        fork = multiprocessing.get_context("fork")
        receiving, sending = fork.Pipe(duplex=False)
        self._child = fork.Process(target=_parse_and_send, args=(self._opener, self._prepare, sending, receiving),
                                   name="huitouke-import-parse", daemon=True)
        self._child.start()
        sending.close()  # the child's end: once the child has gone, reading gets EOF instead of waiting
        self._receiver = threading.Thread(target=_receive_all, args=(receiving, self._received),
                                          name="huitouke-import-receive", daemon=True)
        self._receiver.start()
        try:
            self.size = self._next()
        except BaseException:
            self.close()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __iter__(self) -> Iterator[Parsed]:
        while (steps := self._next()) is not None:
            yield from steps

    def skip_known_rows(self, known: KnownRows) -> None:
        raise RuntimeError("a reader that skips known rows asks the database as it reads: read it in-process")

    def close(self) -> None:
        """Stop the child if it is still reading (this process stopped early) and wait for both helpers."""
        if self._child is None:
            return
        if self._child.is_alive():
            self._child.kill()
        self._child.join()
        while self._receiver is not None and self._receiver.is_alive():
            with contextlib.suppress(queue.Empty):  # make room: the receiver queues the end once the child is gone
                self._received.get(timeout=0.1)
        self._child = self._receiver = None

    def _next(self) -> Any:
        """The child's next message: its payload, or the child's exception raised here."""
        blob = self._received.get()
        if blob is _END:
            self._child.join()
            raise RuntimeError(
                f"the process reading the file stopped unexpectedly (exit code {self._child.exitcode})"
            )
        kind, payload = pickle.loads(blob)
        if kind == "error":
            raise payload
        return payload


def _receive_all(pipe: Connection, received: queue.Queue[bytes | None]) -> None:
    """In this process's receiving thread: queue each message as it arrives (the read waits outside the
    interpreter lock), then the end."""
    try:
        while True:
            received.put(pipe.recv_bytes())
    except (EOFError, OSError):
        received.put(_END)
    finally:
        pipe.close()


def _parse_and_send(opener: Opener, prepare: Prepare, pipe: Connection, parents_end: Connection) -> None:
    """In the child: open the file, send its size, then its steps (prepared) a chunk at a time, then None."""
    parents_end.close()
    gc.freeze()  # the inherited objects stay out of the collector's passes (and their pages shared)
    gc.set_threshold(*BULK_GC_THRESHOLDS)  # as core.bulk.rare_gc_passes: rows make no reference cycles
    try:
        with opener() as reader:
            _send(pipe, "size", reader.size)
            steps = map(prepare, reader)
            while chunk := list(islice(steps, CHUNK)):
                _send(pipe, "steps", chunk)
        _send(pipe, "steps", None)
    except BrokenPipeError:
        pass  # the importing process stopped reading (it failed or was killed): nobody to tell
    except BaseException as exc:  # noqa: BLE001 - every failure is handed over and raised in the parent
        _send(pipe, "error", _picklable(exc))
    finally:
        pipe.close()


def _send(pipe: Connection, kind: str, payload: Any) -> None:
    pipe.send_bytes(pickle.dumps((kind, payload), protocol=pickle.HIGHEST_PROTOCOL))


def _picklable(exc: BaseException) -> BaseException:
    """The exception itself when it survives pickling (FileRejected, ValueError…), else a RuntimeError with its
    traceback, so the parent always raises something that says what went wrong."""
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:  # noqa: BLE001 - any failure to round-trip means "send the text instead"
        return RuntimeError("".join(traceback.format_exception(exc)))
    return exc
