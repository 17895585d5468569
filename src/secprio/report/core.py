"""The core sections: priority heatmap, score table, skipped files, provenance."""

from __future__ import annotations

import base64
import json
import platform
from html import escape

import pandas as pd

from secprio import __version__
from secprio.coders.registry import validity
from secprio.report import figures
from secprio.report.html import heat_grid, legend, table
from secprio.report.sections import Context, Section, register

SCORE_COLUMNS = [
    "category",
    "label",
    "kind",
    "score",
    "score_lo",
    "score_hi",
    "points",
    "salience",
    "salience_lo",
    "salience_hi",
    "evidence",
    "n_coded",
    "n_docs_coded",
    "n_sentences",
    "n_documents",
]


def _framed(ctx: Context, kind: str) -> pd.DataFrame:
    both = pd.concat([ctx.scores, ctx.scores_by_period], ignore_index=True)
    return both[both["kind"] == kind]


@register(10)
def heatmap_section(ctx: Context) -> Section:
    m = ctx.project.settings.measure
    files: dict[str, bytes | str] = {}
    parts = []
    for kind, name in (("priority", "heatmap"), ("threat", "threats_heatmap")):
        data = _framed(ctx, kind)
        if data.empty:
            continue
        title = "Security priorities" if kind == "priority" else "External threat factors"
        fig_title = f"{title}: evidence score by period ({m.scale} scale)"
        preview, figs = figures.files(name, figures.heatmap(data, title=fig_title))
        files.update(figs)
        parts.append(f"<h3>{title}</h3>")
        parts.append(
            heat_grid(data, field="period", caption="Click a cell to read the sentences behind it.")
        )
        img = base64.b64encode(preview).decode()
        parts.append(
            f"<details><summary>Figure ({name}.png at 300 dpi / {name}.svg / {name}.pdf)"
            f'</summary><img alt="{escape(fig_title)}" src="data:image/png;base64,{img}">'
            f"</details>"
        )
    intro = (
        f"<p>Score 1–9 on the <b>{m.scale}</b> scale (see Method), computed from "
        f"{int(ctx.scores['n_sentences'].iat[0])} sentences in "
        f"{int(ctx.scores['n_documents'].iat[0])} documents, coded by "
        f"<code>{escape(ctx.project.coder())}</code> "
        f"({escape(validity(ctx.project.coder(), ctx.project))}). "
        "Brackets: 95% bootstrap interval over documents "
        f"({m.bootstrap} replicates, seed {m.seed}). A grey cell marked <i>no evidence</i> "
        "has no coded sentence (not a low score); a hatched cell marked <i>insufficient "
        f"evidence</i> rests on fewer than {m.min_documents} documents or on fewer than "
        f"{m.min_docs_coded} documents that mention the category, so its interval cannot show "
        "how fragile it is (settings <code>measure.min_documents</code> and "
        "<code>measure.min_docs_coded</code>; docs/measurement.md).</p>"
        + legend(scale=m.scale, min_documents=m.min_documents, min_docs_coded=m.min_docs_coded)
    )
    warning = ctx.scores.attrs.get("warning", "")
    if warning:
        intro += f'<p class="warning"><b>Warning</b>: {escape(warning)}</p>'
    return Section("heatmap", "Priority heatmap", intro + "".join(parts), files=files)


@register(20)
def scores_section(ctx: Context) -> Section:
    scores = ctx.scores[SCORE_COLUMNS]
    by_period = ctx.scores_by_period
    html = (
        table(scores, id="scores-table", floats=3)
        + "<p>Salience: weighted share of sentences coded with the category. "
        "All values are also in <code>scores.csv</code> and <code>scores.json</code>.</p>"
    )
    tables = {"scores": scores, "scores_by_period": by_period}
    return Section("scores", "Scores with intervals", html, tables=tables)


@register(90)
def skipped_section(ctx: Context) -> Section:
    skipped = ctx.project.skipped()[["path", "reason"]]
    notes = ctx.project.warnings()
    parts = [
        f"<p>{len(skipped)} file(s) could not be read:</p>" + table(skipped, id="skipped")
        if len(skipped)
        else "<p>No file was skipped.</p>"
    ]
    if len(notes):
        parts.append(
            f"<p>{len(notes)} metadata warning(s): the documents are in the measurement, but "
            "what they lack (a date, a type, an issuer) or hold in doubt (a code that is no "
            "country or not the project's) changes where they count. Each names the fix.</p>"
            + table(notes, id="warnings")
        )
    else:
        parts.append("<p>No metadata warnings.</p>")
    return Section(
        "skipped",
        "Skipped files and metadata warnings",
        "".join(parts),
        tables={"skipped": skipped, "warnings": notes},
    )


@register(95)
def method_section(ctx: Context) -> Section:
    m = ctx.project.settings.measure
    weights = ", ".join(f"{k} {v:g}" for k, v in m.weights.items())
    html = (
        "<p><b>Unit</b>: the sentence. <b>Salience</b> of a category in a frame: the weighted "
        f"share of the frame's sentences coded with it; sentence weights by document type: "
        f"{escape(weights)}.</p>"
        "<p><b>Scale</b>: <code>ratio</code> gives 9 to the frame's most salient category of "
        "its kind and one point less per halving of salience, 9 − log2(s_max/s), clipped to "
        "1–9; <code>linear</code> 1 + 8·s/s_max; <code>rank</code> 9 for the first, one less "
        f"per rank. This report uses <b>{escape(m.scale)}</b>. Priorities and threats are "
        "scaled separately.</p>"
        "<p><b>Intervals</b>: percentile bootstrap over documents; each replicate resamples "
        "documents with replacement and recomputes salience and score.</p>"
        "<p><b>Human decisions</b> on a sentence override machine codings.</p>"
    )
    return Section("method", "Method", html)


@register(100)
def provenance_section(ctx: Context) -> Section:
    runs = ctx.project.runs()
    cb = ctx.project.codebook
    prov = {
        "secprio": __version__,
        "python": platform.python_version(),
        "codebook": {"name": cb.name, "version": cb.version, "sha256": cb.sha256},
        "settings": ctx.project.settings.to_dict(),
    }
    cols = [
        "id",
        "kind",
        "coder",
        "coder_version",
        "codebook_sha256",
        "package_version",
        "status",
        "started_at",
        "finished_at",
    ]
    html = f"<pre>{escape(json.dumps(prov, indent=2, ensure_ascii=False))}</pre>" + table(
        runs[cols].astype(str), id="runs"
    )
    return Section(
        "provenance",
        "Provenance",
        html,
        tables={"runs": runs[cols]},
        files={"provenance.json": json.dumps(prov, indent=2, ensure_ascii=False)},
    )
