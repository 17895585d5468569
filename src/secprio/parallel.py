"""Coding in parallel: batches of units coded by worker processes or a Dask cluster (and, at
the end of this module, ingest's files read as Dask tasks: ``read_on_dask``).

Whatever the executor, the caller gets each batch's codings back **in the order it gave the
batches**, and only the caller writes to the store (``Project._code``): run ids, codings and
their order are those of a single-process run. Workers never open the store, so a Dask worker
needs secprio and the coder's dependencies, not the project's files or database.

- ``local``, ``jobs`` 1 or None: the batches are coded in this process (no pool).
- ``local``, ``jobs=N``: N worker processes, forked once the coder is built, so each starts
  with the coder already in memory, shared copy-on-write; once an OpenMP runtime is loaded
  (the embedding engine, scikit-learn: coders that learn or embed), started fresh instead
  (spawn), each unpickling the coder and loading its own model (``forkable``). Workers die
  with this process (PDEATHSIG, as the ingest readers do). At most 2 × N batches are in
  flight, so memory does not grow with the corpus.
- ``dask``: tasks on a ``dask.distributed`` cluster — the scheduler at ``scheduler``, or a
  ``LocalCluster`` of ``jobs`` worker processes (default: one per core; one thread each)
  started for the run. The pickled coder is sent once to every worker
  (``scatter(broadcast=True)``) and unpickled — rebuilt — once per worker thread (a coder
  holds scratch space that threads must not share).
"""

from __future__ import annotations

import contextlib
import dataclasses
import operator
import os
import pickle
import re
import signal
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

from secprio import __version__
from secprio.coders.base import Codes as Coder
from secprio.errors import CoderError, Hint, IngestError, MissingDependency
from secprio.ingest.limits import Limits
from secprio.model import Coding, Document, Skipped, Unit

EXECUTORS = ("local", "dask")
Mapper = Callable[[Iterable[list[Unit]]], Iterator[list[Coding]]]
CONNECT_SECONDS = 30  # waiting for a scheduler to answer


# Batches travel as columns and codings as tuples: a third of the pickling cost of the
# dataclasses, and the process that writes the store is the one that pays for it.
Packed = tuple[list[int], list[str], list[str], list[str]]
_FIELDS = operator.attrgetter(*(f.name for f in dataclasses.fields(Coding)))


def pack(units: list[Unit]) -> Packed:
    return (
        [u.id for u in units],
        [u.text for u in units],
        [u.lang for u in units],
        [u.doc for u in units],
    )


def unpack(packed: Packed) -> list[Unit]:
    return [Unit(*u) for u in zip(*packed, strict=True)]


def _tuples(codings: Iterable[Coding]) -> list[tuple[Any, ...]]:
    return [_FIELDS(c) for c in codings]


def _codings(rows: list[tuple[Any, ...]]) -> list[Coding]:
    return [Coding(*r) for r in rows]


def check(jobs: int | None, executor: str, scheduler: str | None) -> None:
    """Refuse combinations that mean nothing, before any work."""
    if executor not in EXECUTORS:
        raise CoderError(
            f"unknown executor {executor!r}",
            hint=Hint(
                f"use one of: {', '.join(EXECUTORS)} (--executor NAME)",
                f"use one of: {', '.join(EXECUTORS)} (executor='NAME')",
            ),
            code="E309",
        )
    if jobs is not None and (type(jobs) is not int or jobs < 1):
        raise CoderError(
            f"the number of jobs is {jobs!r}",
            hint=Hint(
                "give --jobs a whole number of at least 1",
                "give jobs= a whole number of at least 1",
            ),
            code="E310",
        )
    if scheduler and executor != "dask":
        raise CoderError(
            "a scheduler address is only used by the Dask executor",
            hint=Hint(
                "add --executor dask, or leave --scheduler out",
                "add executor='dask', or leave scheduler out",
            ),
            code="E311",
        )
    if scheduler and jobs is not None:
        raise CoderError(
            "the number of jobs is the size of a local cluster; a scheduler's cluster has "
            "the workers started for it",
            hint=Hint(
                "leave --jobs out with --scheduler (start more `dask worker`s to add workers)",
                "leave jobs out with scheduler= (start more `dask worker`s to add workers)",
            ),
            code="E312",
        )


@contextlib.contextmanager
def mapper(
    coder: Coder, *, jobs: int | None = None, executor: str = "local", scheduler: str | None = None
) -> Iterator[Mapper]:
    """A function from batches of units to their codings, in order, on the chosen executor;
    its workers are stopped when the block ends."""
    check(jobs, executor, scheduler)
    if executor == "dask" or (jobs or 1) > 1:
        warm_up(coder)
    if executor == "dask":
        with _dask(coder, jobs, scheduler) as run:
            yield run
    elif jobs is None or jobs == 1:
        yield lambda batches: (list(coder.code(units)) for units in batches)
    else:
        with _processes(coder, jobs) as run:
            yield run


def warm_up(coder: Coder) -> None:
    """Code one throwaway sentence, so that what a coder does on first use (the semantic
    coder fits its prototypes, loading the embedding model) is done once, here, and not
    again in every worker: forked workers inherit it, Dask workers receive it pickled."""
    list(coder.code([Unit(-1, "warm-up", "en", "")]))


# -- worker processes on this machine --------------------------------------------------------
_CODER: Coder | None = None  # in a worker process: the coder it was forked with


def _start_worker(coder: Coder, parent: int) -> None:
    from secprio.ingest.workers import die_with_parent

    global _CODER
    die_with_parent(parent)
    # Ctrl-C is the main process's to handle: it stops the workers (no traceback from each)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _CODER = coder


def _code_here(units: Packed) -> list[tuple[Any, ...]]:
    assert _CODER is not None, "a coding worker started without its coder"
    return _tuples(_CODER.code(unpack(units)))


def forkable() -> bool:
    """Whether a forked child can run what this process has loaded: not once an OpenMP
    runtime is loaded (the e5 engine's, scikit-learn's). A child inherits the runtime's
    thread pool without its threads and waits for them forever — measured: the semantic
    coder's workers hung. Where /proc does not say, no."""
    try:
        maps = Path("/proc/self/maps").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False
    return re.search(r"lib(?:gomp|omp|iomp5)[-.]", maps) is None


@contextlib.contextmanager
def _processes(coder: Coder, jobs: int) -> Iterator[Mapper]:
    import multiprocessing as mp

    from secprio.ingest.workers import context

    # fork: the coder and what it loaded are inherited, not pickled (ingest/workers.py);
    # after OpenMP, spawn: each worker unpickles the coder and loads its model itself
    ctx = context() if forkable() else mp.get_context("spawn")
    pool = ProcessPoolExecutor(
        jobs, mp_context=ctx, initializer=_start_worker, initargs=(coder, os.getpid())
    )

    def run(batches: Iterable[list[Unit]]) -> Iterator[list[Coding]]:
        return _ordered(lambda units: pool.submit(_code_here, pack(units)), batches, 2 * jobs)

    try:
        yield run
    except BaseException:
        # stopped (Ctrl-C, an error, a full disk): the batches in flight are not wanted, and
        # a worker in the middle of a long batch is not waited for
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _ordered(
    submit: Callable[[Any], Any], batches: Iterable[Any], window: int,
    result: Callable[[Any], Any] | None = None,
) -> Iterator[Any]:  # fmt: skip
    """Each batch's result in the order of the batches, with at most ``window`` in flight
    (``result``: from a future to the batch's result; default, its codings)."""
    finish = result or _result
    flight: deque[Any] = deque()
    for batch in batches:
        flight.append(submit(batch))
        if len(flight) >= window:
            yield finish(flight.popleft())
    while flight:
        yield finish(flight.popleft())


def _result(future: Any) -> list[Coding]:
    try:
        return _codings(future.result())  # a concurrent or a Dask future
    except BrokenProcessPool as exc:
        raise _died("a coding worker process died (killed, or out of memory)") from exc


def _died(what: str) -> CoderError:
    return CoderError(
        f"{what}; the batches coded so far are stored",
        hint=Hint(
            "run the same `secprio code` again with fewer --jobs: it resumes where it stopped",
            "call project.code(...) again with fewer jobs: it resumes where it stopped",
        ),
        code="E313",
    )


# -- Dask --------------------------------------------------------------------------------------
_COPIES = threading.local()  # in a Dask worker: this thread's copy of the run's coder


def _code_on_worker(coder: bytes, token: str, units: Packed) -> list[tuple[Any, ...]]:
    """A Dask task: code one batch with this thread's own copy of the run's coder."""
    if getattr(_COPIES, "token", None) != token:
        # a coder pickles by rebuilding (the dictionary coder compiles or loads its database)
        _COPIES.token, _COPIES.coder = token, pickle.loads(coder)
    return _tuples(_COPIES.coder.code(unpack(units)))


def _worker_version() -> str:
    return __version__


@contextlib.contextmanager
def _dask(coder: Coder, jobs: int | None, scheduler: str | None) -> Iterator[Mapper]:
    with dask_client(jobs, scheduler) as client:
        from distributed import KilledWorker

        threads = sum(client.nthreads().values()) or 1
        # sent once to every worker as bytes; each worker thread unpickles its own coder
        [shared] = client.scatter([pickle.dumps(coder)], broadcast=True, hash=False)
        token = uuid.uuid4().hex

        def submit(units: list[Unit]) -> Any:
            return client.submit(_code_on_worker, shared, token, pack(units), pure=False)

        try:
            yield lambda batches: _ordered(submit, batches, 2 * threads)
        except KilledWorker as exc:
            raise _died(f"a Dask worker died on a batch ({exc})") from exc


@contextlib.contextmanager
def dask_client(jobs: int | None, scheduler: str | None) -> Iterator[Any]:
    """A ``distributed.Client`` of the scheduler at ``scheduler``, else of a ``LocalCluster``
    of ``jobs`` worker processes (one thread each) started for the block; its workers run
    this secprio. Local workers may start processes of their own (the ingest readers do)."""
    try:
        import dask
        from distributed import Client, LocalCluster
    except ImportError as exc:
        raise MissingDependency("distributed", "dask") from exc
    with contextlib.ExitStack() as stack:
        if scheduler:
            try:
                client = stack.enter_context(
                    Client(scheduler, timeout=CONNECT_SECONDS, set_as_default=False)
                )
            except (OSError, TimeoutError) as exc:
                raise CoderError(
                    f"cannot reach the Dask scheduler at {scheduler}: {exc}",
                    hint=Hint(
                        "start it (`dask scheduler`) and its workers (`dask worker ADDRESS`), "
                        "check the address, or leave --scheduler out for a local cluster",
                        "start it (`dask scheduler`) and its workers (`dask worker ADDRESS`), "
                        "check the address, or leave scheduler out for a local cluster",
                    ),
                    code="E314",
                ) from exc
        else:
            stack.enter_context(dask.config.set({"distributed.worker.daemon": False}))
            cluster = stack.enter_context(
                LocalCluster(
                    n_workers=jobs or os.cpu_count() or 1,
                    threads_per_worker=1,
                    processes=True,
                    dashboard_address=None,
                )
            )
            client = stack.enter_context(Client(cluster, set_as_default=False))
        _same_version(client, scheduler or "the local cluster")
        yield client


def _same_version(client: Any, where: str) -> None:
    """Workers must run this secprio: a coder rebuilt by other code could code differently."""
    versions = client.run(_worker_version)
    if not versions:
        raise CoderError(
            f"{where} has no workers",
            hint="start workers for it (`dask worker ADDRESS`) and run again",
            code="E315",
        )
    other = {w: v for w, v in versions.items() if v != __version__}
    if other:
        worker, version = next(iter(other.items()))
        raise CoderError(
            f"{len(other)} Dask worker(s) run another secprio ({worker}: {version}, "
            f"here: {__version__})",
            hint="install the same secprio version on every worker machine",
            code="E316",
        )


# -- ingest on Dask ----------------------------------------------------------------------------
READ_BATCH = 8  # files per Dask task


def read_on_dask(
    files: list[Path], limits: Limits, *, jobs: int | None = None, scheduler: str | None = None
) -> Iterator[Document | Skipped]:
    """The files read and segmented as Dask tasks, in the order given. Each task reads its
    files in a reader process of its own on the worker, under the same ``limits`` as a local
    run (time, memory, size; ``ingest/workers.py``), so a hostile file is skipped with its
    reason there too. The workers read the files at these paths: on a cluster, a folder
    every worker machine mounts at the same path."""
    with dask_client(jobs, scheduler) as client:
        from distributed import KilledWorker

        daemonic = sorted(w for w, yes in client.run(_daemonic).items() if yes)
        if daemonic:
            raise IngestError(
                f"{len(daemonic)} Dask worker(s) cannot start reader processes "
                f"({daemonic[0]} is a daemon process)",
                hint="start the workers with DASK_DISTRIBUTED__WORKER__DAEMON=False in "
                "their environment, or ingest without Dask",
                code="E102",
            )
        threads = sum(client.nthreads().values()) or 1
        batches = (files[i : i + READ_BATCH] for i in range(0, len(files), READ_BATCH))

        def submit(batch: list[Path]) -> Any:
            return client.submit(_read_on_worker, [str(p) for p in batch], limits, pure=False)

        def result(future: Any) -> list[Document | Skipped]:
            try:
                return list(future.result())
            except KilledWorker as exc:
                raise IngestError(
                    f"a Dask worker died while reading ({exc}); the documents read before "
                    "are stored",
                    hint="run the same ingest again: stored files are not read again",
                    code="E103",
                ) from None

        for done in _ordered(submit, batches, 2 * threads, result):
            yield from done


def _read_on_worker(paths: list[str], limits: Limits) -> list[Document | Skipped]:
    from secprio.ingest.corpus import load_or_skip
    from secprio.ingest.workers import Readers

    return list(Readers(load_or_skip, limits, 1).map([Path(p) for p in paths]))


def _daemonic() -> bool:
    import multiprocessing as mp

    return bool(mp.current_process().daemon)
