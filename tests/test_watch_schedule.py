"""watch --every: a loop of cycles, one watcher per project (the second is refused with who
holds the lock), SIGTERM ends it after the cycle it is in. Real processes and a real HTTP
server on 127.0.0.1 (the feed test's); sentences written for the test."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from secprio.cli import app
from secprio.cli import schedule as schedule
from secprio.project import Project
from tests.test_watch import RUN, _baseline, _Site

ROOT = Path(__file__).resolve().parent.parent


def test_spans_of_every() -> None:
    assert [schedule.every(x) for x in ("30m", "6h", "1d", "1s", "1.5h")] == [
        1800, 21600, 86400, 1, 5400
    ]  # fmt: skip
    for bad in ("6", "h", "0h", "-1h", "6 hours", "1w"):
        with pytest.raises(ValueError):
            schedule.every(bad)


def test_every_runs_cycles_until_max_cycles(wproject: Project, tmp_path: Path) -> None:
    src = tmp_path / "src"
    src.mkdir()
    _baseline(src, n=4)
    p = str(wproject.root)
    start = time.monotonic()
    res = RUN.invoke(app, ["watch", "-p", p, "--every", "1s", "--max-cycles", "2",
                           "--source", str(src)])  # fmt: skip
    assert res.exit_code == 0, res.output
    assert time.monotonic() - start >= 1  # the second cycle started a span after the first
    first, second = res.output.split("cycle 2 —")
    assert "cycle 1 —" in first and "added 4," in first and "next cycle at" in first
    assert "added 0," in second and "nothing new" in second and "next cycle" not in second
    assert not (wproject.root / "watch" / "watch.lock").read_text()  # released
    for bad, words in ((["--every", "soon"], "not a span"), (["--once", "--every", "1h"], "or")):
        res = RUN.invoke(app, ["watch", "-p", p, *bad])
        assert res.exit_code == 2 and words in res.output, res.output


def test_a_second_watcher_is_refused_and_sigterm_ends_the_first_after_its_cycle(
    wproject: Project, tmp_path: Path
) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    _baseline(site_dir, n=8)
    site = _Site(site_dir)
    site.names = [f"base{i:02d}" for i in range(8)]
    site.delay = 0.3  # the first watcher is still fetching when the second comes
    p = str(wproject.root)
    cmd = [sys.executable, "-m", "secprio", "watch", "-p", p, "--every", "1h", "--interval",
           "0", "--allow-private", "--source", site.url + "/feed.xml"]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1"}
    lock = wproject.root / "watch" / "watch.lock"
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            env=env)  # fmt: skip
    try:
        end = time.monotonic() + 60
        while not site.requests.get("/doc/base00") and time.monotonic() < end:
            time.sleep(0.02)
        assert proc.poll() is None and site.requests.get("/doc/base00"), "did not start"
        res = RUN.invoke(app, ["watch", "-p", p, "--once"])
        assert res.exit_code == 2, res.output
        said = " ".join(res.output.split())
        assert f"another watch is running on this project (pid {proc.pid} on " in said, said
        assert "watch --every 1h, since" in said and "SIGTERM" in said
        os.kill(proc.pid, signal.SIGTERM)  # mid-cycle: the cycle finishes, no other starts
        out, _ = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
        site.server.shutdown()
        site.server.server_close()
    assert proc.returncode == 0, out
    assert "added 8," in out and "SIGTERM: watch stopped after 1 cycle(s)" in out, out
    assert "next cycle at" not in out and lock.read_text() == ""
    res = RUN.invoke(app, ["watch", "-p", p, "--once", "--interval", "0", "--allow-private"])
    assert res.exit_code == 0 and "nothing new" in res.output, res.output
