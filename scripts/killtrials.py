"""kill -9 at random points of ingest, code and score, then re-run: the results must be identical.

    .venv/bin/python scripts/killtrials.py --trials 12 --seed 1

A reference project runs ingest → (a human coding) → code → score cleanly. Each trial starts a
fresh project, runs the stages before the chosen one, starts the chosen stage through the CLI,
sends SIGKILL to it after a random delay (seeded), checks that no process it started (reader
workers) is left running, re-runs every stage to the end and compares documents, segments,
codings (machine and human) and the score table with the reference. Prints one line per trial
and exits 1 if any trial differs.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
CLI = [sys.executable, "-m", "secprio"]
STAGES = ("ingest", "code", "score")


def corpus(folder: Path) -> Path:
    """The OTS pack's corpus plus generated documents, so each stage runs for a while."""
    from secprio import packs

    shutil.copytree(packs.path("ots") / "corpus", folder)
    rng = random.Random(7)
    text = "military cooperation joint exercises terrorism extremism energy security transport"
    words = f"{text} corridor trade investment border cyber attacks summit leaders".split()
    for i in range(10):
        paras = [
            " ".join(rng.choice(words) for _ in range(18)).capitalize() + "." for _ in range(30)
        ]
        (folder / f"gen-{i:03}.txt").write_text("\n\n".join(paras) + "\n")
    return folder


def stage(project: Path, name: str, docs: Path) -> list[str]:
    if name == "ingest":
        return [*CLI, "ingest", str(docs), "-p", str(project)]
    if name == "code":
        return [*CLI, "code", "-p", str(project), "--batch", "5"]
    return [*CLI, "score", "-p", str(project), "--csv", str(project / "scores.csv")]


def run(project: Path, name: str, docs: Path) -> None:
    done = subprocess.run(stage(project, name, docs), capture_output=True, text=True)
    if done.returncode not in (0, 3):
        raise SystemExit(f"{name} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    if name == "ingest":
        human(project)


def human(project: Path) -> None:
    """One human decision on the first sentence: it must survive every kill and re-run."""
    from secprio.coders.base import Coding
    from secprio.project import Project

    proj = Project.open(project)
    first = int(proj.sentences()["segment_id"].min())
    proj.store.add_human([Coding(first, "border_security", "analyst", "1", 1.0)])


def snapshot(project: Path) -> dict[str, pd.DataFrame]:
    from secprio.project import Project

    proj = Project.open(project)
    docs = proj.store.table("documents")[["id", "path", "sha256", "version", "active"]]
    segs = proj.store.table("segments").merge(docs, left_on="document_id", right_on="id")
    cod = proj.store.table("codings").merge(
        segs[["id_x", "path", "kind", "idx"]].rename(columns={"id_x": "segment_id"}),
        on="segment_id",
    )
    keep = ["path", "idx", "category", "coder", "source", "start", "end", "confidence"]
    return {
        "documents": docs.drop(columns="id").sort_values("path").reset_index(drop=True),
        "segments": segs[["path", "kind", "idx", "start", "end"]]
        .sort_values(["path", "kind", "idx"]).reset_index(drop=True),
        "codings": cod[keep].sort_values(keep[:5]).reset_index(drop=True),
        "scores": pd.read_csv(project / "scores.csv"),
    }  # fmt: skip


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


def init(folder: Path) -> Path:
    from secprio import packs

    book = str(packs.path("ots") / "codebook.yaml")
    subprocess.run([*CLI, "init", str(folder), "--codebook", book], check=True, capture_output=True)
    return folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trials", type=int, default=12)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="killtrials-"))
    docs = corpus(work / "corpus")
    reference = init(work / "reference")
    took = {}
    for name in STAGES:
        start = time.monotonic()
        run(reference, name, docs)
        took[name] = time.monotonic() - start
    expected = snapshot(reference)
    print("reference:", {k: len(v) for k, v in expected.items()},
          {k: f"{v:.1f}s" for k, v in took.items()})  # fmt: skip
    failures = 0
    for trial in range(args.trials):
        name = STAGES[trial % len(STAGES)]
        project = init(work / f"trial-{trial}")
        for before in STAGES[: STAGES.index(name)]:
            run(project, before, docs)
        delay = rng.uniform(0.3, max(0.5, 0.9 * took[name]))
        log = project / "killed.log"
        with log.open("w") as out:
            proc = subprocess.Popen(stage(project, name, docs), stdout=out, stderr=out,
                                    start_new_session=True)  # fmt: skip
        time.sleep(delay)
        finished = proc.poll() is not None
        os.kill(proc.pid, signal.SIGKILL) if not finished else None
        proc.wait()
        time.sleep(1.0)
        left = children(proc.pid)
        for later in STAGES[STAGES.index(name) :]:
            run(project, later, docs)
        got = snapshot(project)
        diff = [k for k in expected if not expected[k].equals(got[k])]
        ok = not diff and not left
        failures += not ok
        verdict = "identical" if not diff else "DIFFERENT " + ",".join(diff)
        if left:
            verdict += f", {len(left)} processes left running"
        when = f" (had finished, exit {proc.returncode})" if finished else ""
        if finished and proc.returncode not in (0, 3):
            print(log.read_text()[-2000:])
        print(f"trial {trial:2}: kill -9 {name:6} after {delay:5.2f}s{when}: {verdict}", flush=True)
        shutil.rmtree(project, ignore_errors=True)
    print(f"{args.trials - failures} of {args.trials} trials identical to the clean run")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
