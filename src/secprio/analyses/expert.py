"""Expert vs evidence: the expert's 1–9 ratings beside the evidence scores — the differences,
per period, and rank correlations with 95% intervals (``secprio expert``, the report's expert
section)."""

from __future__ import annotations

from html import escape
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from secprio.analyses.registry import CODER, Analysis, Cli, Data, Param, View, register, tables
from secprio.errors import SecprioError
from secprio.measure import expert as expert_mod
from secprio.report.parts import DASH_CELL, png
from secprio.report.sections import Section

if TYPE_CHECKING:
    from matplotlib.figure import Figure

FILE = Param("file", Path, None, "Expert assessment YAML (default: the project's).")
SCALE = Param("scale", str, None, "The 1–9 mapping of the evidence (default: the project's).",
              cli=False)  # fmt: skip


def load_assessment(data: Data, file: Path | str | None = None) -> expert_mod.Assessment:
    path = data.require_context("expert", file)
    return data.memo(
        ("assessment", path),
        lambda: expert_mod.load(path, categories=data.project.codebook.ids()),
    )


def _expert(data: Data, *, file: Path | str | None, scale: str | None) -> pd.DataFrame:
    scores = data.scored(scale=scale)
    return expert_mod.differences(scores, load_assessment(data, file))


def _by_period(data: Data, *, file: Path | str | None, scale: str | None) -> pd.DataFrame:
    found = load_assessment(data, file)
    frames = pd.concat(
        [data.scored(scale=scale), data.scored(by="period", scale=scale)], ignore_index=True
    )
    return expert_mod.by_frame(frames, found)


def _correlations(data: Data, *, file: Path | str | None, scale: str | None) -> pd.DataFrame:
    m = data.project.settings.measure
    found = load_assessment(data, file)
    return expert_mod.correlations_counts(
        data.counts, data.project.codebook, found,
        scale=scale or m.scale, n_boot=m.bootstrap, seed=m.seed,
    )  # fmt: skip


# -- the report's section ----------------------------------------------------------------------
def _expert_figure(diff: pd.DataFrame, name: str) -> Figure:
    import matplotlib.pyplot as plt

    from secprio.report import figures

    grid = diff[["expert", "evidence_score"]].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(5.6, 0.55 * len(diff) + 1.4))
    ax.imshow(grid, cmap=figures.CMAP, vmin=1, vmax=9, aspect="auto")
    ax.set_xticks([0, 1], [f"expert\n({name})", "evidence\n(95% interval)"])
    ax.set_yticks(range(len(diff)), diff["label"])
    for i, r in enumerate(diff.itertuples(index=False)):
        for j, v in enumerate((r.expert, r.evidence_score)):
            if j and pd.isna(v):
                ax.text(j, i, "no evidence", ha="center", va="center", fontsize=8, color="#666")
                continue
            colour = "white" if v >= 6.5 else "black"
            ax.text(
                j,
                i - (0.1 if j else 0),
                f"{v:.0f}" if j == 0 else f"{v:.1f}",
                ha="center",
                va="center",
                color=colour,
                fontweight="bold",
            )
            if j:
                ax.text(
                    j,
                    i + 0.25,
                    f"[{r.evidence_lo:.1f}–{r.evidence_hi:.1f}]",
                    ha="center",
                    va="center",
                    fontsize=7,
                    color=colour,
                )
    ax.set_title("Expert rating vs evidence score (1–9)", fontsize=10)
    fig.tight_layout()
    return fig


def _expert_period_cell(r: pd.Series) -> str:
    from secprio.report import figures
    from secprio.report.html import THIN_BG

    n = (
        f"<small class='n'>n={int(r['n_coded'])} sent., {int(r['n_docs_coded'])}/"
        f"{int(r['n_documents'])} docs</small>"
    )
    if pd.isna(r["evidence_score"]):
        return f'<td class="cell none" style="background:#e4e4e4">no evidence<br>{n}</td>'
    v = float(r["evidence_score"])
    thin = r["evidence"] == "insufficient"
    fg = "#fff" if v >= 6.5 and not thin else "#000"
    diff = float(r["diff_score"])
    inside = "rating in CI" if r["expert_in_interval"] else "rating outside CI"
    bg = f"{THIN_BG},{figures.colour(v)}" if thin else figures.colour(v)
    return (
        f'<td class="cell{" thin" if thin else ""}" style="background:{bg};color:{fg}">'
        f"<b>{v:.1f}</b> <small>[{r['evidence_lo']:.1f}–{r['evidence_hi']:.1f}]"
        f"</small><br>Δ {diff:+.1f} <small>({inside})</small><br>{n}"
        + ("<br><small>insufficient evidence</small>" if thin else "")
        + "</td>"
    )


def _expert_periods(ctx: Data, assessment: expert_mod.Assessment) -> tuple[str, pd.DataFrame]:
    """The seed's ratings beside the evidence of every period: score [95% CI], the difference
    and whether the rating falls inside the interval; per period the rank correlation."""
    m = ctx.project.settings.measure
    per = ctx.run("expert_by_period")
    if per.empty:
        return "", per
    order = list(dict.fromkeys(per["frame"]))
    head = "".join(f"<th>{escape(str(f))}</th>" for f in order)
    rows = []
    for _cat, part in per.groupby("category", sort=False):
        by = part.set_index("frame")
        cells = "".join(_expert_period_cell(by.loc[f]) for f in order)
        rows.append(
            f"<tr><th class='rowh'>{escape(str(part['label'].iat[0]))}</th>"
            f'<td class="num"><b>{part["expert"].iat[0]:.0f}</b></td>{cells}</tr>'
        )
    corr_cells = []
    for f in order:
        docs = ctx.counts
        counts = docs if f == order[0] else docs.select(docs.documents["period"] == f)
        try:
            c = expert_mod.correlations_counts(
                counts, ctx.project.codebook, assessment,
                scale=m.scale, n_boot=m.bootstrap, seed=m.seed,
            )  # fmt: skip
            r = c[c["method"] == "spearman"].iloc[0]
            corr_cells.append(
                DASH_CELL
                if pd.isna(r["estimate"])
                else f'<td class="num">{r["estimate"]:.2f} [{r["lo"]:.2f}, {r["hi"]:.2f}]</td>'
            )
        except SecprioError:
            corr_cells.append(DASH_CELL)
    rows.append(
        "<tr><th class='rowh'>Spearman ρ [95% CI]</th><td></td>" + "".join(corr_cells) + "</tr>"
    )
    html = (
        "<h3>Per period: the seed study's ratings beside the evidence</h3>"
        "<p>The study gives one rating per priority for the whole span it covers; here it "
        "stands beside the evidence of every period. In each cell: the evidence score "
        f"(<b>{escape(m.scale)}</b> scale) with its 95% bootstrap interval over the period's "
        "documents, Δ = evidence score − expert rating, whether the rating falls inside "
        "the interval, and n. The last row is the rank correlation between the ratings and "
        "the period's scores (with seven categories and tied ratings, read the interval "
        "first). Also in <code>expert_by_period.csv</code>.</p>"
        '<table class="heat" id="expert-periods"><thead><tr><th></th><th>expert</th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
    )
    return html, per


def expert_section(ctx: Data) -> Section | None:
    from secprio.report.html import table

    if ctx.context_file("expert") is None:
        return None
    assessment = load_assessment(ctx)
    m = ctx.project.settings.measure
    diff = ctx.run("expert")
    try:
        corr = ctx.run("expert_correlations")
    except SecprioError:
        corr = pd.DataFrame()
    img, figs = png(
        _expert_figure(diff, assessment.name), "expert vs evidence heatmap", "expert_vs_evidence"
    )
    lines = "".join(
        f"<li>{escape(r.method.title())}: — (the evidence scores do not vary)</li>"
        if pd.isna(r.estimate)
        else f"<li>{escape(r.method.title())}: {r.estimate:.2f} "
        f"[{r.lo:.2f}, {r.hi:.2f}] (p = {r.p:.3f})</li>"
        for r in corr.itertuples(index=False)
    )
    html = (
        f"<p>Expert assessment: <b>{escape(assessment.name)}</b> — "
        f"{escape(assessment.citation)}</p>"
        "<p>Difference = evidence points − expert rating (both 1–9; the evidence on the "
        f"<b>{escape(m.scale)}</b> scale). Rank correlations between the ratings and the "
        "evidence scores, with 95% intervals from a bootstrap over documents (resample "
        "documents, recompute the scores, recompute the correlation):</p>"
        f"<ul>{lines}</ul>" + img + table(diff, id="expert-diff")
    )
    periods, per = _expert_periods(ctx, assessment)
    html += periods
    return Section(
        "expert",
        "Expert vs evidence",
        html,
        tables={"expert": diff, "expert_correlations": corr, "expert_by_period": per},
        files=figs,
    )


def _show(v: View) -> None:
    corr = v.data.run("expert_correlations", file=v.options.get("file"))
    rows = [
        [
            r.label,
            f"{r.expert:.0f}",
            "no evidence"
            if pd.isna(r.evidence_score)
            else f"{r.evidence_score:.1f} [{r.evidence_lo:.1f}, {r.evidence_hi:.1f}]"
            + (" insufficient" if r.evidence == "insufficient" else ""),
            "—" if pd.isna(r.diff) else f"{r.diff:+.0f}",
        ]
        for r in v.frame.itertuples(index=False)
    ]
    v.table(
        "Expert vs evidence (1–9)",
        ["category", "expert", "evidence [95% CI]", "points − expert"],
        rows,
    )
    for r in corr.itertuples(index=False):
        if pd.isna(r.estimate):
            v.print(f"{r.method}: — (the evidence scores do not vary; no rank correlation)")
        else:
            v.print(f"{r.method}: {r.estimate:.2f} [{r.lo:.2f}, {r.hi:.2f}] (p = {r.p:.3f})")


# a rated category's comparison: expert rating against the evidence score
COMPARED = (
    "category",
    "label",
    "expert",
    "evidence",
    "evidence_score",
    "evidence_lo",
    "evidence_hi",
    "evidence_points",
    "diff",
    "diff_score",
    "expert_in_interval",
)

register(
    Analysis(
        "expert",
        _expert,
        "Per rated category: expert rating, evidence score [95% CI] and points, difference.",
        params=(FILE, SCALE, CODER),
        columns=COMPARED,
        cli=Cli(
            "expert",
            help="Expert ratings vs evidence scores: differences and rank correlations with "
            "95% CIs.",
            show=_show,
        ),
        section=expert_section,
        order=70,
        report_tables=tables(("expert", {})),
    )
)
register(
    Analysis(
        "expert_by_period",
        _by_period,
        "The expert ratings beside the evidence of all documents and of every period.",
        params=(FILE, SCALE, CODER),
        columns=(
            "frame",
            *COMPARED,
            "n_coded",
            "n_docs_coded",
            "n_documents",
        ),
        report_tables=tables(("expert_by_period", {})),
    )
)
register(
    Analysis(
        "expert_correlations",
        _correlations,
        "Spearman and Kendall correlations of expert ratings and evidence scores, with 95% "
        "intervals from a bootstrap over documents.",
        params=(FILE, SCALE, CODER),
        columns=(
            "method",
            "estimate",
            "lo",
            "hi",
            "p",
            "n_categories",
            "n_boot_valid",
            "scale",
        ),
        report_tables=tables(("expert_correlations", {})),
    )
)
