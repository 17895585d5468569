"""Reader processes: each file is read in a process that can be stopped.

A parser stuck on a hostile file cannot be interrupted from Python, so every file is read in a
worker process with a time limit (``ingest.timeout``) and a memory limit
(``ingest.max_memory_mb``). A worker over its time is killed and replaced, and its file comes
out as Skipped with the reason; so does a file whose worker dies. Workers die with the process
that started them, even when that one is killed with ``kill -9``.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing as mp
import os
import signal
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from pathlib import Path
from typing import Any

from secprio.errors import IngestError
from secprio.ingest.limits import MB, Limits, over
from secprio.model import Document, Skipped

Job = Callable[[Path, Limits], Document | Skipped]
_PR_SET_PDEATHSIG = 1


def context() -> Any:
    # fork: a worker starts in milliseconds with everything imported, and the caller's main
    # module is not run again (forkserver and spawn import it in every worker: a user's script
    # without a __main__ guard would start over). The child runs only the reader, never the
    # caller's threads or open connections.
    if sys.platform.startswith("linux"):
        return mp.get_context("fork")
    return mp.get_context("spawn")


def _harden(limits: Limits, parent: int) -> None:
    """In the worker: die with the parent, and fail allocations over the memory limit.

    PDEATHSIG kills the worker at once when the process that started it dies (kill -9
    included), even in the middle of a parse.
    """
    die_with_parent(parent)
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        # on top of what the worker starts with (a forked worker shares its parent's pages)
        cap = _data_size() + int(limits.max_memory_mb * MB)
        resource.setrlimit(resource.RLIMIT_DATA, (cap, cap))


def die_with_parent(parent: int) -> None:
    """In a worker process: be killed (SIGKILL) when ``parent`` dies, on Linux even by kill -9.

    The kernel sends the signal when the thread that forked this process ends, so the thread
    that starts workers must outlive them (the main thread, or the one that waits for them)."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    try:
        os.kill(parent, 0)
    except ProcessLookupError:  # the parent died before prctl took effect
        os._exit(1)
    except OSError:
        pass


def _data_size() -> int:
    """Bytes of this process's data segment (VmData), 0 where /proc does not say."""
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmData:"):
                return int(line.split()[1]) * 1024
    return 0


def _serve(conn: Connection, job: Job, limits: Limits, parent: int) -> None:
    _harden(limits, parent)
    while True:
        try:
            path = conn.recv()
        except (EOFError, OSError):  # the parent is gone
            return
        if path is None:
            return
        try:
            result = job(path, limits)
        except MemoryError:
            result = Skipped(str(path), str(out_of_memory(path, limits)))
        try:
            conn.send(result)
        except (OSError, ValueError):
            return


@dataclass
class _Worker:
    process: Any
    conn: Connection
    path: Path | None = None
    index: int = -1
    deadline: float = field(default=float("inf"))


class Readers:
    """``n`` worker processes applying ``job`` to paths, in order, each under the limits."""

    def __init__(self, job: Job, limits: Limits, n: int = 1) -> None:
        self.job, self.limits, self.n = job, limits, max(1, n)
        self.ctx = context()

    def _start(self) -> _Worker:
        ours, theirs = self.ctx.Pipe()
        process = self.ctx.Process(
            target=_serve, args=(theirs, self.job, self.limits, os.getpid()), daemon=True
        )
        process.start()
        theirs.close()
        return _Worker(process, ours)

    def map(self, paths: Iterable[Path]) -> Iterator[Document | Skipped]:
        todo = iter(enumerate(paths))
        workers = [self._start() for _ in range(self.n)]
        done: dict[int, Document | Skipped] = {}
        next_out = 0
        sent = 0
        exhausted = False
        try:
            while True:
                for w in workers:  # keep every idle worker busy, within a bounded window
                    if w.path is None and not exhausted and sent - next_out < 2 * self.n:
                        item = next(todo, None)
                        if item is None:
                            exhausted = True
                            break
                        w.index, w.path = item
                        w.deadline = time.monotonic() + self.limits.timeout
                        sent += 1
                        try:
                            w.conn.send(w.path)
                        except OSError:  # the idle worker died: its recv below reports it
                            w.deadline = time.monotonic()
                while next_out in done:
                    yield done.pop(next_out)
                    next_out += 1
                busy = [w for w in workers if w.path is not None]
                if not busy:
                    if exhausted:
                        return
                    continue
                timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
                ready = wait([w.conn for w in busy], timeout=timeout)
                for i, w in enumerate(workers):
                    if w.path is None:
                        continue
                    if w.conn in ready:
                        result = self._receive(w)
                    elif time.monotonic() >= w.deadline:
                        result = self._timed_out(w)
                    else:
                        continue
                    done[w.index] = result
                    if w.process.is_alive():
                        w.path = None
                    else:  # killed for its time, or died: a fresh worker takes its place
                        self._stop(w)
                        workers[i] = self._start()
        finally:
            for w in workers:
                with contextlib.suppress(OSError, ValueError):
                    w.conn.send(None)
            for w in workers:
                w.process.join(timeout=1)
                self._stop(w)

    def _receive(self, w: _Worker) -> Document | Skipped:
        try:
            result: Document | Skipped = w.conn.recv()
        except (EOFError, OSError):
            return self._died(w)
        return result

    def _timed_out(self, w: _Worker) -> Skipped:
        w.process.kill()
        w.process.join(timeout=5)
        return _skip(
            w.path,
            f"reading it took longer than {self.limits.timeout:g} s (ingest.timeout); "
            "the reader was stopped",
            "raise ingest.timeout in secprio.yaml if this file is wanted, or remove it",
        )

    def _died(self, w: _Worker) -> Skipped:
        w.process.join(timeout=5)
        code = w.process.exitcode
        how = f"signal {-code}" if code is not None and code < 0 else f"exit status {code}"
        return _skip(
            w.path,
            f"the reader process died ({how}), probably out of memory",
            "check that the file opens; lower the corpus or raise ingest.max_memory_mb",
        )

    @staticmethod
    def _stop(w: _Worker) -> None:
        if w.process.is_alive():
            w.process.kill()
        w.process.join(timeout=5)
        with contextlib.suppress(OSError):
            w.conn.close()


def out_of_memory(path: Path, limits: Limits) -> IngestError:
    return over(path, "reading it needs more memory", "max_memory_mb", limits.max_memory_mb)


def _skip(path: Path | None, message: str, hint: str) -> Skipped:
    return Skipped(str(path), str(IngestError(message, path=path, hint=hint, code="E131")))
