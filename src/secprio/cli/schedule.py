"""Running watch on a schedule: the ``--every`` span, the project's watch lock, and the loop
that runs a cycle, sleeps until the next and stops cleanly on Ctrl-C or SIGTERM."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import signal
import socket
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType

from secprio.errors import ProjectError

UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def every(text: str) -> float:
    """Seconds in a span such as ``30m``, ``6h``, ``1d`` (``s`` for seconds, meant for tests)."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd])\s*", text.lower())
    if not m or float(m.group(1)) <= 0:
        raise ValueError(f"{text!r} is not a span such as 30m, 6h or 1d")
    return float(m.group(1)) * UNITS[m.group(2)]


@contextlib.contextmanager
def lock(path: Path, what: str) -> Iterator[None]:
    """Hold the watch lock of a project while ``what`` runs; a second watcher is refused with
    who holds it. The kernel drops the lock when its process dies (kill -9 included)."""
    import fcntl

    with path.open("a+", encoding="utf-8") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise ProjectError(
                f"another watch is running on this project ({holder})",
                path=path.parent.parent,
                hint="let it run (it keeps the project current), or stop it first: kill its "
                "pid (SIGTERM ends it cleanly after its cycle)",
                code="E716",
            ) from None
        since = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, {what}, since {since}")
        handle.flush()
        try:
            yield
        finally:
            handle.seek(0)
            handle.truncate()
            fcntl.flock(handle, fcntl.LOCK_UN)


class Stop:
    """Set by the first Ctrl-C or SIGTERM: the running cycle finishes, no other starts; a
    second signal stops at once (the cycle is resumed by the next run)."""

    def __init__(self) -> None:
        self.event = threading.Event()
        self.reason = ""

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if self.event.is_set():
            raise KeyboardInterrupt
        self.reason = signal.Signals(signum).name
        self.event.set()

    @contextlib.contextmanager
    def installed(self) -> Iterator[Stop]:
        old = {s: signal.signal(s, self) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield self
        finally:
            for s, handler in old.items():
                signal.signal(s, handler)


def loop(
    run: Callable[[int], None], seconds: float, *, max_cycles: int = 0,
    say: Callable[[str], None] = print,
) -> int:  # fmt: skip
    """Run ``run(n)`` for cycle n = 1, 2, … every ``seconds`` (from the start of one cycle to
    the start of the next; at once when a cycle took longer), until a signal or
    ``max_cycles`` (0: no end). The number of cycles run."""
    stop = Stop()
    n = 0
    with stop.installed():
        while not stop.event.is_set():
            n += 1
            started = time.monotonic()
            run(n)
            if max_cycles and n >= max_cycles:
                break
            wait = max(0.0, started + seconds - time.monotonic())
            at = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait)
            if not stop.event.is_set():
                say(f"next cycle at {at:%Y-%m-%d %H:%M:%S} UTC")
            stop.event.wait(wait)
    if stop.reason:
        say(f"{stop.reason}: watch stopped after {n} cycle(s)")
    return n
