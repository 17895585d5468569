"""Precision and recall of the dictionary coder on a codebook's own examples.

    .venv/bin/python benchmarks/codebook_examples.py [CODEBOOK]

Per category, on its positive and negative examples (the set the patterns were tuned on) and,
separately, on its held-out examples (never used for tuning). Precision here is over the
category's own positives and negatives: a near-miss negative that matches is a false positive.
"""

from __future__ import annotations

import sys
from pathlib import Path

from secprio import packs
from secprio.codebook import load
from secprio.codebook.model import Category, Example
from secprio.coders.base import Unit
from secprio.coders.dictionary import DictionaryCoder


def rates(
    coder: DictionaryCoder, cat: Category, pos: tuple[Example, ...], neg: tuple[Example, ...]
) -> tuple[float, float, int, int]:
    units = [Unit(i, e.text, e.lang) for i, e in enumerate(pos + neg)]
    hit = {c.unit_id for c in coder.code(units) if c.category == cat.id}
    tp = sum(1 for i in range(len(pos)) if i in hit)
    fp = sum(1 for i in range(len(pos), len(units)) if i in hit)
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return precision, tp / len(pos) if pos else float("nan"), len(pos), len(neg)


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else packs.path("ots") / "codebook.yaml"
    cb = load(path)
    coder = DictionaryCoder(cb)
    print("| category | examples P | examples R | n+/n− | held-out P | held-out R | n+/n− |")
    print("|---|---|---|---|---|---|---|")
    for cat in cb.categories:
        p1, r1, a1, b1 = rates(coder, cat, cat.positive, cat.negative)
        p2, r2, a2, b2 = rates(coder, cat, cat.heldout_positive, cat.heldout_negative)
        print(f"| {cat.id} | {p1:.2f} | {r1:.2f} | {a1}/{b1} | {p2:.2f} | {r2:.2f} | {a2}/{b2} |")


if __name__ == "__main__":
    main()
