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

import pytest

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
# the default run: three trials that reach every point once; all five with -m slow
QUICK = {seed: PLAN[seed] for seed in (1, 2, 3)}
DELAY = {"fetch": 0.5, "ingest": 0.3, "code": 0.03, "test": 0.05, "deliver": 0.02}


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
    return time.monotonic() - start, done.stdout + done.stderr  # the console is stderr


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


def _watch(project: Path) -> dict[str, object]:
    """The watch state in the store: the keys of the completed cycles in order, the documents
    their tests saw, the digests (file names, status) and deliveries (target, status), and
    what is duplicated or left unfinished."""
    con = sqlite3.connect(project / "secprio.db")
    try:
        q = {
            "complete": "select key from watch_cycles where status = 'complete' order by id",
            "seen": "select document_id from watch_seen order by 1",
            "digests": "select key, replace(path, ?, ''), status, significant, "
            "json_array_length(json_extract(record, '$.shifts')) from watch_digests order by 1",
            "deliveries": "select g.key, replace(d.target, ?, ''), d.status from "
            "watch_deliveries d join watch_digests g on g.id = d.digest_id order by 1, 2",
        }
        root = (str(project) + os.sep,)
        out: dict[str, object] = {
            k: con.execute(v, root * v.count("?")).fetchall() for k, v in q.items()
        }
        out["duplicated"] = [
            k for k, v in {
                "complete": "select key from watch_cycles where status = 'complete' "
                "group by 1 having count(*) > 1",
                "digests": "select key from watch_digests group by 1 having count(*) > 1",
                "deliveries": "select digest_id, target from watch_deliveries group by 1, 2 "
                "having count(*) > 1",
            }.items() if con.execute(v).fetchall()
        ]  # fmt: skip
        attempts = con.execute(
            "select g.key, d.idempotency_key, d.attempts from watch_deliveries d "
            "join watch_digests g on g.id = d.digest_id where d.target like 'webhook %'"
        ).fetchall()
        running = con.execute("select count(*) from watch_cycles where status = 'running'")
        return {**out, "_attempts": attempts, "_running": running.fetchone()[0]}
    finally:
        con.close()


def _digests(project: Path) -> list[str]:
    """Each digest without its first line (the time it was written) and the cycle's summary
    (what this run added: a resumed cycle added less); paths and links relative to the
    project."""
    out = []
    for path in sorted((project / "watch").glob("digest-*.md")):
        text = path.read_text(encoding="utf-8").replace(_md(str(project)), "PROJECT")
        text = text.replace(project.resolve().as_uri(), "PROJECT")  # the links to the report
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


def _keys(box: _Receivers) -> list[tuple[tuple[str, str], str]]:
    """(project, cycle) and the Idempotency-Key of each post."""
    bodies = [json.loads(x) for _, x in box.posts]
    return [((b["project"], b["cycle"]), k) for b, k in zip(bodies, box.keys, strict=True)]


@pytest.mark.parametrize(
    "plan", [pytest.param(QUICK, id="quick"), pytest.param(PLAN, id="all", marks=pytest.mark.slow)]
)
def test_watch_killed_mid_cycle_resumes_without_duplicates(
    tmp_path: Path, plan: dict[int, tuple[str, str]]
) -> None:
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
        attempts: dict[str, list[tuple[str, str, int]]] = {}
        for seed, points in plan.items():
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
            # the watch state in the store: the same completed tests (each once), documents
            # seen, digest and deliveries as the uninterrupted run; nothing duplicated, every
            # digest written and every delivery sent
            got_w, want_w = _watch(proj), _watch(ref)
            assert {k: v for k, v in got_w.items() if not k.startswith("_")} == {
                k: v for k, v in want_w.items() if not k.startswith("_")
            }, (seed, landed)
            assert int(str(got_w["_running"])) <= len(DAYS)  # a killed cycle stays running
            attempts[f"trial{seed}"] = list(got_w["_attempts"])  # type: ignore[call-overload]
        attempts["reference"] = list(_watch(ref)["_attempts"])  # type: ignore[call-overload]
    finally:
        site.server.shutdown()
        site.server.server_close()
        box.close()
    ref_rows = _rows(ref)
    assert ref_rows["duplicated"] == [()] and len(ref_rows["documents"]) == 32
    assert len(_digests(ref)) == 1  # the burst, on day 2
    ref_watch = _watch(ref)
    assert len(ref_watch["complete"]) == 2 and ref_watch["duplicated"] == []  # type: ignore[arg-type]
    assert [r[2] for r in ref_watch["digests"]] == ["written"]  # type: ignore[attr-defined]
    # one alert per project and cycle; a second copy only where the store recorded a second
    # attempt (a kill between the POST and its record), and then with the same key
    posts = _posts(box)
    assert {p for p, _ in posts} == {"reference", *(f"trial{s}" for s in plan)}
    for project, rows in attempts.items():
        for cycle, key, tries in rows:
            assert 1 <= posts[(project, cycle)] <= tries, (project, posts, rows)
            assert {k for (p, _), k in _keys(box) if p == project} == {key}
    assert len({k for _, k in _keys(box)}) == len(attempts)  # a key of its own per project
    print("kills (day, point, landed in):", landed)
    # every stage of a cycle was interrupted at least once, on some day
    assert {where for _, _, where in landed} >= set(DELAY), landed


def test_a_kill_between_the_post_and_its_record_sends_one_copy_with_the_same_key(
    tmp_path: Path,
) -> None:
    """The one duplicate the design allows (docs/watch.md, Delivery): the receiver has the
    POST, the watch is killed before it hears back and records it; the rerun sends it once
    more with the same Idempotency-Key and records the second attempt; a third run sends
    nothing."""
    site_dir = tmp_path / "site"
    site_dir.mkdir()
    _baseline(site_dir)
    _burst(site_dir)
    book = tmp_path / "watch.yaml"
    book.write_text(CODEBOOK, encoding="utf-8")
    site, box = _Site(site_dir), _Receivers()
    site.server.handle_error = lambda *args: None  # type: ignore[method-assign]
    box.http.handle_error = lambda *args: None  # type: ignore[method-assign]
    proj = _init(tmp_path / "proj", "proj", book)
    cmd = _command(proj, site.url + "/feed.xml", box.webhook)
    try:
        site.names = list(DAYS[0])
        _run(cmd)
        site.names = [*DAYS[0], *DAYS[1]]
        with (tmp_path / "log").open("w") as out:
            proc = subprocess.Popen(cmd, stdout=out, stderr=out, env=_env(),
                                    start_new_session=True)  # fmt: skip
            box.on_post = lambda: os.killpg(proc.pid, signal.SIGKILL)
            assert proc.wait(timeout=300) == -signal.SIGKILL
        box.on_post = None
        assert len(box.posts) == 1
        con = sqlite3.connect(proj / "secprio.db")
        try:
            (row,) = con.execute("select status, attempts from watch_deliveries").fetchall()
            assert row == ("sending", 1)  # committed before the POST, not after
        finally:
            con.close()
        _, said = _run(cmd)
        assert "sending again to webhook" in said and "already in" in said, said
        _, said = _run(cmd)
        assert "nothing new" in said, said
    finally:
        site.server.shutdown()
        site.server.server_close()
        box.close()
    assert len(box.posts) == 2 and box.posts[0][1] == box.posts[1][1]  # the same record
    assert box.keys[0] == box.keys[1] != ""
    con = sqlite3.connect(proj / "secprio.db")
    try:
        rows = con.execute("select status, attempts, idempotency_key from watch_deliveries")
        assert rows.fetchall() == [("sent", 2, box.keys[0])]
        cycles = con.execute("select status from watch_cycles order by id").fetchall()
    finally:
        con.close()
    # day 1; day 2 killed (its record stays running); its rerun; the run with nothing new
    assert [c for (c,) in cycles] == ["complete", "running", "complete", "unchanged"]
