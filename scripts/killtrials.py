"""kill -9 at random points of every stage, then re-run it: the results must be identical.

    nice -n 10 .venv/bin/python scripts/killtrials.py --per-stage 10 --seed 1

Stages: ingest, import-gold, code, score, report, export (.qdpx and .qdc) and import-qdpx, on a
project that also holds human codings (one decision, then a gold file of ``--gold`` sentences,
then a QDA project's codings). The corpus (the OTS pack's documents and ``--docs`` generated
ones) is large enough that most stages work for seconds after the CLI has started.

Two clean runs make the reference: a file that is byte-identical between them must be
byte-identical after a trial, the others (a .qdpx zip holds times and GUIDs) are compared by
content. Each trial copies the project as it stood before the stage,
starts the stage through the CLI, sends SIGKILL to it after a random delay (seeded) and
re-runs the stage. It then compares documents, segments, codings (machine and human) and
every file the stages wrote with the reference, checks for duplicate rows, lost human
codings, ``PRAGMA integrity_check``, stray temporary files and processes left running.

Each run of a stage is watched: every 20 ms the script lists the project's files with their
size and mtime (but the trial's log, SQLite's ``-shm`` and the writer lock, which opening the
store makes, and an empty WAL), so it knows when the stage first wrote (a WAL frame, the
database, a temporary or output file). The two clean runs give each stage's *working window*:
from its first write to its exit. A trial waits for the stage's first write, then kills it
after a delay drawn uniformly over that window (the median of the last three windows: the
clean runs' and those of the trials that ended before their kill, as the load changes), so
the CLI's start-up (2–5 s of imports) is never where the kill lands.

A trial is *effective*, by evidence, when the kill ended the process (exit status -9, not an
exit of its own) and a write had been seen before the kill was sent. It is *unfinished* when,
besides, what the kill left (row counts of the store, the names of the project's files, a
temporary file) differs from the stage's end in a clean run: the kill interrupted the work,
not the exit after it. It left the work *half done*, or *rolled back* (the stage's start
again: a transaction not committed, a temporary file not renamed). ``--calibrate`` prints the clean
runs' first writes and windows and stops. A stage gets trials until ``--per-stage`` of them
were effective or ``--max-tries`` were run. Prints one line per trial and a table stage ×
tried × effective × unfinished × identical, the wall time, and the stages that did not reach
``--per-stage`` effective trials; exits 1 if any trial differs.
"""

from __future__ import annotations

import argparse
import io
import os
import random
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CLI = ["nice", "-n", "10", sys.executable, "-m", "secprio"]
STAGES = (
    "ingest", "import-gold", "code", "score", "report", "export-qdpx", "export-qdc", "import-qdpx"
)  # fmt: skip
STORE_FILES = {"secprio.db", "secprio.db-wal", "secprio.db-shm", "secprio.db.lock", "killed.log"}


def corpus(folder: Path, n: int = 30, pack: int = 0) -> Path:
    """The OTS pack's corpus (its first ``pack`` documents; 0: all) plus ``n`` generated ones."""
    from secprio import packs

    folder.mkdir(parents=True)
    docs = sorted((packs.path("ots") / "corpus").glob("*.md"))
    for doc in docs[:pack] if pack else docs:
        shutil.copy(doc, folder / doc.name)
    rng = random.Random(7)
    text = "military cooperation joint exercises terrorism extremism energy security transport"
    words = f"{text} corridor trade investment border cyber attacks summit leaders".split()
    for i in range(n):
        paras = [
            " ".join(rng.choice(words) for _ in range(18)).capitalize() + "." for _ in range(30)
        ]
        (folder / f"gen-{i:03}.txt").write_text("\n\n".join(paras) + "\n")
    return folder


def command(project: Path, name: str, work: Path) -> list[str]:
    p = ["-p", str(project)]
    return {
        "ingest": [*CLI, "ingest", str(work / "corpus"), *p],
        "import-gold": [*CLI, "import-gold", str(work / "gold-in.csv"), *p],
        "code": [*CLI, "code", *p, "--batch", "5"],
        "score": [*CLI, "score", *p, "--csv", str(project / "scores.csv")],
        "report": [*CLI, "report", *p, "-o", str(project / "report")],
        "export-qdpx": [*CLI, "export", str(project / "export.qdpx"), *p],
        "export-qdc": [*CLI, "export", str(project / "export.qdc"), *p],
        "import-qdpx": [*CLI, "import-qdpx", str(work / "in.qdpx"), *p],
    }[name]


def run(project: Path, name: str, work: Path) -> float:
    start = time.monotonic()
    done = subprocess.run(command(project, name, work), capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return time.monotonic() - start


def human(project: Path) -> None:
    """One decision made in the review workspace: it must survive every kill and re-run."""
    from secprio.coders.base import Coding
    from secprio.project import Project

    proj = Project.open(project)
    first = int(proj.sentences()["segment_id"].min())
    proj.store.add_human([Coding(first, "border_security", "analyst", "1", 1.0)])
    proj.store.engine.dispose()


def gold_file(project: Path, path: Path, n: int) -> None:
    """``n`` sentences of the corpus with a category (or none) by two coders, as a gold CSV."""
    import pandas as pd

    from secprio.project import Project

    proj = Project.open(project)
    sents = proj.sentences(text=True).sort_values("segment_id").iloc[::3].head(n)
    cats = [*proj.codebook.ids(), ""]
    rows = [
        {"id": f"g{i}", "text": text, "lang": "en", "category": cats[(i * k) % len(cats)],
         "coder": coder}
        for i, text in enumerate(sents["text"]) for k, coder in ((1, "ann_a"), (3, "ann_b"))
    ]  # fmt: skip
    pd.DataFrame(rows).to_csv(path, index=False)
    proj.store.engine.dispose()


def init(folder: Path) -> Path:
    from secprio import packs

    book = str(packs.path("ots") / "codebook.yaml")
    subprocess.run([*CLI, "init", str(folder), "--codebook", book], check=True, capture_output=True)
    settings = folder / "secprio.yaml"  # the dictionary coder: trials measure kills, not models
    text = settings.read_text().replace("coder: auto", "coder: dictionary")
    settings.write_text(text.replace("bootstrap: 1000", "bootstrap: 200"))
    return folder


# -- what a project holds -------------------------------------------------------------------
def rows(project: Path) -> dict[str, list[tuple]]:
    """Documents, segments and codings by content (ids differ between runs)."""
    con = sqlite3.connect(project / "secprio.db")
    try:
        docs = con.execute(
            "select path, sha256, version, active, title, date, doc_type, members, language "
            "from documents order by path, version"
        ).fetchall()
        segs = con.execute(
            "select d.path, d.version, s.kind, s.idx, s.start, s.end, s.paragraph "
            "from segments s join documents d on d.id = s.document_id order by 1, 2, 3, 4"
        ).fetchall()
        cods = con.execute(
            "select d.path, d.version, s.idx, c.category, c.coder, c.source, c.value, "
            "c.start, c.end, round(c.confidence, 9), c.pattern "
            "from codings c join segments s on s.id = c.segment_id "
            "join documents d on d.id = s.document_id order by 1, 2, 3, 4, 5, 6, 8, 9"
        ).fetchall()
        check = con.execute("pragma integrity_check").fetchall()
    finally:
        con.close()
    return {"documents": docs, "segments": segs, "codings": cods, "integrity": check}


def duplicates(project: Path) -> list[str]:
    con = sqlite3.connect(project / "secprio.db")
    queries = {
        "documents": "select path, version from documents group by 1, 2 having count(*) > 1",
        "segments": "select document_id, kind, idx from segments group by 1, 2, 3 "
        "having count(*) > 1",
        "codings": "select segment_id, category, coder, source, start, end from codings "
        "group by 1, 2, 3, 4, 5, 6 having count(*) > 1",
    }
    try:
        return [k for k, q in queries.items() if con.execute(q).fetchall()]
    finally:
        con.close()


def outputs(project: Path) -> dict[str, Path]:
    return {
        str(p.relative_to(project)): p
        for p in sorted(project.rglob("*"))
        if p.is_file() and p.name not in STORE_FILES and p.parent.name != ".secprio"
    }


_VOLATILE = re.compile(
    rb"(guid|creationDateTime|modifiedDateTime|date|started|finished|made|generated)"
    rb'(="|": ?")[^"]*"'
    rb"|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
    rb"|\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)?"
    rb"|(?<=#|\")p[0-9a-f]{10}\b"  # matplotlib's SVG clip-path ids
    rb"|/CreationDate \(D:[^)]*\)",
    re.I,
)


def content(path: Path, project: Path) -> bytes | dict[str, bytes]:
    """A file's content without what differs between two clean runs (times, GUIDs, paths)."""
    data = path.read_bytes()
    if zipfile.is_zipfile(io.BytesIO(data)):
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = {
                _VOLATILE.sub(b"~", i.filename.encode()).decode(): zf.read(i) for i in zf.infolist()
            }
        return {k: _VOLATILE.sub(b"~", v) for k, v in sorted(members.items())}
    return _VOLATILE.sub(b"~", data.replace(str(project).encode(), b"<project>"))


@dataclass
class Reference:
    rows: dict[str, list[tuple]]
    files: dict[str, bytes | dict[str, bytes]]
    exact: dict[str, bytes] = field(default_factory=dict)  # byte-identical between clean runs


def reference(a: Path, b: Path) -> Reference:
    fa, fb = outputs(a), outputs(b)
    assert fa.keys() == fb.keys(), fa.keys() ^ fb.keys()
    exact = {k: fa[k].read_bytes() for k in fa if fa[k].read_bytes() == fb[k].read_bytes()}
    files = {k: content(fa[k], a) for k in fa}
    differ = [k for k in fa if files[k] != content(fb[k], b)]
    assert not differ, f"two clean runs differ in {differ}"
    assert rows(a) == rows(b), "two clean runs differ in the store"
    return Reference(rows(a), files, exact)


def compare(project: Path, ref: Reference) -> list[str]:
    problems = []
    got = rows(project)
    for k in ("documents", "segments", "codings"):
        if got[k] != ref.rows[k]:
            problems.append(f"{k} differ ({len(got[k])} vs {len(ref.rows[k])})")
    human_ref = {r for r in ref.rows["codings"] if r[5] == "human"}
    human_got = {r for r in got["codings"] if r[5] == "human"}
    if human_ref - human_got:
        problems.append(f"{len(human_ref - human_got)} human codings lost")
    if got["integrity"] != [("ok",)]:
        problems.append(f"integrity_check: {got['integrity'][:3]}")
    problems += [f"duplicate {k}" for k in duplicates(project)]
    files = outputs(project)
    stray = sorted(set(files) - set(ref.files))
    if stray:
        problems.append(f"stray files {stray[:3]}")
    missing = sorted(set(ref.files) - set(files))
    if missing:
        problems.append(f"missing files {missing[:3]}")
    for k in sorted(set(files) & set(ref.files)):
        if k in ref.exact:
            if files[k].read_bytes() != ref.exact[k]:
                problems.append(f"{k} not byte-identical")
        elif content(files[k], project) != ref.files[k]:
            problems.append(f"{k} differs")
    return problems


# -- the kill ---------------------------------------------------------------------------
def children(session: int) -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[3]) == session and fields[0] != "Z":  # same session, not a zombie
                found.append(int(pid))
    return found


def partial(project: Path, before: dict[str, int], base_files: set[str]) -> str:
    """What the killed process had left: rows added to the store, files written."""
    now = counts(project)
    grown = [f"{now[k] - before[k]:+} {k}" for k in before if now[k] != before[k]]
    new = set(outputs(project)) - base_files
    return ", ".join(grown + ([f"{len(new)} files"] if new else [])) or "nothing"


def counts(project: Path) -> dict[str, int]:
    """Rows of the store (codings but the one decision :func:`human` adds), read only: a
    read-only connection neither recovers nor checkpoints the WAL a kill left, so the re-run
    meets the store as the kill left it."""
    con = sqlite3.connect(f"file:{project / 'secprio.db'}?mode=ro", uri=True)
    try:
        return {
            k: con.execute(
                f"select count(*) from {k}"
                + (" where coder != 'analyst'" if k == "codings" else "")
            ).fetchone()[0]  # fmt: skip
            for k in ("documents", "segments", "codings")
        }
    finally:
        con.close()


# files whose change is no evidence of writing: the trial's own log, SQLite's shared-memory
# index and the writer lock (opening the store and taking the lock make them, and no write)
UNWRITTEN = {"killed.log", "secprio.db-shm", "secprio.db.lock"}


def snapshot(project: Path) -> dict[str, tuple[int, int]]:
    """Every file under the project with its size and mtime (ns), but :data:`UNWRITTEN` and
    an empty WAL (opening the store makes it; the first write puts a frame in it)."""
    found: dict[str, tuple[int, int]] = {}
    stack = [str(project)]
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:  # a folder removed meanwhile
            continue
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    stack.append(entry.path)
                    continue
                if entry.name in UNWRITTEN:
                    continue
                st = entry.stat(follow_symlinks=False)
            except OSError:  # a temporary file renamed meanwhile
                continue
            found[entry.path] = (st.st_size, st.st_mtime_ns)
    wal = str(project / "secprio.db-wal")
    if found.get(wal, (1, 0))[0] == 0:
        del found[wal]
    return found


def changed(base: dict[str, tuple[int, int]], now: dict[str, tuple[int, int]],
            project: Path) -> str | None:  # fmt: skip
    """The first file written, made or removed since ``base`` (relative), or None."""
    for path in sorted(base.keys() | now.keys()):
        if base.get(path) != now.get(path):
            return str(Path(path).relative_to(project))
    return None


@dataclass
class Watch:
    """One run of a stage, watched: when it first wrote (the file it wrote) and when it ended
    (its exit status; -9 when the kill ended it), in seconds from its start."""

    wrote: float | None = None
    what: str | None = None
    ended: float | None = None
    status: int | None = None
    killed: float | None = None  # when the kill was sent
    pid: int = 0


def watched(project: Path, name: str, work: Path, kill_after: float | None = None,
            out: Path | None = None, poll: float = 0.02) -> Watch:  # fmt: skip
    """Run a stage and watch the project's files every ``poll`` s; with ``kill_after``, send
    SIGKILL that many seconds after its first write (if it still runs then)."""
    base = snapshot(project)
    log = (out or work / "watched.log").open("w")
    with log:
        proc = subprocess.Popen(
            command(project, name, work), stdout=log, stderr=log, start_new_session=True
        )
        started = time.monotonic()
        w = Watch(pid=proc.pid)
        while True:
            status = proc.poll()
            now = time.monotonic() - started
            if w.wrote is None:
                what = changed(base, snapshot(project), project)
                if what is not None:
                    w.wrote, w.what = now, what
            if status is not None:
                w.ended, w.status = now, status
                break
            if kill_after is not None and w.wrote is not None and now >= w.wrote + kill_after:
                os.kill(proc.pid, signal.SIGKILL)
                w.killed = time.monotonic() - started
                w.status = proc.wait()
                w.ended = time.monotonic() - started
                break
            time.sleep(poll)
    return w


@dataclass
class Trial:
    stage: str
    delay: float  # the kill was due this long after the stage's first write
    effective: bool
    mid: bool  # effective, and the stage's result was not complete (half done, rolled back)
    left: str
    problems: list[str]
    watch: Watch


def ends(ref: Reference) -> tuple[dict[str, int], set[str]]:
    """The store's row counts (as :func:`counts`) and the files at a stage's clean end."""
    n = {k: len(ref.rows[k]) for k in ("documents", "segments")}
    n["codings"] = sum(r[4] != "analyst" for r in ref.rows["codings"])
    return n, set(ref.files)


def trial(i: int, name: str, work: Path, base: Path, ref: Reference, delay: float) -> Trial:
    project = work / f"trial-{i}" / "project"
    shutil.copytree(base, project)
    before, base_files = counts(project), set(outputs(project))
    end = ends(ref)
    w = watched(project, name, work, kill_after=delay, out=project / "killed.log")
    time.sleep(0.5)
    left = children(w.pid)
    state = partial(project, before, base_files)
    # unfinished, by evidence: what the kill left differs from the stage's end in a clean run
    # (rows of the store, names of the files, a temporary file): rolled back when it is the
    # stage's start again (an uncommitted transaction, a temporary file swept), else half done
    now, files_now = counts(project), set(outputs(project))
    mid = (now, files_now) != end
    undone = "rolled back" if (now, files_now) == (before, base_files) else "half done"
    (project / "killed.log").unlink()
    run(project, name, work)
    if name == "ingest":
        human(project)  # as the clean run did after its ingest
    problems = compare(project, ref)
    if left:
        problems.append(f"{len(left)} processes left running")
    shutil.rmtree(project.parent, ignore_errors=True)
    # effective, by evidence: the kill ended the process (exit status -9, not its own), and
    # a file of the project had been written before the kill was sent (seen by the watcher)
    effective = w.status == -signal.SIGKILL and w.wrote is not None
    if w.status != -signal.SIGKILL:
        left_by = f"finished first ({w.status}) in {w.ended:.1f}s" + (
            f", {w.ended - w.wrote:.2f}s after its first write" if w.wrote is not None
            else ", writing nothing seen")  # fmt: skip
    else:
        left_by = (
            f"{undone if mid else 'as at its end'}: {state}; first write {w.what} at "
            f"{w.wrote:.1f}s, killed at {w.killed:.1f}s"
        )
    return Trial(name, delay, effective, effective and mid, left_by, problems, w)


def other_tool(export: Path, to: Path) -> None:
    """The project's export as a colleague's QDA project: its human coders renamed, so that
    importing it stores new human codings (the export's own coders are already stored)."""
    from secprio.exchange.qdpx import MACHINE_PREFIX

    with zipfile.ZipFile(export) as zin, zipfile.ZipFile(to, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "project.qde":
                data = re.sub(
                    rb'(<User\b[^>]*\bname=")(?!' + re.escape(MACHINE_PREFIX.encode()) + rb")",
                    rb"\1colleague-",
                    data,
                )
            zout.writestr(info.filename, data)


def pipeline(project: Path, work: Path, bases: Path, gold: int) -> dict[str, Watch]:
    took = {}
    for name in STAGES:
        shutil.copytree(project, bases / name / "project")
        took[name] = w = watched(project, name, work)
        if w.status not in (0, 3):
            log = (work / "watched.log").read_text()
            raise SystemExit(f"{name} failed ({w.status}):\n{log[-3000:]}")
        if name == "ingest":
            human(project)
            if not (work / "gold-in.csv").exists():
                gold_file(project, work / "gold-in.csv", gold)
        if name == "export-qdpx" and not (work / "in.qdpx").exists():
            other_tool(project / "export.qdpx", work / "in.qdpx")
    return took


def median(xs: list[float]) -> float:
    ys = sorted(xs)
    return (ys[(len(ys) - 1) // 2] + ys[len(ys) // 2]) / 2


def window(w: Watch) -> float | None:
    """How long a run that ended on its own went on after its first write."""
    if w.wrote is None or w.ended is None or w.status == -signal.SIGKILL:
        return None
    return w.ended - w.wrote


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--per-stage", type=int, default=10, help="effective trials per stage")
    parser.add_argument("--max-tries", type=int, default=0, help="trials per stage at most, "
                        "effective or not (0: 2 × --per-stage)")  # fmt: skip
    parser.add_argument("--stages", default=",".join(STAGES), help="comma-separated stages")
    parser.add_argument("--docs", type=int, default=200, help="generated documents added")
    parser.add_argument("--pack-docs", type=int, default=0, help="pack documents (0: all 89)")
    parser.add_argument("--gold", type=int, default=800, help="sentences in the gold file")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--budget", type=float, default=0, help="stop starting trials after "
                        "this many minutes (0: no limit); the table covers those run")  # fmt: skip
    parser.add_argument("--calibrate", action="store_true", help="only the two clean runs: "
                        "each stage's first write and working window, then stop")  # fmt: skip
    args = parser.parse_args()
    began = time.monotonic()
    stages = [s for s in args.stages.split(",") if s]
    max_tries = args.max_tries or 2 * args.per_stage
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="killtrials-"))
    corpus(work / "corpus", args.docs, args.pack_docs)
    a, b = work / "a" / "project", work / "b" / "project"  # one name: it is in the report
    for bases in ("bases", "bases-b"):
        (work / bases).mkdir()
    took_a = pipeline(init(a), work, work / "bases", args.gold)
    took_b = pipeline(init(b), work, work / "bases-b", args.gold)
    print("clean runs (first write: file, at s; ended at s; working window s):")
    for k in STAGES:
        print(f"  {k:11} " + " | ".join(
            f"{w.what} at {w.wrote:.2f}s, ended {w.ended:.2f}s, window {window(w):.2f}s"
            if w.wrote is not None else f"no write seen, ended {w.ended:.2f}s"
            for w in (took_a[k], took_b[k])), flush=True)  # fmt: skip
    if args.calibrate:
        shutil.rmtree(work, ignore_errors=True)
        return 0
    # each stage's working window: the clean runs', then those of the trials that ended
    # before their kill (the load of the machine changes)
    windows = {k: [x for x in (window(took_a[k]), window(took_b[k])) if x is not None]
               for k in STAGES}  # fmt: skip
    for k in stages:
        if not windows[k]:
            raise SystemExit(f"{k}: no write seen in either clean run: nothing to kill into")

    def after(bases: Path, last: Path, name: str) -> Path:  # the project as the stage left it
        later = STAGES.index(name) + 1
        return bases / STAGES[later] / "project" if later < len(STAGES) else last

    refs = {n: reference(after(work / "bases", a, n), after(work / "bases-b", b, n))
            for n in stages}  # fmt: skip
    ref = reference(a, b)
    print(f"reference: {len(ref.rows['documents'])} documents, {len(ref.rows['segments'])} "
          f"segments, {len(ref.rows['codings'])} codings "
          f"({sum(r[5] == 'human' for r in ref.rows['codings'])} human), {len(ref.files)} files "
          f"({len(ref.exact)} byte-identical between clean runs)", flush=True)  # fmt: skip
    results: list[Trial] = []
    stop = time.monotonic() + (args.budget * 60 if args.budget else float("inf"))
    i = 0

    def wanted(name: str) -> bool:
        mine = [t for t in results if t.stage == name]
        return sum(t.effective for t in mine) < args.per_stage and len(mine) < max_tries

    while any(wanted(n) for n in stages) and time.monotonic() <= stop:
        for name in [n for n in stages if wanted(n)]:  # a round: one trial of each stage
            if time.monotonic() > stop:
                break
            # the kill lands uniformly over the working window: after the first write, before
            # the end the last runs took (a trial that ends first adds its window)
            delay = rng.uniform(0, median(windows[name][-3:]))
            t = trial(i, name, work, work / "bases" / name / "project", refs[name], delay)
            results.append(t)
            if (x := window(t.watch)) is not None:
                windows[name].append(x)
            verdict = "identical" if not t.problems else "DIFFERENT: " + "; ".join(t.problems)
            print(f"trial {i:3}: kill -9 {name:11} {delay:5.2f}s after its first write "
                  f"({'effective' if t.effective else 'not effective'}; {t.left}): "
                  f"{verdict}", flush=True)  # fmt: skip
            i += 1
    if time.monotonic() > stop:
        print(f"budget of {args.budget:g} min spent: {i} trials run", flush=True)
    print(f"\n{'stage':12} {'tried':>6} {'effective':>9} {'unfinished':>10} {'identical':>9} "
          f"{'eff.+ident.':>11}")  # fmt: skip
    for name in [*stages, "all"]:
        mine = [t for t in results if name in (t.stage, "all")]
        print(f"{name:12} {len(mine):6} {sum(t.effective for t in mine):9} "
              f"{sum(t.mid for t in mine):10} {sum(not t.problems for t in mine):9} "
              f"{sum(t.effective and not t.problems for t in mine):11}")  # fmt: skip
    short = [n for n in stages if sum(t.effective for t in results if t.stage == n)
             < args.per_stage]  # fmt: skip
    print(f"wall time {(time.monotonic() - began) / 60:.1f} min"
          + (f"; fewer than {args.per_stage} effective trials: {', '.join(short)}" if short
             else ""))  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)
    return 1 if any(t.problems for t in results) else 0


if __name__ == "__main__":
    sys.exit(main())
