"""Report section: how far to trust the coding — machine against human on a gold set.

The report validates the coder that feeds the scores (cross-fitted when it learns from gold),
which is quick for the dictionary and minutes for the supervised coder: the result is kept in
the per-user cache under a key of everything it depends on, so a report of a project whose
codebook, gold and human codings did not change (and every demo) does not refit. The
side-by-side comparison of every coder costs minutes of embedding and refitting, so it is
shown when ``secprio validate`` has computed it for the current gold file and codebook
(saved in ``.secprio/validation/``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from dataclasses import replace
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from secprio.errors import MissingDependency, ProjectError
from secprio.measure.agreement import RELIABLE, TENTATIVE
from secprio.measure.validation import Validation, f1_table, validate
from secprio.report.html import table
from secprio.report.sections import Context, Section, register

if TYPE_CHECKING:
    from secprio.exchange.gold import Gold
    from secprio.project import Project

SAVED = ".secprio/validation"
POOLED = "all categories (pooled)"


def key(gold_path: str, codebook_sha: str) -> str:
    gold = hashlib.sha256(Path(gold_path).read_bytes()).hexdigest()
    return hashlib.sha256(f"{gold}:{codebook_sha}".encode()).hexdigest()


def save(result: Validation, root: Path, codebook_sha: str) -> Path:
    """Keep a full validation for the report (called by ``secprio validate``)."""
    return _write(result, root / SAVED, key(result.gold, codebook_sha))


def load(root: Path, gold_path: str, codebook_sha: str) -> Validation | None:
    return _read(root / SAVED, key(gold_path, codebook_sha))


def _write(result: Validation, folder: Path, stamp: str) -> Path:
    """The frames, then ``meta.json`` with its key: a folder without it is never read."""
    from secprio.files import write_text

    folder.mkdir(parents=True, exist_ok=True)
    for name in ("metrics", "confusions", "alpha"):
        write_text(folder / f"{name}.csv", getattr(result, name).to_csv(index=False))
    meta = {
        "key": stamp,
        "gold": result.gold,
        "reference": result.reference,
        "n_sentences": result.n_sentences,
        "folds": result.folds,
        "coders": result.coders,
    }
    write_text(folder / "meta.json", json.dumps(meta, indent=1))
    return folder


def _read(folder: Path, stamp: str) -> Validation | None:
    try:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        if meta["key"] != stamp:
            return None  # computed for another gold file or codebook
        frames = [
            pd.read_csv(folder / f"{n}.csv", keep_default_na=False, na_values=[""])
            for n in ("metrics", "confusions", "alpha")
        ]
    except (OSError, ValueError, KeyError):
        return None
    metrics, confusions, alpha = frames
    return Validation(
        meta["gold"],
        meta["reference"],
        int(meta["n_sentences"]),
        int(meta["folds"]),
        metrics,
        confusions,
        alpha,
        list(meta["coders"]),
    )


def _current(ctx: Context, gold_path: Path) -> Validation:
    from secprio.exchange.gold import project_documents, read

    project = ctx.project
    m = project.settings.measure
    gold = read(gold_path, categories=project.codebook.ids(), documents=project_documents(project))
    saved = load(project.root, str(gold_path), project.codebook.sha256)
    if saved is not None and project.coder() in saved.coders:
        return saved
    folder, stamp = _cached(project, gold, project.coder())
    known = _read(folder, stamp) if folder is not None else None
    if known is not None:
        return replace(known, gold=gold.path)
    result = validate(project, gold, coders=[project.coder()], n_boot=m.bootstrap, seed=m.seed)
    if folder is not None:
        with contextlib.suppress(OSError, ProjectError):  # the cache only saves time
            _write(result, folder, stamp)
    return result


def _cached(project: Project, gold: Gold, coder: str) -> tuple[Path | None, str]:
    """Where the per-user cache keeps this validation, and its key: everything the result
    depends on (secprio's version, the codebook, the gold sentences and labels, the training
    data besides them: codebook examples and the project's human codings, the embedding
    model, bootstrap replicates, seed). Every report of a project whose codebook, gold and
    human codings did not change, and every demo, reuses it. None: no cache, or a coder
    from a plugin (whose version secprio cannot vouch for)."""
    from secprio import __version__
    from secprio.coders.build import project_base
    from secprio.coders.embed import DEFAULT_MODEL, model_version
    from secprio.coders.ensemble import CODERS
    from secprio.coders.features import available_blocks
    from secprio.coders.supervised import gold_examples
    from secprio.files import user_cache

    root = user_cache()
    if root is None or coder not in CODERS:
        return None, ""
    m, cats = project.settings.measure, project.codebook.ids()
    try:
        embedder = model_version(m.embedding or DEFAULT_MODEL)
    except MissingDependency:
        embedder = ""
    parts = [__version__, project.codebook.sha256, coder, embedder, list(available_blocks()),
             m.bootstrap, m.seed, gold.coders,
             gold_examples(gold, cats, coder=gold.coders[0]).fingerprint(),
             project_base(project).fingerprint()]  # fmt: skip
    stamp = hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()
    return root / "validation" / stamp[:32], stamp


@register(85)
def validation_section(ctx: Context) -> Section | None:
    from secprio.exchange.gold import locate

    gold_path = locate(ctx.project)
    if gold_path is None:
        return None
    try:
        result = _current(ctx, gold_path)
    except MissingDependency as exc:  # a plain install: say what is missing, build the rest
        return Section(
            "validation",
            "Validation against human coding",
            f"<p class='muted'>Not available: {escape(str(exc))}</p>",
        )
    coder = ctx.project.coder()
    parts = [
        _intro(result, coder),
        "<h3>F1 per category, side by side</h3>",
        table(f1_table(result.metrics), id="validation-f1", floats=3),
        f"<h3>Precision, recall and F1 of <code>{escape(coder)}</code></h3>",
        table(_intervals(result.metrics, coder), id="validation-prf", floats=3),
        "<h3>Most frequent confusions</h3>",
        table(
            result.confusions[result.confusions["coder"] == coder].drop(columns="coder"),
            id="validation-confusions",
        ),
        "<h3>Krippendorff's alpha (nominal, per category, unit = sentence)</h3>",
        _alpha_note(),
        table(_alpha_wide(result.alpha), id="validation-alpha", floats=3),
    ]
    tables = {
        "validation_metrics": result.metrics,
        "validation_confusions": result.confusions,
        "validation_alpha": result.alpha,
    }
    return Section("validation", "Validation against human coding", "".join(parts), tables=tables)


def _intro(result: Validation, coder: str) -> str:
    others = (
        ""
        if len(result.coders) > 1
        else " Run <code>secprio validate</code> to add the other coders to this comparison."
    )
    return (
        f"<p>Gold set <code>{escape(Path(result.gold).name)}</code>: "
        f"{result.n_sentences} sentences coded by <b>{escape(result.reference)}</b>. "
        f"The scores are computed from <code>{escape(coder)}</code>. Coders that learn "
        f"from gold (supervised, ensemble) are cross-fitted over {result.folds} folds: "
        f"every sentence is predicted by a model that never saw it. Intervals: 95% "
        f"bootstrap over sentences.{others}</p>"
    )


def _intervals(metrics: pd.DataFrame, coder: str) -> pd.DataFrame:
    mine = metrics[metrics["coder"] == coder]

    def ci(lo: float, hi: float) -> str:
        return "" if pd.isna(lo) else f"{lo:.2f}–{hi:.2f}"

    return pd.DataFrame({
        "category": mine["category"], "human": mine["n_true"], "machine": mine["n_pred"],
        "precision": mine["precision"],
        "precision 95%": [ci(a, b) for a, b in zip(mine["precision_lo"], mine["precision_hi"],
                                                   strict=True)],
        "recall": mine["recall"],
        "recall 95%": [ci(a, b) for a, b in zip(mine["recall_lo"], mine["recall_hi"],
                                                strict=True)],
        "F1": mine["f1"],
        "F1 95%": [ci(a, b) for a, b in zip(mine["f1_lo"], mine["f1_hi"], strict=True)],
    })  # fmt: skip


def _alpha_note() -> str:
    return (
        f"<p>Thresholds (Krippendorff): α ≥ {RELIABLE:.3f} reliable; "
        f"{TENTATIVE:.3f} ≤ α &lt; {RELIABLE:.3f} tentative conclusions only; below "
        f"{TENTATIVE:.3f} not reliable. Each cell: α [95% interval] and the verdict. The "
        "pooled row counts every (sentence, category) cell as a unit.</p>"
    )


def _alpha_wide(alpha: pd.DataFrame) -> pd.DataFrame:
    cells = alpha.assign(cell=[
        "undefined" if pd.isna(a) else f"{a:.3f} [{lo:.2f}, {hi:.2f}] {v}"
        for a, lo, hi, v in zip(alpha["alpha"], alpha["alpha_lo"], alpha["alpha_hi"],
                                alpha["verdict"], strict=True)
    ])  # fmt: skip
    wide = cells.pivot(index="category", columns="pair", values="cell")
    order = [c for c in alpha["category"].drop_duplicates() if c != POOLED] + [POOLED]
    pairs = list(alpha["pair"].drop_duplicates())
    return wide.loc[order, pairs].reset_index()
