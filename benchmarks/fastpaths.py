"""Where ingest's and the dictionary coder's CPU time goes, stage by stage, in one process:
the costs issue 12 item 2's fast paths attack, for comparing two versions of ``src``.

    PYTHONPATH=src .venv/bin/python benchmarks/fastpaths.py /tmp/secprio-scale/corpus-20mb
    PYTHONPATH=/tmp/base/src .venv/bin/python benchmarks/fastpaths.py /tmp/secprio-scale/corpus-20mb

On the documents of a corpus folder (``scale.py`` writes them) it times, in CPU seconds of this
process: reading each file (``ingest.corpus.load``: text, metadata, segments), the sentence
splitting alone (``text.segment.segment``, a Segment each, as the API returns them), a
document's round trip through pickle (what a reader process hands to the main one), then for
the OTS pack's codebook: building the dictionary coder, ``code()`` over every sentence, and the
rows ``save_batch`` writes. It prints MB of text per CPU-second per stage and the number of
segments and codings, which must be the same for both versions.
"""

from __future__ import annotations

import argparse
import gc
import pickle
import resource
import time
from pathlib import Path

from secprio.codebook import load as load_codebook
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.ingest.corpus import load
from secprio.store.store import _coding_rows, _now
from secprio.text.segment import segment

PACK = Path(__file__).resolve().parent.parent / "src" / "secprio" / "packs" / "ots"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("corpus", type=Path)
    ap.add_argument("--codebook", type=Path, default=PACK / "codebook.yaml")
    args = ap.parse_args()
    files = sorted(args.corpus.glob("*.md"))
    mb = sum(f.stat().st_size for f in files) / 1e6
    rows: list[tuple[str, float, str]] = []

    def timed(name: str, what: str, fn):  # type: ignore[no-untyped-def]
        t = time.process_time()
        out = fn()
        rows.append((name, time.process_time() - t, what))
        return out

    docs = timed("read files (load)", "", lambda: [load(f) for f in files])
    n_segments = sum(len(d.segments) for d in docs)
    rows[-1] = (*rows[-1][:2], f"{n_segments} segments")
    timed("sentence splitting (segment)", "",
          lambda: [segment(d.text, lang=d.meta.language) for d in docs])  # fmt: skip
    blobs = timed("pickle dumps (reader side)", "", lambda: [pickle.dumps(d) for d in docs])
    timed("pickle loads (main side)", f"{sum(map(len, blobs)) / 1e6:.1f} MB pickled",
          lambda: [pickle.loads(b) for b in blobs])  # fmt: skip
    sentences = [(k, d, s) for k, d in enumerate(docs) for s in d.sentences()]
    units = [Unit(i, d.text[s.start : s.end], d.meta.language, str(k))
             for i, (k, d, s) in enumerate(sentences)]  # fmt: skip
    gc.freeze()  # the corpus is held here only for the benchmark: keep it out of the GC's way
    codebook = load_codebook(args.codebook)
    coder = timed("build the dictionary coder", "", lambda: DictionaryCoder(codebook))
    codings = timed("code() every sentence", "", lambda: list(coder.code(units)))
    rows[-1] = (*rows[-1][:2], f"{len(codings)} codings")
    timed("coding rows (save_batch's)", "",
          lambda: _coding_rows(codings, run_id=1, source="machine", at=_now()))  # fmt: skip
    print(f"{mb:.1f} MB, {len(files)} documents, {len(units)} sentences")
    print("| stage | CPU s | MB/CPU-s | |\n|---|---:|---:|---|")
    for name, cpu, what in rows:
        print(f"| {name} | {cpu:.2f} | {mb / max(cpu, 1e-9):.1f} | {what} |")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS {peak:.0f} MB")


if __name__ == "__main__":
    main()
