"""Every coder side by side: throughput, and agreement with human labels.

    PYTHONPATH=src .venv/bin/python benchmarks/coders.py [--models e5,use] [--out DIR]
    PYTHONPATH=src .venv/bin/python benchmarks/coders.py --public F.csv --map 104=military_coop…

In one run, for each embedding model asked for:

- **throughput**: each coder codes the OTS pack's corpus sentences, timed from a cold start
  (no embedding cache, an empty in-process memo; fitting is timed separately), as sentences
  per second of wall time and of this process's CPU time (the second is steadier on a shared
  machine, but counts every thread); plus the bare embedding model;
- **held-out examples** of the pack's codebook (never used in training or calibration): the
  supervised coder is trained on the codebook examples and the whole gold set, the ensemble
  also calibrated on the gold set; a held-out positive of a category is labelled with that
  category only, a held-out negative with nothing;
- **gold set** (``gold.csv``, annotator_a): dictionary and semantic coders code every sentence
  directly; the supervised coder and the ensemble are cross-fitted over ``--folds`` folds of the
  gold sentences (fixed seed) — every sentence is predicted by a model trained and calibrated
  without it. F1 intervals: 95% bootstrap over sentences;
- Krippendorff's alpha between each coder and annotator_a, and between the two annotators;
- ``--public FILE``: a labelled data set you supply (a CSV with ``text`` and ``label``
  columns, e.g. Manifesto Project quasi-sentences or CAP State of the Union sentences — their
  licences forbid committing them, so they are never in this repository); ``--map VALUE=CAT``
  says which label values mean which category, every other row is a negative for it.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import TypeVar

import numpy as np
import pandas as pd

from secprio import packs
from secprio.codebook.load import load
from secprio.codebook.model import Codebook
from secprio.coders import embed as embedding
from secprio.coders.base import Coder, Coding, Unit
from secprio.coders.dictionary import DictionaryCoder
from secprio.coders.ensemble import EnsembleCoder, cross_predict
from secprio.coders.semantic import SemanticCoder
from secprio.coders.supervised import (
    Examples,
    SupervisedCoder,
    codebook_examples,
    combine,
    gold_examples,
)
from secprio.exchange.gold import read
from secprio.measure.agreement import by_category
from secprio.measure.validation import evaluate, matrix
from secprio.project import Project

CODERS = ("dictionary", "semantic", "supervised", "ensemble")


def corpus_units(pack: Path, tmp: Path) -> list[Unit]:
    project = Project.init(tmp / "project", pack="ots")
    project.ingest([pack / "corpus"])
    return project.store.units(project.documents()["document_id"].tolist())


def build(name: str, book: Codebook, *, model: str, train: Examples, gold: Examples) -> Coder:
    """A coder as it runs in a project whose gold file is the pack's."""
    if name == "dictionary":
        return DictionaryCoder(book)
    if name == "semantic":
        return SemanticCoder(book, model=model).fit()
    if name == "supervised":
        return SupervisedCoder(book, model=model).fit_examples(combine(train, gold))
    return EnsembleCoder(book, model=model).fit_examples(train, gold)


T = TypeVar("T")


def timed(fn: Callable[[], T]) -> tuple[T, float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    value = fn()
    return value, time.perf_counter() - wall, time.process_time() - cpu


def code_all(coder: Coder, units: list[Unit]) -> list[Coding]:
    return list(coder.code(units))


def predict(coder: Coder, texts: list[str], langs: list[str], cats: list[str]) -> np.ndarray:
    units = [Unit(i, t, lang) for i, (t, lang) in enumerate(zip(texts, langs, strict=True))]
    out = np.zeros((len(units), len(cats)), dtype=bool)
    col = {c: j for j, c in enumerate(cats)}
    for c in coder.code(units):
        out[c.unit_id, col[c.category]] = True
    return out


def f1_side_by_side(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    cols = {name: df.set_index("category")["f1"] for name, df in results.items()}
    return pd.DataFrame(cols).reset_index().rename(columns={"index": "category"})


def markdown(df: pd.DataFrame, floats: int = 3) -> str:
    def cell(v: object) -> str:
        return f"{v:.{floats}f}" if isinstance(v, float) else str(v)

    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "| " + " | ".join("---" for _ in df.columns) + " |"
    body = ["| " + " | ".join(cell(v) for v in row) + " |" for row in df.itertuples(index=False)]
    return "\n".join([head, rule, *body])


def forget(texts: list[str], model: str) -> None:
    """Drop these sentences from the in-process memo (training vectors stay: fitting is not
    what the throughput measures)."""
    name = embedding.model_version(model)
    for t in texts:
        embedding._MEMO.pop((name, embedding.text_key(t)), None)


def run_model(
    model: str,
    book: Codebook,
    units: list[Unit],
    gold: Examples,
    *,
    folds: int,
    seed: int,
    boot: int,
) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    cats = book.ids()
    train, held = codebook_examples(book), codebook_examples(book, heldout=True)
    texts = [u.text for u in units]
    forget(texts, model)
    embedding.encoder(model)  # load the model outside the timing: it is loaded once
    _, wall, cpu = timed(lambda: embedding.embed(texts, model=model))
    label = f"embedding only ({embedding.model_version(model)})"
    speed = [
        {
            "coder": label,
            "fit_s": 0.0,
            "sent_per_s_wall": len(units) / wall,
            "sent_per_s_cpu": len(units) / cpu,
            "codings": 0,
        }
    ]
    coders: dict[str, Coder] = {}
    for name in CODERS:
        coder, fit_wall, _ = timed(partial(build, name, book, model=model, train=train, gold=gold))
        forget(texts, model)  # cold: the corpus is embedded inside the timed call
        codings, wall, cpu = timed(partial(code_all, coder, units))
        coders[name] = coder
        speed.append(
            {
                "coder": name,
                "fit_s": fit_wall,
                "sent_per_s_wall": len(units) / wall,
                "sent_per_s_cpu": len(units) / cpu,
                "codings": len(codings),
            }
        )
    heldout = {
        n: evaluate(
            held.labels, predict(c, held.texts, held.langs, cats), cats, n_boot=boot, seed=seed
        )
        for n, c in coders.items()
    }
    with TemporaryDirectory() as tmp:
        preds = cross_predict(
            book,
            gold,
            base=train,
            model=model,
            cache=Path(tmp) / "c.sqlite",
            folds=folds,
            seed=seed,
        )
    on_gold = {n: evaluate(gold.labels, p, cats, n_boot=boot, seed=seed) for n, p in preds.items()}
    tables = {
        "throughput": pd.DataFrame(speed),
        "heldout": f1_side_by_side(heldout),
        "heldout_macro": _macro(heldout),
        "gold": f1_side_by_side(on_gold),
        "gold_macro": _macro(on_gold),
    }
    return tables, preds


def _macro(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    rows = []
    for name, df in results.items():
        m = df.set_index("category").loc["macro"]
        rows.append(
            {
                "coder": name,
                "precision": m["precision"],
                "recall": m["recall"],
                "f1": m["f1"],
                "f1_lo": m["f1_lo"],
                "f1_hi": m["f1_hi"],
            }
        )
    return pd.DataFrame(rows)


def alphas(
    gold_file: Path, book: Codebook, preds: dict[str, np.ndarray], *, boot: int, seed: int
) -> pd.DataFrame:
    g = read(gold_file, categories=book.ids())
    ref = g.coders[0]
    human = g.all_labels()
    units = list(g.units([ref])["unit"])
    cats = book.ids()
    frames = []
    for name, p in preds.items():
        machine: dict[str, frozenset[str] | set[str]] = {
            u: {cats[int(j)] for j in np.flatnonzero(row)} for u, row in zip(units, p, strict=True)
        }
        labels: dict[str, Mapping[str, frozenset[str] | set[str]]] = {
            ref: human[ref],
            name: machine,
        }
        frames.append(
            by_category(labels, [ref, name], cats, n_boot=boot, seed=seed).assign(
                pair=f"{name} vs {ref}"
            )
        )
    for other in g.coders[1:]:
        frames.append(
            by_category(human, [ref, other], cats, n_boot=boot, seed=seed).assign(
                pair=f"{other} vs {ref}"
            )
        )
    return pd.concat(frames, ignore_index=True)


def public(
    path: Path,
    mapping: dict[str, str],
    book: Codebook,
    *,
    model: str,
    gold: Examples,
    text_col: str,
    label_col: str,
) -> pd.DataFrame:
    """Zero-shot transfer: the coders as the pack trains them, on someone else's labels."""
    df = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = {text_col, label_col} - set(df.columns)
    if missing:
        raise SystemExit(f"{path}: no column(s) {sorted(missing)}; use --text/--label")
    cats = sorted(set(mapping.values()))
    labels = {str(i): {mapping[v]} if v in mapping else set() for i, v in enumerate(df[label_col])}
    truth = matrix(labels, [str(i) for i in range(len(df))], cats)
    langs = list(df["lang"]) if "lang" in df.columns else [""] * len(df)
    rows = []
    train = codebook_examples(book)
    for name in CODERS:
        coder = build(name, book, model=model, train=train, gold=gold)
        pred = predict(coder, list(df[text_col]), langs, book.ids())
        pred = pred[:, [book.ids().index(c) for c in cats]]
        res = evaluate(truth, pred, cats, n_boot=200).assign(coder=name)
        rows.append(res[res["category"] != "macro"])
    return pd.concat(rows, ignore_index=True)[
        ["coder", "category", "n_true", "n_pred", "precision", "recall", "f1", "f1_lo", "f1_hi"]
    ]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--models", default="e5,use", help="embedding models, comma-separated")
    ap.add_argument("--folds", type=int, default=5)
    ap.add_argument("--seed", type=int, default=20240101)
    ap.add_argument("--boot", type=int, default=1000, help="bootstrap replicates")
    ap.add_argument("--out", type=Path, help="also write every table as CSV here")
    ap.add_argument("--public", type=Path, help="a labelled CSV you supply (never commit it)")
    ap.add_argument("--map", action="append", default=[], help="label value=category id")
    ap.add_argument("--text", default="text", help="text column of --public")
    ap.add_argument("--label", default="label", help="label column of --public")
    args = ap.parse_args()

    pack = packs.path("ots")
    book = load(pack / "codebook.yaml")
    gold = gold_examples(read(pack / "gold.csv", categories=book.ids()), book.ids())
    tables: dict[str, pd.DataFrame] = {}
    with TemporaryDirectory() as tmp:
        units = corpus_units(pack, Path(tmp))
    print(
        f"# coders on the OTS pack: {len(units)} corpus sentences, {len(gold)} gold "
        f"sentences, {args.folds}-fold cross-fitting, seed {args.seed}\n"
    )
    for model in args.models.split(","):
        res, preds = run_model(
            model, book, units, gold, folds=args.folds, seed=args.seed, boot=args.boot
        )
        res["alpha"] = alphas(pack / "gold.csv", book, preds, boot=args.boot, seed=args.seed)
        for name, df in res.items():
            tables[f"{model}_{name}"] = df
            shown = df[df["category"] == "all categories (pooled)"] if name == "alpha" else df
            print(f"## {model}: {name}\n\n{markdown(shown)}\n", flush=True)
    if args.public:
        mapping = dict(item.split("=", 1) for item in args.map)
        model = args.models.split(",")[0]
        df = public(
            args.public,
            mapping,
            book,
            model=model,
            gold=gold,
            text_col=args.text,
            label_col=args.label,
        )
        tables["public"] = df
        print(f"## public data set {args.public.name} ({model})\n\n{markdown(df)}\n")
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for name, df in tables.items():
            df.to_csv(args.out / f"{name}.csv", index=False)


if __name__ == "__main__":
    main()
