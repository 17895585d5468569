"""Train the OTS pack's shipped supervised model from the real-text development set.

    .venv/bin/python scripts/train_ots.py DOCS_DIR [--devgold ../shared/devgold]
        [--extra benchmarks/devgold-extra] [--out src/secprio/packs/ots/weights/supervised.npz]

DOCS_DIR holds the rebuilt dev-set texts (``../shared/devgold/README.md``: third-party pages,
never committed). The model is trained on the verified labelled sentences plus the pack
codebook's own examples and saved as weights only — hashed features, so no vocabulary and no
sentence of the training data is in the file. Re-run it whenever the codebook changes: the
weights belong to the codebook file they were trained with (its sha256 is checked on load).
How well the model agrees with human coding is measured by ``benchmarks/realtext.py``
(cross-validated by page), never on the sentences it was trained on.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from secprio import packs
from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.supervised import Examples, SupervisedCoder, codebook_examples, combine
from secprio.exchange import standoff
from secprio.text.segment import segment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEVGOLD = ROOT.parent / "shared" / "devgold"
FEATURES = ("lexical", "dictionary", "context")  # the default blocks (coders/features.py)
C = 1.0


def dev_examples(folders: list[Path], docs: Path, codebook_path: Path) -> Examples:
    book = load(codebook_path)
    spans: list[standoff.Span] = []
    for folder in folders:
        good, bad = standoff.verify(standoff.read(folder / "labels.tsv"), docs)
        print(f"{folder}: {len(good)} spans verified, {len(bad)} left out")
        spans += good
    labels = standoff.categories(spans, book.codes())
    cats = book.ids()
    texts = {f: (docs / f).read_text(encoding="utf-8") for f in {s.file for s in spans}}
    lang = {s.file: s.lang for s in spans}
    # every sentence of each page, cut as ingest cuts it: the context features read the page
    pages = {
        f: [Unit(i, text[g.start : g.end], lang[f], f)
            for i, g in enumerate(segment(text, lang=lang[f])) if g.kind == "sentence"]
        for f, text in texts.items()
    }  # fmt: skip
    return Examples(
        [texts[s.file][s.start : s.end] for s in spans],
        [s.lang for s in spans],
        np.array([[c in ls for c in cats] for ls in labels], dtype=bool),
        ["dev"] * len(spans),
        [s.file for s in spans],
        pages,
    )


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("docs", type=Path)
    ap.add_argument("--devgold", type=Path, default=DEFAULT_DEVGOLD)
    ap.add_argument("--extra", type=Path, action="append", default=[])
    ap.add_argument("--out", type=Path, default=packs.path("ots") / "weights" / "supervised.npz")
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"error: {args.docs}: no such folder\n  fix: rebuild the dev texts as "
              f"{args.devgold / 'README.md'} says", file=sys.stderr)  # fmt: skip
        return 2
    book_path = packs.path("ots") / "codebook.yaml"
    book = load(book_path)
    dev = dev_examples([args.devgold, *args.extra], args.docs, book_path)
    data = combine(codebook_examples(book), dev)
    coder = SupervisedCoder(book, features=FEATURES, c=C).fit(data)
    trained_on = (
        f"{coder.trained_on_} (the real-text development set: adjudicated sentences of public "
        "OTS-related pages; scripts/train_ots.py)"
    )
    path = coder.save(args.out, trained_on=trained_on)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB): {trained_on}")
    print("positives per category:", dict(zip(book.ids(), coder.positives_, strict=True)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
