"""kill -9 of `secprio watch --once` mid-cycle, then a rerun: nothing is duplicated and the
project ends as an uninterrupted run's does. Real processes against a slow feed on 127.0.0.1
(the feed test's server); every sentence is written for the test."""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from secprio.config import MeasureSettings, Settings
from secprio.project import Project
from secprio.report.digest import md as _md
from tests.test_watch import CODEBOOK, _baseline, _burst, _Receivers, _Site

ROOT = Path(__file__).resolve().parent.parent
DAYS = ([f"base{i:02d}" for i in range(24)], [f"new{i:02d}" for i in range(8)])
# a trial a seed: on each day one kill, a random delay (up to DELAY s) after the cycle reached
# the point: fetch (the site has served a few documents), ingest, code, test (the shift
# test), deliver (the digest is written, the webhook not yet called)
PLAN = {1: ("fetch", "deliver"), 2: ("ingest", "fetch"), 3: ("code", "test"),
        4: ("test", "code"), 5: ("fetch", "ingest")}  # fmt: skip
DELAY = {"fetch": 0.5, "ingest": 0.3, "code": 0.03, "test": 0.3, "deliver": 0.02}


def _init(root: Path, name: str, book: Path) -> Path:
    settings = Settings(name=name, measure=MeasureSettings(bootstrap=50, seed=1))
    Project.init(root, codebook=book, settings=settings)
    return root


def _command(project: Path, feed: str, hook: str) -> list[str]:
    return [sys.executable, "-m", "secprio", "watch", "-p", str(project), "--once",
            "--interval", "0", "--allow-private", "--webhook", hook, "--source", feed]  # fmt: skip


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT / "src"), "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200"}  # fmt: skip


def _run(cmd: list[str]) -> tuple[float, str]:
    start = time.monotonic()
    done = subprocess.run(cmd, capture_output=True, text=True, env=_env(), timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return time.monotonic() - start, done.stdout


# what the cycle says as it starts a stage
MARKS = {"ingest": "feed http", "code": "added ", "test": "coded ", "deliver": "digest written"}


def _killed(cmd: list[str], point: str, delay: float, log: Path, site: _Site) -> str:
    """Start ``cmd`` and SIGKILL it ``delay`` seconds after it reaches ``point``; where the
    kill landed."""
    asked = sum(site.requests.values())
    with log.open("w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_env(), start_new_session=True)
        end = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < end:
            said = log.read_text()
            if (point == "fetch" and sum(site.requests.values()) - asked >= 3) or (
                point in MARKS and MARKS[point] in said
            ):
                break
            time.sleep(0.01)
        time.sleep(delay)
        if proc.poll() is not None:
            return "finished"
        os.killpg(proc.pid, signal.SIGKILL)  # the cycle and any reader worker it started
        proc.wait()
    said = log.read_text()
    log.unlink()
    return next((k for k in ("deliver", "test", "code", "ingest") if MARKS[k] in said), "fetch")


def _rows(project: Path) -> dict[str, list[tuple]]:
    """Documents and codings by content (the project's own folder left out of paths)."""
    con = sqlite3.connect(project / "secprio.db")
    root = str(project) + os.sep
    try:
        docs = con.execute("select replace(path, ?, ''), sha256, version, active, title, date, "
                           "doc_type, members, url from documents order by 1, 3",
                           (root,)).fetchall()  # fmt: skip
        cods = con.execute(
            "select replace(d.path, ?, ''), d.version, s.idx, c.category, c.coder, c.source, "
            "c.value, c.start, c.end from codings c join segments s on s.id = c.segment_id "
            "join documents d on d.id = s.document_id order by 1, 2, 3, 4, 5, 6, 8, 9",
            (root,),
        ).fetchall()
        dup = {
            "documents": "select path, version from documents group by 1, 2 having count(*) > 1",
            "active": "select path from documents where active group by 1 having count(*) > 1",
            "segments": "select document_id, kind, idx from segments group by 1, 2, 3 "
            "having count(*) > 1",
            "codings": "select segment_id, category, coder, source, start, end from codings "
            "group by 1, 2, 3, 4, 5, 6 having count(*) > 1",
        }
        dups = [k for k, q in dup.items() if con.execute(q).fetchall()]
    finally:
        con.close()
    return {"documents": docs, "codings": cods, "duplicated": [tuple(dups)]}


def _digests(project: Path) -> list[str]:
    """Each digest without its first line (the time it was written) and the cycle's summary
    (what this run added: a resumed cycle added less); paths relative to the project."""
    out = []
    for path in sorted((project / "watch").glob("digest-*.md")):
        text = path.read_text(encoding="utf-8").replace(_md(str(project)), "PROJECT")
        lines = text.split("\n")[1:]
        out.append("\n".join(x for x in lines if not x.startswith("- this cycle:")))
    return out


def _diff(got: list[str], want: list[str]) -> str:
    import difflib

    return "\n".join(
        difflib.unified_diff("\n".join(want).split("\n"), "\n".join(got).split("\n"), lineterm="")
    )


def _stray(project: Path) -> list[str]:
    return [p.name for p in project.rglob(".*") if p.name.endswith((".tmp", ".part"))]


def _posts(box: _Receivers) -> Counter[tuple[str, str]]:
    return Counter((b["project"], b["cycle"]) for b in (json.loads(x) for _, x in box.posts))


def test_watch_killed_mid_cycle_resumes_without_duplicates(tmp_path: Path) -> None:
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    _baseline(site_dir)
    _burst(site_dir)
    book = tmp_path / "watch.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    site, box = _Site(site_dir), _Receivers()
    site.delay = 0.05  # per document: a cycle spends a second or two fetching
    site.server.handle_error = lambda *args: None  # type: ignore[method-assign]  # killed clients
    feed = site.url + "/feed.xml"
    try:
        ref = _init(tmp_path / "reference", "reference", book)
        for names in DAYS:  # the uninterrupted run: day 1 the baseline, day 2 the burst
            site.names = [*site.names, *names]
            _run(_command(ref, feed, box.webhook))
        landed = []
        for seed, points in PLAN.items():
            rng = random.Random(seed)
            proj = _init(tmp_path / f"trial{seed}", f"trial{seed}", book)
            site.names = []
            for day, names in enumerate(DAYS):
                site.names = [*site.names, *names]
                cmd = _command(proj, feed, box.webhook)
                point = points[day]
                where = _killed(cmd, point, rng.uniform(0, DELAY[point]), tmp_path / "log", site)
                landed.append((day + 1, point, where))
                _run(cmd)
            assert _rows(proj) == _rows(ref), (seed, landed)
            got, want = _digests(proj), _digests(ref)
            assert got == want, (seed, landed, _diff(got, want))
            assert _stray(proj) == []
            pages = sorted(x.stem for x in (proj / "watch").glob("digest-*.html"))
            assert pages == sorted(x.stem for x in (proj / "watch").glob("digest-*.md"))
            records = sorted(x.stem for x in (proj / "watch").glob("digest-*.json"))
            assert records == pages  # the report's "since the last update" reads these
            state = json.loads((proj / "watch" / "state.json").read_text(encoding="utf-8"))
            ref_state = json.loads((ref / "watch" / "state.json").read_text(encoding="utf-8"))
            assert state["key"] == ref_state["key"] and state["documents"] == ref_state["documents"]
    finally:
        site.server.shutdown()
        site.server.server_close()
        box.close()
    ref_rows = _rows(ref)
    assert ref_rows["duplicated"] == [()] and len(ref_rows["documents"]) == 32
    assert len(_digests(ref)) == 1  # the burst, on day 2
    posts = _posts(box)
    assert posts == Counter({k: 1 for k in posts}), posts  # one alert per project and cycle
    assert {p for p, _ in posts} == {"reference", *(f"trial{s}" for s in PLAN)}
    print("kills (day, point, landed in):", landed)
    # every stage of a cycle was interrupted at least once, on some day
    assert {where for _, _, where in landed} >= set(DELAY), landed
