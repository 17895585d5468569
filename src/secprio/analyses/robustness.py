"""Robustness: the range each score moves within under other weights, the other 1–9 mappings
and leave-one-out corpora (secprio.measure.robustness; the report's robustness section)."""

from __future__ import annotations

import base64
from html import escape
from typing import TYPE_CHECKING

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Data, Param, register, tables
from secprio.display import DASH
from secprio.measure import robustness as rb
from secprio.measure.scores import ALL
from secprio.report.sections import Section

if TYPE_CHECKING:
    from matplotlib.figure import Figure


def _robustness(data: Data, *, variants: bool) -> pd.DataFrame:
    p = data.project
    m = p.settings.measure
    long = data.memo(
        "robustness",
        lambda: rb.run_counts(data.counts, p.codebook, scale=m.scale,
                              members=p.settings.members),
    )  # fmt: skip
    return long if variants else rb.summary(long)


COLOURS = {"weights": "#1f77b4", "scale": "#9467bd", "document type": "#2ca02c",
           "member state": "#d62728"}  # fmt: skip


def _range(lo: float, hi: float) -> str:
    if pd.isna(lo):
        return DASH
    return f"{lo:.1f}" if abs(hi - lo) < 0.05 else f"{lo:.1f}–{hi:.1f}"


def figure(summary: pd.DataFrame, base: pd.DataFrame, kind: str) -> Figure:
    """Per category: the baseline score with its 95% interval (grey) and the range under each
    kind of choice (coloured lines)."""
    import matplotlib.pyplot as plt

    part = summary[(summary["frame"] == ALL) & (summary["kind"] == kind)].reset_index(drop=True)
    ci = base.set_index("category")
    fig, ax = plt.subplots(figsize=(7.2, 0.55 * len(part) + 1.6))
    first = True  # the legend's labels go on the first category that has a score
    for i, r in part.iterrows():
        y = len(part) - 1 - int(str(i))
        if pd.isna(r["baseline"]):
            ax.text(5, y, "no evidence", ha="center", va="center", fontsize=8, color="#666")
            continue
        lo, hi = ci.loc[r["category"], "score_lo"], ci.loc[r["category"], "score_hi"]
        ax.fill_betweenx([y - 0.35, y + 0.35], lo, hi, color="#dddddd", lw=0)
        for k, choice in enumerate(rb.CHOICES):
            off = (k - 1.5) * 0.14
            key = choice.replace(" ", "_")
            ax.plot([r[f"{key}_min"], r[f"{key}_max"]], [y + off] * 2, lw=3,
                    color=COLOURS[choice], solid_capstyle="butt",
                    label=choice if first else None)  # fmt: skip
        ax.plot([r["baseline"]], [y], "k|", ms=14, mew=2, label="baseline" if first else None)
        first = False
    ax.set_yticks(range(len(part)), list(part["label"])[::-1])
    ax.set_xlim(0.8, 9.2)
    ax.set_xticks(range(1, 10))
    ax.set_xlabel("score, 1–9 (grey: baseline 95% bootstrap interval)")
    ax.grid(axis="x", color="#eeeeee")
    if not first:
        ax.legend(fontsize=7, loc="lower left", ncol=3, frameon=False, bbox_to_anchor=(0, 1.0))
    ax.set_title(f"Robustness of the {kind} scores (all documents)", fontsize=10, pad=34)
    fig.tight_layout()
    return fig


def _table(summary: pd.DataFrame, base: pd.DataFrame) -> str:
    ci = base.set_index("category")
    head = (
        "<tr><th>category</th><th>baseline [95% CI]</th><th>equal weights</th>"
        "<th>other 1–9 mappings</th><th>one document type left out</th>"
        "<th>one member state left out</th><th>weights and leave-one-out</th>"
        "<th>moves most under</th>"
        "<th>rank</th></tr>"
    )
    rows = []
    for r in summary[summary["frame"] == ALL].itertuples(index=False):
        d = r._asdict()
        c = ci.loc[r.category]
        if pd.isna(r.baseline):
            cells = f"<td>no evidence</td>{'<td></td>' * 7}"
        else:
            ends = "".join(
                f'<td class="num">{_range(d[f"{k}_min"], d[f"{k}_max"])}</td>'
                for k in ("weights", "scale", "document_type", "member_state")
            )
            low, high = r.baseline - r.same_scale_min, r.same_scale_max - r.baseline
            most = r.lowest_under if low >= high else r.highest_under
            rank = (
                f"{int(r.baseline_rank)}"
                if r.rank_min == r.rank_max
                else f"{int(r.baseline_rank)} ({int(r.rank_min)}–{int(r.rank_max)})"
            )
            cells = (
                f'<td class="num">{r.baseline:.1f} [{c["score_lo"]:.1f}–{c["score_hi"]:.1f}]</td>'
                f'{ends}<td class="num"><b>{_range(r.same_scale_min, r.same_scale_max)}</b></td>'
                f"<td>{escape(most) if r.same_scale_spread >= 0.05 else DASH}</td>"
                f'<td class="num">{rank}</td>'
            )
        rows.append(f"<tr><th class='rowh'>{escape(str(r.label))}</th>{cells}</tr>")
    return (
        '<table id="robustness-table"><thead>' + head + "</thead><tbody>"
        + "".join(rows) + "</tbody></table>"
    )  # fmt: skip


def robustness_section(ctx: Data) -> Section | None:
    from secprio.report import figures

    p = ctx.project
    m = p.settings.measure
    long = ctx.run("robustness", variants=True)
    if long.empty:
        return None
    summary = ctx.run("robustness")
    files: dict[str, bytes | str] = {}
    parts = [
        "<p>Each score rests on choices a reader may not share. Each variant changes one: "
        "<b>equal weights</b> (every document type weighs 1 instead of "
        f"{escape(', '.join(f'{k} {v:g}' for k, v in m.weights.items()))}); the "
        f"<b>other 1–9 mappings</b> (the report uses <code>{escape(m.scale)}</code>); "
        "<b>one document type left out</b> and <b>one member state left out</b> (the "
        "documents it issued), one at a time. A cell gives the range of the point score "
        "over the baseline and that kind of variant; <i>weights and leave-one-out</i> is the "
        "range over all of them on the report's own scale, and <i>moves most under</i> names "
        "the variant farthest from the baseline; <i>rank</i> is the baseline rank among "
        "categories of the same kind, in brackets the ranks it takes across variants. A "
        "range that stays inside the baseline's 95% interval means the choice does not "
        "change the reading. The other "
        "mappings measure on another scale, so read their column as how much the number "
        "(not the order) depends on the mapping. All frames (each period too) are in "
        "<code>robustness.csv</code>; every variant's score in "
        "<code>robustness_variants.csv</code> (docs/measurement.md).</p>"
    ]
    for kind, title in (("priority", "Security priorities"), ("threat", "External threats")):
        mine = summary[summary["kind"] == kind]
        if mine.empty:
            continue
        scores = ctx.scored()
        base = scores[scores["kind"] == kind]
        preview, figs = figures.files(f"robustness_{kind}", figure(summary, base, kind))
        files.update(figs)
        img = base64.b64encode(preview).decode()
        parts.append(f"<h3>{title}</h3>" + _table(mine, base))
        parts.append(
            f"<details><summary>Figure (robustness_{kind}.png / .svg / .pdf)</summary>"
            f'<img alt="robustness of the {kind} scores" src="data:image/png;base64,{img}">'
            "</details>"
        )
    return Section(
        "robustness",
        "Robustness: weights, 1–9 mapping, leave-one-out",
        "".join(parts),
        tables={"robustness": summary, "robustness_variants": long},
        files=files,
    )


register(
    Analysis(
        "robustness",
        _robustness,
        "The range each score moves within under equal weights, the other 1–9 mappings and "
        "leaving out each document type or member state (``variants=True``: every variant's "
        "score).",
        params=(CODER, Param("variants", bool, False, "Every variant's score, not the ranges.")),
        columns=(
            "frame",
            "category",
            "label",
            "kind",
            "baseline",
            "weights_min",
            "weights_max",
            "scale_min",
            "scale_max",
            "document_type_min",
            "document_type_max",
            "member_state_min",
            "member_state_max",
            "min",
            "max",
            "same_scale_min",
            "same_scale_max",
            "same_scale_spread",
            "lowest_under",
            "highest_under",
            "baseline_rank",
            "rank_min",
            "rank_max",
            "n_variants",
            "n_no_evidence",
        ),
        section=robustness_section,
        order=25,
        report_tables=tables(("robustness", {}), ("robustness_variants", {"variants": True})),
    )
)
