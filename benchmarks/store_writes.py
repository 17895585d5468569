"""CPU of the store's writes alone: ``add_document`` for a corpus, then ``save_batch`` of its
dictionary codings in batches of 25 documents (what ``ingest`` and ``code`` write), per version.

    PYTHONPATH=src .venv/bin/python benchmarks/store_writes.py CORPUS --baseline 128f431

CORPUS is a folder of documents (e.g. one ``scale.py`` wrote). The documents are read and coded
once, in this process, with this worktree's ``src``; each version (this worktree and, with
``--baseline REV``, a ``git worktree`` of REV under ``--workdir``) then writes them into a new
SQLite store in its own process, ``--repeat`` times, alternating versions; the process CPU time
of each part is printed per run, then the median per version.
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import subprocess
import sys
import time
from pathlib import Path

from scale import sources  # benchmarks/scale.py: a script's folder is on sys.path

ROOT = Path(__file__).resolve().parent.parent
BATCH = 25


def prepare(corpus: Path, work: Path) -> None:
    from secprio.codebook.load import load as load_codebook
    from secprio.coders.base import Unit
    from secprio.coders.dictionary import DictionaryCoder
    from secprio.ingest.corpus import load_or_skip
    from secprio.ingest.model import Document
    from secprio.ingest.readers import prepare as warm

    files = sorted(p for p in corpus.iterdir() if p.is_file())
    warm(p.suffix for p in files)
    docs = [d for d in (load_or_skip(f) for f in files) if isinstance(d, Document)]
    coder = DictionaryCoder(load_codebook(ROOT / "src/secprio/packs/ots/codebook.yaml"))
    # segment ids as a fresh store numbers them: in order, from 1
    batches, next_id = [], 1
    for lo in range(0, len(docs), BATCH):
        units = []
        for doc_id, d in enumerate(docs[lo : lo + BATCH], lo + 1):
            for s in d.segments:
                if s.kind == "sentence":
                    text = d.text[s.start : s.end]
                    units.append(Unit(next_id, text, d.meta.language, str(doc_id)))
                next_id += 1
        batches.append((list(range(lo, min(lo + BATCH, len(docs)))), list(coder.code(units))))
    (work / "docs.pkl").write_bytes(pickle.dumps(docs))
    (work / "codings.pkl").write_bytes(pickle.dumps(batches))


def write(work: Path) -> None:
    """In a version's process: write the prepared documents and codings; print the CPU."""
    from secprio.store.store import Store

    docs = pickle.loads((work / "docs.pkl").read_bytes())
    batches = pickle.loads((work / "codings.pkl").read_bytes())
    db = work / "store.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    store = Store(f"sqlite:///{db}")
    t0 = time.process_time()
    ids = [store.add_document(d)[0] for d in docs]
    t1 = time.process_time()
    run = store.start_run("code", key="bench", coder="dictionary")
    n = sum(
        store.save_batch(run, coder="dictionary", doc_ids=[ids[i] for i in idx], codings=cod)
        for idx, cod in batches
    )
    t2 = time.process_time()
    segments = sum(len(d.segments) for d in docs)
    print(f"{t1 - t0:.3f} {t2 - t1:.3f} {segments} {n}")
    store.engine.dispose()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus", type=Path, nargs="?")
    ap.add_argument("--baseline", default="", help="also measure this git revision")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/secprio-store-writes"))
    ap.add_argument("--write", action="store_true", help=argparse.SUPPRESS)  # a version's run
    args = ap.parse_args()
    work = args.workdir.resolve()
    if args.write:
        write(work)
        return
    work.mkdir(parents=True, exist_ok=True)
    prepare(args.corpus, work)
    versions = sources(work, args.baseline)
    times: dict[str, list[tuple[float, float]]] = {v: [] for v, _ in versions}
    for i in range(args.repeat):
        for version, src in versions:
            out = subprocess.run(
                [sys.executable, __file__, "--write", "--workdir", str(work)],
                env={"PYTHONPATH": str(src), "PATH": "/usr/bin:/bin"},
                check=True, capture_output=True, text=True,
            ).stdout.split()  # fmt: skip
            docs_s, code_s = float(out[0]), float(out[1])
            times[version].append((docs_s, code_s))
            print(f"run {i + 1} {version:>8}: add_document {docs_s:.2f} s CPU ({out[2]} segments),"
                  f" save_batch {code_s:.2f} s CPU ({out[3]} codings)", flush=True)  # fmt: skip
    for version, ts in times.items():
        print(f"median {version:>8}: add_document {statistics.median(t[0] for t in ts):.2f} s, "
              f"save_batch {statistics.median(t[1] for t in ts):.2f} s CPU")  # fmt: skip


if __name__ == "__main__":
    main()
